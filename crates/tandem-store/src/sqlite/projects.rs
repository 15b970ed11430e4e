//! Projects in SQLite: the `projects` table, and the owner's membership written with it.

use async_trait::async_trait;
use sqlx::SqliteConnection;
use tandem_domain::{AuditContext, Description, Name, Project, ProjectId, Role, UserId};

use super::audit_log::insert_audit;
use super::row_ddl;
use super::{
    BEGIN_WRITE, SqliteStore, decode_id, decode_role, decode_time, encode_id, encode_time,
    on_foreign_key_violation, on_unique_violation,
};
use crate::{ProjectStore, ProjectWithRole, StoreError, audit};

/// A `projects` row as SQLite returns it.
#[derive(sqlx::FromRow)]
struct ProjectRow {
    id: String,
    name: String,
    description: String,
    created_at: String,
    updated_at: String,
}

impl TryFrom<ProjectRow> for Project {
    type Error = sqlx::Error;

    fn try_from(row: ProjectRow) -> Result<Self, Self::Error> {
        Ok(Project {
            id: ProjectId(decode_id("projects.id", &row.id)?),
            name: Name::from_storage(row.name),
            description: Description::from_storage(row.description),
            created_at: decode_time("projects.created_at", &row.created_at)?,
            updated_at: decode_time("projects.updated_at", &row.updated_at)?,
        })
    }
}

/// A project joined with one user's membership of it.
#[derive(sqlx::FromRow)]
struct ProjectWithRoleRow {
    #[sqlx(flatten)]
    project: ProjectRow,
    role: String,
}

#[async_trait]
impl ProjectStore for SqliteStore {
    async fn create_project(
        &self,
        project: &Project,
        owner: UserId,
        audit: &AuditContext,
    ) -> Result<(), StoreError> {
        let entry = audit::entry(
            audit,
            project.id,
            "project.created",
            ("project", project.id.to_string()),
            None::<&Project>,
            Some(project),
        )?;
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        sqlx::query(
            "INSERT INTO projects (id, name, description, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(encode_id(project.id.0))
        .bind(project.name.as_str())
        .bind(project.description.as_str())
        .bind(encode_time(project.created_at))
        .bind(encode_time(project.updated_at))
        .execute(&mut *tx)
        .await
        .map_err(on_unique_violation("projects.id"))?;
        sqlx::query(
            "INSERT INTO members (project_id, user_id, role, joined_at) VALUES (?, ?, ?, ?)",
        )
        .bind(encode_id(project.id.0))
        .bind(encode_id(owner.0))
        .bind(Role::Owner.as_str())
        .bind(encode_time(audit.at))
        .execute(&mut *tx)
        .await
        .map_err(on_foreign_key_violation)?;
        insert_audit(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn project_by_id(&self, id: ProjectId) -> Result<Option<Project>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        project_by_id(&mut conn, id).await
    }

    async fn list_projects_for_user(
        &self,
        user: UserId,
        after: Option<ProjectId>,
        limit: u32,
    ) -> Result<Vec<ProjectWithRole>, StoreError> {
        let rows: Vec<ProjectWithRoleRow> = sqlx::query_as(
            "SELECT p.id, p.name, p.description, p.created_at, p.updated_at, m.role \
             FROM members m JOIN projects p ON p.id = m.project_id \
             WHERE m.user_id = ?1 AND (?2 IS NULL OR m.project_id > ?2) \
             ORDER BY m.project_id \
             LIMIT ?3",
        )
        .bind(encode_id(user.0))
        .bind(after.map(|id| encode_id(id.0)))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let listed = rows
            .into_iter()
            .map(|row| {
                Ok(ProjectWithRole {
                    role: decode_role("members.role", &row.role)?,
                    project: row.project.try_into()?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()?;
        Ok(listed)
    }

    async fn update_project(
        &self,
        id: ProjectId,
        name: Option<&Name>,
        description: Option<&Description>,
        audit: &AuditContext,
    ) -> Result<Project, StoreError> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        let before = project_by_id(&mut tx, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        let row: ProjectRow = sqlx::query_as(
            "UPDATE projects \
             SET name = COALESCE(?, name), description = COALESCE(?, description), \
                 updated_at = ? \
             WHERE id = ? \
             RETURNING id, name, description, created_at, updated_at",
        )
        .bind(name.map(Name::as_str))
        .bind(description.map(Description::as_str))
        .bind(encode_time(audit.at))
        .bind(encode_id(id.0))
        .fetch_one(&mut *tx)
        .await?;
        let after = Project::try_from(row)?;
        let entry = audit::entry(
            audit,
            id,
            "project.updated",
            ("project", id.to_string()),
            Some(&before),
            Some(&after),
        )?;
        insert_audit(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn delete_project(&self, id: ProjectId) -> Result<(), StoreError> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        // Row tables are tables of their own, which no cascade reaches.
        row_ddl::drop_row_tables_of_project(&mut tx, id).await?;
        // Members, invitations, workspaces (with their live tables) and audit rows go by
        // `ON DELETE CASCADE`. No audit row: the log is deleted with the project it
        // belongs to.
        let done = sqlx::query("DELETE FROM projects WHERE id = ?")
            .bind(encode_id(id.0))
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        Ok(())
    }
}

async fn project_by_id(
    conn: &mut SqliteConnection,
    id: ProjectId,
) -> Result<Option<Project>, StoreError> {
    let row: Option<ProjectRow> = sqlx::query_as(
        "SELECT id, name, description, created_at, updated_at FROM projects WHERE id = ?",
    )
    .bind(encode_id(id.0))
    .fetch_optional(conn)
    .await?;
    Ok(row.map(Project::try_from).transpose()?)
}
