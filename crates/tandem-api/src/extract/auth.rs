//! `AuthUser`: the caller proven by a bearer access token whose session is still live.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use tandem_domain::{SessionId, UserId};

use crate::auth::SessionState;
use crate::error::ApiError;
use crate::state::AppState;

/// An authenticated caller.
#[derive(Debug, Clone, Copy)]
pub struct AuthUser {
    pub user_id: UserId,
    pub session_id: SessionId,
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let user = Self::authenticate(state, bearer_token(parts)?).await?;
        tracing::Span::current().record("user.id", tracing::field::display(user.user_id));
        Ok(user)
    }
}

impl AuthUser {
    /// Checks an access token and that its session is still live; shared by HTTP and
    /// the realtime socket.
    pub async fn authenticate(state: &AppState, token: &str) -> Result<Self, ApiError> {
        let claims = state.tokens.verify(token, state.clock.now())?;
        let (user_id, session_id) = (UserId(claims.sub), SessionId(claims.sid));
        let session = session_state(state, session_id).await?;
        if session.user_id != user_id {
            return Err(ApiError::unauthorized(
                "invalid_token",
                "the access token is not valid",
            ));
        }
        if !session.active {
            return Err(ApiError::unauthorized(
                "session_revoked",
                "this session has been logged out or revoked; log in again",
            ));
        }
        Ok(Self {
            user_id,
            session_id,
        })
    }
}

fn bearer_token(parts: &Parts) -> Result<&str, ApiError> {
    let header = parts.headers.get(AUTHORIZATION).ok_or_else(|| {
        ApiError::unauthorized(
            "unauthenticated",
            "send Authorization: Bearer <access token>",
        )
    })?;
    header
        .to_str()
        .ok()
        .and_then(|value| {
            let (scheme, token) = value.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .filter(|token| !token.is_empty())
        .ok_or_else(|| {
            ApiError::unauthorized(
                "invalid_token",
                "the Authorization header must be `Bearer <access token>`",
            )
        })
}

async fn session_state(state: &AppState, id: SessionId) -> Result<SessionState, ApiError> {
    if let Some(cached) = state.sessions.get(id).await {
        return Ok(cached);
    }
    let seen = state.sessions.evictions();
    let session =
        state.store.session_by_id(id).await?.ok_or_else(|| {
            ApiError::unauthorized("invalid_token", "the access token is not valid")
        })?;
    let fresh = SessionState {
        user_id: session.user_id,
        active: session.is_active(),
    };
    state.sessions.put(id, fresh, seen).await;
    Ok(fresh)
}
