//! Durable background jobs: a queue in the main database (so a job is never lost with
//! Redis, and could be enqueued in the transaction that caused it), workers that claim
//! jobs under leases and renew them, a reaper that re-runs the jobs of dead workers,
//! retries with full-jitter backoff, idempotent submission, and the job kinds
//! (`code_execution`, `data_processing`, `report`, `noop`). Design: `docs/JOBS.md`.

mod batch;
mod config;
mod events;
mod handler;
pub mod kinds;
mod queue;
mod reaper;
mod signals;
mod worker;

use std::sync::Arc;

use tandem_domain::{Clock, Job, JobId, LeaseToken, NewJob};
use tandem_store::{Enqueued, Finish, Store, StoreError};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use batch::Batcher;
pub use config::JobsConfig;
pub use events::{JobEvent, JobEvents, NoEvents};
pub use handler::{Fault, JobContext, JobHandler, Output, Registry};
pub use queue::{Queue, Submission, SubmitError};
pub use signals::Signals;
pub use worker::Worker;

/// A node's job machinery: the queue the API submits to, and the worker and reaper
/// that [`Jobs::start`] runs.
#[derive(Debug, Clone)]
pub struct Jobs {
    pub queue: Queue,
    worker: Arc<Worker>,
}

impl Jobs {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        registry: Registry,
        config: JobsConfig,
        events: Arc<dyn JobEvents>,
    ) -> Self {
        let signals = Signals::new();
        let queue = Queue {
            enqueues: enqueue_batcher(Arc::clone(&store)),
            store: Arc::clone(&store),
            clock: Arc::clone(&clock),
            registry: registry.clone(),
            signals: signals.clone(),
            events: Arc::clone(&events),
        };
        let worker = Arc::new(Worker {
            finishes: finish_batcher(Arc::clone(&store), Arc::clone(&clock)),
            store,
            clock,
            registry,
            config,
            signals,
            events,
        });
        Self { queue, worker }
    }

    /// Starts the reaper, the worker (unless `concurrency` is 0) and, on PostgreSQL
    /// (`database_url` given), the notification listener. They stop with `stop`; the
    /// worker first finishes or releases its running jobs.
    pub fn start(
        &self,
        database_url: Option<String>,
        stop: &CancellationToken,
    ) -> Vec<JoinHandle<()>> {
        let mut tasks = Vec::new();
        if let Some(url) = database_url.filter(|url| url.starts_with("postgres")) {
            let signals = self.worker.signals.clone();
            tasks.push(tokio::spawn(signals.listen_postgres(url, stop.clone())));
        }
        tasks.push(tokio::spawn(Arc::clone(&self.worker).reap(stop.clone())));
        if self.worker.config.concurrency > 0 {
            tasks.push(tokio::spawn(Arc::clone(&self.worker).run(stop.clone())));
        }
        tasks
    }

    /// The worker, for tests that drive sweeps by hand.
    pub fn worker(&self) -> &Arc<Worker> {
        &self.worker
    }
}

/// Submissions, committed in groups. A batch that fails as a whole is retried one job at
/// a time, so each submitter hears its own outcome.
fn enqueue_batcher(
    store: Arc<dyn Store>,
) -> Batcher<(NewJob, String), Result<Enqueued, StoreError>> {
    Batcher::start(move |jobs: Vec<(NewJob, String)>| {
        let store = Arc::clone(&store);
        async move {
            match store.enqueue_jobs(&jobs).await {
                Ok(outcomes) => outcomes,
                Err(error) => {
                    tracing::warn!(error = %error, jobs = jobs.len(), "a batch of submissions failed; storing them one by one");
                    let mut outcomes = Vec::with_capacity(jobs.len());
                    for (job, digest) in &jobs {
                        outcomes.push(store.enqueue_job(job, digest).await);
                    }
                    outcomes
                }
            }
        }
    })
}

/// Attempt endings, committed in groups, the same way.
fn finish_batcher(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
) -> Batcher<(JobId, LeaseToken, Finish), Result<Option<Job>, StoreError>> {
    Batcher::start(move |attempts: Vec<(JobId, LeaseToken, Finish)>| {
        let (store, now) = (Arc::clone(&store), clock.now());
        async move {
            match store.finish_jobs(attempts.clone(), now).await {
                Ok(jobs) => jobs.into_iter().map(Ok).collect(),
                Err(error) => {
                    tracing::warn!(error = %error, "a batch of job endings failed; storing them one by one");
                    let mut outcomes = Vec::with_capacity(attempts.len());
                    for (id, token, finish) in attempts {
                        outcomes.push(store.finish_job(id, token, finish, now).await);
                    }
                    outcomes
                }
            }
        }
    })
}
