//! Background jobs as the queue keeps them: their life-cycle states, the record of one
//! job, the lease a worker holds while running it, and the retry backoff rule.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::{FieldError, JobId, ProjectId, UserId};

/// Where a job is in its life.
///
/// `queued → running → succeeded | failed | dead | cancelled`; a `failed` job waits for
/// its retry at `run_at` and is then claimed like a queued one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Running,
    Succeeded,
    /// An attempt hit an infrastructure fault; the job runs again at `run_at`.
    Failed,
    Cancelled,
    /// Every attempt failed; only an explicit retry brings it back.
    Dead,
}

impl JobState {
    pub const ALL: [JobState; 6] = [
        JobState::Queued,
        JobState::Running,
        JobState::Succeeded,
        JobState::Failed,
        JobState::Cancelled,
        JobState::Dead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
            JobState::Dead => "dead",
        }
    }

    /// Reads a state written by [`JobState::as_str`].
    pub fn parse(raw: &str, field: &'static str) -> Result<Self, FieldError> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or_else(|| {
                FieldError::new(
                    field,
                    "must be queued, running, succeeded, failed, cancelled or dead",
                )
            })
    }

    /// Whether the job is over: nothing will change it again unless someone retries it.
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            JobState::Succeeded | JobState::Cancelled | JobState::Dead
        )
    }
}

/// A job kind's name: 1 to 64 of `a-z`, `0-9` and `_`, starting with a letter. Which
/// kinds exist is the jobs crate's business; this only keeps names sane.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobKind(String);

impl JobKind {
    pub fn parse(raw: &str, field: &'static str) -> Result<Self, FieldError> {
        let valid = (1..=64).contains(&raw.len())
            && raw.starts_with(|c: char| c.is_ascii_lowercase())
            && raw
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(FieldError::new(
                field,
                "must be 1 to 64 of a-z, 0-9 and _, starting with a letter",
            ))
        }
    }

    /// Rebuilds a kind read from storage, where it was validated on the way in.
    pub fn from_storage(kind: String) -> Self {
        Self(kind)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One failed attempt, kept in the job's error history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobError {
    pub attempt: u32,
    pub at: DateTime<Utc>,
    pub message: String,
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Job {
    pub id: JobId,
    pub project_id: ProjectId,
    /// Who submitted it; `None` once that account is deleted.
    pub created_by: Option<UserId>,
    pub kind: JobKind,
    pub payload: Value,
    pub state: JobState,
    /// Higher runs first.
    pub priority: i32,
    /// Not claimed before this time.
    pub run_at: DateTime<Utc>,
    /// Attempts started so far (the running one included).
    pub attempt: u32,
    pub max_attempts: u32,
    pub idempotency_key: Option<String>,
    /// What the running attempt last reported.
    pub progress: Option<Value>,
    pub result: Option<Value>,
    pub errors: Vec<JobError>,
    /// A cancel arrived while the job ran; the worker stops it.
    pub cancel_requested: bool,
    /// When the running attempt's lease ends unless renewed.
    pub lease_expires_at: Option<DateTime<Utc>>,
    pub heartbeat_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// When the latest attempt started.
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

/// A job as its events show it: everything but the payload, which may be large and
/// never changes (clients that need it read the job).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobStatus {
    pub id: JobId,
    pub project_id: ProjectId,
    pub created_by: Option<UserId>,
    pub kind: JobKind,
    pub state: JobState,
    pub priority: i32,
    pub run_at: DateTime<Utc>,
    pub attempt: u32,
    pub max_attempts: u32,
    pub progress: Option<Value>,
    pub result: Option<Value>,
    pub errors: Vec<JobError>,
    pub cancel_requested: bool,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

impl From<&Job> for JobStatus {
    fn from(job: &Job) -> Self {
        Self {
            id: job.id,
            project_id: job.project_id,
            created_by: job.created_by,
            kind: job.kind.clone(),
            state: job.state,
            priority: job.priority,
            run_at: job.run_at,
            attempt: job.attempt,
            max_attempts: job.max_attempts,
            progress: job.progress.clone(),
            result: job.result.clone(),
            errors: job.errors.clone(),
            cancel_requested: job.cancel_requested,
            created_at: job.created_at,
            started_at: job.started_at,
            finished_at: job.finished_at,
            updated_at: job.updated_at,
        }
    }
}

/// A job to enqueue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    pub id: JobId,
    pub project_id: ProjectId,
    pub created_by: UserId,
    pub kind: JobKind,
    pub payload: Value,
    pub priority: i32,
    pub run_at: DateTime<Utc>,
    pub max_attempts: u32,
    pub idempotency_key: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// The right to run one attempt of a job: every write the attempt makes names its token,
/// and a claim of a later attempt issues a new one, so a worker that lost its lease can
/// never overwrite what a newer attempt wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LeaseToken(pub Uuid);

/// How long to wait before attempt `attempt + 1` after attempt `attempt` failed: "full
/// jitter", a uniform draw from `0..min(cap, base · 2^attempt)`. `unit` is that draw's
/// fraction in `[0, 1)`, so the rule itself stays pure and testable.
pub fn backoff(attempt: u32, base: Duration, cap: Duration, unit: f64) -> Duration {
    let ceiling = base
        .checked_mul(2u32.saturating_pow(attempt.min(31)))
        .unwrap_or(cap)
        .min(cap);
    ceiling.mul_f64(unit.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_exponentially_up_to_the_cap() {
        let base = Duration::from_secs(1);
        let cap = Duration::from_secs(60);
        let ceiling = |attempt| backoff(attempt, base, cap, 1.0);
        assert_eq!(ceiling(0), Duration::from_secs(1));
        assert_eq!(ceiling(1), Duration::from_secs(2));
        assert_eq!(ceiling(5), Duration::from_secs(32));
        assert_eq!(ceiling(6), cap);
        assert_eq!(ceiling(u32::MAX), cap);
    }

    #[test]
    fn backoff_is_a_uniform_draw_below_the_ceiling() {
        let d = backoff(3, Duration::from_secs(1), Duration::from_secs(60), 0.5);
        assert_eq!(d, Duration::from_secs(4));
        assert_eq!(
            backoff(3, Duration::from_secs(1), Duration::from_secs(60), 0.0),
            Duration::ZERO
        );
    }

    #[test]
    fn states_read_back_what_they_write() {
        for state in JobState::ALL {
            assert_eq!(JobState::parse(state.as_str(), "state").unwrap(), state);
        }
        assert!(JobState::parse("done", "state").is_err());
    }

    #[test]
    fn kind_names_are_kept_sane() {
        assert!(JobKind::parse("code_execution", "kind").is_ok());
        for bad in ["", "Code", "1abc", "a-b", &"a".repeat(65)] {
            assert!(JobKind::parse(bad, "kind").is_err(), "{bad}");
        }
    }
}
