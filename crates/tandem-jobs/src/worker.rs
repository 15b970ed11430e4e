//! The worker: claims runnable jobs up to its concurrency, runs each attempt while a
//! lease keeper renews its lease, stops an attempt the moment it is cancelled or its
//! lease is lost, and records how each attempt ended under the attempt's lease token.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use serde_json::Value;
use tandem_domain::{Clock, Job, JobId, LeaseToken, backoff};
use tandem_store::{Claimed, Finish, Store, StoreError};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::batch::Batcher;
use crate::config::JobsConfig;
use crate::events::{JobEvent, JobEvents};
use crate::handler::{Fault, JobContext, Output, Registry};
use crate::signals::Signals;

/// The shortest gap between two progress writes of one attempt: progress is a hint, and
/// a chatty job must not turn into a write storm.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(250);

/// Runs jobs; one per process, with `config.concurrency` attempts at once.
#[derive(Debug)]
pub struct Worker {
    /// Attempt endings go to the database in groups.
    pub(crate) finishes: Batcher<(JobId, LeaseToken, Finish), Result<Option<Job>, StoreError>>,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) registry: Registry,
    pub(crate) config: JobsConfig,
    pub(crate) signals: Signals,
    pub(crate) events: Arc<dyn JobEvents>,
}

/// Why an attempt stopped before its work finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// Someone cancelled the job.
    Cancelled,
    /// The lease is gone or could not be renewed in time: someone else may run it now.
    LeaseLost,
    /// Shutdown: give the job back.
    Release,
}

impl Worker {
    /// Claims and runs jobs until `stop`; then lets running attempts finish for up to
    /// `shutdown_grace` and releases the rest back to the queue.
    pub async fn run(self: Arc<Self>, stop: CancellationToken) {
        let concurrency = self.config.concurrency;
        let release = CancellationToken::new();
        let mut running = JoinSet::new();
        let mut failures = 0u32;
        while !stop.is_cancelled() {
            let free = concurrency.saturating_sub(running.len());
            let mut more = false;
            if free > 0 {
                let limit = u32::try_from(free).unwrap_or(u32::MAX);
                match self
                    .store
                    .claim_jobs(limit, self.config.lease, self.clock.now())
                    .await
                {
                    Ok(claims) => {
                        failures = 0;
                        more = claims.len() == free;
                        for claim in claims {
                            let job = &claim.job;
                            let span = tracing::info_span!("job", job.id = %job.id, job.kind = job.kind.as_str(), job.attempt = job.attempt);
                            self.events.publish(None, JobEvent::Updated(job.clone()));
                            let attempt = Arc::clone(&self).attempt(claim, release.child_token());
                            running.spawn(attempt.instrument(span));
                        }
                    }
                    Err(error) => {
                        failures += 1;
                        tracing::warn!(error = %error, "claiming jobs failed");
                    }
                }
            }
            if more && running.len() < concurrency {
                continue;
            }
            let pause = if failures > 0 {
                self.config
                    .poll
                    .min(Duration::from_millis(100 << failures.min(5)))
            } else {
                self.config.poll
            };
            tokio::select! {
                () = stop.cancelled() => {}
                () = self.signals.woken(), if running.len() < concurrency && failures == 0 => {}
                Some(_) = running.join_next(), if !running.is_empty() => {
                    // Attempts end in batches (their endings commit together): collect
                    // every one that ended, so the next claim fills all their slots at
                    // once instead of one claim per ended job.
                    tokio::task::yield_now().await;
                    while running.try_join_next().is_some() {}
                }
                () = tokio::time::sleep(pause) => {}
            }
        }
        let drained = tokio::time::timeout(self.config.shutdown_grace, async {
            while running.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::info!(
                jobs = running.len(),
                "releasing unfinished jobs at shutdown"
            );
            release.cancel();
            while running.join_next().await.is_some() {}
        }
    }

    /// Runs one attempt to its end and records the end.
    async fn attempt(self: Arc<Self>, claim: Claimed, release: CancellationToken) {
        let Claimed { job, token } = claim;
        let (id, attempt) = (job.id, job.attempt);
        let handler = self.registry.get(job.kind.as_str()).cloned();
        let stop = CancellationToken::new();
        let (progress, progress_rx) = watch::channel(None);
        let payload = job.payload.clone();
        let ctx = JobContext {
            job,
            stop: stop.clone(),
            progress,
        };
        let work = async {
            match handler {
                Some(handler) => AssertUnwindSafe(handler.run(&ctx, payload))
                    .catch_unwind()
                    .await
                    .unwrap_or_else(|_| Err(Fault::new("the job's handler panicked"))),
                None => Err(Fault::new("no worker here knows this job kind")),
            }
        };
        let keeper = self.keep_lease(id, token, progress_rx);
        let ended: Result<Result<Output, Fault>, Stop> = tokio::select! {
            done = work => Ok(done),
            stopped = keeper => Err(stopped),
            () = release.cancelled() => Err(Stop::Release),
        };
        stop.cancel();
        let now = self.clock.now();
        let finish = match ended {
            Ok(Ok(output)) => Finish::Succeeded {
                result: output.result,
                artifacts: output.artifacts,
            },
            Ok(Err(fault)) => {
                let delay = backoff(
                    attempt,
                    self.config.backoff_base,
                    self.config.backoff_cap,
                    rand::random::<f64>(),
                );
                tracing::warn!(job.id = %id, error = %fault, "a job attempt failed");
                Finish::Failed {
                    error: fault.0,
                    retry_at: now + chrono::Duration::from_std(delay).unwrap_or_default(),
                }
            }
            Err(Stop::Cancelled) => Finish::Cancelled,
            Err(Stop::Release) => Finish::Released,
            Err(Stop::LeaseLost) => {
                tracing::warn!(job.id = %id, "stopped a job whose lease was lost");
                return;
            }
        };
        let recorded = self
            .finishes
            .submit((id, token, finish))
            .await
            .unwrap_or_else(|| Err(StoreError::Config("the job queue has stopped".into())));
        match recorded {
            Ok(Some(job)) => {
                if job.state.is_finished() {
                    tracing::info!(job.id = %id, job.state = job.state.as_str(), "job finished");
                }
                self.events.publish(None, JobEvent::Updated(job));
            }
            Ok(None) => tracing::warn!(job.id = %id, "a job's lease was lost before it finished"),
            Err(error) => {
                tracing::error!(job.id = %id, error = %error, "recording a job's end failed; its lease will expire and it runs again");
            }
        }
    }

    /// Renews the attempt's lease every heartbeat (and with each progress report) until
    /// the job must stop: a cancel, or a lease that is lost or about to run out without a
    /// renewal. Returns why.
    async fn keep_lease(
        &self,
        id: JobId,
        token: LeaseToken,
        mut progress: watch::Receiver<Option<Value>>,
    ) -> Stop {
        let lease = self.config.lease;
        // Stop a little before the lease could end, so no one else can have started the
        // job while this attempt still runs.
        let margin = lease / 6;
        let mut deadline = Instant::now() + lease;
        let mut cancels = self.signals.cancels();
        let mut heartbeat = tokio::time::interval(self.config.heartbeat);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        heartbeat.tick().await;
        let mut progress_open = true;
        loop {
            let report = tokio::select! {
                _ = heartbeat.tick() => None,
                changed = progress.changed(), if progress_open => match changed {
                    Ok(()) => progress.borrow_and_update().clone(),
                    Err(_) => { progress_open = false; continue; }
                },
                received = cancels.recv() => match received {
                    Ok(cancelled) if cancelled == id => return Stop::Cancelled,
                    Ok(_) => continue,
                    // A missed cancel may be ours: renew now, which reads the flag.
                    Err(RecvError::Lagged(_)) => None,
                    Err(RecvError::Closed) => {
                        cancels = self.signals.cancels();
                        continue;
                    }
                },
                () = tokio::time::sleep_until(deadline - margin) => return Stop::LeaseLost,
            };
            let renewed = self
                .store
                .renew_lease(id, token, report.as_ref(), lease, self.clock.now())
                .await;
            match renewed {
                Ok(Some(job)) => {
                    deadline = Instant::now() + lease;
                    let cancel_requested = job.cancel_requested;
                    if report.is_some() {
                        self.events.publish(None, JobEvent::Progress(job));
                    }
                    if cancel_requested {
                        return Stop::Cancelled;
                    }
                }
                Ok(None) => return Stop::LeaseLost,
                Err(error) => {
                    tracing::warn!(job.id = %id, error = %error, "renewing a lease failed")
                }
            }
            if report.is_some() {
                tokio::time::sleep(PROGRESS_INTERVAL).await;
            }
        }
    }
}
