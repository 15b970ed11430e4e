//! `ClientInfo`: who is on the other end of the socket, for session records and rate limits.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::USER_AGENT;
use axum::http::request::Parts;

use crate::state::AppState;

/// The client's address and user agent.
#[derive(Debug, Clone)]
pub struct ClientInfo {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
}

impl ClientInfo {
    /// Longer user agents are cut: they are shown, never parsed.
    const MAX_USER_AGENT: usize = 512;

    pub fn from_parts(parts: &Parts, trust_forwarded_for: bool) -> Self {
        let forwarded = trust_forwarded_for
            .then(|| {
                let header = parts.headers.get("x-forwarded-for")?.to_str().ok()?;
                // The last entry is the one our own proxy appended; earlier ones are
                // whatever the client claimed.
                header.rsplit(',').next()?.trim().parse::<IpAddr>().ok()
            })
            .flatten();
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        let user_agent = parts
            .headers
            .get(USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(Self::MAX_USER_AGENT).collect());
        Self {
            ip: forwarded.or(peer),
            user_agent,
        }
    }
}

impl FromRequestParts<AppState> for ClientInfo {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        Ok(Self::from_parts(parts, state.config.trust_forwarded_for))
    }
}
