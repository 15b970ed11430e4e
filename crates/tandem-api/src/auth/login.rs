//! `POST /auth/login`: exchange an email and password for a token pair.

use axum::extract::State;
use tandem_domain::Email;

use super::dto::{AuthResponse, LoginRequest};
use super::issue::start_session;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ClientInfo};
use crate::state::AppState;

/// Log in.
///
/// A wrong email and a wrong password get the same answer in about the same time.
#[utoipa::path(
    post, path = "/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = AuthResponse),
        (status = 401, description = "`invalid_credentials`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiJson(body): ApiJson<LoginRequest>,
) -> ApiResult<ApiJson<AuthResponse>> {
    let user = match Email::parse(&body.email) {
        Ok(email) => state.store.user_by_email(email.as_str()).await?,
        Err(_) => None,
    };
    let stored_hash = user.as_ref().map(|u| u.password_hash.as_str());
    // Verified even when there is no such user (against a dummy hash): the time taken
    // must not tell an attacker which emails have accounts.
    let verified = state.passwords.verify(&body.password, stored_hash).await?;
    let user = match user {
        Some(user) if verified => user,
        _ => {
            return Err(ApiError::unauthorized(
                "invalid_credentials",
                "the email or password is wrong",
            ));
        }
    };
    Ok(ApiJson(start_session(&state, &user, client).await?))
}
