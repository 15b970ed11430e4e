//! A short-lived, per-node cache of session state, so each authenticated request can
//! check that its session is still live without a database round trip every time.

use std::time::Duration;

use moka::future::Cache;
use tandem_domain::{SessionId, UserId};

/// What a request needs to know about its session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionState {
    pub user_id: UserId,
    pub active: bool,
}

/// Session liveness by id.
///
/// A session revoked on this node is evicted at once; one revoked on another node is
/// noticed here within `TTL`, far inside an access token's lifetime.
#[derive(Debug, Clone)]
pub struct SessionCache(Cache<SessionId, SessionState>);

impl SessionCache {
    const TTL: Duration = Duration::from_secs(10);
    /// Bounds memory: at ~64 bytes an entry, 100k live sessions cost a few MiB.
    const CAPACITY: u64 = 100_000;

    pub fn new() -> Self {
        Self(
            Cache::builder()
                .max_capacity(Self::CAPACITY)
                .time_to_live(Self::TTL)
                .build(),
        )
    }

    pub async fn get(&self, id: SessionId) -> Option<SessionState> {
        self.0.get(&id).await
    }

    pub async fn put(&self, id: SessionId, state: SessionState) {
        self.0.insert(id, state).await;
    }

    pub async fn forget(&self, id: SessionId) {
        self.0.invalidate(&id).await;
    }

    /// Drops every entry; used when many sessions of one user are revoked at once.
    pub fn forget_all(&self) {
        self.0.invalidate_all();
    }
}

impl Default for SessionCache {
    fn default() -> Self {
        Self::new()
    }
}
