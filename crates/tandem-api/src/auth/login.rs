//! `POST /auth/login`: exchange an email and password for a token pair, with a backoff
//! per account on top of the per-address rate limit.

use axum::extract::State;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use tandem_domain::Email;

use super::dto::{AuthResponse, LoginRequest};
use super::issue::start_session;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ClientInfo};
use crate::ratelimit::{Attempt, ceil_secs};
use crate::state::AppState;

/// Log in.
///
/// A wrong email and a wrong password get the same answer in about the same time. After
/// repeated failures for one email, from any address, further attempts are refused with
/// 429 `rate_limited` and `Retry-After` for a while, whether or not the email has an
/// account; a successful login clears the count.
#[utoipa::path(
    post, path = "/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = AuthResponse),
        (status = 401, description = "`invalid_credentials`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`: too many attempts from this address, or too many failures for this email", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiJson(body): ApiJson<LoginRequest>,
) -> ApiResult<ApiJson<AuthResponse>> {
    let account = backoff_key(&state, &body.email);
    check_backoff(&state, &account).await?;
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
    if let Err(error) = state.login_backoff.succeeded(&account).await {
        tracing::warn!(error = ?error, "login backoff unavailable; failures not cleared");
    }
    Ok(ApiJson(start_session(&state, &user, client).await?))
}

/// Counts this attempt against the account; refuses it while the account is locked out.
async fn check_backoff(state: &AppState, account: &str) -> ApiResult<()> {
    match state
        .login_backoff
        .attempt(account, state.clock.now())
        .await
    {
        Ok(Attempt::Allowed) => Ok(()),
        Ok(Attempt::Locked { retry_after }) => Err(ApiError::RateLimited {
            retry_after_secs: ceil_secs(retry_after),
        }),
        // Failing open, like the per-address limit: logins keep working while Redis is
        // down, and the outage shows in /readyz and the logs.
        Err(error) => {
            tracing::warn!(error = ?error, "login backoff unavailable; attempt let through");
            Ok(())
        }
    }
}

/// The backoff's key for an email: every spelling that names one account (case, spaces)
/// gives one key, and an email without an account gets a key all the same, so the
/// answers do not tell which emails exist. The hash is keyed with the signing secret
/// (shared by every node), so the keys in Redis do not give the emails away to anyone
/// who can hash a list of addresses.
fn backoff_key(state: &AppState, email: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(b"tandem login backoff\0");
    hash.update(state.config.signing_secret.expose_secret().as_bytes());
    hash.update(b"\0");
    hash.update(email.trim().to_lowercase().as_bytes());
    format!("login:{}", hex::encode(hash.finalize()))
}
