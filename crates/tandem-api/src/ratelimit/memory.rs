//! The in-process rate limiter (embedded mode): governor's GCRA, keyed by client.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;

use super::{Decision, Quota, RateLimiter};

type Keyed = governor::RateLimiter<
    String,
    DefaultKeyedStateStore<String>,
    DefaultClock,
    StateInformationMiddleware,
>;

/// A GCRA limiter per key, held in this process.
#[derive(Debug)]
pub struct MemoryRateLimiter {
    limiter: Keyed,
    clock: DefaultClock,
    quota: Quota,
    hits: AtomicU64,
}

impl MemoryRateLimiter {
    /// Every this many hits, keys whose allowance is full again are dropped, so a scan
    /// from many addresses cannot grow the map without bound.
    const SWEEP_EVERY: u64 = 4096;

    pub fn new(quota: Quota) -> anyhow::Result<Self> {
        let limit = NonZeroU32::new(quota.limit)
            .ok_or_else(|| anyhow::anyhow!("a rate limit must allow at least one request"))?;
        let period = quota.window / quota.limit;
        let gcra = governor::Quota::with_period(period)
            .ok_or_else(|| anyhow::anyhow!("a rate-limit window must be longer than zero"))?
            .allow_burst(limit);
        let clock = DefaultClock::default();
        Ok(Self {
            limiter: governor::RateLimiter::dashmap_with_clock(gcra, clock.clone())
                .with_middleware::<StateInformationMiddleware>(),
            clock,
            quota,
            hits: AtomicU64::new(0),
        })
    }

    fn replenish_time(&self, used: u32) -> Duration {
        self.quota.window / self.quota.limit * used
    }
}

#[async_trait::async_trait]
impl RateLimiter for MemoryRateLimiter {
    async fn hit(&self, key: &str) -> anyhow::Result<Decision> {
        if self
            .hits
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(Self::SWEEP_EVERY)
        {
            self.limiter.retain_recent();
        }
        let limit = self.quota.limit;
        Ok(match self.limiter.check_key(&key.to_owned()) {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                Decision {
                    allowed: true,
                    limit,
                    remaining,
                    reset_after: self.replenish_time(limit - remaining),
                }
            }
            Err(not_until) => Decision {
                allowed: false,
                limit,
                remaining: 0,
                reset_after: not_until.wait_time_from(self.clock.now()),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_quota_is_kept_per_key() {
        let limiter = MemoryRateLimiter::new(Quota {
            limit: 3,
            window: Duration::from_secs(60),
        })
        .unwrap();
        for expected_remaining in [2, 1, 0] {
            let decision = limiter.hit("a").await.unwrap();
            assert!(decision.allowed);
            assert_eq!(decision.remaining, expected_remaining);
        }
        let denied = limiter.hit("a").await.unwrap();
        assert!(!denied.allowed);
        assert!(denied.reset_after > Duration::from_secs(10));
        assert!(denied.reset_after <= Duration::from_secs(20));
        assert!(limiter.hit("b").await.unwrap().allowed);
    }
}
