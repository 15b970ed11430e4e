//! Per-client rate limits: the `RateLimiter` trait, its in-process (governor) and Redis
//! implementations, and the middleware that answers 429 with `Retry-After` and
//! `RateLimit-*` headers; and the per-account login backoff (`backoff`).

mod backoff;
mod backoff_redis;
mod memory;
mod redis;

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub use backoff::{Attempt, BackoffPolicy, LoginBackoff, MemoryLoginBackoff};
pub use backoff_redis::RedisLoginBackoff;
pub use memory::MemoryRateLimiter;
pub use redis::RedisRateLimiter;

use crate::error::ApiError;
use crate::extract::ClientInfo;
use crate::state::AppState;

/// How many requests a client may make in a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub limit: u32,
    pub window: Duration,
}

/// The verdict on one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// When the client may try again (denied) or has its full allowance back (allowed).
    pub reset_after: Duration,
}

/// Counts requests per key against a quota.
#[async_trait::async_trait]
pub trait RateLimiter: Send + Sync + std::fmt::Debug {
    /// Records one request under `key` and says whether it may proceed.
    async fn hit(&self, key: &str) -> anyhow::Result<Decision>;
}

/// Middleware for register, login and refresh: one shared allowance per client address.
pub async fn limit_auth(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let client = ClientInfo::from_parts(&parts, state.config.trust_forwarded_for);
    let request = Request::from_parts(parts, body);
    let key = match client.ip {
        Some(ip) => format!("auth:{ip}"),
        None => "auth:unknown".to_owned(),
    };
    let decision = match state.auth_limiter.hit(&key).await {
        Ok(decision) => decision,
        Err(error) => {
            // Failing open keeps logins working while Redis is down; the outage itself
            // shows in /readyz and the logs.
            tracing::warn!(error = ?error, "rate limiter unavailable; request let through");
            return next.run(request).await;
        }
    };
    let mut response = if decision.allowed {
        next.run(request).await
    } else {
        ApiError::RateLimited {
            retry_after_secs: ceil_secs(decision.reset_after),
        }
        .into_response()
    };
    set_headers(response.headers_mut(), decision);
    response
}

fn set_headers(headers: &mut HeaderMap, decision: Decision) {
    headers.insert("ratelimit-limit", HeaderValue::from(decision.limit));
    headers.insert("ratelimit-remaining", HeaderValue::from(decision.remaining));
    headers.insert(
        "ratelimit-reset",
        HeaderValue::from(ceil_secs(decision.reset_after)),
    );
}

/// Whole seconds, rounded up: a `Retry-After` of 0 would invite an immediate retry.
pub(crate) fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_seconds_round_up() {
        assert_eq!(ceil_secs(Duration::from_millis(1)), 1);
        assert_eq!(ceil_secs(Duration::from_secs(6)), 6);
        assert_eq!(ceil_secs(Duration::ZERO), 0);
    }
}
