//! The job queue in SQLite. Every write takes the write lock up front (`BEGIN
//! IMMEDIATE`), so a claim is one short transaction that no other claim can interleave
//! with, and lease tokens are random per job.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use tandem_domain::{
    Job, JobError, JobId, JobKind, JobState, LeaseToken, NewJob, ProjectId, UserId,
};

use super::job_writes::{enqueue, finish_one};
use super::{
    BEGIN_WRITE, SqliteStore, decode_error, decode_id, decode_opt_time, decode_time, encode_id,
    encode_time,
};
use crate::StoreError;
use crate::jobs::{Artifact, Claimed, Enqueued, Finish, JobFilter, JobStore, QueueStats};

/// The message the reaper leaves in a job's error history.
const LEASE_EXPIRED: &str = "the lease expired: the worker stopped renewing it";

/// How many finished jobs one pruning transaction deletes, so the write lock is never
/// held for long.
const PRUNE_BATCH: i64 = 1_000;

/// A `jobs` row.
#[derive(sqlx::FromRow)]
pub(super) struct JobRow {
    id: String,
    project_id: String,
    created_by: Option<String>,
    kind: String,
    payload: String,
    state: String,
    priority: i64,
    run_at: String,
    attempt: i64,
    max_attempts: i64,
    lease_token: Option<String>,
    lease_expires_at: Option<String>,
    heartbeat_at: Option<String>,
    idempotency_key: Option<String>,
    pub(super) request_digest: Option<String>,
    progress: Option<String>,
    result: Option<String>,
    errors: String,
    cancel_requested: bool,
    created_at: String,
    started_at: Option<String>,
    finished_at: Option<String>,
    updated_at: String,
}

fn json(column: &str, text: &str) -> Result<Value, sqlx::Error> {
    serde_json::from_str(text).map_err(|e| decode_error(column, e))
}

fn count(value: i64) -> u32 {
    u32::try_from(value).unwrap_or_default()
}

impl JobRow {
    fn token(&self) -> Result<Option<LeaseToken>, sqlx::Error> {
        self.lease_token
            .as_deref()
            .map(|t| decode_id("jobs.lease_token", t).map(LeaseToken))
            .transpose()
    }

    pub(super) fn into_job(self) -> Result<Job, sqlx::Error> {
        Ok(Job {
            id: JobId(decode_id("jobs.id", &self.id)?),
            project_id: ProjectId(decode_id("jobs.project_id", &self.project_id)?),
            created_by: self
                .created_by
                .map(|id| decode_id("jobs.created_by", &id).map(UserId))
                .transpose()?,
            kind: JobKind::from_storage(self.kind),
            payload: json("jobs.payload", &self.payload)?,
            state: JobState::parse(&self.state, "state")
                .map_err(|e| decode_error("jobs.state", e))?,
            priority: i32::try_from(self.priority).unwrap_or_default(),
            run_at: decode_time("jobs.run_at", &self.run_at)?,
            attempt: count(self.attempt),
            max_attempts: count(self.max_attempts),
            idempotency_key: self.idempotency_key,
            progress: self
                .progress
                .as_deref()
                .map(|p| json("jobs.progress", p))
                .transpose()?,
            result: self
                .result
                .as_deref()
                .map(|r| json("jobs.result", r))
                .transpose()?,
            errors: serde_json::from_str::<Vec<JobError>>(&self.errors)
                .map_err(|e| decode_error("jobs.errors", e))?,
            cancel_requested: self.cancel_requested,
            lease_expires_at: decode_opt_time(
                "jobs.lease_expires_at",
                self.lease_expires_at.as_deref(),
            )?,
            heartbeat_at: decode_opt_time("jobs.heartbeat_at", self.heartbeat_at.as_deref())?,
            created_at: decode_time("jobs.created_at", &self.created_at)?,
            started_at: decode_opt_time("jobs.started_at", self.started_at.as_deref())?,
            finished_at: decode_opt_time("jobs.finished_at", self.finished_at.as_deref())?,
            updated_at: decode_time("jobs.updated_at", &self.updated_at)?,
        })
    }
}

fn jobs(rows: Vec<JobRow>) -> Result<Vec<Job>, StoreError> {
    Ok(rows
        .into_iter()
        .map(JobRow::into_job)
        .collect::<Result<_, _>>()?)
}

pub(super) fn encode_token(token: LeaseToken) -> String {
    token.0.simple().to_string()
}

fn until(now: DateTime<Utc>, lease: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX)
}

#[async_trait]
impl JobStore for SqliteStore {
    async fn enqueue_jobs(
        &self,
        jobs: &[(NewJob, String)],
    ) -> Result<Vec<Result<Enqueued, StoreError>>, StoreError> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        let mut outcomes = Vec::with_capacity(jobs.len());
        for (job, digest) in jobs {
            outcomes.push(enqueue(&mut tx, job, digest).await?);
        }
        tx.commit().await?;
        Ok(outcomes)
    }

    async fn job_by_id(&self, id: JobId) -> Result<Option<Job>, StoreError> {
        let row: Option<JobRow> = sqlx::query_as("SELECT * FROM jobs WHERE id = ?")
            .bind(encode_id(id.0))
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
        let state = filter.state.map(JobState::as_str);
        let kind = filter.kind.as_ref().map(JobKind::as_str);
        let created_by = filter.created_by.map(|u| encode_id(u.0));
        let before = before.map(|b| encode_id(b.0));
        let rows: Vec<JobRow> = sqlx::query_as(
            "SELECT * FROM jobs WHERE project_id = ? \
             AND (? IS NULL OR state = ?) AND (? IS NULL OR kind = ?) \
             AND (? IS NULL OR created_by = ?) AND (? IS NULL OR id < ?) \
             ORDER BY id DESC LIMIT ?",
        )
        .bind(encode_id(project.0))
        .bind(state)
        .bind(state)
        .bind(kind)
        .bind(kind)
        .bind(created_by.as_deref())
        .bind(created_by.as_deref())
        .bind(before.as_deref())
        .bind(before.as_deref())
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
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        let now_text = encode_time(now);
        let rows: Vec<JobRow> = sqlx::query_as(
            "UPDATE jobs SET state = 'running', attempt = attempt + 1, \
             lease_token = lower(hex(randomblob(16))), lease_expires_at = ?, \
             heartbeat_at = ?, started_at = ?, updated_at = ?, progress = NULL \
             WHERE id IN (SELECT id FROM jobs WHERE state IN ('queued', 'failed') \
             AND run_at <= ? ORDER BY priority DESC, run_at, id LIMIT ?) RETURNING *",
        )
        .bind(encode_time(until(now, lease)))
        .bind(&now_text)
        .bind(&now_text)
        .bind(&now_text)
        .bind(&now_text)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let mut claimed = Vec::with_capacity(rows.len());
        for row in rows {
            let token = row
                .token()?
                .ok_or_else(|| StoreError::Other(decode_error("jobs.lease_token", MissingToken)))?;
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
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        let row: Option<JobRow> = sqlx::query_as(
            "UPDATE jobs SET lease_expires_at = ?, heartbeat_at = ?, updated_at = ?, \
             progress = COALESCE(?, progress) \
             WHERE id = ? AND state = 'running' AND lease_token = ? RETURNING *",
        )
        .bind(encode_time(until(now, lease)))
        .bind(encode_time(now))
        .bind(encode_time(now))
        .bind(progress.map(Value::to_string))
        .bind(encode_id(id.0))
        .bind(encode_token(token))
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row.map(JobRow::into_job).transpose()?)
    }

    async fn finish_jobs(
        &self,
        attempts: Vec<(JobId, LeaseToken, Finish)>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Option<Job>>, StoreError> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
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
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        let now_text = encode_time(now);
        let rows: Vec<JobRow> = sqlx::query_as(
            "UPDATE jobs SET \
             state = CASE WHEN cancel_requested THEN 'cancelled' \
                 WHEN attempt < max_attempts THEN 'queued' ELSE 'dead' END, \
             finished_at = CASE WHEN cancel_requested OR attempt >= max_attempts \
                 THEN ? ELSE NULL END, \
             errors = json_insert(errors, '$[#]', \
                 json_object('attempt', attempt, 'at', ?, 'message', ?)), \
             run_at = ?, updated_at = ?, lease_token = NULL, lease_expires_at = NULL \
             WHERE state = 'running' AND lease_expires_at < ? RETURNING *",
        )
        .bind(&now_text)
        .bind(&now_text)
        .bind(LEASE_EXPIRED)
        .bind(&now_text)
        .bind(&now_text)
        .bind(&now_text)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        jobs(rows)
    }

    async fn cancel_job(&self, id: JobId, now: DateTime<Utc>) -> Result<Option<Job>, StoreError> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        let now_text = encode_time(now);
        // Every SET expression sees the row as it was, so the CASEs agree on its state.
        let row: Option<JobRow> = sqlx::query_as(
            "UPDATE jobs SET \
             state = CASE WHEN state IN ('queued', 'failed') THEN 'cancelled' ELSE state END, \
             finished_at = CASE WHEN state IN ('queued', 'failed') THEN ? ELSE finished_at END, \
             cancel_requested = CASE WHEN state = 'running' THEN 1 ELSE cancel_requested END, \
             updated_at = CASE WHEN state IN ('queued', 'failed', 'running') \
                 THEN ? ELSE updated_at END \
             WHERE id = ? RETURNING *",
        )
        .bind(&now_text)
        .bind(&now_text)
        .bind(encode_id(id.0))
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row.map(JobRow::into_job).transpose()?)
    }

    async fn retry_job(&self, id: JobId, now: DateTime<Utc>) -> Result<Option<Job>, StoreError> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        let now_text = encode_time(now);
        let row: Option<JobRow> = sqlx::query_as(
            "UPDATE jobs SET state = 'queued', attempt = 0, run_at = ?, finished_at = NULL, \
             result = NULL, progress = NULL, cancel_requested = 0, updated_at = ? \
             WHERE id = ? AND state = 'dead' RETURNING *",
        )
        .bind(&now_text)
        .bind(&now_text)
        .bind(encode_id(id.0))
        .fetch_optional(&mut *tx)
        .await?;
        if row.is_none() {
            let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM jobs WHERE id = ?")
                .bind(encode_id(id.0))
                .fetch_optional(&mut *tx)
                .await?;
            return match exists {
                Some(_) => Err(StoreError::Conflict("jobs.state")),
                None => Ok(None),
            };
        }
        tx.commit().await?;
        Ok(row.map(JobRow::into_job).transpose()?)
    }

    async fn prune_jobs(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let before = encode_time(before);
        let mut total = 0;
        loop {
            let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
            let deleted = sqlx::query(
                "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs \
                 WHERE state IN ('succeeded', 'cancelled', 'dead') AND finished_at < ? \
                 LIMIT ?)",
            )
            .bind(&before)
            .bind(PRUNE_BATCH)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            tx.commit().await?;
            total += deleted;
            if deleted < u64::try_from(PRUNE_BATCH).unwrap_or(u64::MAX) {
                return Ok(total);
            }
        }
    }

    async fn queue_stats(&self, now: DateTime<Utc>) -> Result<QueueStats, StoreError> {
        let now_text = encode_time(now);
        let counts: Vec<(String, i64)> =
            sqlx::query_as("SELECT state, COUNT(*) FROM jobs GROUP BY state")
                .fetch_all(&self.pool)
                .await?;
        let oldest: Option<String> = sqlx::query_scalar(
            "SELECT MIN(run_at) FROM jobs WHERE state IN ('queued', 'failed') AND run_at <= ?",
        )
        .bind(&now_text)
        .fetch_one(&self.pool)
        .await?;
        let expired: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM jobs WHERE state = 'running' AND lease_expires_at < ?",
        )
        .bind(&now_text)
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
            oldest_runnable: decode_opt_time("jobs.run_at", oldest.as_deref())?,
            expired_leases: u64::try_from(expired).unwrap_or_default(),
        })
    }

    async fn job_artifact(&self, id: JobId, name: &str) -> Result<Option<Artifact>, StoreError> {
        let row: Option<(String, String, Vec<u8>)> = sqlx::query_as(
            "SELECT name, content_type, data FROM job_artifacts WHERE job_id = ? AND name = ?",
        )
        .bind(encode_id(id.0))
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
            sqlx::query_scalar("SELECT name FROM job_artifacts WHERE job_id = ? ORDER BY name")
                .bind(encode_id(id.0))
                .fetch_all(&self.pool)
                .await?,
        )
    }
}

/// A claimed row came back without the lease token the claim just wrote.
#[derive(Debug, thiserror::Error)]
#[error("a claimed job has no lease token")]
struct MissingToken;
