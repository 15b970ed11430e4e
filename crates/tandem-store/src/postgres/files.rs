//! Files in PostgreSQL: the `files` table, with the first document update of a new file.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use tandem_domain::{AuditContext, File, FileId, FilePath, ProjectId, UserId, WorkspaceId};
use uuid::Uuid;

use super::projects::insert_audit;
use super::{PgStore, micros};
use crate::audit::entry;
use crate::error::on_write_error;
use crate::{FileStore, StoreError};

/// A `files` row.
#[derive(sqlx::FromRow)]
struct FileRow {
    id: Uuid,
    workspace_id: Uuid,
    path: String,
    created_by: Uuid,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<FileRow> for File {
    fn from(row: FileRow) -> Self {
        File {
            id: FileId(row.id),
            workspace_id: WorkspaceId(row.workspace_id),
            path: FilePath::from_storage(row.path),
            created_by: UserId(row.created_by),
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

macro_rules! file_columns {
    () => {
        "id, workspace_id, path, created_by, created_at, updated_at"
    };
}

/// The file, its row locked, with its project; `NotFound` if there is none.
async fn file_for_update(
    conn: &mut PgConnection,
    id: FileId,
) -> Result<(File, ProjectId), StoreError> {
    let row: Option<FileRow> = sqlx::query_as(concat!(
        "SELECT ",
        file_columns!(),
        " FROM files WHERE id = $1 FOR UPDATE"
    ))
    .bind(id.0)
    .fetch_optional(&mut *conn)
    .await?;
    let file = File::from(row.ok_or(StoreError::NotFound)?);
    let project = project_of(conn, file.workspace_id).await?;
    Ok((file, project))
}

/// The project a workspace belongs to; `NotFound` if there is no such workspace.
async fn project_of(
    conn: &mut PgConnection,
    workspace: WorkspaceId,
) -> Result<ProjectId, StoreError> {
    let project: Option<Uuid> =
        sqlx::query_scalar("SELECT project_id FROM workspaces WHERE id = $1")
            .bind(workspace.0)
            .fetch_optional(conn)
            .await?;
    project.map(ProjectId).ok_or(StoreError::NotFound)
}

#[async_trait]
impl FileStore for PgStore {
    async fn create_file(
        &self,
        file: &File,
        initial_update: Option<&[u8]>,
        audit: &AuditContext,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let project = project_of(&mut tx, file.workspace_id).await?;
        sqlx::query(concat!(
            "INSERT INTO files (",
            file_columns!(),
            ", last_update_seq) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        ))
        .bind(file.id.0)
        .bind(file.workspace_id.0)
        .bind(file.path.as_str())
        .bind(file.created_by.0)
        .bind(micros(file.created_at))
        .bind(micros(file.updated_at))
        .bind(i64::from(initial_update.is_some()))
        .execute(&mut *tx)
        .await
        .map_err(on_write_error("files.path"))?;
        if let Some(update) = initial_update {
            sqlx::query(
                "INSERT INTO document_updates (file_id, seq, data, created_at) VALUES ($1, 1, $2, $3)",
            )
            .bind(file.id.0)
            .bind(update)
            .bind(micros(file.created_at))
            .execute(&mut *tx)
            .await?;
        }
        let row = entry(
            audit,
            project,
            "file.created",
            ("file", file.id.to_string()),
            None::<&File>,
            Some(file),
        )?;
        insert_audit(&mut tx, &row).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn file_by_id(&self, id: FileId) -> Result<Option<File>, StoreError> {
        let row: Option<FileRow> = sqlx::query_as(concat!(
            "SELECT ",
            file_columns!(),
            " FROM files WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(File::from))
    }

    async fn list_files(
        &self,
        workspace: WorkspaceId,
        after: Option<&FilePath>,
        limit: u32,
    ) -> Result<Vec<File>, StoreError> {
        let rows: Vec<FileRow> = sqlx::query_as(concat!(
            "SELECT ",
            file_columns!(),
            " FROM files WHERE workspace_id = $1 AND ($2::text IS NULL OR path > $2) \
             ORDER BY path LIMIT $3"
        ))
        .bind(workspace.0)
        .bind(after.map(FilePath::as_str))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(File::from).collect())
    }

    async fn rename_file(
        &self,
        id: FileId,
        path: &FilePath,
        audit: &AuditContext,
    ) -> Result<File, StoreError> {
        let mut tx = self.pool.begin().await?;
        let (before, project) = file_for_update(&mut tx, id).await?;
        let row: FileRow = sqlx::query_as(concat!(
            "UPDATE files SET path = $2, updated_at = GREATEST(updated_at, $3) WHERE id = $1 RETURNING ",
            file_columns!()
        ))
        .bind(id.0)
        .bind(path.as_str())
        .bind(micros(audit.at))
        .fetch_one(&mut *tx)
        .await
        .map_err(on_write_error("files.path"))?;
        let after = File::from(row);
        let row = entry(
            audit,
            project,
            "file.renamed",
            ("file", id.to_string()),
            Some(&before),
            Some(&after),
        )?;
        insert_audit(&mut tx, &row).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn delete_file(&self, id: FileId, audit: &AuditContext) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let (before, project) = file_for_update(&mut tx, id).await?;
        sqlx::query("DELETE FROM files WHERE id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
        let row = entry(
            audit,
            project,
            "file.deleted",
            ("file", id.to_string()),
            Some(&before),
            None::<&File>,
        )?;
        insert_audit(&mut tx, &row).await?;
        tx.commit().await?;
        Ok(())
    }
}
