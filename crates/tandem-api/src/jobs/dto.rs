//! The JSON shapes of jobs.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tandem_domain::{Job, JobError};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// A job to run.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitJobRequest {
    /// `code_execution`, `data_processing`, `report` or `noop`.
    pub kind: String,
    /// The kind's input (see docs/JOBS.md).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub payload: Value,
    /// -100 to 100; higher runs first (default 0).
    pub priority: Option<i32>,
    /// Not before this time (RFC 3339, at most 30 days ahead).
    pub run_at: Option<DateTime<Utc>>,
    /// 1 to 20 (default: the kind's).
    pub max_attempts: Option<u32>,
}

/// One failed attempt.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobErrorView {
    pub attempt: u32,
    pub at: DateTime<Utc>,
    pub message: String,
}

impl From<JobError> for JobErrorView {
    fn from(e: JobError) -> Self {
        Self {
            attempt: e.attempt,
            at: e.at,
            message: e.message,
        }
    }
}

/// A job.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobView {
    pub id: Uuid,
    pub project_id: Uuid,
    /// Null once the submitter's account is deleted.
    pub created_by: Option<Uuid>,
    pub kind: String,
    #[schema(value_type = Object)]
    pub payload: Value,
    /// `queued`, `running`, `succeeded`, `failed` (waiting to retry), `cancelled`, `dead`.
    pub state: String,
    pub priority: i32,
    pub run_at: DateTime<Utc>,
    /// Attempts started so far.
    pub attempt: u32,
    pub max_attempts: u32,
    pub idempotency_key: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub progress: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub result: Option<Value>,
    pub errors: Vec<JobErrorView>,
    pub cancel_requested: bool,
    pub lease_expires_at: Option<DateTime<Utc>>,
    pub heartbeat_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    /// Files the job produced, downloadable at `/api/v1/jobs/{id}/artifacts/{name}`
    /// (listed when one job is read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifacts: Option<Vec<String>>,
}

impl From<Job> for JobView {
    fn from(job: Job) -> Self {
        Self {
            id: job.id.0,
            project_id: job.project_id.0,
            created_by: job.created_by.map(|u| u.0),
            kind: job.kind.as_str().to_owned(),
            payload: job.payload,
            state: job.state.as_str().to_owned(),
            priority: job.priority,
            run_at: job.run_at,
            attempt: job.attempt,
            max_attempts: job.max_attempts,
            idempotency_key: job.idempotency_key,
            progress: job.progress,
            result: job.result,
            errors: job.errors.into_iter().map(JobErrorView::from).collect(),
            cancel_requested: job.cancel_requested,
            lease_expires_at: job.lease_expires_at,
            heartbeat_at: job.heartbeat_at,
            created_at: job.created_at,
            started_at: job.started_at,
            finished_at: job.finished_at,
            updated_at: job.updated_at,
            artifacts: None,
        }
    }
}

/// Filters of a project's jobs.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobQuery {
    /// Only jobs in this state.
    pub state: Option<String>,
    /// Only jobs of this kind.
    pub kind: Option<String>,
    /// Only jobs this user submitted.
    pub created_by: Option<Uuid>,
}
