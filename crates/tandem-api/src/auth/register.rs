//! `POST /auth/register`: create an account and log it in.

use axum::extract::State;
use axum::http::StatusCode;
use tandem_domain::{DisplayName, Email, NewPassword, User, UserId};

use super::dto::{AuthResponse, RegisterRequest};
use super::issue::start_session;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ClientInfo};
use crate::state::AppState;

/// Register a new account.
///
/// Returns the account and a first token pair, so the client is logged in at once.
#[utoipa::path(
    post, path = "/register", tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Account created and logged in", body = AuthResponse),
        (status = 409, description = "`email_taken`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`, with field errors", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn register(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiJson(body): ApiJson<RegisterRequest>,
) -> ApiResult<(StatusCode, ApiJson<AuthResponse>)> {
    let email = Email::parse(&body.email);
    let name = DisplayName::parse(&body.name);
    let password = NewPassword::parse(&body.password, "password");
    let (email, name, password) = match (email, name, password) {
        (Ok(email), Ok(name), Ok(password)) => (email, name, password),
        (email, name, password) => {
            let errors = [email.err(), name.err(), password.err()];
            return Err(ApiError::Validation(errors.into_iter().flatten().collect()));
        }
    };
    let now = state.clock.now();
    let user = User {
        id: UserId::new(now),
        email,
        name,
        password_hash: state.passwords.hash(password.expose()).await?,
        created_at: now,
        updated_at: now,
    };
    state.store.create_user(&user).await?;
    tracing::info!(user.id = %user.id, "account registered");
    let response = start_session(&state, &user, client).await?;
    Ok((StatusCode::CREATED, ApiJson(response)))
}
