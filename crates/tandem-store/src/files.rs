//! The storage contract for files: their metadata, the persisted state of their
//! collaborative documents (a snapshot plus the updates appended after it), and saved
//! versions.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tandem_domain::{AuditContext, File, FileId, FilePath, FileVersion, VersionId, WorkspaceId};

use crate::StoreError;

/// Files in workspaces. Audit actions (target type `file`, in the workspace's project):
/// `file.created`, `file.renamed`, `file.deleted`.
#[async_trait]
pub trait FileStore: Send + Sync {
    /// Stores a new file, and its document's first update if given (as update seq 1), in
    /// one transaction. `Conflict("files.path")` if the workspace has a file at that path;
    /// `NotFound` if the workspace does not exist.
    async fn create_file(
        &self,
        file: &File,
        initial_update: Option<&[u8]>,
        audit: &AuditContext,
    ) -> Result<(), StoreError>;
    async fn file_by_id(&self, id: FileId) -> Result<Option<File>, StoreError>;
    /// A workspace's files ordered by path (byte order), starting after `after`.
    async fn list_files(
        &self,
        workspace: WorkspaceId,
        after: Option<&FilePath>,
        limit: u32,
    ) -> Result<Vec<File>, StoreError>;
    /// Moves a file to `path` and bumps `updated_at`; `NotFound`, or
    /// `Conflict("files.path")` if another file of the workspace has that path.
    async fn rename_file(
        &self,
        id: FileId,
        path: &FilePath,
        audit: &AuditContext,
    ) -> Result<File, StoreError>;
    /// Deletes a file with its document and versions; `NotFound` if there is none.
    async fn delete_file(&self, id: FileId, audit: &AuditContext) -> Result<(), StoreError>;
}

/// A document as stored: the latest snapshot, and every update appended after it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredDocument {
    /// A Yjs v1 update holding every update up to `snapshot_seq`; none before the first
    /// compaction.
    pub snapshot: Option<Vec<u8>>,
    /// The seq of the last update folded into the snapshot (0 if none).
    pub snapshot_seq: u64,
    /// Updates after the snapshot as `(seq, update)`, in seq order.
    pub updates: Vec<(u64, Vec<u8>)>,
}

impl StoredDocument {
    /// The seq of the newest update, in the snapshot or after it.
    pub fn last_seq(&self) -> u64 {
        self.updates
            .last()
            .map_or(self.snapshot_seq, |(seq, _)| *seq)
    }
}

/// The persisted state of collaborative documents, one per file, and their versions.
///
/// Each file's updates get a seq: 1, 2, 3… with no gaps, assigned in commit order (an
/// update with a higher seq is never visible before a lower one), so "every update up to
/// seq N" means the same thing to every node that reads it.
#[async_trait]
pub trait DocumentStore: Send + Sync {
    /// Appends one update (already validated by the caller) and returns its seq, moving
    /// the file's `updated_at` forward to `at` (never backwards) in the same transaction;
    /// `NotFound` if the file does not exist (or was deleted).
    async fn append_update(
        &self,
        file: FileId,
        update: &[u8],
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        self.append_updates(&[(file, update)], at)
            .await?
            .pop()
            .flatten()
            .ok_or(StoreError::NotFound)
    }
    /// Appends several updates (of one or many files) in one transaction, each as
    /// [`DocumentStore::append_update`] would, in the order given for each file; returns
    /// each one's seq, or `None` where its file does not exist. Committing many at once
    /// is what lets a busy node store every update before relaying it without paying a
    /// commit per update.
    async fn append_updates(
        &self,
        updates: &[(FileId, &[u8])],
        at: DateTime<Utc>,
    ) -> Result<Vec<Option<u64>>, StoreError>;
    /// The snapshot and the updates after it; `NotFound` if the file does not exist.
    async fn load_document(&self, file: FileId) -> Result<StoredDocument, StoreError>;
    /// Replaces the snapshot with `state`, which must hold every update up to `upto_seq`,
    /// and deletes those updates, in one transaction. Does nothing and returns false if
    /// the stored snapshot already covers `upto_seq` (another node compacted first), so
    /// concurrent compactions are safe. `NotFound` if the file does not exist.
    async fn compact_document(
        &self,
        file: FileId,
        state: &[u8],
        upto_seq: u64,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// The total bytes of the stored snapshot and updates; `NotFound` as above.
    async fn document_size(&self, file: FileId) -> Result<u64, StoreError>;

    /// Saves a version with its document state. `NotFound` if the file does not exist.
    /// Named versions are audited as `file.version_created`; automatic ones are not.
    async fn create_version(
        &self,
        version: &FileVersion,
        state: &[u8],
        audit: Option<&AuditContext>,
    ) -> Result<(), StoreError>;
    /// A file's versions, newest first, starting before `before`.
    async fn list_versions(
        &self,
        file: FileId,
        before: Option<VersionId>,
        limit: u32,
    ) -> Result<Vec<FileVersion>, StoreError>;
    async fn version_by_id(&self, id: VersionId) -> Result<Option<FileVersion>, StoreError>;
    /// A version's document state; `None` if there is no such version.
    async fn version_state(&self, id: VersionId) -> Result<Option<Vec<u8>>, StoreError>;
}
