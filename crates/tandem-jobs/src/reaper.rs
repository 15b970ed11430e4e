//! The reaper: takes back jobs whose worker stopped renewing its lease (a crashed or
//! partitioned node), so they run again within about a lease and a sweep, and prunes
//! finished jobs past their retention. Every node runs one; a sweep is one statement,
//! so concurrent reapers never take a job back twice.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::events::JobEvent;
use crate::worker::Worker;

/// How often finished jobs past their retention are deleted.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

impl Worker {
    /// Sweeps expired leases every `reap_every` and prunes every hour, until `stop`.
    pub async fn reap(self: Arc<Self>, stop: CancellationToken) {
        let mut sweep = tokio::time::interval(self.config.reap_every);
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut prune = tokio::time::interval(PRUNE_EVERY);
        prune.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = sweep.tick() => self.sweep().await,
                _ = prune.tick() => self.prune().await,
            }
        }
    }

    /// One sweep of expired leases.
    pub async fn sweep(&self) {
        match self.store.reap_expired_leases(self.clock.now()).await {
            Ok(jobs) if !jobs.is_empty() => {
                tracing::warn!(jobs = jobs.len(), "took back jobs whose lease expired");
                for job in jobs {
                    self.events.publish(None, JobEvent::Updated(job));
                }
                self.signals.wake();
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(error = %error, "sweeping expired leases failed"),
        }
    }

    async fn prune(&self) {
        let retention =
            chrono::Duration::from_std(self.config.retention).unwrap_or(chrono::Duration::MAX);
        let before = self.clock.now() - retention;
        match self.store.prune_jobs(before).await {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(pruned, "pruned finished jobs past their retention"),
            Err(error) => tracing::warn!(error = %error, "pruning finished jobs failed"),
        }
    }
}
