//! Collaborative documents in SQLite: a snapshot and the updates after it per file, and
//! saved versions. SQLite has one writer at a time, and every write here takes the write
//! lock up front, so update seqs are gap-free and in commit order.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tandem_domain::{AuditContext, FileId, FileVersion, UserId, VersionId, VersionKind};

use super::audit_log::insert_audit;
use super::{
    BEGIN_WRITE, SqliteStore, decode_error, decode_id, decode_time, encode_id, encode_time,
};
use crate::files::{counts_by_file, seqs_of_batch};
use crate::{DocumentStore, StoreError, StoredDocument, audit};

/// A `file_versions` row without its state.
#[derive(sqlx::FromRow)]
struct VersionRow {
    id: String,
    file_id: String,
    kind: String,
    name: Option<String>,
    created_by: Option<String>,
    created_at: String,
}

impl TryFrom<VersionRow> for FileVersion {
    type Error = sqlx::Error;

    fn try_from(row: VersionRow) -> Result<Self, Self::Error> {
        Ok(FileVersion {
            id: VersionId(decode_id("file_versions.id", &row.id)?),
            file_id: FileId(decode_id("file_versions.file_id", &row.file_id)?),
            kind: VersionKind::parse(&row.kind)
                .ok_or_else(|| decode_error("file_versions.kind", UnknownKind(row.kind.clone())))?,
            name: row.name,
            created_by: row
                .created_by
                .map(|id| decode_id("file_versions.created_by", &id).map(UserId))
                .transpose()?,
            created_at: decode_time("file_versions.created_at", &row.created_at)?,
        })
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown version kind {0:?}")]
struct UnknownKind(String);

/// Updates larger than this are stored by a statement of their own, bound as a blob.
const BLOB_BYTES: usize = 16 * 1024;

fn seq(value: i64) -> u64 {
    u64::try_from(value).unwrap_or_default()
}

fn as_i64(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

#[async_trait]
impl DocumentStore for SqliteStore {
    async fn append_updates(
        &self,
        updates: &[(FileId, &[u8])],
        at: DateTime<Utc>,
    ) -> Result<Vec<Option<u64>>, StoreError> {
        if updates.is_empty() {
            return Ok(Vec::new());
        }
        // Two statements per batch whatever its size: each statement is a round trip to
        // SQLite's own thread, and those, not SQLite, are what a busy node pays for. The
        // batch travels as JSON so the SQL stays fixed.
        let at = encode_time(at);
        let counts = counts_by_file(updates);
        let counts_json = serde_json::Value::from(
            counts
                .iter()
                .map(|(file, n)| serde_json::json!([encode_id(file.0), n]))
                .collect::<Vec<_>>(),
        )
        .to_string();
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        let newest: Vec<(String, i64)> = sqlx::query_as(
            "UPDATE files SET last_update_seq = last_update_seq + c.n, \
             updated_at = MAX(updated_at, ?) \
             FROM (SELECT value ->> 0 AS id, value ->> 1 AS n FROM json_each(?)) AS c \
             WHERE files.id = c.id RETURNING files.id, files.last_update_seq",
        )
        .bind(&at)
        .bind(&counts_json)
        .fetch_all(&mut *tx)
        .await?;
        let seqs = seqs_of_batch(updates, &counts, |file| {
            let id = encode_id(file.0);
            newest
                .iter()
                .find(|(f, _)| *f == id)
                .map(|(_, last)| seq(*last))
        });
        // Small updates (keystrokes) travel together as JSON, hex-encoded; a large one
        // (a paste, a chunk of an import) is bound as a blob of its own, sparing the text
        // copies JSON and hex would make of it on both sides.
        let (large, small): (Vec<_>, Vec<_>) = updates
            .iter()
            .zip(&seqs)
            .filter_map(|((file, update), seq)| Some((*file, *update, (*seq)?)))
            .partition(|(_, update, _)| update.len() > BLOB_BYTES);
        for (file, update, seq) in large {
            sqlx::query(
                "INSERT INTO document_updates (file_id, seq, data, created_at) \
                 VALUES (?, ?, ?, ?)",
            )
            .bind(encode_id(file.0))
            .bind(as_i64(seq))
            .bind(update)
            .bind(&at)
            .execute(&mut *tx)
            .await?;
        }
        if !small.is_empty() {
            let rows: Vec<serde_json::Value> = small
                .into_iter()
                .map(|(file, update, seq)| {
                    serde_json::json!([encode_id(file.0), seq, hex::encode(update)])
                })
                .collect();
            sqlx::query(
                "INSERT INTO document_updates (file_id, seq, data, created_at) \
                 SELECT value ->> 0, value ->> 1, unhex(value ->> 2), ? FROM json_each(?)",
            )
            .bind(&at)
            .bind(serde_json::Value::from(rows).to_string())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(seqs)
    }

    async fn load_document(&self, file: FileId) -> Result<StoredDocument, StoreError> {
        // One read transaction: a compaction cannot slip between the two reads.
        let mut tx = self.pool.begin().await?;
        let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM files WHERE id = ?")
            .bind(encode_id(file.0))
            .fetch_optional(&mut *tx)
            .await?;
        exists.ok_or(StoreError::NotFound)?;
        let snapshot: Option<(Vec<u8>, i64)> =
            sqlx::query_as("SELECT state, upto_seq FROM document_snapshots WHERE file_id = ?")
                .bind(encode_id(file.0))
                .fetch_optional(&mut *tx)
                .await?;
        let snapshot_seq = snapshot.as_ref().map_or(0, |(_, upto)| *upto);
        let updates: Vec<(i64, Vec<u8>)> = sqlx::query_as(
            "SELECT seq, data FROM document_updates WHERE file_id = ? AND seq > ? ORDER BY seq",
        )
        .bind(encode_id(file.0))
        .bind(snapshot_seq)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(StoredDocument {
            snapshot: snapshot.map(|(state, _)| state),
            snapshot_seq: seq(snapshot_seq),
            updates: updates
                .into_iter()
                .map(|(s, data)| (seq(s), data))
                .collect(),
        })
    }

    async fn compact_document(
        &self,
        file: FileId,
        state: &[u8],
        upto_seq: u64,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM files WHERE id = ?")
            .bind(encode_id(file.0))
            .fetch_optional(&mut *tx)
            .await?;
        exists.ok_or(StoreError::NotFound)?;
        let current: Option<i64> =
            sqlx::query_scalar("SELECT upto_seq FROM document_snapshots WHERE file_id = ?")
                .bind(encode_id(file.0))
                .fetch_optional(&mut *tx)
                .await?;
        if current.is_some_and(|current| seq(current) >= upto_seq) {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO document_snapshots (file_id, state, upto_seq, updated_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (file_id) DO UPDATE SET state = excluded.state, \
             upto_seq = excluded.upto_seq, updated_at = excluded.updated_at",
        )
        .bind(encode_id(file.0))
        .bind(state)
        .bind(as_i64(upto_seq))
        .bind(encode_time(at))
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM document_updates WHERE file_id = ? AND seq <= ?")
            .bind(encode_id(file.0))
            .bind(as_i64(upto_seq))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn document_size(&self, file: FileId) -> Result<u64, StoreError> {
        let size: Option<i64> = sqlx::query_scalar(
            "SELECT (SELECT COALESCE(SUM(length(state)), 0) FROM document_snapshots WHERE file_id = ?1) \
                  + (SELECT COALESCE(SUM(length(data)), 0) FROM document_updates WHERE file_id = ?1) \
             FROM files WHERE id = ?1",
        )
        .bind(encode_id(file.0))
        .fetch_optional(&self.pool)
        .await?;
        size.map(seq).ok_or(StoreError::NotFound)
    }

    async fn create_version(
        &self,
        version: &FileVersion,
        state: &[u8],
        audit: Option<&AuditContext>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        let project: Option<String> = sqlx::query_scalar(
            "SELECT w.project_id FROM files f JOIN workspaces w ON w.id = f.workspace_id WHERE f.id = ?",
        )
        .bind(encode_id(version.file_id.0))
        .fetch_optional(&mut *tx)
        .await?;
        let project = project.ok_or(StoreError::NotFound)?;
        sqlx::query(
            "INSERT INTO file_versions (id, file_id, kind, name, created_by, created_at, state) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(encode_id(version.id.0))
        .bind(encode_id(version.file_id.0))
        .bind(version.kind.as_str())
        .bind(version.name.as_deref())
        .bind(version.created_by.map(|u| encode_id(u.0)))
        .bind(encode_time(version.created_at))
        .bind(state)
        .execute(&mut *tx)
        .await?;
        if let (Some(audit), VersionKind::Named) = (audit, version.kind) {
            let project = tandem_domain::ProjectId(decode_id("workspaces.project_id", &project)?);
            let entry = audit::entry(
                audit,
                project,
                "file.version_created",
                ("file", version.file_id.to_string()),
                None::<&FileVersion>,
                Some(version),
            )?;
            insert_audit(&mut tx, &entry).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn list_versions(
        &self,
        file: FileId,
        before: Option<VersionId>,
        limit: u32,
    ) -> Result<Vec<FileVersion>, StoreError> {
        let rows: Vec<VersionRow> = sqlx::query_as(
            "SELECT id, file_id, kind, name, created_by, created_at FROM file_versions \
             WHERE file_id = ?1 AND (?2 IS NULL OR id < ?2) \
             ORDER BY id DESC \
             LIMIT ?3",
        )
        .bind(encode_id(file.0))
        .bind(before.map(|id| encode_id(id.0)))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(FileVersion::try_from)
            .collect::<Result<_, _>>()?)
    }

    async fn version_by_id(&self, id: VersionId) -> Result<Option<FileVersion>, StoreError> {
        let row: Option<VersionRow> = sqlx::query_as(
            "SELECT id, file_id, kind, name, created_by, created_at FROM file_versions WHERE id = ?",
        )
        .bind(encode_id(id.0))
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(FileVersion::try_from).transpose()?)
    }

    async fn version_state(&self, id: VersionId) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT state FROM file_versions WHERE id = ?")
                .bind(encode_id(id.0))
                .fetch_optional(&self.pool)
                .await?,
        )
    }
}
