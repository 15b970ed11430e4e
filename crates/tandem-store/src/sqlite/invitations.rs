//! Invitations in SQLite: the `invitations` table, and accepting one, which may add a
//! membership.
//!
//! An invitation's token is stored only as its hash, and the hash never leaves this
//! module: the `Invitation` read back, and so every audit row, goes without it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::SqliteConnection;
use tandem_domain::{
    AuditContext, Email, Invitation, InvitationId, InvitationState, Member, Membership,
    NewInvitation, ProjectId, TokenHash, UserId,
};

use super::audit_log::insert_audit;
use super::members::{insert_member, member};
use super::{
    BEGIN_WRITE, SqliteStore, decode_id, decode_opt_time, decode_role, decode_time, encode_id,
    encode_time, on_foreign_key_violation,
};
use crate::{Acceptance, InvitationStore, StoreError, audit};

/// An `invitations` row as SQLite returns it, without the token hash.
#[derive(sqlx::FromRow)]
struct InvitationRow {
    id: String,
    project_id: String,
    email: Option<String>,
    role: String,
    created_by: String,
    created_at: String,
    expires_at: String,
    accepted_at: Option<String>,
    accepted_by: Option<String>,
    revoked_at: Option<String>,
}

impl TryFrom<InvitationRow> for Invitation {
    type Error = sqlx::Error;

    fn try_from(row: InvitationRow) -> Result<Self, Self::Error> {
        Ok(Invitation {
            id: InvitationId(decode_id("invitations.id", &row.id)?),
            project_id: ProjectId(decode_id("invitations.project_id", &row.project_id)?),
            email: row.email.map(Email::from_storage),
            role: decode_role("invitations.role", &row.role)?,
            created_by: UserId(decode_id("invitations.created_by", &row.created_by)?),
            created_at: decode_time("invitations.created_at", &row.created_at)?,
            expires_at: decode_time("invitations.expires_at", &row.expires_at)?,
            accepted_at: decode_opt_time("invitations.accepted_at", row.accepted_at.as_deref())?,
            accepted_by: row
                .accepted_by
                .map(|id| decode_id("invitations.accepted_by", &id).map(UserId))
                .transpose()?,
            revoked_at: decode_opt_time("invitations.revoked_at", row.revoked_at.as_deref())?,
        })
    }
}

#[async_trait]
impl InvitationStore for SqliteStore {
    async fn create_invitation(
        &self,
        new: &NewInvitation,
        audit: &AuditContext,
    ) -> Result<(), StoreError> {
        let invitation = &new.invitation;
        let entry = audit::entry(
            audit,
            invitation.project_id,
            "invitation.created",
            ("invitation", invitation.id.to_string()),
            None::<&Invitation>,
            Some(invitation),
        )?;
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        sqlx::query(
            "INSERT INTO invitations \
             (id, project_id, token_hash, email, role, created_by, created_at, expires_at, \
              accepted_at, accepted_by, revoked_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(encode_id(invitation.id.0))
        .bind(encode_id(invitation.project_id.0))
        .bind(&new.token_hash.0)
        .bind(invitation.email.as_ref().map(Email::as_str))
        .bind(invitation.role.as_str())
        .bind(encode_id(invitation.created_by.0))
        .bind(encode_time(invitation.created_at))
        .bind(encode_time(invitation.expires_at))
        .bind(invitation.accepted_at.map(encode_time))
        .bind(invitation.accepted_by.map(|id| encode_id(id.0)))
        .bind(invitation.revoked_at.map(encode_time))
        .execute(&mut *tx)
        .await
        .map_err(|err| match &err {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict("invitations.token_hash")
            }
            _ => on_foreign_key_violation(err),
        })?;
        insert_audit(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn invitation_by_id(&self, id: InvitationId) -> Result<Option<Invitation>, StoreError> {
        let row: Option<InvitationRow> = sqlx::query_as(
            "SELECT id, project_id, email, role, created_by, created_at, expires_at, \
                    accepted_at, accepted_by, revoked_at \
             FROM invitations WHERE id = ?",
        )
        .bind(encode_id(id.0))
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(Invitation::try_from).transpose()?)
    }

    async fn list_pending_invitations(
        &self,
        project: ProjectId,
        now: DateTime<Utc>,
        after: Option<InvitationId>,
        limit: u32,
    ) -> Result<Vec<Invitation>, StoreError> {
        let rows: Vec<InvitationRow> = sqlx::query_as(
            "SELECT id, project_id, email, role, created_by, created_at, expires_at, \
                    accepted_at, accepted_by, revoked_at \
             FROM invitations \
             WHERE project_id = ?1 AND accepted_at IS NULL AND revoked_at IS NULL \
               AND expires_at > ?2 AND (?3 IS NULL OR id > ?3) \
             ORDER BY id \
             LIMIT ?4",
        )
        .bind(encode_id(project.0))
        .bind(encode_time(now))
        .bind(after.map(|id| encode_id(id.0)))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(Invitation::try_from)
            .collect::<Result<_, _>>()?)
    }

    async fn revoke_invitation(
        &self,
        id: InvitationId,
        audit: &AuditContext,
    ) -> Result<Invitation, StoreError> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        let row: Option<InvitationRow> = sqlx::query_as(
            "UPDATE invitations SET revoked_at = ? \
             WHERE id = ? AND accepted_at IS NULL AND revoked_at IS NULL \
             RETURNING id, project_id, email, role, created_by, created_at, expires_at, \
                       accepted_at, accepted_by, revoked_at",
        )
        .bind(encode_time(audit.at))
        .bind(encode_id(id.0))
        .fetch_optional(&mut *tx)
        .await?;
        let after = Invitation::try_from(row.ok_or(StoreError::NotFound)?)?;
        // Only `revoked_at` changed, and it was NULL.
        let before = Invitation {
            revoked_at: None,
            ..after.clone()
        };
        let entry = audit::entry(
            audit,
            after.project_id,
            "invitation.revoked",
            ("invitation", id.to_string()),
            Some(&before),
            Some(&after),
        )?;
        insert_audit(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn accept_invitation(
        &self,
        token: &TokenHash,
        email: &Email,
        audit: &AuditContext,
    ) -> Result<Acceptance, StoreError> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        let acceptance = accept(&mut tx, token, email, audit).await?;
        // Refusals changed nothing; committing their empty transaction is harmless and
        // keeps one exit. An error drops `tx`, which rolls back.
        tx.commit().await?;
        Ok(acceptance)
    }
}

/// The body of [`InvitationStore::accept_invitation`], inside its write transaction.
async fn accept(
    conn: &mut SqliteConnection,
    token: &TokenHash,
    email: &Email,
    audit: &AuditContext,
) -> Result<Acceptance, StoreError> {
    let row: Option<InvitationRow> = sqlx::query_as(
        "SELECT id, project_id, email, role, created_by, created_at, expires_at, \
                accepted_at, accepted_by, revoked_at \
         FROM invitations WHERE token_hash = ?",
    )
    .bind(&token.0)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(Acceptance::Unknown);
    };
    let before = Invitation::try_from(row)?;
    match before.state(audit.at) {
        InvitationState::Accepted => return Ok(Acceptance::Used),
        InvitationState::Revoked => return Ok(Acceptance::Revoked),
        InvitationState::Expired => return Ok(Acceptance::Expired),
        InvitationState::Pending => {}
    }
    if before
        .email
        .as_ref()
        .is_some_and(|invited| invited != email)
    {
        return Ok(Acceptance::WrongEmail);
    }

    let project = before.project_id;
    let outcome = match member(conn, project, audit.actor).await? {
        Some(existing) => Acceptance::AlreadyMember {
            project_id: project,
            member: existing,
        },
        None => {
            let membership = Membership {
                project_id: project,
                user_id: audit.actor,
                role: before.role,
                joined_at: audit.at,
            };
            Acceptance::Joined {
                project_id: project,
                member: insert_member(conn, &membership).await?,
            }
        }
    };

    let row: InvitationRow = sqlx::query_as(
        "UPDATE invitations SET accepted_at = ?, accepted_by = ? WHERE id = ? \
         RETURNING id, project_id, email, role, created_by, created_at, expires_at, \
                   accepted_at, accepted_by, revoked_at",
    )
    .bind(encode_time(audit.at))
    .bind(encode_id(audit.actor.0))
    .bind(encode_id(before.id.0))
    .fetch_one(&mut *conn)
    .await?;
    let after = Invitation::try_from(row)?;
    let entry = audit::entry(
        audit,
        project,
        "invitation.accepted",
        ("invitation", before.id.to_string()),
        Some(&before),
        Some(&after),
    )?;
    insert_audit(conn, &entry).await?;
    if let Acceptance::Joined { member: joined, .. } = &outcome {
        let entry = audit::entry(
            audit,
            project,
            "member.added",
            ("member", audit.actor.to_string()),
            None::<&Member>,
            Some(joined),
        )?;
        insert_audit(conn, &entry).await?;
    }
    Ok(outcome)
}
