//! Opening a session and handing out a token pair: shared by register, login and refresh.

use tandem_domain::{NewSession, SessionId, User};

use super::dto::{AuthResponse, UserView};
use super::tokens::new_token;
use crate::error::ApiResult;
use crate::extract::ClientInfo;
use crate::state::AppState;

/// Opens a new session for `user` and returns its first token pair.
pub async fn start_session(
    state: &AppState,
    user: &User,
    client: ClientInfo,
) -> ApiResult<AuthResponse> {
    let now = state.clock.now();
    let (refresh_token, hash) = new_token();
    let session = state
        .store
        .create_session(&NewSession {
            id: SessionId::new(now),
            user_id: user.id,
            user_agent: client.user_agent,
            ip: client.ip.map(|ip| ip.to_string()),
            created_at: now,
            refresh_token: hash,
            refresh_expires_at: now + state.config.refresh_token_ttl,
        })
        .await?;
    token_pair(state, user, session.id, refresh_token)
}

/// The response for a session that has a fresh refresh token.
pub fn token_pair(
    state: &AppState,
    user: &User,
    session: SessionId,
    refresh_token: String,
) -> ApiResult<AuthResponse> {
    let access_token = state.tokens.issue(user.id, session, state.clock.now())?;
    Ok(AuthResponse {
        user: UserView::from(user),
        access_token,
        refresh_token,
        token_type: "Bearer".into(),
        expires_in: state.tokens.ttl_secs(),
    })
}
