//! Projects in PostgreSQL, and the audit log every tenancy mutation writes to.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{PgConnection, QueryBuilder};
use tandem_domain::{
    AuditContext, AuditEntry, AuditFilter, AuditId, Description, Name, Project, ProjectId, Role,
    UserId,
};
use uuid::Uuid;

use super::row_ddl;
use super::{PgStore, micros};
use crate::audit::entry;
use crate::{AuditStore, ProjectStore, ProjectWithRole, StoreError};

/// A `projects` row.
#[derive(sqlx::FromRow)]
pub(super) struct ProjectRow {
    id: Uuid,
    name: String,
    description: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<ProjectRow> for Project {
    fn from(row: ProjectRow) -> Self {
        Project {
            id: ProjectId(row.id),
            name: Name::from_storage(row.name),
            description: Description::from_storage(row.description),
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct ProjectRoleRow {
    #[sqlx(flatten)]
    project: ProjectRow,
    role: String,
}

macro_rules! project_columns {
    () => {
        "id, name, description, created_at, updated_at"
    };
}

/// Reads a role column; a value outside the four roles means the row is corrupt.
pub(super) fn decode_role(raw: &str) -> Result<Role, StoreError> {
    raw.parse().map_err(|()| {
        StoreError::Other(sqlx::Error::Decode(
            format!("unknown role {raw:?} in the database").into(),
        ))
    })
}

/// Writes one audit row inside the caller's transaction.
pub(super) async fn insert_audit(
    conn: &mut PgConnection,
    entry: &AuditEntry,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_log (id, project_id, actor, action, target_type, target_id, \
         request_id, before, after, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(entry.id.0)
    .bind(entry.project_id.0)
    .bind(entry.actor.0)
    .bind(&entry.action)
    .bind(&entry.target_type)
    .bind(&entry.target_id)
    .bind(&entry.request_id)
    .bind(entry.before.as_ref().map(Json))
    .bind(entry.after.as_ref().map(Json))
    .bind(micros(entry.at))
    .execute(conn)
    .await?;
    Ok(())
}

pub(super) async fn project_in(
    conn: &mut PgConnection,
    id: ProjectId,
) -> Result<Option<Project>, StoreError> {
    let row: Option<ProjectRow> = sqlx::query_as(concat!(
        "SELECT ",
        project_columns!(),
        " FROM projects WHERE id = $1"
    ))
    .bind(id.0)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(Project::from))
}

#[async_trait]
impl ProjectStore for PgStore {
    async fn create_project(
        &self,
        project: &Project,
        owner: UserId,
        audit: &AuditContext,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO projects (id, name, description, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(project.id.0)
        .bind(project.name.as_str())
        .bind(project.description.as_str())
        .bind(micros(project.created_at))
        .bind(micros(project.updated_at))
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO members (project_id, user_id, role, joined_at) VALUES ($1, $2, 'owner', $3)",
        )
        .bind(project.id.0)
        .bind(owner.0)
        .bind(micros(audit.at))
        .execute(&mut *tx)
        .await
        .map_err(super::members::on_member_error)?;
        let row = entry(
            audit,
            project.id,
            "project.created",
            ("project", project.id.to_string()),
            None::<&Project>,
            Some(project),
        )?;
        insert_audit(&mut tx, &row).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn project_by_id(&self, id: ProjectId) -> Result<Option<Project>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        project_in(&mut conn, id).await
    }

    async fn list_projects_for_user(
        &self,
        user: UserId,
        after: Option<ProjectId>,
        limit: u32,
    ) -> Result<Vec<ProjectWithRole>, StoreError> {
        let rows: Vec<ProjectRoleRow> = sqlx::query_as(
            "SELECT p.id, p.name, p.description, p.created_at, p.updated_at, m.role \
             FROM members m JOIN projects p ON p.id = m.project_id \
             WHERE m.user_id = $1 AND ($2::uuid IS NULL OR p.id > $2) \
             ORDER BY p.id LIMIT $3",
        )
        .bind(user.0)
        .bind(after.map(|id| id.0))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|row| {
                Ok(ProjectWithRole {
                    role: decode_role(&row.role)?,
                    project: row.project.into(),
                })
            })
            .collect()
    }

    async fn update_project(
        &self,
        id: ProjectId,
        name: Option<&Name>,
        description: Option<&Description>,
        audit: &AuditContext,
    ) -> Result<Project, StoreError> {
        let mut tx = self.pool.begin().await?;
        let before: Option<ProjectRow> = sqlx::query_as(concat!(
            "SELECT ",
            project_columns!(),
            " FROM projects WHERE id = $1 FOR UPDATE"
        ))
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await?;
        let before = Project::from(before.ok_or(StoreError::NotFound)?);
        let after: ProjectRow = sqlx::query_as(concat!(
            "UPDATE projects SET name = COALESCE($2, name), \
             description = COALESCE($3, description), updated_at = $4 \
             WHERE id = $1 RETURNING ",
            project_columns!()
        ))
        .bind(id.0)
        .bind(name.map(Name::as_str))
        .bind(description.map(Description::as_str))
        .bind(micros(audit.at))
        .fetch_one(&mut *tx)
        .await?;
        let after = Project::from(after);
        let row = entry(
            audit,
            id,
            "project.updated",
            ("project", id.to_string()),
            Some(&before),
            Some(&after),
        )?;
        insert_audit(&mut tx, &row).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn delete_project(&self, id: ProjectId) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        // Row tables are tables of their own, which no cascade reaches.
        row_ddl::drop_row_tables_of_project(&mut tx, id).await?;
        let done = sqlx::query("DELETE FROM projects WHERE id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        Ok(())
    }
}

/// An `audit_log` row.
#[derive(sqlx::FromRow)]
struct AuditRow {
    id: Uuid,
    project_id: Uuid,
    actor: Uuid,
    action: String,
    target_type: String,
    target_id: String,
    request_id: Option<String>,
    before: Option<Json<Value>>,
    after: Option<Json<Value>>,
    at: DateTime<Utc>,
}

impl From<AuditRow> for AuditEntry {
    fn from(row: AuditRow) -> Self {
        AuditEntry {
            id: AuditId(row.id),
            project_id: ProjectId(row.project_id),
            actor: UserId(row.actor),
            action: row.action,
            target_type: row.target_type,
            target_id: row.target_id,
            request_id: row.request_id,
            before: row.before.map(|Json(v)| v),
            after: row.after.map(|Json(v)| v),
            at: row.at,
        }
    }
}

#[async_trait]
impl AuditStore for PgStore {
    async fn list_audit(
        &self,
        project: ProjectId,
        filter: &AuditFilter,
        after: Option<AuditId>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let mut query = QueryBuilder::new(
            "SELECT id, project_id, actor, action, target_type, target_id, request_id, \
             before, after, at FROM audit_log WHERE project_id = ",
        );
        query.push_bind(project.0);
        if let Some(action) = &filter.action {
            query.push(" AND action = ").push_bind(action);
        }
        if let Some(actor) = filter.actor {
            query.push(" AND actor = ").push_bind(actor.0);
        }
        if let Some(since) = filter.since {
            query.push(" AND at >= ").push_bind(micros(since));
        }
        if let Some(until) = filter.until {
            query.push(" AND at < ").push_bind(micros(until));
        }
        if let Some(after) = after {
            query.push(" AND id > ").push_bind(after.0);
        }
        query
            .push(" ORDER BY id LIMIT ")
            .push_bind(i64::from(limit));
        let rows: Vec<AuditRow> = query.build_query_as().fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(AuditEntry::from).collect())
    }
}
