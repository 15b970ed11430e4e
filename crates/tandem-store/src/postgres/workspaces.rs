//! Workspaces in PostgreSQL: named uniquely within their project, with JSON settings.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sqlx::PgConnection;
use sqlx::types::Json;
use tandem_domain::{AuditContext, Name, ProjectId, Workspace, WorkspaceId};
use uuid::Uuid;

use super::projects::insert_audit;
use super::row_ddl;
use super::{PgStore, micros, on_unique_violation};
use crate::audit::entry;
use crate::{StoreError, WorkspaceStore};

/// A `workspaces` row.
#[derive(sqlx::FromRow)]
struct WorkspaceRow {
    id: Uuid,
    project_id: Uuid,
    name: String,
    settings: Json<Map<String, Value>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<WorkspaceRow> for Workspace {
    fn from(row: WorkspaceRow) -> Self {
        Workspace {
            id: WorkspaceId(row.id),
            project_id: ProjectId(row.project_id),
            name: Name::from_storage(row.name),
            settings: row.settings.0,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

macro_rules! workspace_columns {
    () => {
        "id, project_id, name, settings, created_at, updated_at"
    };
}
const NAME_TAKEN: &str = "workspaces.name";

async fn workspace_for_update(
    conn: &mut PgConnection,
    id: WorkspaceId,
) -> Result<Workspace, StoreError> {
    let row: Option<WorkspaceRow> = sqlx::query_as(concat!(
        "SELECT ",
        workspace_columns!(),
        " FROM workspaces WHERE id = $1 FOR UPDATE"
    ))
    .bind(id.0)
    .fetch_optional(conn)
    .await?;
    row.map(Workspace::from).ok_or(StoreError::NotFound)
}

#[async_trait]
impl WorkspaceStore for PgStore {
    async fn create_workspace(
        &self,
        workspace: &Workspace,
        audit: &AuditContext,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(concat!(
            "INSERT INTO workspaces (",
            workspace_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6)"
        ))
        .bind(workspace.id.0)
        .bind(workspace.project_id.0)
        .bind(workspace.name.as_str())
        .bind(Json(&workspace.settings))
        .bind(micros(workspace.created_at))
        .bind(micros(workspace.updated_at))
        .execute(&mut *tx)
        .await
        .map_err(on_unique_violation(NAME_TAKEN))?;
        let target = ("workspace", workspace.id.to_string());
        let row = entry(
            audit,
            workspace.project_id,
            "workspace.created",
            target,
            None::<&Workspace>,
            Some(workspace),
        )?;
        insert_audit(&mut tx, &row).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn workspace_by_id(&self, id: WorkspaceId) -> Result<Option<Workspace>, StoreError> {
        let row: Option<WorkspaceRow> = sqlx::query_as(concat!(
            "SELECT ",
            workspace_columns!(),
            " FROM workspaces WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(Workspace::from))
    }

    async fn list_workspaces(
        &self,
        project: ProjectId,
        after: Option<WorkspaceId>,
        limit: u32,
    ) -> Result<Vec<Workspace>, StoreError> {
        let rows: Vec<WorkspaceRow> = sqlx::query_as(concat!(
            "SELECT ",
            workspace_columns!(),
            " FROM workspaces \
             WHERE project_id = $1 AND ($2::uuid IS NULL OR id > $2) ORDER BY id LIMIT $3"
        ))
        .bind(project.0)
        .bind(after.map(|id| id.0))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(Workspace::from).collect())
    }

    async fn update_workspace(
        &self,
        id: WorkspaceId,
        name: Option<&Name>,
        settings: Option<&Map<String, Value>>,
        audit: &AuditContext,
    ) -> Result<Workspace, StoreError> {
        let mut tx = self.pool.begin().await?;
        let before = workspace_for_update(&mut tx, id).await?;
        let row: WorkspaceRow = sqlx::query_as(concat!(
            "UPDATE workspaces SET name = COALESCE($2, name), \
             settings = COALESCE($3, settings), updated_at = $4 \
             WHERE id = $1 RETURNING ",
            workspace_columns!()
        ))
        .bind(id.0)
        .bind(name.map(Name::as_str))
        .bind(settings.map(Json))
        .bind(micros(audit.at))
        .fetch_one(&mut *tx)
        .await
        .map_err(on_unique_violation(NAME_TAKEN))?;
        let after = Workspace::from(row);
        let target = ("workspace", id.to_string());
        let row = entry(
            audit,
            before.project_id,
            "workspace.updated",
            target,
            Some(&before),
            Some(&after),
        )?;
        insert_audit(&mut tx, &row).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn delete_workspace(
        &self,
        id: WorkspaceId,
        audit: &AuditContext,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let before = workspace_for_update(&mut tx, id).await?;
        row_ddl::drop_row_tables_of_workspace(&mut tx, id).await?;
        sqlx::query("DELETE FROM workspaces WHERE id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
        let target = ("workspace", id.to_string());
        let row = entry(
            audit,
            before.project_id,
            "workspace.deleted",
            target,
            Some(&before),
            None::<&Workspace>,
        )?;
        insert_audit(&mut tx, &row).await?;
        tx.commit().await?;
        Ok(())
    }
}
