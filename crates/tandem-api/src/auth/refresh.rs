//! `POST /auth/refresh`: rotate a refresh token, detecting reuse.

use axum::extract::State;
use tandem_domain::Rotation;

use super::dto::{AuthResponse, RefreshRequest};
use super::issue::token_pair;
use super::tokens::{hash_token, new_token};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::ApiJson;
use crate::realtime::control::{Control, announce};
use crate::state::AppState;

/// Exchange a refresh token for a new token pair.
///
/// Each refresh token works once. Presenting one that was already used revokes the
/// whole session it belongs to: somebody else holds a copy.
#[utoipa::path(
    post, path = "/refresh", tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new token pair", body = AuthResponse),
        (status = 401, description = "`invalid_refresh_token`, `refresh_token_expired`, `refresh_token_reused` or `session_revoked`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn refresh(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RefreshRequest>,
) -> ApiResult<ApiJson<AuthResponse>> {
    let now = state.clock.now();
    let presented = hash_token(&body.refresh_token);
    let (next_token, next_hash) = new_token();
    let expires_at = now + state.config.refresh_token_ttl;
    let rotation = state
        .store
        .rotate_refresh_token(&presented, &next_hash, expires_at, now)
        .await?;
    let session = match rotation {
        Rotation::Rotated(session) => session,
        Rotation::Reused(session_id) => {
            state.sessions.forget(session_id).await;
            announce(&state, Control::SessionRevoked { session_id }).await;
            tracing::warn!(session.id = %session_id, "refresh token reused; session revoked");
            return Err(ApiError::unauthorized(
                "refresh_token_reused",
                "this refresh token was already used; the session has been revoked",
            ));
        }
        Rotation::Expired => {
            return Err(ApiError::unauthorized(
                "refresh_token_expired",
                "the refresh token has expired; log in again",
            ));
        }
        Rotation::SessionRevoked => {
            return Err(ApiError::unauthorized(
                "session_revoked",
                "this session has been logged out or revoked; log in again",
            ));
        }
        Rotation::Unknown => {
            return Err(ApiError::unauthorized(
                "invalid_refresh_token",
                "the refresh token is not valid",
            ));
        }
    };
    let user = state
        .store
        .user_by_id(session.user_id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("invalid_refresh_token", "the account is gone"))?;
    Ok(ApiJson(token_pair(&state, &user, session.id, next_token)?))
}
