//! Keeping documents healthy in the background: updates and awareness from other nodes,
//! repairs after a missed update, compaction, automatic versions, keepalives for idle
//! clients, and unloading documents nobody on this node is editing.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tandem_domain::{AuditContext, FileId, FileVersion, UserId, VersionId, VersionKind};
use tandem_realtime::Envelope;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;
use yrs::sync::Message;

use crate::collab::{Collab, CollabError};
use crate::document::Document;
use crate::{message, text};

/// How often documents are checked for gaps, compaction, versions and unloading.
const TICK: Duration = Duration::from_millis(250);

impl Collab {
    /// Runs until `stop`: routes other nodes' updates to loaded documents and maintains
    /// them. On stop, compacts and unloads every document.
    pub async fn run(self: Arc<Self>, stop: CancellationToken) {
        let routing = self.clone().route_bus(stop.clone());
        let maintaining = async {
            let mut tick = tokio::time::interval(TICK);
            let mut keepalive = tokio::time::interval(self.config.keepalive);
            loop {
                tokio::select! {
                    () = stop.cancelled() => break,
                    _ = tick.tick() => self.maintain().await,
                    _ = keepalive.tick() => {
                        let frame = message::keepalive();
                        for document in self.all() {
                            document.broadcast(&frame);
                        }
                    }
                }
            }
            for document in self.all() {
                self.unload(&document, true).await;
            }
        };
        tokio::join!(routing, maintaining);
    }

    async fn route_bus(self: Arc<Self>, stop: CancellationToken) {
        let mut envelopes = self.bus.subscribe();
        loop {
            let received = tokio::select! {
                () = stop.cancelled() => return,
                received = envelopes.recv() => received,
            };
            match received {
                Ok(envelope) => self.route(&envelope),
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(
                        missed,
                        "collaboration fell behind the bus; repairing from storage"
                    );
                    for document in self.all() {
                        self.catch_up(&document).await;
                    }
                }
                Err(RecvError::Closed) => return,
            }
        }
    }

    fn route(&self, envelope: &Envelope) {
        let Some(file) = envelope.topic.strip_prefix("collab:") else {
            return;
        };
        if envelope.origin.as_deref() == Some(&*self.node) {
            return;
        }
        let Some(file) = file.parse().ok().map(FileId) else {
            return;
        };
        if envelope.seq.is_none() && envelope.payload.is_empty() {
            return self.forget(file);
        }
        let Some(document) = self.loaded(file) else {
            return;
        };
        match envelope.seq {
            Some(seq) => {
                document.apply_update(None, seq, &envelope.payload, None);
            }
            None => {
                for message in message::decode(&envelope.payload).unwrap_or_default() {
                    if let Message::Awareness(update) = message {
                        document.apply_awareness(None, update);
                    }
                }
            }
        }
    }

    pub(crate) fn all(&self) -> Vec<Arc<Document>> {
        self.documents
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    async fn maintain(&self) {
        let now = self.clock.now();
        let edited: HashSet<FileId> =
            std::mem::take(&mut *self.edited.lock().unwrap_or_else(|e| e.into_inner()));
        for document in self.all() {
            if document.has_gap() {
                self.catch_up(&document).await;
            }
            if document.updates_since_compaction() >= self.config.compact_every {
                self.compact(&document).await;
            }
            if edited.contains(&document.file_id) && self.auto_version_due(document.file_id, now) {
                let version = self
                    .create_version(document.file_id, VersionKind::Auto, None, None, None)
                    .await;
                if let Err(error) = version {
                    tracing::warn!(file = %document.file_id, error = ?error, "an automatic version failed");
                }
            }
            let idle = document
                .idle_since()
                .is_some_and(|since| since.elapsed() >= self.config.unload_after);
            if idle {
                self.unload(&document, false).await;
            }
        }
    }

    /// Whether `file` is due an automatic version, marking it taken if so.
    fn auto_version_due(&self, file: FileId, now: DateTime<Utc>) -> bool {
        let mut taken = self.auto_versions.lock().unwrap_or_else(|e| e.into_inner());
        let every = chrono::Duration::from_std(self.config.auto_version_every)
            .unwrap_or(chrono::Duration::MAX);
        let due = taken.get(&file).is_none_or(|last| now - *last >= every);
        if due {
            taken.insert(file, now);
        }
        due
    }

    async fn catch_up(&self, document: &Document) {
        match self.store.load_document(document.file_id).await {
            Ok(stored) => document.catch_up(&stored),
            Err(error) => {
                tracing::warn!(file = %document.file_id, error = ?error, "repairing a document failed")
            }
        }
    }

    /// Folds the stored updates into the snapshot. The state comes from memory; only the
    /// updates up to the document's watermark (everything below it applied here) are
    /// dropped from storage, so updates this node has not seen yet (from other nodes)
    /// stay in the log.
    async fn compact(&self, document: &Document) {
        let file = document.file_id;
        let compaction = document.compaction();
        if compaction.upto == 0 {
            return;
        }
        match self
            .store
            .compact_document(file, &compaction.state, compaction.upto, self.clock.now())
            .await
        {
            // Not stored: another node had compacted further. Either way, the log this
            // node counted is folded in.
            Ok(_) => document.compacted(&compaction),
            Err(error) => tracing::warn!(%file, error = ?error, "compacting a document failed"),
        }
    }

    /// Compacts and drops a document nobody here is editing (or everything, at shutdown).
    /// It is dropped even if compaction fails: storage already holds every update.
    async fn unload(&self, document: &Arc<Document>, shutting_down: bool) {
        if document.updates_since_compaction() > 0 {
            self.compact(document).await;
        }
        let mut documents = self.documents.lock().unwrap_or_else(|e| e.into_inner());
        let still_idle = document.peer_count() == 0 || shutting_down;
        if still_idle
            && documents
                .get(&document.file_id)
                .is_some_and(|held| Arc::ptr_eq(held, document))
        {
            documents.remove(&document.file_id);
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
