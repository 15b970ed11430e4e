//! A short-lived, per-node cache of session state, so each authenticated request can
//! check that its session is still live without a database round trip every time.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use moka::future::Cache;
use tandem_domain::{SessionId, UserId};

/// What a request needs to know about its session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionState {
    pub user_id: UserId,
    pub active: bool,
}

/// How many evictions this node had seen when a session was read from the database;
/// see [`SessionCache::put`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Evictions(u64);

/// Session liveness by id.
///
/// A revoked session is evicted on every node: at once on the node that revoked it, and
/// on the others when the revocation reaches them on the bus (`realtime::control`). The
/// TTL only bounds how long an entry lives if that announcement is lost (the bus is at
/// most once), far inside an access token's lifetime.
#[derive(Debug, Clone)]
pub struct SessionCache {
    cache: Cache<SessionId, SessionState>,
    evictions: Arc<AtomicU64>,
}

impl SessionCache {
    const TTL: Duration = Duration::from_secs(10);
    /// Bounds memory: at ~64 bytes an entry, 100k live sessions cost a few MiB.
    const CAPACITY: u64 = 100_000;

    pub fn new() -> Self {
        Self {
            cache: Cache::builder()
                .max_capacity(Self::CAPACITY)
                .time_to_live(Self::TTL)
                // For `evict_user`: a password change revokes every other session of
                // one account, whose ids this node does not know.
                .support_invalidation_closures()
                .build(),
            evictions: Arc::new(AtomicU64::new(0)),
        }
    }

    pub async fn get(&self, id: SessionId) -> Option<SessionState> {
        self.cache.get(&id).await
    }

    /// Taken before reading a session from the database, and handed to `put`.
    pub fn evictions(&self) -> Evictions {
        Evictions(self.evictions.load(Ordering::SeqCst))
    }

    /// Caches `state`, read from the database after `seen` was taken.
    ///
    /// A revocation may have been evicted between that read and this insert, which would
    /// then put back a session that is no longer live. So the entry is dropped again
    /// when any eviction happened meanwhile: it costs one more database read, and
    /// revocations are rare.
    pub async fn put(&self, id: SessionId, state: SessionState, seen: Evictions) {
        self.cache.insert(id, state).await;
        if self.evictions() != seen {
            self.cache.invalidate(&id).await;
        }
    }

    /// Evicts a session this node revoked; the entry is gone when this returns.
    pub async fn forget(&self, id: SessionId) {
        self.evictions.fetch_add(1, Ordering::SeqCst);
        self.cache.invalidate(&id).await;
    }

    /// Evicts a session another node (or this one) announced as revoked. Synchronous, for
    /// the bus delivery task: the removal itself runs on a task of its own.
    pub fn evict(&self, id: SessionId) {
        self.evictions.fetch_add(1, Ordering::SeqCst);
        let cache = self.cache.clone();
        tokio::spawn(async move { cache.invalidate(&id).await });
    }

    /// Evicts every session of `user_id` but `except`. Takes effect at once: lookups skip
    /// matching entries from now on, and moka removes them in its maintenance.
    pub fn evict_user(&self, user_id: UserId, except: SessionId) {
        self.evictions.fetch_add(1, Ordering::SeqCst);
        let predicate =
            move |id: &SessionId, state: &SessionState| state.user_id == user_id && *id != except;
        if let Err(error) = self.cache.invalidate_entries_if(predicate) {
            tracing::error!(error = %error, "cannot evict a user's sessions; evicting all");
            self.cache.invalidate_all();
        }
    }
}

impl Default for SessionCache {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;

    fn live(user_id: UserId) -> SessionState {
        SessionState {
            user_id,
            active: true,
        }
    }

    #[tokio::test]
    async fn a_session_read_before_an_eviction_is_not_kept() {
        let cache = SessionCache::new();
        let now = Utc::now();
        let (user, session) = (UserId::new(now), SessionId::new(now));
        let seen = cache.evictions();
        // The revocation is evicted while this node reads the (still active) row...
        cache.forget(session).await;
        // ...so the stale row it then caches must not stay.
        cache.put(session, live(user), seen).await;
        assert_eq!(cache.get(session).await, None);

        cache.put(session, live(user), cache.evictions()).await;
        assert_eq!(cache.get(session).await, Some(live(user)));
    }

    #[tokio::test]
    async fn evicting_a_user_keeps_the_excepted_session_and_other_users() {
        let cache = SessionCache::new();
        let now = Utc::now();
        let (user, other) = (UserId::new(now), UserId::new(now));
        let sessions: Vec<SessionId> = (0..3).map(|_| SessionId::new(now)).collect();
        let seen = cache.evictions();
        cache.put(sessions[0], live(user), seen).await;
        cache.put(sessions[1], live(user), seen).await;
        cache.put(sessions[2], live(other), seen).await;
        cache.evict_user(user, sessions[0]);
        assert_eq!(cache.get(sessions[0]).await, Some(live(user)));
        assert_eq!(cache.get(sessions[1]).await, None);
        assert_eq!(cache.get(sessions[2]).await, Some(live(other)));
    }
}
