//! The caller's own account: `GET /auth/me`, `PATCH /auth/me`, `POST /auth/password`.

use axum::extract::State;
use axum::http::StatusCode;
use tandem_domain::{DisplayName, NewPassword, User};

use super::dto::{ChangePasswordRequest, UpdateMeRequest, UserView};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, AuthUser};
use crate::realtime::control::{Control, announce};
use crate::state::AppState;

/// The caller's account.
#[utoipa::path(
    get, path = "/me", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's account", body = UserView),
        (status = 401, description = "`unauthenticated`, `invalid_token`, `token_expired` or `session_revoked`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_me(State(state): State<AppState>, auth: AuthUser) -> ApiResult<ApiJson<UserView>> {
    let user = current_user(&state, auth).await?;
    Ok(ApiJson(UserView::from(&user)))
}

/// Change the caller's display name.
#[utoipa::path(
    patch, path = "/me", tag = "auth",
    security(("bearer" = [])),
    request_body = UpdateMeRequest,
    responses(
        (status = 200, description = "The updated account", body = UserView),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update_me(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiJson(body): ApiJson<UpdateMeRequest>,
) -> ApiResult<ApiJson<UserView>> {
    let name = DisplayName::parse(&body.name).map_err(|e| ApiError::Validation(vec![e]))?;
    let user = state
        .store
        .update_user_name(auth.user_id, &name, state.clock.now())
        .await?;
    Ok(ApiJson(UserView::from(&user)))
}

/// Change the caller's password; every other session of the account is revoked.
#[utoipa::path(
    post, path = "/password", tag = "auth",
    security(("bearer" = [])),
    request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "Password changed; other sessions revoked"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: the current password is wrong or the new one is weak", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn change_password(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiJson(body): ApiJson<ChangePasswordRequest>,
) -> ApiResult<StatusCode> {
    let user = current_user(&state, auth).await?;
    let new_password = NewPassword::parse(&body.new_password, "new_password")
        .map_err(|e| ApiError::Validation(vec![e]))?;
    let current_ok = state
        .passwords
        .verify(&body.current_password, Some(&user.password_hash))
        .await?;
    if !current_ok {
        return Err(ApiError::field("current_password", "is not correct"));
    }
    let hash = state.passwords.hash(new_password.expose()).await?;
    let now = state.clock.now();
    state
        .store
        .update_password_hash(user.id, &hash, now)
        .await?;
    let revoked = state
        .store
        .revoke_other_sessions(user.id, Some(auth.session_id), now)
        .await?;
    let except = auth.session_id;
    state.sessions.evict_user(user.id, except);
    announce(
        &state,
        Control::OtherSessionsRevoked {
            user_id: user.id,
            except,
        },
    )
    .await;
    tracing::info!(user.id = %user.id, revoked, "password changed; other sessions revoked");
    Ok(StatusCode::NO_CONTENT)
}

async fn current_user(state: &AppState, auth: AuthUser) -> ApiResult<User> {
    state
        .store
        .user_by_id(auth.user_id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("invalid_token", "the account no longer exists"))
}
