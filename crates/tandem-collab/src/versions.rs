//! History: saving a file's document as a version (named, or automatic), reading a
//! version's text, and restoring one.
//!
//! Automatic versions follow editing sessions. A file's first edit not yet in a version
//! starts a wait: once it is `auto_version_every` old (10 minutes) the file gets a version,
//! so a long session is saved every 10 minutes; and when the session ends (the document
//! unloads after its last editor leaves) edits still waiting get one too. None is taken at
//! the first keystroke: that would re-read and re-write the whole document the moment
//! anyone starts typing, to save what the previous session's version already holds.

use chrono::{DateTime, Utc};
use tandem_domain::{AuditContext, FileId, FileVersion, UserId, VersionId, VersionKind};

use crate::collab::{Collab, CollabError};
use crate::text;

impl Collab {
    /// Moves the files edited since the last call into the ones waiting for a version,
    /// each with the time of its first edit that waits (an edit at `now`, at the latest).
    /// Only loaded documents are tracked: their unload takes the version.
    pub(crate) fn note_edits(&self, now: DateTime<Utc>) {
        let edited = std::mem::take(&mut *self.edited.lock().unwrap_or_else(|e| e.into_inner()));
        let documents = self.documents.lock().unwrap_or_else(|e| e.into_inner());
        let mut waiting = self.auto_versions.lock().unwrap_or_else(|e| e.into_inner());
        for file in edited
            .into_iter()
            .filter(|file| documents.contains_key(file))
        {
            waiting.entry(file).or_insert(now);
        }
    }

    /// Whether `file` has edits that have waited `auto_version_every` for a version.
    pub(crate) fn auto_version_due(&self, file: FileId, now: DateTime<Utc>) -> bool {
        let every = chrono::Duration::from_std(self.config.auto_version_every)
            .unwrap_or(chrono::Duration::MAX);
        self.auto_versions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&file)
            .is_some_and(|since| now - *since >= every)
    }

    pub(crate) fn has_unversioned_edits(&self, file: FileId) -> bool {
        self.auto_versions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(&file)
    }

    /// Saves an automatic version of `file` for the edits waiting for one. They count as
    /// saved even if storing fails (logged): the next edits start a new wait.
    pub(crate) async fn take_auto_version(&self, file: FileId) {
        self.auto_versions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&file);
        let version = self
            .create_version(file, VersionKind::Auto, None, None, None)
            .await;
        if let Err(error) = version {
            tracing::warn!(%file, error = ?error, "an automatic version failed");
        }
    }

    /// Saves the document of `file` as it is stored now as a version.
    pub async fn create_version(
        &self,
        file: FileId,
        kind: VersionKind,
        name: Option<String>,
        created_by: Option<UserId>,
        audit: Option<&AuditContext>,
    ) -> Result<FileVersion, CollabError> {
        let state = text::state_of(&self.stored_doc(file).await?);
        let now = self.clock.now();
        let version = FileVersion {
            id: VersionId::new(now),
            file_id: file,
            kind,
            name,
            created_by,
            created_at: now,
        };
        self.store.create_version(&version, &state, audit).await?;
        Ok(version)
    }

    /// The text of a saved version; `None` if there is no such version.
    pub async fn version_text(&self, version: VersionId) -> Result<Option<String>, CollabError> {
        let Some(state) = self.store.version_state(version).await? else {
            return Ok(None);
        };
        let (doc, _) = text::rebuild([state.as_slice()]);
        Ok(Some(text::text_of(&doc)))
    }

    /// Brings `file` back to the text of `version`, as a new transaction on top of the
    /// current document, so live editors converge to it.
    pub async fn restore(&self, file: FileId, version: VersionId) -> Result<bool, CollabError> {
        let text = self
            .version_text(version)
            .await?
            .ok_or(CollabError::NotFound)?;
        self.replace_text(file, &text).await
    }
}
