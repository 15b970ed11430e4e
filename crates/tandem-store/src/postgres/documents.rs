//! Collaborative documents in PostgreSQL: a snapshot and the updates after it per file,
//! and saved versions. Appending and compacting lock the file's row, so update seqs are
//! gap-free and in commit order, and a compaction never races an append.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use tandem_domain::{AuditContext, FileId, FileVersion, ProjectId, UserId, VersionId, VersionKind};
use uuid::Uuid;

use super::projects::insert_audit;
use super::{PgStore, micros, on_foreign_key_violation};
use crate::audit::entry;
use crate::files::{counts_by_file, seqs_of_batch};
use crate::{DocumentStore, StoreError, StoredDocument};

/// A `file_versions` row without its state.
#[derive(sqlx::FromRow)]
struct VersionRow {
    id: Uuid,
    file_id: Uuid,
    kind: String,
    name: Option<String>,
    created_by: Option<Uuid>,
    created_at: DateTime<Utc>,
}

impl TryFrom<VersionRow> for FileVersion {
    type Error = sqlx::Error;

    fn try_from(row: VersionRow) -> Result<Self, Self::Error> {
        Ok(FileVersion {
            id: VersionId(row.id),
            file_id: FileId(row.file_id),
            kind: VersionKind::parse(&row.kind).ok_or_else(|| sqlx::Error::ColumnDecode {
                index: "file_versions.kind".into(),
                source: format!("unknown version kind {:?}", row.kind).into(),
            })?,
            name: row.name,
            created_by: row.created_by.map(UserId),
            created_at: row.created_at,
        })
    }
}

macro_rules! version_columns {
    () => {
        "id, file_id, kind, name, created_by, created_at"
    };
}

fn seq(value: i64) -> u64 {
    u64::try_from(value).unwrap_or_default()
}

fn as_i64(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

/// Locks the file's row; `NotFound` if there is no such file.
async fn lock_file(conn: &mut PgConnection, file: FileId) -> Result<(), StoreError> {
    let found: Option<i32> = sqlx::query_scalar("SELECT 1 FROM files WHERE id = $1 FOR UPDATE")
        .bind(file.0)
        .fetch_optional(conn)
        .await?;
    found.map(|_| ()).ok_or(StoreError::NotFound)
}

#[async_trait]
impl DocumentStore for PgStore {
    async fn append_updates(
        &self,
        updates: &[(FileId, &[u8])],
        at: DateTime<Utc>,
    ) -> Result<Vec<Option<u64>>, StoreError> {
        if updates.is_empty() {
            return Ok(Vec::new());
        }
        // Three statements per batch whatever its size, the batch passed as arrays.
        let at = micros(at);
        let counts = counts_by_file(updates);
        let files: Vec<Uuid> = counts.iter().map(|(file, _)| file.0).collect();
        let ns: Vec<i64> = counts.iter().map(|(_, n)| as_i64(*n)).collect();
        let mut tx = self.pool.begin().await?;
        // Lock the files in id order first: two nodes' batches over the same files then
        // take their locks in the same order and cannot deadlock.
        sqlx::query("SELECT 1 FROM files WHERE id = ANY($1) ORDER BY id FOR UPDATE")
            .bind(&files)
            .execute(&mut *tx)
            .await?;
        let newest: Vec<(Uuid, i64)> = sqlx::query_as(
            "UPDATE files SET last_update_seq = files.last_update_seq + c.n, \
             updated_at = GREATEST(files.updated_at, $3) \
             FROM UNNEST($1::uuid[], $2::bigint[]) AS c(id, n) \
             WHERE files.id = c.id RETURNING files.id, files.last_update_seq",
        )
        .bind(&files)
        .bind(&ns)
        .bind(at)
        .fetch_all(&mut *tx)
        .await?;
        let seqs = seqs_of_batch(updates, &counts, |file| {
            newest
                .iter()
                .find(|(f, _)| *f == file.0)
                .map(|(_, last)| seq(*last))
        });
        let mut ids = Vec::new();
        let mut numbers = Vec::new();
        let mut data = Vec::new();
        for ((file, update), seq) in updates.iter().zip(&seqs) {
            if let Some(seq) = seq {
                ids.push(file.0);
                numbers.push(as_i64(*seq));
                data.push(update.to_vec());
            }
        }
        if !ids.is_empty() {
            sqlx::query(
                "INSERT INTO document_updates (file_id, seq, data, created_at) \
                 SELECT u.f, u.s, u.d, $4 FROM UNNEST($1::uuid[], $2::bigint[], $3::bytea[]) \
                 AS u(f, s, d)",
            )
            .bind(&ids)
            .bind(&numbers)
            .bind(&data)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(seqs)
    }

    async fn load_document(&self, file: FileId) -> Result<StoredDocument, StoreError> {
        // One snapshot of the database for both reads, so a compaction committing in
        // between cannot hide updates.
        let mut tx = self.pool.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
        let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM files WHERE id = $1")
            .bind(file.0)
            .fetch_optional(&mut *tx)
            .await?;
        exists.ok_or(StoreError::NotFound)?;
        let snapshot: Option<(Vec<u8>, i64)> =
            sqlx::query_as("SELECT state, upto_seq FROM document_snapshots WHERE file_id = $1")
                .bind(file.0)
                .fetch_optional(&mut *tx)
                .await?;
        let snapshot_seq = snapshot.as_ref().map_or(0, |(_, upto)| *upto);
        let updates: Vec<(i64, Vec<u8>)> = sqlx::query_as(
            "SELECT seq, data FROM document_updates WHERE file_id = $1 AND seq > $2 ORDER BY seq",
        )
        .bind(file.0)
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
        let mut tx = self.pool.begin().await?;
        lock_file(&mut tx, file).await?;
        let current: Option<i64> =
            sqlx::query_scalar("SELECT upto_seq FROM document_snapshots WHERE file_id = $1")
                .bind(file.0)
                .fetch_optional(&mut *tx)
                .await?;
        if current.is_some_and(|current| seq(current) >= upto_seq) {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO document_snapshots (file_id, state, upto_seq, updated_at) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (file_id) DO UPDATE SET state = excluded.state, \
             upto_seq = excluded.upto_seq, updated_at = excluded.updated_at",
        )
        .bind(file.0)
        .bind(state)
        .bind(as_i64(upto_seq))
        .bind(micros(at))
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM document_updates WHERE file_id = $1 AND seq <= $2")
            .bind(file.0)
            .bind(as_i64(upto_seq))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn document_size(&self, file: FileId) -> Result<u64, StoreError> {
        let size: Option<i64> = sqlx::query_scalar(
            "SELECT ((SELECT COALESCE(SUM(octet_length(state)), 0) FROM document_snapshots WHERE file_id = $1) \
                   + (SELECT COALESCE(SUM(octet_length(data)), 0) FROM document_updates WHERE file_id = $1))::bigint \
             FROM files WHERE id = $1",
        )
        .bind(file.0)
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
        let mut tx = self.pool.begin().await?;
        let project: Option<Uuid> = sqlx::query_scalar(
            "SELECT w.project_id FROM files f JOIN workspaces w ON w.id = f.workspace_id WHERE f.id = $1",
        )
        .bind(version.file_id.0)
        .fetch_optional(&mut *tx)
        .await?;
        let project = project.map(ProjectId).ok_or(StoreError::NotFound)?;
        sqlx::query(concat!(
            "INSERT INTO file_versions (",
            version_columns!(),
            ", state) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        ))
        .bind(version.id.0)
        .bind(version.file_id.0)
        .bind(version.kind.as_str())
        .bind(version.name.as_deref())
        .bind(version.created_by.map(|u| u.0))
        .bind(micros(version.created_at))
        .bind(state)
        .execute(&mut *tx)
        .await
        .map_err(on_foreign_key_violation)?;
        if let (Some(audit), VersionKind::Named) = (audit, version.kind) {
            let row = entry(
                audit,
                project,
                "file.version_created",
                ("file", version.file_id.to_string()),
                None::<&FileVersion>,
                Some(version),
            )?;
            insert_audit(&mut tx, &row).await?;
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
        let rows: Vec<VersionRow> = sqlx::query_as(concat!(
            "SELECT ",
            version_columns!(),
            " FROM file_versions WHERE file_id = $1 AND ($2::uuid IS NULL OR id < $2) \
             ORDER BY id DESC LIMIT $3"
        ))
        .bind(file.0)
        .bind(before.map(|id| id.0))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(FileVersion::try_from)
            .collect::<Result<_, _>>()?)
    }

    async fn version_by_id(&self, id: VersionId) -> Result<Option<FileVersion>, StoreError> {
        let row: Option<VersionRow> = sqlx::query_as(concat!(
            "SELECT ",
            version_columns!(),
            " FROM file_versions WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(FileVersion::try_from).transpose()?)
    }

    async fn version_state(&self, id: VersionId) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT state FROM file_versions WHERE id = $1")
                .bind(id.0)
                .fetch_optional(&self.pool)
                .await?,
        )
    }
}
