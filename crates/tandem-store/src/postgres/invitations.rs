//! Project invitations in PostgreSQL: created, listed, revoked, accepted once.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use tandem_domain::{
    AuditContext, Email, Invitation, InvitationId, InvitationState, Member, NewInvitation,
    ProjectId, TokenHash, UserId,
};
use uuid::Uuid;

use super::members::{member_in, on_member_error};
use super::projects::{decode_role, insert_audit};
use super::{PgStore, micros, on_unique_violation};
use crate::audit::entry;
use crate::{Acceptance, InvitationStore, StoreError};

/// An `invitations` row (the token hash stays in the database).
#[derive(sqlx::FromRow)]
struct InvitationRow {
    id: Uuid,
    project_id: Uuid,
    email: Option<String>,
    role: String,
    created_by: Uuid,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    accepted_at: Option<DateTime<Utc>>,
    accepted_by: Option<Uuid>,
    revoked_at: Option<DateTime<Utc>>,
}

impl TryFrom<InvitationRow> for Invitation {
    type Error = StoreError;

    fn try_from(row: InvitationRow) -> Result<Self, StoreError> {
        Ok(Invitation {
            id: InvitationId(row.id),
            project_id: ProjectId(row.project_id),
            email: row.email.map(Email::from_storage),
            role: decode_role(&row.role)?,
            created_by: UserId(row.created_by),
            created_at: row.created_at,
            expires_at: row.expires_at,
            accepted_at: row.accepted_at,
            accepted_by: row.accepted_by.map(UserId),
            revoked_at: row.revoked_at,
        })
    }
}

macro_rules! invitation_columns {
    () => {
        "id, project_id, email, role, created_by, created_at, \
     expires_at, accepted_at, accepted_by, revoked_at"
    };
}

/// Reads and locks one invitation with `query`, which selects the columns above by `$1`.
async fn invitation_for_update(
    conn: &mut PgConnection,
    query: &'static str,
    value: impl for<'q> sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send,
) -> Result<Option<Invitation>, StoreError> {
    let row: Option<InvitationRow> = sqlx::query_as(query)
        .bind(value)
        .fetch_optional(conn)
        .await?;
    row.map(Invitation::try_from).transpose()
}

#[async_trait]
impl InvitationStore for PgStore {
    async fn create_invitation(
        &self,
        new: &NewInvitation,
        audit: &AuditContext,
    ) -> Result<(), StoreError> {
        let invitation = &new.invitation;
        let mut tx = self.pool.begin().await?;
        sqlx::query(concat!(
            "INSERT INTO invitations (token_hash, ",
            invitation_columns!(),
            ") \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        ))
        .bind(&new.token_hash.0)
        .bind(invitation.id.0)
        .bind(invitation.project_id.0)
        .bind(invitation.email.as_ref().map(Email::as_str))
        .bind(invitation.role.as_str())
        .bind(invitation.created_by.0)
        .bind(micros(invitation.created_at))
        .bind(micros(invitation.expires_at))
        .bind(invitation.accepted_at.map(micros))
        .bind(invitation.accepted_by.map(|id| id.0))
        .bind(invitation.revoked_at.map(micros))
        .execute(&mut *tx)
        .await
        .map_err(on_unique_violation("invitations.token_hash"))?;
        let target = ("invitation", invitation.id.to_string());
        let row = entry(
            audit,
            invitation.project_id,
            "invitation.created",
            target,
            None::<&Invitation>,
            Some(invitation),
        )?;
        insert_audit(&mut tx, &row).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn invitation_by_id(&self, id: InvitationId) -> Result<Option<Invitation>, StoreError> {
        let row: Option<InvitationRow> = sqlx::query_as(concat!(
            "SELECT ",
            invitation_columns!(),
            " FROM invitations WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?;
        row.map(Invitation::try_from).transpose()
    }

    async fn list_pending_invitations(
        &self,
        project: ProjectId,
        now: DateTime<Utc>,
        after: Option<InvitationId>,
        limit: u32,
    ) -> Result<Vec<Invitation>, StoreError> {
        let rows: Vec<InvitationRow> = sqlx::query_as(concat!(
            "SELECT ",
            invitation_columns!(),
            " FROM invitations \
             WHERE project_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL \
             AND expires_at > $2 AND ($3::uuid IS NULL OR id > $3) ORDER BY id LIMIT $4"
        ))
        .bind(project.0)
        .bind(micros(now))
        .bind(after.map(|id| id.0))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(Invitation::try_from).collect()
    }

    async fn revoke_invitation(
        &self,
        id: InvitationId,
        audit: &AuditContext,
    ) -> Result<Invitation, StoreError> {
        let mut tx = self.pool.begin().await?;
        let before = invitation_for_update(
            &mut tx,
            concat!(
                "SELECT ",
                invitation_columns!(),
                " FROM invitations WHERE id = $1 FOR UPDATE"
            ),
            id.0,
        )
        .await?
        .filter(|i| i.accepted_at.is_none() && i.revoked_at.is_none())
        .ok_or(StoreError::NotFound)?;
        sqlx::query("UPDATE invitations SET revoked_at = $2 WHERE id = $1")
            .bind(id.0)
            .bind(micros(audit.at))
            .execute(&mut *tx)
            .await?;
        let after = Invitation {
            revoked_at: Some(micros(audit.at)),
            ..before.clone()
        };
        let row = entry(
            audit,
            before.project_id,
            "invitation.revoked",
            ("invitation", id.to_string()),
            Some(&before),
            Some(&after),
        )?;
        insert_audit(&mut tx, &row).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn accept_invitation(
        &self,
        token: &TokenHash,
        email: &Email,
        audit: &AuditContext,
    ) -> Result<Acceptance, StoreError> {
        let mut tx = self.pool.begin().await?;
        let Some(before) = invitation_for_update(
            &mut tx,
            concat!(
                "SELECT ",
                invitation_columns!(),
                " FROM invitations WHERE token_hash = $1 FOR UPDATE"
            ),
            token.0.clone(),
        )
        .await?
        else {
            return Ok(Acceptance::Unknown);
        };
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
        // Join unless already a member. `ON CONFLICT DO NOTHING` rather than a check
        // first: of two concurrent acceptances by one user (two invitations), the second
        // insert waits for the first to commit and then inserts nothing.
        let joined = sqlx::query(
            "INSERT INTO members (project_id, user_id, role, joined_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (project_id, user_id) DO NOTHING",
        )
        .bind(project.0)
        .bind(audit.actor.0)
        .bind(before.role.as_str())
        .bind(micros(audit.at))
        .execute(&mut *tx)
        .await
        .map_err(on_member_error)?
        .rows_affected()
            == 1;
        let member = member_in(&mut tx, project, audit.actor)
            .await?
            .ok_or(StoreError::NotFound)?;
        sqlx::query("UPDATE invitations SET accepted_at = $2, accepted_by = $3 WHERE id = $1")
            .bind(before.id.0)
            .bind(micros(audit.at))
            .bind(audit.actor.0)
            .execute(&mut *tx)
            .await?;
        let after = Invitation {
            accepted_at: Some(micros(audit.at)),
            accepted_by: Some(audit.actor),
            ..before.clone()
        };
        let target = ("invitation", before.id.to_string());
        let accepted = entry(
            audit,
            project,
            "invitation.accepted",
            target,
            Some(&before),
            Some(&after),
        )?;
        insert_audit(&mut tx, &accepted).await?;
        let outcome = if joined {
            let target = ("member", member.user_id.to_string());
            let added = entry(
                audit,
                project,
                "member.added",
                target,
                None::<&Member>,
                Some(&member),
            )?;
            insert_audit(&mut tx, &added).await?;
            Acceptance::Joined {
                project_id: project,
                member,
            }
        } else {
            Acceptance::AlreadyMember {
                project_id: project,
                member,
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }
}
