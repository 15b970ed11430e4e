//! Login sessions and refresh-token rotation in PostgreSQL: the `sessions` and
//! `refresh_tokens` tables.
//!
//! Rotation locks the presented token's row (`SELECT ... FOR UPDATE`), so concurrent
//! presentations of one token queue behind each other and each sees the last one's write.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Postgres, Transaction};
use tandem_domain::{NewSession, Rotation, Session, SessionId, TokenHash, UserId};
use uuid::Uuid;

use super::{PgStore, micros, on_unique_violation};
use crate::{SessionStore, StoreError};

/// A `sessions` row as PostgreSQL returns it.
#[derive(sqlx::FromRow)]
struct SessionRow {
    id: Uuid,
    user_id: Uuid,
    created_at: DateTime<Utc>,
    last_used_at: DateTime<Utc>,
    user_agent: Option<String>,
    ip: Option<String>,
    revoked_at: Option<DateTime<Utc>>,
}

impl From<SessionRow> for Session {
    fn from(row: SessionRow) -> Self {
        Session {
            id: SessionId(row.id),
            user_id: UserId(row.user_id),
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            user_agent: row.user_agent,
            ip: row.ip,
            revoked_at: row.revoked_at,
        }
    }
}

/// The parts of a `refresh_tokens` row that decide a rotation.
#[derive(sqlx::FromRow)]
struct TokenRow {
    session_id: Uuid,
    expires_at: DateTime<Utc>,
    used_at: Option<DateTime<Utc>>,
}

#[async_trait]
impl SessionStore for PgStore {
    async fn create_session(&self, new: &NewSession) -> Result<Session, StoreError> {
        let created_at = micros(new.created_at);
        let mut tx = self.pool.begin().await?;
        let row: SessionRow = sqlx::query_as(
            "INSERT INTO sessions (id, user_id, created_at, last_used_at, user_agent, ip) \
             VALUES ($1, $2, $3, $3, $4, $5) \
             RETURNING id, user_id, created_at, last_used_at, user_agent, ip, revoked_at",
        )
        .bind(new.id.0)
        .bind(new.user_id.0)
        .bind(created_at)
        .bind(new.user_agent.as_deref())
        .bind(new.ip.as_deref())
        .fetch_one(&mut *tx)
        .await
        .map_err(on_session_insert_error)?;
        insert_token(
            &mut tx,
            &new.refresh_token,
            new.id,
            created_at,
            new.refresh_expires_at,
        )
        .await?;
        tx.commit().await?;
        Ok(row.into())
    }

    async fn session_by_id(&self, id: SessionId) -> Result<Option<Session>, StoreError> {
        let row: Option<SessionRow> = sqlx::query_as(
            "SELECT id, user_id, created_at, last_used_at, user_agent, ip, revoked_at \
             FROM sessions WHERE id = $1",
        )
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(Session::from))
    }

    async fn list_active_sessions(
        &self,
        user_id: UserId,
        after: Option<SessionId>,
        limit: u32,
    ) -> Result<Vec<Session>, StoreError> {
        let rows: Vec<SessionRow> = sqlx::query_as(
            "SELECT id, user_id, created_at, last_used_at, user_agent, ip, revoked_at \
             FROM sessions \
             WHERE user_id = $1 AND revoked_at IS NULL AND ($2::uuid IS NULL OR id > $2) \
             ORDER BY id \
             LIMIT $3",
        )
        .bind(user_id.0)
        .bind(after.map(|id| id.0))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(Session::from).collect())
    }

    async fn rotate_refresh_token(
        &self,
        presented: &TokenHash,
        next: &TokenHash,
        next_expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Rotation, StoreError> {
        let mut tx = self.pool.begin().await?;
        let rotation = rotate(&mut tx, presented, next, next_expires_at, micros(now)).await?;
        // Outcomes that changed nothing commit an empty transaction, which is harmless and
        // keeps one exit; an error drops `tx`, which rolls back.
        tx.commit().await?;
        Ok(rotation)
    }

    async fn revoke_session(&self, id: SessionId, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(micros(now))
                .bind(id.0)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn revoke_other_sessions(
        &self,
        user_id: UserId,
        keep: Option<SessionId>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        // `IS DISTINCT FROM` is null-safe: with no session to keep, every session qualifies.
        let done = sqlx::query(
            "UPDATE sessions SET revoked_at = $1 \
             WHERE user_id = $2 AND revoked_at IS NULL AND id IS DISTINCT FROM $3",
        )
        .bind(micros(now))
        .bind(user_id.0)
        .bind(keep.map(|id| id.0))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}

/// The body of [`SessionStore::rotate_refresh_token`], inside its transaction.
async fn rotate(
    tx: &mut Transaction<'static, Postgres>,
    presented: &TokenHash,
    next: &TokenHash,
    next_expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Rotation, StoreError> {
    let token: Option<TokenRow> = sqlx::query_as(
        "SELECT session_id, expires_at, used_at FROM refresh_tokens \
         WHERE token_hash = $1 FOR UPDATE",
    )
    .bind(&presented.0)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(token) = token else {
        return Ok(Rotation::Unknown);
    };
    let session_id = SessionId(token.session_id);

    if token.used_at.is_some() {
        revoke_for_reuse(tx, session_id, now).await?;
        return Ok(Rotation::Reused(session_id));
    }
    let revoked: Option<DateTime<Utc>> =
        sqlx::query_scalar("SELECT revoked_at FROM sessions WHERE id = $1")
            .bind(session_id.0)
            .fetch_one(&mut **tx)
            .await?;
    if revoked.is_some() {
        return Ok(Rotation::SessionRevoked);
    }
    if token.expires_at <= now {
        return Ok(Rotation::Expired);
    }

    let marked = sqlx::query(
        "UPDATE refresh_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL",
    )
    .bind(now)
    .bind(&presented.0)
    .execute(&mut **tx)
    .await?;
    if marked.rows_affected() == 0 {
        // Someone used the token between our read and this write: that is reuse too.
        // (The row lock makes this unreachable; kept so correctness never rests on it.)
        revoke_for_reuse(tx, session_id, now).await?;
        return Ok(Rotation::Reused(session_id));
    }
    insert_token(tx, next, session_id, now, next_expires_at).await?;
    let session: SessionRow = sqlx::query_as(
        "UPDATE sessions SET last_used_at = $1 WHERE id = $2 \
         RETURNING id, user_id, created_at, last_used_at, user_agent, ip, revoked_at",
    )
    .bind(now)
    .bind(session_id.0)
    .fetch_one(&mut **tx)
    .await?;
    Ok(Rotation::Rotated(session.into()))
}

/// Revokes the session whose refresh token was presented twice, unless already revoked.
async fn revoke_for_reuse(
    tx: &mut Transaction<'static, Postgres>,
    session_id: SessionId,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(session_id.0)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn insert_token(
    tx: &mut Transaction<'static, Postgres>,
    hash: &TokenHash,
    session_id: SessionId,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, session_id, created_at, expires_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(&hash.0)
    .bind(session_id.0)
    .bind(micros(created_at))
    .bind(micros(expires_at))
    .execute(&mut **tx)
    .await
    .map_err(on_unique_violation("refresh_tokens.token_hash"))?;
    Ok(())
}

/// A session for a user that does not exist is `NotFound`; a reused id is a conflict.
fn on_session_insert_error(err: sqlx::Error) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound,
        _ => on_unique_violation("sessions.id")(err),
    }
}
