//! Memberships in SQLite: the `members` table, listed with each account's name and email.
//!
//! The partial unique index `members_one_owner_idx` allows one owner per project, so
//! ownership moves by demoting the old owner before promoting the new one.

use async_trait::async_trait;
use serde_json::json;
use sqlx::SqliteConnection;
use tandem_domain::{AuditContext, Member, Membership, ProjectId, Role, UserId};

use super::audit_log::insert_audit;
use super::{
    BEGIN_WRITE, SqliteStore, decode_id, decode_role, decode_time, encode_id, encode_time,
};
use crate::{MemberStore, StoreError, audit};

/// A `members` row as SQLite returns it.
#[derive(sqlx::FromRow)]
struct MembershipRow {
    project_id: String,
    user_id: String,
    role: String,
    joined_at: String,
}

impl TryFrom<MembershipRow> for Membership {
    type Error = sqlx::Error;

    fn try_from(row: MembershipRow) -> Result<Self, Self::Error> {
        Ok(Membership {
            project_id: ProjectId(decode_id("members.project_id", &row.project_id)?),
            user_id: UserId(decode_id("members.user_id", &row.user_id)?),
            role: decode_role("members.role", &row.role)?,
            joined_at: decode_time("members.joined_at", &row.joined_at)?,
        })
    }
}

/// A `members` row joined with its `users` row.
#[derive(sqlx::FromRow)]
struct MemberRow {
    user_id: String,
    name: String,
    email: String,
    role: String,
    joined_at: String,
}

impl TryFrom<MemberRow> for Member {
    type Error = sqlx::Error;

    fn try_from(row: MemberRow) -> Result<Self, Self::Error> {
        Ok(Member {
            user_id: UserId(decode_id("members.user_id", &row.user_id)?),
            name: row.name,
            email: row.email,
            role: decode_role("members.role", &row.role)?,
            joined_at: decode_time("members.joined_at", &row.joined_at)?,
        })
    }
}

#[async_trait]
impl MemberStore for SqliteStore {
    async fn membership(
        &self,
        project: ProjectId,
        user: UserId,
    ) -> Result<Option<Membership>, StoreError> {
        let row: Option<MembershipRow> = sqlx::query_as(
            "SELECT project_id, user_id, role, joined_at FROM members \
             WHERE project_id = ? AND user_id = ?",
        )
        .bind(encode_id(project.0))
        .bind(encode_id(user.0))
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(Membership::try_from).transpose()?)
    }

    async fn list_members(
        &self,
        project: ProjectId,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<Member>, StoreError> {
        let rows: Vec<MemberRow> = sqlx::query_as(
            "SELECT m.user_id, u.name, u.email, m.role, m.joined_at \
             FROM members m JOIN users u ON u.id = m.user_id \
             WHERE m.project_id = ?1 AND (?2 IS NULL OR m.user_id > ?2) \
             ORDER BY m.user_id \
             LIMIT ?3",
        )
        .bind(encode_id(project.0))
        .bind(after.map(|id| encode_id(id.0)))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(Member::try_from)
            .collect::<Result<_, _>>()?)
    }

    async fn add_member(
        &self,
        membership: &Membership,
        audit: &AuditContext,
    ) -> Result<Member, StoreError> {
        let (project, user) = (membership.project_id, membership.user_id);
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        // Checked first so that the only unique violation left is the one-owner index.
        if member(&mut tx, project, user).await?.is_some() {
            return Err(StoreError::Conflict("members.user"));
        }
        let added = insert_member(&mut tx, membership).await?;
        let entry = audit::entry(
            audit,
            project,
            "member.added",
            ("member", user.to_string()),
            None::<&Member>,
            Some(&added),
        )?;
        insert_audit(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok(added)
    }

    async fn change_role(
        &self,
        project: ProjectId,
        user: UserId,
        role: Role,
        audit: &AuditContext,
    ) -> Result<Member, StoreError> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        let before = member(&mut tx, project, user)
            .await?
            .ok_or(StoreError::NotFound)?;
        set_role(&mut tx, project, user, role).await?;
        let after = Member {
            role,
            ..before.clone()
        };
        let entry = audit::entry(
            audit,
            project,
            "member.role_changed",
            ("member", user.to_string()),
            Some(&before),
            Some(&after),
        )?;
        insert_audit(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn remove_member(
        &self,
        project: ProjectId,
        user: UserId,
        audit: &AuditContext,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        let before = member(&mut tx, project, user)
            .await?
            .ok_or(StoreError::NotFound)?;
        sqlx::query("DELETE FROM members WHERE project_id = ? AND user_id = ?")
            .bind(encode_id(project.0))
            .bind(encode_id(user.0))
            .execute(&mut *tx)
            .await?;
        let entry = audit::entry(
            audit,
            project,
            "member.removed",
            ("member", user.to_string()),
            Some(&before),
            None::<&Member>,
        )?;
        insert_audit(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn transfer_ownership(
        &self,
        project: ProjectId,
        to: UserId,
        audit: &AuditContext,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        let heir = member(&mut tx, project, to)
            .await?
            .ok_or(StoreError::NotFound)?;
        if heir.role == Role::Owner {
            // Nothing changes, so there is nothing to record; the empty transaction
            // rolls back when dropped.
            return Ok(());
        }
        let owner: Option<String> =
            sqlx::query_scalar("SELECT user_id FROM members WHERE project_id = ? AND role = ?")
                .bind(encode_id(project.0))
                .bind(Role::Owner.as_str())
                .fetch_optional(&mut *tx)
                .await?;
        let owner = owner
            .map(|id| decode_id("members.user_id", &id).map(UserId))
            .transpose()?;
        // Demote first: for a moment the project has no owner, never two.
        if let Some(owner) = owner {
            set_role(&mut tx, project, owner, Role::Admin).await?;
        }
        set_role(&mut tx, project, to, Role::Owner).await?;
        let entry = audit::entry(
            audit,
            project,
            "project.ownership_transferred",
            ("member", to.to_string()),
            Some(&json!({ "owner": owner })),
            Some(&json!({ "owner": to })),
        )?;
        insert_audit(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// `user`'s membership of `project`, with their name and email; `None` if not a member.
pub(super) async fn member(
    conn: &mut SqliteConnection,
    project: ProjectId,
    user: UserId,
) -> Result<Option<Member>, StoreError> {
    let row: Option<MemberRow> = sqlx::query_as(
        "SELECT m.user_id, u.name, u.email, m.role, m.joined_at \
         FROM members m JOIN users u ON u.id = m.user_id \
         WHERE m.project_id = ? AND m.user_id = ?",
    )
    .bind(encode_id(project.0))
    .bind(encode_id(user.0))
    .fetch_optional(conn)
    .await?;
    Ok(row.map(Member::try_from).transpose()?)
}

/// Inserts a membership the caller checked does not exist yet, and returns it as listed.
///
/// `NotFound` if the project or the user does not exist; `Conflict("members.owner")` if
/// it would give the project a second owner.
pub(super) async fn insert_member(
    conn: &mut SqliteConnection,
    membership: &Membership,
) -> Result<Member, StoreError> {
    sqlx::query("INSERT INTO members (project_id, user_id, role, joined_at) VALUES (?, ?, ?, ?)")
        .bind(encode_id(membership.project_id.0))
        .bind(encode_id(membership.user_id.0))
        .bind(membership.role.as_str())
        .bind(encode_time(membership.joined_at))
        .execute(&mut *conn)
        .await
        .map_err(on_member_write_error)?;
    member(conn, membership.project_id, membership.user_id)
        .await?
        .ok_or(StoreError::NotFound)
}

async fn set_role(
    conn: &mut SqliteConnection,
    project: ProjectId,
    user: UserId,
    role: Role,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE members SET role = ? WHERE project_id = ? AND user_id = ?")
        .bind(role.as_str())
        .bind(encode_id(project.0))
        .bind(encode_id(user.0))
        .execute(conn)
        .await
        .map_err(on_member_write_error)?;
    Ok(())
}

/// Callers rule out a duplicate membership first, so a unique violation here can only
/// be the one-owner index; a foreign-key violation means a missing project or user.
fn on_member_write_error(err: sqlx::Error) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Conflict("members.owner")
        }
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound,
        _ => StoreError::Other(err),
    }
}
