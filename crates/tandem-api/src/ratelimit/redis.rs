//! The shared rate limiter (scale-out mode): a fixed window counted in Redis, so every
//! node enforces one allowance per client.

use std::time::Duration;

use redis::Script;
use redis::aio::ConnectionManager;

use super::{Decision, Quota, RateLimiter};

/// Counts hits per key and window in Redis.
///
/// A fixed window, not GCRA: one atomic `INCR` + `PEXPIRE` per request is all Redis has
/// to do, at the price of allowing up to twice the limit across a window boundary.
pub struct RedisRateLimiter {
    redis: ConnectionManager,
    prefix: String,
    quota: Quota,
    script: Script,
}

impl std::fmt::Debug for RedisRateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisRateLimiter")
            .field("prefix", &self.prefix)
            .field("quota", &self.quota)
            .finish_non_exhaustive()
    }
}

impl RedisRateLimiter {
    /// `prefix` namespaces the keys (`{prefix}:ratelimit:{key}`).
    pub fn new(redis: ConnectionManager, prefix: &str, quota: Quota) -> Self {
        let script = Script::new(
            r"
            local count = redis.call('INCR', KEYS[1])
            if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
            local ttl = redis.call('PTTL', KEYS[1])
            if ttl < 0 then
              redis.call('PEXPIRE', KEYS[1], ARGV[1])
              ttl = tonumber(ARGV[1])
            end
            return {count, ttl}
            ",
        );
        Self {
            redis,
            prefix: prefix.to_owned(),
            quota,
            script,
        }
    }
}

#[async_trait::async_trait]
impl RateLimiter for RedisRateLimiter {
    async fn hit(&self, key: &str) -> anyhow::Result<Decision> {
        let window_ms = u64::try_from(self.quota.window.as_millis())?;
        let (count, ttl_ms): (u64, u64) = self
            .script
            .key(format!("{}:ratelimit:{key}", self.prefix))
            .arg(window_ms)
            .invoke_async(&mut self.redis.clone())
            .await?;
        let limit = self.quota.limit;
        Ok(Decision {
            allowed: count <= u64::from(limit),
            limit,
            remaining: u32::try_from(u64::from(limit).saturating_sub(count))?,
            reset_after: Duration::from_millis(ttl_ms),
        })
    }
}
