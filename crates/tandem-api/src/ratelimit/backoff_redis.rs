//! The shared login backoff (scale-out mode): each account's failures in one Redis hash,
//! updated by one Lua script, so every node counts the same guesses.

use std::time::Duration;

use chrono::{DateTime, Utc};
use redis::Script;
use redis::aio::ConnectionManager;

use super::backoff::{Attempt, BackoffPolicy, LoginBackoff};

/// Counts login attempts per account key in Redis (`{prefix}:login:{key}`).
pub struct RedisLoginBackoff {
    redis: ConnectionManager,
    prefix: String,
    policy: BackoffPolicy,
    script: Script,
}

impl std::fmt::Debug for RedisLoginBackoff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisLoginBackoff")
            .field("prefix", &self.prefix)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl RedisLoginBackoff {
    pub fn new(redis: ConnectionManager, prefix: &str, policy: BackoffPolicy) -> Self {
        // The same rules as `MemoryLoginBackoff`, on times in milliseconds from the
        // caller's clock: the key's TTL only collects garbage, it decides nothing. Returns
        // 0 for an allowed attempt, else the milliseconds left of the lockout.
        let script = Script::new(
            r"
            local now, max_failures = tonumber(ARGV[1]), tonumber(ARGV[2])
            local window, lockout, cap = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
            local state = redis.call('HMGET', KEYS[1], 'count', 'last', 'until')
            local count = tonumber(state[1]) or 0
            local last = tonumber(state[2]) or now
            local locked_until = tonumber(state[3]) or 0
            if locked_until > now then return locked_until - now end
            if math.max(last, locked_until) + window <= now then count = 0 end
            count = count + 1
            locked_until = 0
            if count >= max_failures then
              local doubled = lockout * 2 ^ math.min(count - max_failures, 40)
              locked_until = now + math.min(doubled, cap)
            end
            redis.call('HSET', KEYS[1], 'count', count, 'last', now, 'until', locked_until)
            redis.call('PEXPIRE', KEYS[1], math.max(locked_until - now, 0) + window)
            return 0
            ",
        );
        Self {
            redis,
            prefix: prefix.to_owned(),
            policy,
            script,
        }
    }

    fn key(&self, key: &str) -> String {
        format!("{}:{key}", self.prefix)
    }
}

fn millis(duration: Duration) -> anyhow::Result<u64> {
    Ok(u64::try_from(duration.as_millis())?)
}

#[async_trait::async_trait]
impl LoginBackoff for RedisLoginBackoff {
    async fn attempt(&self, key: &str, now: DateTime<Utc>) -> anyhow::Result<Attempt> {
        let policy = &self.policy;
        let wait_ms: u64 = self
            .script
            .key(self.key(key))
            .arg(now.timestamp_millis())
            .arg(policy.max_failures)
            .arg(millis(policy.window)?)
            .arg(millis(policy.lockout)?)
            .arg(millis(policy.max_lockout)?)
            .invoke_async(&mut self.redis.clone())
            .await?;
        Ok(match wait_ms {
            0 => Attempt::Allowed,
            ms => Attempt::Locked {
                retry_after: Duration::from_millis(ms),
            },
        })
    }

    async fn succeeded(&self, key: &str) -> anyhow::Result<()> {
        redis::cmd("DEL")
            .arg(self.key(key))
            .exec_async(&mut self.redis.clone())
            .await?;
        Ok(())
    }
}
