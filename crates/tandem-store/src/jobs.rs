//! The storage contract of the job queue: enqueue (idempotent by key), claim under a
//! lease, writes fenced by the lease token, the reaper's sweep of expired leases,
//! cancel, retry, pruning, queue statistics and the artifacts jobs produce.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use tandem_domain::{Job, JobId, JobKind, JobState, LeaseToken, NewJob, ProjectId, UserId};

use crate::StoreError;

/// What an enqueue did.
#[derive(Debug, Clone, PartialEq)]
pub enum Enqueued {
    /// A new job.
    Created(Job),
    /// The submitter already sent this idempotency key with the same request: its job.
    Existing(Job),
}

impl Enqueued {
    pub fn job(&self) -> &Job {
        match self {
            Enqueued::Created(job) | Enqueued::Existing(job) => job,
        }
    }
}

/// A job a worker took, with the lease that lets it write.
#[derive(Debug, Clone, PartialEq)]
pub struct Claimed {
    pub job: Job,
    pub token: LeaseToken,
}

/// A file a job produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    pub name: String,
    pub content_type: String,
    pub data: Vec<u8>,
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Finish {
    /// The job did its work (a user program that failed is still a job that succeeded).
    Succeeded {
        result: Value,
        artifacts: Vec<Artifact>,
    },
    /// An infrastructure fault: retry at `retry_at` if attempts are left, else `dead`.
    Failed {
        error: String,
        retry_at: DateTime<Utc>,
    },
    /// Stopped because a cancel was requested.
    Cancelled,
    /// Given back unfinished (the worker is shutting down): queued again, and the
    /// attempt does not count.
    Released,
}

/// Which of a project's jobs to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobFilter {
    pub state: Option<JobState>,
    pub kind: Option<JobKind>,
    pub created_by: Option<UserId>,
}

/// The queue at a glance, for `/metrics`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueueStats {
    /// Jobs per state (every state, zero included).
    pub by_state: Vec<(JobState, u64)>,
    /// When the longest-waiting runnable job became runnable.
    pub oldest_runnable: Option<DateTime<Utc>>,
    /// Running jobs whose lease has run out and that the reaper has not taken back yet.
    pub expired_leases: u64,
}

/// The job queue. Every write an attempt makes (`renew_lease`, `finish_job`) names the
/// lease token its claim issued and does nothing (returns `None`) if the job's current
/// token differs: a worker that lost its lease can never overwrite a newer attempt.
#[async_trait]
pub trait JobStore: Send + Sync {
    /// Stores a queued job. With an idempotency key, a second submission by the same
    /// user with the same `digest` returns the first job (`Existing`); a different digest
    /// is `Conflict("jobs.idempotency_key")`. The unique index decides, not a read, so
    /// concurrent submissions with one key create one job. `NotFound` if the project
    /// does not exist.
    async fn enqueue_job(&self, job: &NewJob, digest: &str) -> Result<Enqueued, StoreError> {
        self.enqueue_jobs(&[(job.clone(), digest.to_owned())])
            .await?
            .pop()
            .unwrap_or(Err(StoreError::NotFound))
    }
    /// Enqueues several jobs in one transaction, each as [`JobStore::enqueue_job`] would,
    /// with each one's outcome. A busy node commits submissions in groups this way
    /// instead of paying a commit (and, on SQLite, a wait for the write lock) per job.
    async fn enqueue_jobs(
        &self,
        jobs: &[(NewJob, String)],
    ) -> Result<Vec<Result<Enqueued, StoreError>>, StoreError>;
    async fn job_by_id(&self, id: JobId) -> Result<Option<Job>, StoreError>;
    /// A project's jobs, newest first, older than `before` if given.
    async fn list_jobs(
        &self,
        project: ProjectId,
        filter: &JobFilter,
        before: Option<JobId>,
        limit: u32,
    ) -> Result<Vec<Job>, StoreError>;
    /// Takes up to `limit` runnable jobs (queued or failed, `run_at` passed; highest
    /// priority, then longest waiting, first) and starts an attempt of each under a new
    /// lease until `now + lease`. Concurrent claims never take the same job.
    async fn claim_jobs(
        &self,
        limit: u32,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<Vec<Claimed>, StoreError>;
    /// Extends the lease to `now + lease`, recording `progress` if given. `None` if the
    /// lease is lost. The returned job says whether a cancel was requested.
    async fn renew_lease(
        &self,
        id: JobId,
        token: LeaseToken,
        progress: Option<&Value>,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<Option<Job>, StoreError>;
    /// Ends the attempt; `None` if the lease is lost (nothing is written).
    async fn finish_job(
        &self,
        id: JobId,
        token: LeaseToken,
        finish: Finish,
        now: DateTime<Utc>,
    ) -> Result<Option<Job>, StoreError> {
        Ok(self
            .finish_jobs(vec![(id, token, finish)], now)
            .await?
            .pop()
            .flatten())
    }
    /// Ends several attempts in one transaction, each as [`JobStore::finish_job`] would.
    async fn finish_jobs(
        &self,
        attempts: Vec<(JobId, LeaseToken, Finish)>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Option<Job>>, StoreError>;
    /// Takes back running jobs whose lease ran out before `now`: cancelled if a cancel
    /// was requested, queued again if attempts are left, `dead` if not. Each gets an
    /// error-history entry. Returns the jobs it changed.
    async fn reap_expired_leases(&self, now: DateTime<Utc>) -> Result<Vec<Job>, StoreError>;
    /// Cancels a job: a queued or failed one at once; a running one is marked
    /// `cancel_requested` for its worker to stop. A finished job is returned unchanged.
    /// `None` if there is no such job.
    async fn cancel_job(&self, id: JobId, now: DateTime<Utc>) -> Result<Option<Job>, StoreError>;
    /// Queues a dead job again with a fresh set of attempts (its error history kept).
    /// `Conflict("jobs.state")` if it is not dead; `None` if there is no such job.
    async fn retry_job(&self, id: JobId, now: DateTime<Utc>) -> Result<Option<Job>, StoreError>;
    /// Deletes jobs that finished before `before`, with their artifacts; returns how many.
    async fn prune_jobs(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;
    async fn queue_stats(&self, now: DateTime<Utc>) -> Result<QueueStats, StoreError>;
    async fn job_artifact(&self, id: JobId, name: &str) -> Result<Option<Artifact>, StoreError>;
    /// The names of a job's artifacts, in name order.
    async fn job_artifact_names(&self, id: JobId) -> Result<Vec<String>, StoreError>;
}
