//! Files in SQLite: the `files` table, with the first document update of a new file.

use async_trait::async_trait;
use sqlx::SqliteConnection;
use tandem_domain::{AuditContext, File, FileId, FilePath, ProjectId, UserId, WorkspaceId};

use super::audit_log::insert_audit;
use super::{BEGIN_WRITE, SqliteStore, decode_id, decode_time, encode_id, encode_time};
use crate::error::on_write_error;
use crate::{FileStore, StoreError, audit};

/// A `files` row as SQLite returns it.
#[derive(sqlx::FromRow)]
struct FileRow {
    id: String,
    workspace_id: String,
    path: String,
    created_by: String,
    created_at: String,
    updated_at: String,
}

impl TryFrom<FileRow> for File {
    type Error = sqlx::Error;

    fn try_from(row: FileRow) -> Result<Self, Self::Error> {
        Ok(File {
            id: FileId(decode_id("files.id", &row.id)?),
            workspace_id: WorkspaceId(decode_id("files.workspace_id", &row.workspace_id)?),
            path: FilePath::from_storage(row.path),
            created_by: UserId(decode_id("files.created_by", &row.created_by)?),
            created_at: decode_time("files.created_at", &row.created_at)?,
            updated_at: decode_time("files.updated_at", &row.updated_at)?,
        })
    }
}

pub(super) async fn file_by_id(
    conn: &mut SqliteConnection,
    id: FileId,
) -> Result<Option<File>, StoreError> {
    let row: Option<FileRow> = sqlx::query_as(
        "SELECT id, workspace_id, path, created_by, created_at, updated_at FROM files WHERE id = ?",
    )
    .bind(encode_id(id.0))
    .fetch_optional(conn)
    .await?;
    Ok(row.map(File::try_from).transpose()?)
}

/// The project a workspace belongs to; `NotFound` if there is no such workspace.
async fn project_of(
    conn: &mut SqliteConnection,
    workspace: WorkspaceId,
) -> Result<ProjectId, StoreError> {
    let project: Option<String> =
        sqlx::query_scalar("SELECT project_id FROM workspaces WHERE id = ?")
            .bind(encode_id(workspace.0))
            .fetch_optional(conn)
            .await?;
    let project = project.ok_or(StoreError::NotFound)?;
    Ok(ProjectId(decode_id("workspaces.project_id", &project)?))
}

#[async_trait]
impl FileStore for SqliteStore {
    async fn create_file(
        &self,
        file: &File,
        initial_update: Option<&[u8]>,
        audit: &AuditContext,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        let project = project_of(&mut tx, file.workspace_id).await?;
        sqlx::query(
            "INSERT INTO files (id, workspace_id, path, created_by, created_at, updated_at, last_update_seq) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(encode_id(file.id.0))
        .bind(encode_id(file.workspace_id.0))
        .bind(file.path.as_str())
        .bind(encode_id(file.created_by.0))
        .bind(encode_time(file.created_at))
        .bind(encode_time(file.updated_at))
        .bind(i64::from(initial_update.is_some()))
        .execute(&mut *tx)
        .await
        .map_err(on_write_error("files.path"))?;
        if let Some(update) = initial_update {
            sqlx::query(
                "INSERT INTO document_updates (file_id, seq, data, created_at) VALUES (?, 1, ?, ?)",
            )
            .bind(encode_id(file.id.0))
            .bind(update)
            .bind(encode_time(file.created_at))
            .execute(&mut *tx)
            .await?;
        }
        let entry = audit::entry(
            audit,
            project,
            "file.created",
            ("file", file.id.to_string()),
            None::<&File>,
            Some(file),
        )?;
        insert_audit(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn file_by_id(&self, id: FileId) -> Result<Option<File>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        file_by_id(&mut conn, id).await
    }

    async fn list_files(
        &self,
        workspace: WorkspaceId,
        after: Option<&FilePath>,
        limit: u32,
    ) -> Result<Vec<File>, StoreError> {
        let rows: Vec<FileRow> = sqlx::query_as(
            "SELECT id, workspace_id, path, created_by, created_at, updated_at FROM files \
             WHERE workspace_id = ?1 AND (?2 IS NULL OR path > ?2) \
             ORDER BY path \
             LIMIT ?3",
        )
        .bind(encode_id(workspace.0))
        .bind(after.map(FilePath::as_str))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(File::try_from)
            .collect::<Result<_, _>>()?)
    }

    async fn rename_file(
        &self,
        id: FileId,
        path: &FilePath,
        audit: &AuditContext,
    ) -> Result<File, StoreError> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        let before = file_by_id(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
        let project = project_of(&mut tx, before.workspace_id).await?;
        let row: FileRow = sqlx::query_as(
            "UPDATE files SET path = ?, updated_at = MAX(updated_at, ?) WHERE id = ? \
             RETURNING id, workspace_id, path, created_by, created_at, updated_at",
        )
        .bind(path.as_str())
        .bind(encode_time(audit.at))
        .bind(encode_id(id.0))
        .fetch_one(&mut *tx)
        .await
        .map_err(on_write_error("files.path"))?;
        let after = File::try_from(row)?;
        let entry = audit::entry(
            audit,
            project,
            "file.renamed",
            ("file", id.to_string()),
            Some(&before),
            Some(&after),
        )?;
        insert_audit(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn delete_file(&self, id: FileId, audit: &AuditContext) -> Result<(), StoreError> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        let before = file_by_id(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
        let project = project_of(&mut tx, before.workspace_id).await?;
        sqlx::query("DELETE FROM files WHERE id = ?")
            .bind(encode_id(id.0))
            .execute(&mut *tx)
            .await?;
        let entry = audit::entry(
            audit,
            project,
            "file.deleted",
            ("file", id.to_string()),
            Some(&before),
            None::<&File>,
        )?;
        insert_audit(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok(())
    }
}
