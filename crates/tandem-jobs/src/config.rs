//! The queue's timing and sizing: leases, heartbeats, polling, retries and retention.

use std::time::Duration;

/// How workers and the reaper behave.
#[derive(Debug, Clone)]
pub struct JobsConfig {
    /// Attempts this process runs at once (0: no worker here, only the API).
    pub concurrency: usize,
    /// How long a claim holds a job without a renewal.
    pub lease: Duration,
    /// How often a running attempt renews its lease (well under `lease`).
    pub heartbeat: Duration,
    /// How often an idle worker looks for work when no notification wakes it; a
    /// fallback, since enqueues wake workers directly.
    pub poll: Duration,
    /// How often expired leases are swept.
    pub reap_every: Duration,
    /// How long finished jobs are kept.
    pub retention: Duration,
    /// Retry backoff: full jitter below `min(backoff_cap, backoff_base · 2^attempt)`.
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    /// How long a graceful shutdown waits for running attempts before releasing them.
    pub shutdown_grace: Duration,
}

impl Default for JobsConfig {
    fn default() -> Self {
        Self {
            concurrency: 4,
            lease: Duration::from_secs(30),
            heartbeat: Duration::from_secs(10),
            poll: Duration::from_secs(2),
            reap_every: Duration::from_secs(5),
            retention: Duration::from_secs(7 * 24 * 3600),
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(600),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}
