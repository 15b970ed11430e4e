//! Per-account login backoff: the `LoginBackoff` trait, its policy (a few failures, then
//! lockouts that double up to a cap), and the in-process implementation (embedded mode).
//!
//! Times come from the caller (the injected `Clock`), so tests move through lockouts
//! without sleeping.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};

/// When an account's failed logins lock it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffPolicy {
    /// Failed logins an account may have before it is locked out.
    pub max_failures: u32,
    /// Failures are forgotten after this long without another (counted from the end of
    /// a lockout, so a lockout as long as the window does not wipe the slate clean).
    pub window: Duration,
    /// The first lockout; each further failure doubles it…
    pub lockout: Duration,
    /// …up to this.
    pub max_lockout: Duration,
}

impl BackoffPolicy {
    /// The lockout that follows the `failures`-th failure in a row, if any.
    pub fn lockout_after(&self, failures: u32) -> Option<Duration> {
        let doublings = failures.checked_sub(self.max_failures)?;
        let factor = 1u32.checked_shl(doublings).unwrap_or(u32::MAX);
        Some(self.lockout.saturating_mul(factor).min(self.max_lockout))
    }
}

/// The verdict on one login attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// Check the password.
    Allowed,
    /// Refused without checking anything: the account is locked out this much longer.
    Locked { retry_after: Duration },
}

/// Counts login attempts per account key (a hash of the email, whether or not an
/// account has it).
#[async_trait::async_trait]
pub trait LoginBackoff: Send + Sync + std::fmt::Debug {
    /// Records an attempt for `key` at `now` and says whether it may go ahead. An allowed
    /// attempt counts as a failure until `succeeded` clears it: counting before the
    /// password is checked means concurrent guesses cannot slip past the limit together.
    /// Attempts refused while locked out are not counted.
    async fn attempt(&self, key: &str, now: DateTime<Utc>) -> anyhow::Result<Attempt>;

    /// Forgets every failure of `key`: its login succeeded.
    async fn succeeded(&self, key: &str) -> anyhow::Result<()>;
}

/// One account's recent failures.
#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: DateTime<Utc>,
    locked_until: Option<DateTime<Utc>>,
}

impl Failures {
    /// When these failures stop counting.
    fn forgotten_at(&self, window: Duration) -> DateTime<Utc> {
        let since = self
            .locked_until
            .map_or(self.last, |until| until.max(self.last));
        since + window
    }
}

/// The backoff held in this process.
#[derive(Debug)]
pub struct MemoryLoginBackoff {
    policy: BackoffPolicy,
    accounts: Mutex<HashMap<String, Failures>>,
    attempts: AtomicU64,
}

impl MemoryLoginBackoff {
    /// Every this many attempts, forgotten entries are dropped, so guesses at many emails
    /// cannot grow the map without bound (the per-address limit bounds how fast it fills).
    const SWEEP_EVERY: u64 = 1024;

    pub fn new(policy: BackoffPolicy) -> Self {
        Self {
            policy,
            accounts: Mutex::new(HashMap::new()),
            attempts: AtomicU64::new(0),
        }
    }
}

#[async_trait::async_trait]
impl LoginBackoff for MemoryLoginBackoff {
    async fn attempt(&self, key: &str, now: DateTime<Utc>) -> anyhow::Result<Attempt> {
        let window = self.policy.window;
        let mut accounts = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        if self
            .attempts
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(Self::SWEEP_EVERY)
        {
            accounts.retain(|_, failures| failures.forgotten_at(window) > now);
        }
        let failures = accounts.entry(key.to_owned()).or_insert(Failures {
            count: 0,
            last: now,
            locked_until: None,
        });
        if let Some(until) = failures.locked_until.filter(|until| *until > now) {
            let retry_after = (until - now).to_std().unwrap_or_default();
            return Ok(Attempt::Locked { retry_after });
        }
        if failures.forgotten_at(window) <= now {
            failures.count = 0;
        }
        failures.count = failures.count.saturating_add(1);
        failures.last = now;
        failures.locked_until = self
            .policy
            .lockout_after(failures.count)
            .map(|lockout| now + lockout);
        Ok(Attempt::Allowed)
    }

    async fn succeeded(&self, key: &str) -> anyhow::Result<()> {
        self.accounts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: BackoffPolicy = BackoffPolicy {
        max_failures: 3,
        window: Duration::from_secs(15 * 60),
        lockout: Duration::from_secs(60),
        max_lockout: Duration::from_secs(5 * 60),
    };

    fn locked(secs: u64) -> Attempt {
        Attempt::Locked {
            retry_after: Duration::from_secs(secs),
        }
    }

    #[test]
    fn lockouts_start_at_the_limit_and_double_up_to_the_cap() {
        let minutes = |failures| POLICY.lockout_after(failures).map(|d| d.as_secs() / 60);
        assert_eq!(
            [1, 2, 3, 4, 5, 6, 7, 40].map(minutes),
            [
                None,
                None,
                Some(1),
                Some(2),
                Some(4),
                Some(5),
                Some(5),
                Some(5)
            ]
        );
    }

    #[tokio::test]
    async fn an_account_is_locked_after_its_failures_and_unlocked_by_time() {
        let backoff = MemoryLoginBackoff::new(POLICY);
        let mut now = Utc::now();
        for _ in 0..3 {
            assert_eq!(backoff.attempt("a", now).await.unwrap(), Attempt::Allowed);
        }
        assert_eq!(backoff.attempt("a", now).await.unwrap(), locked(60));
        assert_eq!(backoff.attempt("b", now).await.unwrap(), Attempt::Allowed);
        now += Duration::from_secs(59);
        assert_eq!(backoff.attempt("a", now).await.unwrap(), locked(1));
        now += Duration::from_secs(1);
        assert_eq!(backoff.attempt("a", now).await.unwrap(), Attempt::Allowed);
        // The fourth failure in a row doubles the lockout.
        assert_eq!(backoff.attempt("a", now).await.unwrap(), locked(120));
    }

    #[tokio::test]
    async fn failures_are_forgotten_after_a_quiet_window_or_a_success() {
        let backoff = MemoryLoginBackoff::new(POLICY);
        let mut now = Utc::now();
        for _ in 0..2 {
            backoff.attempt("a", now).await.unwrap();
        }
        now += POLICY.window;
        for _ in 0..2 {
            assert_eq!(backoff.attempt("a", now).await.unwrap(), Attempt::Allowed);
        }
        backoff.succeeded("a").await.unwrap();
        for _ in 0..3 {
            assert_eq!(backoff.attempt("a", now).await.unwrap(), Attempt::Allowed);
        }
        assert_eq!(backoff.attempt("a", now).await.unwrap(), locked(60));
    }
}
