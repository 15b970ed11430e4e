//! The caller's sessions: `POST /auth/logout`, `GET /auth/sessions`, `DELETE /auth/sessions/{id}`.

use axum::extract::State;
use axum::http::StatusCode;
use tandem_domain::SessionId;

use super::dto::SessionView;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, AuthUser, Page, Pagination, PathParams};
use crate::realtime::control::{Control, announce};
use crate::state::AppState;

/// Log out: revoke the session of the presented access token.
#[utoipa::path(
    post, path = "/logout", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Logged out; the session's tokens no longer work"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn logout(State(state): State<AppState>, auth: AuthUser) -> ApiResult<StatusCode> {
    revoke(&state, auth.session_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's active sessions, oldest first.
#[utoipa::path(
    get, path = "/sessions", tag = "auth",
    security(("bearer" = [])),
    params(Pagination),
    responses(
        (status = 200, description = "One page of sessions", body = Page<SessionView>),
        (status = 400, description = "`invalid_query`: a parameter is not a number", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: bad limit or cursor", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_sessions(
    State(state): State<AppState>,
    auth: AuthUser,
    pagination: Pagination,
) -> ApiResult<ApiJson<Page<SessionView>>> {
    let after = pagination.after()?.map(SessionId);
    let rows = state
        .store
        .list_active_sessions(auth.user_id, after, pagination.limit() + 1)
        .await?;
    Ok(ApiJson(pagination.page(
        rows,
        |s| s.id.0,
        |s| SessionView::new(s, auth.session_id),
    )))
}

/// Revoke one of the caller's sessions (log out another device).
#[utoipa::path(
    delete, path = "/sessions/{id}", tag = "auth",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The session id")),
    responses(
        (status = 204, description = "The session is revoked"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such active session of the caller", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn revoke_session(
    State(state): State<AppState>,
    auth: AuthUser,
    params: PathParams,
) -> ApiResult<StatusCode> {
    let not_found = || ApiError::not_found("no such session");
    let id = params.uuid("id").map(SessionId).ok_or_else(not_found)?;
    let session = state.store.session_by_id(id).await?;
    match session {
        Some(session) if session.user_id == auth.user_id && session.is_active() => {
            revoke(&state, id).await?;
            Ok(StatusCode::NO_CONTENT)
        }
        // Someone else's session is reported exactly like a missing one.
        _ => Err(not_found()),
    }
}

async fn revoke(state: &AppState, id: SessionId) -> ApiResult<()> {
    state.store.revoke_session(id, state.clock.now()).await?;
    state.sessions.forget(id).await;
    announce(state, Control::SessionRevoked { session_id: id }).await;
    Ok(())
}
