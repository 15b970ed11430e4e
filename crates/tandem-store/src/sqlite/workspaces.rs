//! Workspaces in SQLite: the `workspaces` table. Settings are a JSON object kept as text.

use async_trait::async_trait;
use serde_json::{Map, Value};
use sqlx::SqliteConnection;
use tandem_domain::{AuditContext, Name, ProjectId, Workspace, WorkspaceId};

use super::audit_log::insert_audit;
use super::row_ddl;
use super::{
    BEGIN_WRITE, SqliteStore, decode_error, decode_id, decode_time, encode_id, encode_time,
};
use crate::{StoreError, WorkspaceStore, audit};

/// A `workspaces` row as SQLite returns it.
#[derive(sqlx::FromRow)]
struct WorkspaceRow {
    id: String,
    project_id: String,
    name: String,
    settings: String,
    created_at: String,
    updated_at: String,
}

impl TryFrom<WorkspaceRow> for Workspace {
    type Error = sqlx::Error;

    fn try_from(row: WorkspaceRow) -> Result<Self, Self::Error> {
        Ok(Workspace {
            id: WorkspaceId(decode_id("workspaces.id", &row.id)?),
            project_id: ProjectId(decode_id("workspaces.project_id", &row.project_id)?),
            name: Name::from_storage(row.name),
            settings: serde_json::from_str(&row.settings)
                .map_err(|e| decode_error("workspaces.settings", e))?,
            created_at: decode_time("workspaces.created_at", &row.created_at)?,
            updated_at: decode_time("workspaces.updated_at", &row.updated_at)?,
        })
    }
}

/// Writes settings as JSON object text.
fn encode_settings(settings: &Map<String, Value>) -> String {
    // A map with string keys always serialises.
    Value::Object(settings.clone()).to_string()
}

/// A workspace name taken in the project is a conflict; a missing project is `NotFound`.
fn on_workspace_write_error(err: sqlx::Error) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Conflict("workspaces.name")
        }
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound,
        _ => StoreError::Other(err),
    }
}

#[async_trait]
impl WorkspaceStore for SqliteStore {
    async fn create_workspace(
        &self,
        workspace: &Workspace,
        audit: &AuditContext,
    ) -> Result<(), StoreError> {
        let entry = audit::entry(
            audit,
            workspace.project_id,
            "workspace.created",
            ("workspace", workspace.id.to_string()),
            None::<&Workspace>,
            Some(workspace),
        )?;
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        sqlx::query(
            "INSERT INTO workspaces (id, project_id, name, settings, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(encode_id(workspace.id.0))
        .bind(encode_id(workspace.project_id.0))
        .bind(workspace.name.as_str())
        .bind(encode_settings(&workspace.settings))
        .bind(encode_time(workspace.created_at))
        .bind(encode_time(workspace.updated_at))
        .execute(&mut *tx)
        .await
        .map_err(on_workspace_write_error)?;
        insert_audit(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn workspace_by_id(&self, id: WorkspaceId) -> Result<Option<Workspace>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        workspace_by_id(&mut conn, id).await
    }

    async fn list_workspaces(
        &self,
        project: ProjectId,
        after: Option<WorkspaceId>,
        limit: u32,
    ) -> Result<Vec<Workspace>, StoreError> {
        let rows: Vec<WorkspaceRow> = sqlx::query_as(
            "SELECT id, project_id, name, settings, created_at, updated_at FROM workspaces \
             WHERE project_id = ?1 AND (?2 IS NULL OR id > ?2) \
             ORDER BY id \
             LIMIT ?3",
        )
        .bind(encode_id(project.0))
        .bind(after.map(|id| encode_id(id.0)))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(Workspace::try_from)
            .collect::<Result<_, _>>()?)
    }

    async fn update_workspace(
        &self,
        id: WorkspaceId,
        name: Option<&Name>,
        settings: Option<&Map<String, Value>>,
        audit: &AuditContext,
    ) -> Result<Workspace, StoreError> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        let before = workspace_by_id(&mut tx, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        // Settings given replace the whole object; they are not merged.
        let row: WorkspaceRow = sqlx::query_as(
            "UPDATE workspaces \
             SET name = COALESCE(?, name), settings = COALESCE(?, settings), updated_at = ? \
             WHERE id = ? \
             RETURNING id, project_id, name, settings, created_at, updated_at",
        )
        .bind(name.map(Name::as_str))
        .bind(settings.map(encode_settings))
        .bind(encode_time(audit.at))
        .bind(encode_id(id.0))
        .fetch_one(&mut *tx)
        .await
        .map_err(on_workspace_write_error)?;
        let after = Workspace::try_from(row)?;
        let entry = audit::entry(
            audit,
            after.project_id,
            "workspace.updated",
            ("workspace", id.to_string()),
            Some(&before),
            Some(&after),
        )?;
        insert_audit(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn delete_workspace(
        &self,
        id: WorkspaceId,
        audit: &AuditContext,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        let before = workspace_by_id(&mut tx, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        row_ddl::drop_row_tables_of_workspace(&mut tx, id).await?;
        sqlx::query("DELETE FROM workspaces WHERE id = ?")
            .bind(encode_id(id.0))
            .execute(&mut *tx)
            .await?;
        let entry = audit::entry(
            audit,
            before.project_id,
            "workspace.deleted",
            ("workspace", id.to_string()),
            Some(&before),
            None::<&Workspace>,
        )?;
        insert_audit(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok(())
    }
}

async fn workspace_by_id(
    conn: &mut SqliteConnection,
    id: WorkspaceId,
) -> Result<Option<Workspace>, StoreError> {
    let row: Option<WorkspaceRow> = sqlx::query_as(
        "SELECT id, project_id, name, settings, created_at, updated_at FROM workspaces \
         WHERE id = ?",
    )
    .bind(encode_id(id.0))
    .fetch_optional(conn)
    .await?;
    Ok(row.map(Workspace::try_from).transpose()?)
}
