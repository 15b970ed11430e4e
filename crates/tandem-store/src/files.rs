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

/// How many updates of a batch each file gets, files in first-seen order.
pub(crate) fn counts_by_file(updates: &[(FileId, &[u8])]) -> Vec<(FileId, u64)> {
    let mut counts: Vec<(FileId, u64)> = Vec::new();
    for (file, _) in updates {
        match counts.iter_mut().find(|(f, _)| f == file) {
            Some((_, n)) => *n += 1,
            None => counts.push((*file, 1)),
        }
    }
    counts
}

/// Each update's seq, given each file's newest seq after the batch was counted in
/// (`None` for a file that does not exist): a file's updates take the seqs up to its
/// newest, in the order given.
pub(crate) fn seqs_of_batch(
    updates: &[(FileId, &[u8])],
    counts: &[(FileId, u64)],
    newest: impl Fn(FileId) -> Option<u64>,
) -> Vec<Option<u64>> {
    let mut next: Vec<(FileId, Option<u64>)> = counts
        .iter()
        .map(|(file, n)| (*file, newest(*file).map(|last| last + 1 - n)))
        .collect();
    updates
        .iter()
        .map(|(file, _)| {
            let slot = next.iter_mut().find(|(f, _)| f == file)?;
            let seq = slot.1?;
            slot.1 = Some(seq + 1);
            Some(seq)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;

    #[test]
    fn a_batch_numbers_each_files_updates_in_order() {
        let (a, b, gone) = (
            FileId::new(Utc::now()),
            FileId::new(Utc::now()),
            FileId::new(Utc::now()),
        );
        let batch: Vec<(FileId, &[u8])> =
            vec![(a, b"1"), (b, b"2"), (a, b"3"), (gone, b"4"), (a, b"5")];
        let counts = counts_by_file(&batch);
        assert_eq!(counts, [(a, 3), (b, 1), (gone, 1)]);
        // a had 7 updates before (now 10), b had none (now 1), `gone` does not exist.
        let newest = |f| {
            if f == a {
                Some(10)
            } else if f == b {
                Some(1)
            } else {
                None
            }
        };
        assert_eq!(
            seqs_of_batch(&batch, &counts, newest),
            [Some(8), Some(1), Some(9), None, Some(10)]
        );
    }
}
