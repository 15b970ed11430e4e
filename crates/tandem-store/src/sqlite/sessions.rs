//! Login sessions and refresh-token rotation in SQLite: the `sessions` and
//! `refresh_tokens` tables.
//!
//! Every transaction here writes, so each starts with [`BEGIN_WRITE`].

use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};
use sqlx::{Sqlite, Transaction};
use tandem_domain::{NewSession, Rotation, Session, SessionId, TokenHash, UserId};

use super::{
    BEGIN_WRITE, SqliteStore, decode_id, decode_opt_time, decode_time, encode_id, encode_time,
    on_unique_violation,
};
use crate::{SessionStore, StoreError};

/// A `sessions` row as SQLite returns it.
#[derive(sqlx::FromRow)]
struct SessionRow {
    id: String,
    user_id: String,
    created_at: String,
    last_used_at: String,
    user_agent: Option<String>,
    ip: Option<String>,
    revoked_at: Option<String>,
}

impl TryFrom<SessionRow> for Session {
    type Error = sqlx::Error;

    fn try_from(row: SessionRow) -> Result<Self, Self::Error> {
        Ok(Session {
            id: SessionId(decode_id("sessions.id", &row.id)?),
            user_id: UserId(decode_id("sessions.user_id", &row.user_id)?),
            created_at: decode_time("sessions.created_at", &row.created_at)?,
            last_used_at: decode_time("sessions.last_used_at", &row.last_used_at)?,
            user_agent: row.user_agent,
            ip: row.ip,
            revoked_at: decode_opt_time("sessions.revoked_at", row.revoked_at.as_deref())?,
        })
    }
}

/// The parts of a `refresh_tokens` row that decide a rotation.
#[derive(sqlx::FromRow)]
struct TokenRow {
    session_id: String,
    expires_at: String,
    used_at: Option<String>,
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn create_session(&self, new: &NewSession) -> Result<Session, StoreError> {
        let created_at = encode_time(new.created_at);
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        let row: SessionRow = sqlx::query_as(
            "INSERT INTO sessions (id, user_id, created_at, last_used_at, user_agent, ip) \
             VALUES (?, ?, ?, ?, ?, ?) \
             RETURNING id, user_id, created_at, last_used_at, user_agent, ip, revoked_at",
        )
        .bind(encode_id(new.id.0))
        .bind(encode_id(new.user_id.0))
        .bind(&created_at)
        .bind(&created_at)
        .bind(new.user_agent.as_deref())
        .bind(new.ip.as_deref())
        .fetch_one(&mut *tx)
        .await
        .map_err(on_session_insert_error)?;
        insert_token(
            &mut tx,
            &new.refresh_token,
            new.id,
            new.created_at,
            new.refresh_expires_at,
        )
        .await?;
        tx.commit().await?;
        Ok(row.try_into()?)
    }

    async fn session_by_id(&self, id: SessionId) -> Result<Option<Session>, StoreError> {
        let row: Option<SessionRow> = sqlx::query_as(
            "SELECT id, user_id, created_at, last_used_at, user_agent, ip, revoked_at \
             FROM sessions WHERE id = ?",
        )
        .bind(encode_id(id.0))
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(Session::try_from).transpose()?)
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
             WHERE user_id = ?1 AND revoked_at IS NULL AND (?2 IS NULL OR id > ?2) \
             ORDER BY id \
             LIMIT ?3",
        )
        .bind(encode_id(user_id.0))
        .bind(after.map(|id| encode_id(id.0)))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(Session::try_from)
            .collect::<Result<_, _>>()?)
    }

    async fn rotate_refresh_token(
        &self,
        presented: &TokenHash,
        next: &TokenHash,
        next_expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Rotation, StoreError> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        let now = now.trunc_subsecs(6);
        let rotation = rotate(&mut tx, presented, next, next_expires_at, now).await?;
        // Outcomes that changed nothing commit an empty transaction, which is harmless and
        // keeps one exit; an error drops `tx`, which rolls back.
        tx.commit().await?;
        Ok(rotation)
    }

    async fn revoke_session(&self, id: SessionId, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
                .bind(encode_time(now))
                .bind(encode_id(id.0))
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
        // `IS NOT` is null-safe: with no session to keep, every session qualifies.
        let done = sqlx::query(
            "UPDATE sessions SET revoked_at = ? \
             WHERE user_id = ? AND revoked_at IS NULL AND id IS NOT ?",
        )
        .bind(encode_time(now))
        .bind(encode_id(user_id.0))
        .bind(keep.map(|id| encode_id(id.0)))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}

/// The body of [`SessionStore::rotate_refresh_token`], inside its write transaction.
async fn rotate(
    tx: &mut Transaction<'static, Sqlite>,
    presented: &TokenHash,
    next: &TokenHash,
    next_expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Rotation, StoreError> {
    let token: Option<TokenRow> = sqlx::query_as(
        "SELECT session_id, expires_at, used_at FROM refresh_tokens WHERE token_hash = ?",
    )
    .bind(&presented.0)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(token) = token else {
        return Ok(Rotation::Unknown);
    };
    let session_id = SessionId(decode_id("refresh_tokens.session_id", &token.session_id)?);

    if token.used_at.is_some() {
        revoke_for_reuse(tx, session_id, now).await?;
        return Ok(Rotation::Reused(session_id));
    }
    let revoked: Option<String> =
        sqlx::query_scalar("SELECT revoked_at FROM sessions WHERE id = ?")
            .bind(&token.session_id)
            .fetch_one(&mut **tx)
            .await?;
    if revoked.is_some() {
        return Ok(Rotation::SessionRevoked);
    }
    if decode_time("refresh_tokens.expires_at", &token.expires_at)? <= now {
        return Ok(Rotation::Expired);
    }

    let marked = sqlx::query(
        "UPDATE refresh_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL",
    )
    .bind(encode_time(now))
    .bind(&presented.0)
    .execute(&mut **tx)
    .await?;
    if marked.rows_affected() == 0 {
        // Someone used the token between our read and this write: that is reuse too.
        // (The immediate transaction makes this unreachable on SQLite; kept for parity.)
        revoke_for_reuse(tx, session_id, now).await?;
        return Ok(Rotation::Reused(session_id));
    }
    insert_token(tx, next, session_id, now, next_expires_at).await?;
    let session: SessionRow = sqlx::query_as(
        "UPDATE sessions SET last_used_at = ? WHERE id = ? \
         RETURNING id, user_id, created_at, last_used_at, user_agent, ip, revoked_at",
    )
    .bind(encode_time(now))
    .bind(&token.session_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(Rotation::Rotated(session.try_into()?))
}

/// Revokes the session whose refresh token was presented twice, unless already revoked.
async fn revoke_for_reuse(
    tx: &mut Transaction<'static, Sqlite>,
    session_id: SessionId,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
        .bind(encode_time(now))
        .bind(encode_id(session_id.0))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn insert_token(
    tx: &mut Transaction<'static, Sqlite>,
    hash: &TokenHash,
    session_id: SessionId,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, session_id, created_at, expires_at) \
         VALUES (?, ?, ?, ?)",
    )
    .bind(&hash.0)
    .bind(encode_id(session_id.0))
    .bind(encode_time(created_at))
    .bind(encode_time(expires_at))
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
