//! Project memberships in PostgreSQL, including the ownership transfer.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use tandem_domain::{AuditContext, Member, Membership, ProjectId, Role, UserId};
use uuid::Uuid;

use super::projects::{decode_role, insert_audit};
use super::{PgStore, micros};
use crate::audit::entry;
use crate::{MemberStore, StoreError};

/// A member row joined with the account's name and email.
#[derive(sqlx::FromRow)]
struct MemberRow {
    user_id: Uuid,
    name: String,
    email: String,
    role: String,
    joined_at: DateTime<Utc>,
}

impl TryFrom<MemberRow> for Member {
    type Error = StoreError;

    fn try_from(row: MemberRow) -> Result<Self, StoreError> {
        Ok(Member {
            user_id: UserId(row.user_id),
            name: row.name,
            email: row.email,
            role: decode_role(&row.role)?,
            joined_at: row.joined_at,
        })
    }
}

macro_rules! member_select {
    () => {
        "SELECT m.user_id, u.name, u.email, m.role, m.joined_at \
     FROM members m JOIN users u ON u.id = m.user_id"
    };
}

/// Maps constraint violations on `members`: a duplicate member, a second owner, or a
/// user that does not exist.
pub(super) fn on_member_error(err: sqlx::Error) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            if db.constraint() == Some("members_one_owner_idx") {
                StoreError::Conflict("members.owner")
            } else {
                StoreError::Conflict("members.user")
            }
        }
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound,
        _ => StoreError::Other(err),
    }
}

/// One member, read inside the caller's transaction (locking the row when asked).
pub(super) async fn member_in(
    conn: &mut PgConnection,
    project: ProjectId,
    user: UserId,
) -> Result<Option<Member>, StoreError> {
    let row: Option<MemberRow> = sqlx::query_as(concat!(
        member_select!(),
        " WHERE m.project_id = $1 AND m.user_id = $2"
    ))
    .bind(project.0)
    .bind(user.0)
    .fetch_optional(conn)
    .await?;
    row.map(Member::try_from).transpose()
}

/// Inserts a membership and returns it as listed; used by `add_member` and invitations.
pub(super) async fn insert_member(
    conn: &mut PgConnection,
    membership: &Membership,
) -> Result<Member, StoreError> {
    sqlx::query(
        "INSERT INTO members (project_id, user_id, role, joined_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(membership.project_id.0)
    .bind(membership.user_id.0)
    .bind(membership.role.as_str())
    .bind(micros(membership.joined_at))
    .execute(&mut *conn)
    .await
    .map_err(on_member_error)?;
    member_in(conn, membership.project_id, membership.user_id)
        .await?
        .ok_or(StoreError::NotFound)
}

#[async_trait]
impl MemberStore for PgStore {
    async fn membership(
        &self,
        project: ProjectId,
        user: UserId,
    ) -> Result<Option<Membership>, StoreError> {
        let row: Option<(String, DateTime<Utc>)> = sqlx::query_as(
            "SELECT role, joined_at FROM members WHERE project_id = $1 AND user_id = $2",
        )
        .bind(project.0)
        .bind(user.0)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|(role, joined_at)| {
            Ok(Membership {
                project_id: project,
                user_id: user,
                role: decode_role(&role)?,
                joined_at,
            })
        })
        .transpose()
    }

    async fn list_members(
        &self,
        project: ProjectId,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<Member>, StoreError> {
        let rows: Vec<MemberRow> = sqlx::query_as(concat!(
            member_select!(),
            " WHERE m.project_id = $1 AND ($2::uuid IS NULL OR m.user_id > $2) \
             ORDER BY m.user_id LIMIT $3"
        ))
        .bind(project.0)
        .bind(after.map(|id| id.0))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(Member::try_from).collect()
    }

    async fn add_member(
        &self,
        membership: &Membership,
        audit: &AuditContext,
    ) -> Result<Member, StoreError> {
        let mut tx = self.pool.begin().await?;
        let member = insert_member(&mut tx, membership).await?;
        let target = ("member", member.user_id.to_string());
        let row = entry(
            audit,
            membership.project_id,
            "member.added",
            target,
            None::<&Member>,
            Some(&member),
        )?;
        insert_audit(&mut tx, &row).await?;
        tx.commit().await?;
        Ok(member)
    }

    async fn change_role(
        &self,
        project: ProjectId,
        user: UserId,
        role: Role,
        audit: &AuditContext,
    ) -> Result<Member, StoreError> {
        let mut tx = self.pool.begin().await?;
        lock_member(&mut tx, project, user).await?;
        let before = member_in(&mut tx, project, user)
            .await?
            .ok_or(StoreError::NotFound)?;
        sqlx::query("UPDATE members SET role = $3 WHERE project_id = $1 AND user_id = $2")
            .bind(project.0)
            .bind(user.0)
            .bind(role.as_str())
            .execute(&mut *tx)
            .await
            .map_err(on_member_error)?;
        let after = Member {
            role,
            ..before.clone()
        };
        let row = entry(
            audit,
            project,
            "member.role_changed",
            ("member", user.to_string()),
            Some(&before),
            Some(&after),
        )?;
        insert_audit(&mut tx, &row).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn remove_member(
        &self,
        project: ProjectId,
        user: UserId,
        audit: &AuditContext,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        lock_member(&mut tx, project, user).await?;
        let before = member_in(&mut tx, project, user)
            .await?
            .ok_or(StoreError::NotFound)?;
        sqlx::query("DELETE FROM members WHERE project_id = $1 AND user_id = $2")
            .bind(project.0)
            .bind(user.0)
            .execute(&mut *tx)
            .await?;
        let row = entry(
            audit,
            project,
            "member.removed",
            ("member", user.to_string()),
            Some(&before),
            None::<&Member>,
        )?;
        insert_audit(&mut tx, &row).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn transfer_ownership(
        &self,
        project: ProjectId,
        to: UserId,
        audit: &AuditContext,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        // Lock every membership of the project: two transfers must not interleave.
        let rows: Vec<(Uuid, String)> =
            sqlx::query_as("SELECT user_id, role FROM members WHERE project_id = $1 FOR UPDATE")
                .bind(project.0)
                .fetch_all(&mut *tx)
                .await?;
        if !rows.iter().any(|(user, _)| *user == to.0) {
            return Err(StoreError::NotFound);
        }
        let owner = rows
            .iter()
            .find(|(_, role)| role == "owner")
            .map(|(user, _)| UserId(*user))
            .ok_or(StoreError::NotFound)?;
        if owner == to {
            return Ok(());
        }
        // Demote first: the one-owner index never sees two owners.
        for (user, role) in [(owner, Role::Admin), (to, Role::Owner)] {
            sqlx::query("UPDATE members SET role = $3 WHERE project_id = $1 AND user_id = $2")
                .bind(project.0)
                .bind(user.0)
                .bind(role.as_str())
                .execute(&mut *tx)
                .await
                .map_err(on_member_error)?;
        }
        let row = entry(
            audit,
            project,
            "project.ownership_transferred",
            ("member", to.to_string()),
            Some(&serde_json::json!({ "owner": owner })),
            Some(&serde_json::json!({ "owner": to })),
        )?;
        insert_audit(&mut tx, &row).await?;
        tx.commit().await?;
        Ok(())
    }
}

async fn lock_member(
    conn: &mut PgConnection,
    project: ProjectId,
    user: UserId,
) -> Result<(), StoreError> {
    sqlx::query("SELECT 1 FROM members WHERE project_id = $1 AND user_id = $2 FOR UPDATE")
        .bind(project.0)
        .bind(user.0)
        .execute(conn)
        .await?;
    Ok(())
}
