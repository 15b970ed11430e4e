//! Accounts and sessions under `/api/v1/auth`: register, login, refresh, logout, the
//! caller's profile and password, and their list of sessions.

mod dto;
mod issue;
mod login;
mod me;
mod password;
mod refresh;
mod register;
mod session_cache;
mod sessions;
mod tokens;

use axum::middleware;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use dto::{AuthResponse, UserView};
pub use password::Passwords;
pub use session_cache::{SessionCache, SessionState};
pub use tokens::{AccessTokens, Claims, hash_token, new_token};

use crate::ratelimit;
use crate::state::AppState;

/// The `/auth` routes; register, login and refresh sit behind the per-client rate limit.
pub fn router(state: &AppState) -> OpenApiRouter<AppState> {
    let limited = OpenApiRouter::new()
        .routes(routes!(register::register))
        .routes(routes!(login::login))
        .routes(routes!(refresh::refresh))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            ratelimit::limit_auth,
        ));
    OpenApiRouter::new()
        .merge(limited)
        .routes(routes!(sessions::logout))
        .routes(routes!(me::get_me, me::update_me))
        .routes(routes!(me::change_password))
        .routes(routes!(sessions::list_sessions))
        .routes(routes!(sessions::revoke_session))
}
