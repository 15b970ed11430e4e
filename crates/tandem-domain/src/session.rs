//! Login sessions and the refresh tokens that keep them alive.
//!
//! A session is born at login or registration and holds a chain of refresh tokens, each
//! used once. Presenting a used token means the chain was stolen, so the whole session is
//! revoked (refresh-token reuse detection).

use chrono::{DateTime, Utc};

use crate::{SessionId, UserId};

/// A login session, as listed at `GET /auth/sessions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: SessionId,
    pub user_id: UserId,
    pub created_at: DateTime<Utc>,
    /// The last login or refresh.
    pub last_used_at: DateTime<Utc>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    /// Set once the session is logged out, revoked, or caught reusing a refresh token.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl Session {
    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none()
    }
}

/// What the store needs to open a session.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub id: SessionId,
    pub user_id: UserId,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The first refresh token of the session.
    pub refresh_token: TokenHash,
    pub refresh_expires_at: DateTime<Utc>,
}

/// The SHA-256 of an opaque token (a refresh token, an invitation), hex-encoded. The
/// token itself is never stored.
///
/// A fast hash is right here: the tokens carry 256 random bits, so there is nothing
/// for a slow hash to protect.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenHash(pub String);

/// The outcome of presenting a refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// The token was current: it is now used, and the next one is stored.
    Rotated(Session),
    /// The token had been used before; its session is now revoked.
    Reused(SessionId),
    /// The token was current but past its lifetime.
    Expired,
    /// The token belongs to a session that was logged out or revoked.
    SessionRevoked,
    /// No such token was ever issued.
    Unknown,
}
