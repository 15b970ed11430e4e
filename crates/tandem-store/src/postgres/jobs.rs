//! The job queue in PostgreSQL. Claims take runnable rows with `FOR UPDATE SKIP LOCKED`,
//! so concurrent workers on any number of nodes split the queue without waiting on each
//! other; each claimed row gets its own random lease token. Writes that make work
//! runnable (enqueue, retry, release, the reaper) `NOTIFY` [`WAKE_CHANNEL`] in their
//! transaction, and a cancel of a running job `NOTIFY`s [`CANCEL_CHANNEL`] with its id,
//! so listeners hear of them the moment they commit.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgConnection;
use sqlx::types::Json;
use tandem_domain::{
    Job, JobError, JobId, JobKind, JobState, LeaseToken, NewJob, ProjectId, UserId,
};
use uuid::Uuid;

use super::job_writes::{enqueue, finish_one};
use super::{PgStore, micros};
use crate::StoreError;
use crate::jobs::{Artifact, Claimed, Enqueued, Finish, JobFilter, JobStore, QueueStats};

/// The channel notified when jobs become runnable.
pub const WAKE_CHANNEL: &str = "tandem_jobs";
/// The channel notified, with the job id, when a running job is asked to stop.
pub const CANCEL_CHANNEL: &str = "tandem_job_cancel";

/// The message the reaper leaves in a job's error history.
const LEASE_EXPIRED: &str = "the lease expired: the worker stopped renewing it";

/// A `jobs` row.
#[derive(sqlx::FromRow)]
pub(super) struct JobRow {
    id: Uuid,
    project_id: Uuid,
    created_by: Option<Uuid>,
    kind: String,
    payload: Json<Value>,
    state: String,
    priority: i32,
    run_at: DateTime<Utc>,
    attempt: i32,
    max_attempts: i32,
    lease_token: Option<Uuid>,
    lease_expires_at: Option<DateTime<Utc>>,
    heartbeat_at: Option<DateTime<Utc>>,
    idempotency_key: Option<String>,
    pub(super) request_digest: Option<String>,
    progress: Option<Json<Value>>,
    result: Option<Json<Value>>,
    errors: Json<Vec<JobError>>,
    cancel_requested: bool,
    created_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
}

fn count(value: i32) -> u32 {
    u32::try_from(value).unwrap_or_default()
}

impl JobRow {
    pub(super) fn into_job(self) -> Result<Job, sqlx::Error> {
        Ok(Job {
            id: JobId(self.id),
            project_id: ProjectId(self.project_id),
            created_by: self.created_by.map(UserId),
            kind: JobKind::from_storage(self.kind),
            payload: self.payload.0,
            state: JobState::parse(&self.state, "state").map_err(|e| {
                sqlx::Error::ColumnDecode {
                    index: "jobs.state".into(),
                    source: Box::new(e),
                }
            })?,
            priority: self.priority,
            run_at: self.run_at,
            attempt: count(self.attempt),
            max_attempts: count(self.max_attempts),
            idempotency_key: self.idempotency_key,
            progress: self.progress.map(|p| p.0),
            result: self.result.map(|r| r.0),
            errors: self.errors.0,
            cancel_requested: self.cancel_requested,
            lease_expires_at: self.lease_expires_at,
            heartbeat_at: self.heartbeat_at,
            created_at: self.created_at,
            started_at: self.started_at,
            finished_at: self.finished_at,
            updated_at: self.updated_at,
        })
    }
}

fn jobs(rows: Vec<JobRow>) -> Result<Vec<Job>, StoreError> {
    Ok(rows
        .into_iter()
        .map(JobRow::into_job)
        .collect::<Result<_, _>>()?)
}

fn until(now: DateTime<Utc>, lease: Duration) -> DateTime<Utc> {
    micros(now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX))
}

#[async_trait]
impl JobStore for PgStore {
    async fn enqueue_jobs(
        &self,
        jobs: &[(NewJob, String)],
    ) -> Result<Vec<Result<Enqueued, StoreError>>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut outcomes = Vec::with_capacity(jobs.len());
        for (job, digest) in jobs {
            outcomes.push(enqueue(&mut tx, job, digest).await?);
        }
        if outcomes
            .iter()
            .any(|o| matches!(o, Ok(Enqueued::Created(_))))
        {
            notify(&mut tx, WAKE_CHANNEL, "").await?;
        }
        tx.commit().await?;
        Ok(outcomes)
    }

    async fn job_by_id(&self, id: JobId) -> Result<Option<Job>, StoreError> {
        let row: Option<JobRow> = sqlx::query_as("SELECT * FROM jobs WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(JobRow::into_job).transpose()?)
    }

    async fn list_jobs(
        &self,
        project: ProjectId,
        filter: &JobFilter,
        before: Option<JobId>,
        limit: u32,
    ) -> Result<Vec<Job>, StoreError> {
        let rows: Vec<JobRow> = sqlx::query_as(
            "SELECT * FROM jobs WHERE project_id = $1 \
             AND ($2::text IS NULL OR state = $2) AND ($3::text IS NULL OR kind = $3) \
             AND ($4::uuid IS NULL OR created_by = $4) AND ($5::uuid IS NULL OR id < $5) \
             ORDER BY id DESC LIMIT $6",
        )
        .bind(project.0)
        .bind(filter.state.map(JobState::as_str))
        .bind(filter.kind.as_ref().map(JobKind::as_str))
        .bind(filter.created_by.map(|u| u.0))
        .bind(before.map(|b| b.0))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        jobs(rows)
    }

    async fn claim_jobs(
        &self,
        limit: u32,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<Vec<Claimed>, StoreError> {
        let rows: Vec<JobRow> = sqlx::query_as(
            "WITH picked AS (SELECT id FROM jobs WHERE state IN ('queued', 'failed') \
                 AND run_at <= $2 ORDER BY priority DESC, run_at, id LIMIT $3 \
                 FOR UPDATE SKIP LOCKED) \
             UPDATE jobs SET state = 'running', attempt = jobs.attempt + 1, \
                 lease_token = gen_random_uuid(), lease_expires_at = $1, heartbeat_at = $2, \
                 started_at = $2, updated_at = $2, progress = NULL \
             FROM picked WHERE jobs.id = picked.id RETURNING jobs.*",
        )
        .bind(until(now, lease))
        .bind(micros(now))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let mut claimed = Vec::with_capacity(rows.len());
        for row in rows {
            let token = row.lease_token.map(LeaseToken).ok_or_else(|| {
                StoreError::Other(sqlx::Error::ColumnDecode {
                    index: "jobs.lease_token".into(),
                    source: "a claimed job has no lease token".into(),
                })
            })?;
            claimed.push(Claimed {
                job: row.into_job()?,
                token,
            });
        }
        claimed.sort_by(|a, b| {
            b.job
                .priority
                .cmp(&a.job.priority)
                .then(a.job.run_at.cmp(&b.job.run_at))
                .then(a.job.id.cmp(&b.job.id))
        });
        Ok(claimed)
    }

    async fn renew_lease(
        &self,
        id: JobId,
        token: LeaseToken,
        progress: Option<&Value>,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<Option<Job>, StoreError> {
        let row: Option<JobRow> = sqlx::query_as(
            "UPDATE jobs SET lease_expires_at = $1, heartbeat_at = $2, updated_at = $2, \
             progress = COALESCE($3, progress) \
             WHERE id = $4 AND state = 'running' AND lease_token = $5 RETURNING *",
        )
        .bind(until(now, lease))
        .bind(micros(now))
        .bind(progress.map(Json))
        .bind(id.0)
        .bind(token.0)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(JobRow::into_job).transpose()?)
    }

    async fn finish_jobs(
        &self,
        attempts: Vec<(JobId, LeaseToken, Finish)>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Option<Job>>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut rows = Vec::with_capacity(attempts.len());
        for (id, token, finish) in attempts {
            rows.push(finish_one(&mut tx, id, token, finish, now).await?);
        }
        tx.commit().await?;
        rows.into_iter()
            .map(|row| {
                row.map(JobRow::into_job)
                    .transpose()
                    .map_err(StoreError::from)
            })
            .collect()
    }

    async fn reap_expired_leases(&self, now: DateTime<Utc>) -> Result<Vec<Job>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let rows: Vec<JobRow> = sqlx::query_as(
            "UPDATE jobs SET \
             state = CASE WHEN cancel_requested THEN 'cancelled' \
                 WHEN attempt < max_attempts THEN 'queued' ELSE 'dead' END, \
             finished_at = CASE WHEN cancel_requested OR attempt >= max_attempts \
                 THEN $1 ELSE NULL END, \
             errors = errors || jsonb_build_array(jsonb_build_object( \
                 'attempt', attempt, 'at', $1, 'message', $2::text)), \
             run_at = $1, updated_at = $1, lease_token = NULL, lease_expires_at = NULL \
             WHERE state = 'running' AND lease_expires_at < $1 RETURNING *",
        )
        .bind(micros(now))
        .bind(LEASE_EXPIRED)
        .fetch_all(&mut *tx)
        .await?;
        if rows.iter().any(|row| row.state == "queued") {
            notify(&mut tx, WAKE_CHANNEL, "").await?;
        }
        tx.commit().await?;
        jobs(rows)
    }

    async fn cancel_job(&self, id: JobId, now: DateTime<Utc>) -> Result<Option<Job>, StoreError> {
        let mut tx = self.pool.begin().await?;
        // Every SET expression sees the row as it was, so the CASEs agree on its state.
        let row: Option<JobRow> = sqlx::query_as(
            "UPDATE jobs SET \
             state = CASE WHEN state IN ('queued', 'failed') THEN 'cancelled' ELSE state END, \
             finished_at = CASE WHEN state IN ('queued', 'failed') THEN $1 ELSE finished_at END, \
             cancel_requested = cancel_requested OR state = 'running', \
             updated_at = CASE WHEN state IN ('queued', 'failed', 'running') \
                 THEN $1 ELSE updated_at END \
             WHERE id = $2 RETURNING *",
        )
        .bind(micros(now))
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await?;
        if row.as_ref().is_some_and(|row| row.state == "running") {
            notify(&mut tx, CANCEL_CHANNEL, &id.0.to_string()).await?;
        }
        tx.commit().await?;
        Ok(row.map(JobRow::into_job).transpose()?)
    }

    async fn retry_job(&self, id: JobId, now: DateTime<Utc>) -> Result<Option<Job>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let row: Option<JobRow> = sqlx::query_as(
            "UPDATE jobs SET state = 'queued', attempt = 0, run_at = $1, finished_at = NULL, \
             result = NULL, progress = NULL, cancel_requested = FALSE, updated_at = $1 \
             WHERE id = $2 AND state = 'dead' RETURNING *",
        )
        .bind(micros(now))
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await?;
        if row.is_none() {
            let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM jobs WHERE id = $1")
                .bind(id.0)
                .fetch_optional(&mut *tx)
                .await?;
            return match exists {
                Some(_) => Err(StoreError::Conflict("jobs.state")),
                None => Ok(None),
            };
        }
        notify(&mut tx, WAKE_CHANNEL, "").await?;
        tx.commit().await?;
        Ok(row.map(JobRow::into_job).transpose()?)
    }

    async fn prune_jobs(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(sqlx::query(
            "DELETE FROM jobs WHERE state IN ('succeeded', 'cancelled', 'dead') \
             AND finished_at < $1",
        )
        .bind(micros(before))
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    async fn queue_stats(&self, now: DateTime<Utc>) -> Result<QueueStats, StoreError> {
        let now = micros(now);
        let counts: Vec<(String, i64)> =
            sqlx::query_as("SELECT state, COUNT(*) FROM jobs GROUP BY state")
                .fetch_all(&self.pool)
                .await?;
        let oldest: Option<DateTime<Utc>> = sqlx::query_scalar(
            "SELECT MIN(run_at) FROM jobs WHERE state IN ('queued', 'failed') AND run_at <= $1",
        )
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        let expired: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM jobs WHERE state = 'running' AND lease_expires_at < $1",
        )
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        let by_state = JobState::ALL
            .into_iter()
            .map(|state| {
                let n = counts
                    .iter()
                    .find(|(s, _)| s == state.as_str())
                    .map_or(0, |(_, n)| u64::try_from(*n).unwrap_or_default());
                (state, n)
            })
            .collect();
        Ok(QueueStats {
            by_state,
            oldest_runnable: oldest,
            expired_leases: u64::try_from(expired).unwrap_or_default(),
        })
    }

    async fn job_artifact(&self, id: JobId, name: &str) -> Result<Option<Artifact>, StoreError> {
        let row: Option<(String, String, Vec<u8>)> = sqlx::query_as(
            "SELECT name, content_type, data FROM job_artifacts WHERE job_id = $1 AND name = $2",
        )
        .bind(id.0)
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(name, content_type, data)| Artifact {
            name,
            content_type,
            data,
        }))
    }

    async fn job_artifact_names(&self, id: JobId) -> Result<Vec<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT name FROM job_artifacts WHERE job_id = $1 ORDER BY name")
                .bind(id.0)
                .fetch_all(&self.pool)
                .await?,
        )
    }
}

pub(super) async fn notify(
    tx: &mut PgConnection,
    channel: &str,
    payload: &str,
) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(channel)
        .bind(payload)
        .execute(tx)
        .await?;
    Ok(())
}
