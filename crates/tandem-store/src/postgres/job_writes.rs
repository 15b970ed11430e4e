//! The per-job writes of the PostgreSQL queue that batches repeat inside one
//! transaction: enqueueing one job (idempotent by key) and ending one attempt (fenced by
//! its lease token).

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use sqlx::types::Json;
use tandem_domain::{JobId, LeaseToken, NewJob};

use super::jobs::{JobRow, WAKE_CHANNEL, notify};
use super::micros;
use crate::StoreError;
use crate::jobs::{Enqueued, Finish};

/// Enqueues one job inside `tx`: `Created`, `Existing` for a repeat, or the item's error.
/// Nothing here fails the statement for one item's sake (a failed statement would abort
/// the whole transaction): a missing project is found by `WHERE EXISTS`, a repeated key by
/// `ON CONFLICT DO NOTHING`.
pub(super) async fn enqueue(
    tx: &mut PgConnection,
    job: &NewJob,
    digest: &str,
) -> Result<Result<Enqueued, StoreError>, StoreError> {
    let inserted: Option<JobRow> = sqlx::query_as(
        "INSERT INTO jobs (id, project_id, created_by, kind, payload, state, priority, \
         run_at, max_attempts, idempotency_key, request_digest, created_at, updated_at) \
         SELECT $1, $2, $3, $4, $5, 'queued', $6, $7, $8, $9, $10, $11, $11 \
         WHERE EXISTS (SELECT 1 FROM projects WHERE id = $2) \
         ON CONFLICT (created_by, idempotency_key) WHERE idempotency_key IS NOT NULL \
         DO NOTHING RETURNING *",
    )
    .bind(job.id.0)
    .bind(job.project_id.0)
    .bind(job.created_by.0)
    .bind(job.kind.as_str())
    .bind(Json(&job.payload))
    .bind(job.priority)
    .bind(micros(job.run_at))
    .bind(i32::try_from(job.max_attempts).unwrap_or(i32::MAX))
    .bind(job.idempotency_key.as_deref())
    .bind(digest)
    .bind(micros(job.created_at))
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(row) = inserted {
        return Ok(Ok(Enqueued::Created(row.into_job()?)));
    }
    let Some(key) = job.idempotency_key.as_deref() else {
        return Ok(Err(StoreError::NotFound));
    };
    let existing: Option<JobRow> =
        sqlx::query_as("SELECT * FROM jobs WHERE created_by = $1 AND idempotency_key = $2")
            .bind(job.created_by.0)
            .bind(key)
            .fetch_optional(&mut *tx)
            .await?;
    Ok(match existing {
        None => Err(StoreError::NotFound),
        Some(row) if row.request_digest.as_deref() != Some(digest) => {
            Err(StoreError::Conflict("jobs.idempotency_key"))
        }
        Some(row) => Ok(Enqueued::Existing(row.into_job()?)),
    })
}

/// Ends one attempt inside `tx`; the row if the lease was still the attempt's.
pub(super) async fn finish_one(
    tx: &mut PgConnection,
    id: JobId,
    token: LeaseToken,
    finish: Finish,
    now: DateTime<Utc>,
) -> Result<Option<JobRow>, StoreError> {
    let now = micros(now);
    let row: Option<JobRow> = match &finish {
        Finish::Succeeded { result, .. } => {
            sqlx::query_as(
                "UPDATE jobs SET state = 'succeeded', result = $1, finished_at = $2, \
                 updated_at = $2, lease_token = NULL, lease_expires_at = NULL \
                 WHERE id = $3 AND state = 'running' AND lease_token = $4 RETURNING *",
            )
            .bind(Json(result))
            .bind(now)
            .bind(id.0)
            .bind(token.0)
            .fetch_optional(&mut *tx)
            .await?
        }
        Finish::Failed { error, retry_at } => {
            sqlx::query_as(
                "UPDATE jobs SET \
                 state = CASE WHEN attempt < max_attempts THEN 'failed' ELSE 'dead' END, \
                 run_at = CASE WHEN attempt < max_attempts THEN $1 ELSE run_at END, \
                 finished_at = CASE WHEN attempt < max_attempts THEN NULL ELSE $2 END, \
                 errors = errors || jsonb_build_array(jsonb_build_object( \
                     'attempt', attempt, 'at', $2, 'message', $3::text)), \
                 updated_at = $2, lease_token = NULL, lease_expires_at = NULL \
                 WHERE id = $4 AND state = 'running' AND lease_token = $5 RETURNING *",
            )
            .bind(micros(*retry_at))
            .bind(now)
            .bind(error)
            .bind(id.0)
            .bind(token.0)
            .fetch_optional(&mut *tx)
            .await?
        }
        Finish::Cancelled => {
            sqlx::query_as(
                "UPDATE jobs SET state = 'cancelled', finished_at = $1, updated_at = $1, \
                 lease_token = NULL, lease_expires_at = NULL \
                 WHERE id = $2 AND state = 'running' AND lease_token = $3 RETURNING *",
            )
            .bind(now)
            .bind(id.0)
            .bind(token.0)
            .fetch_optional(&mut *tx)
            .await?
        }
        Finish::Released => {
            let row: Option<JobRow> = sqlx::query_as(
                "UPDATE jobs SET state = 'queued', attempt = attempt - 1, run_at = $1, \
                 updated_at = $1, lease_token = NULL, lease_expires_at = NULL \
                 WHERE id = $2 AND state = 'running' AND lease_token = $3 RETURNING *",
            )
            .bind(now)
            .bind(id.0)
            .bind(token.0)
            .fetch_optional(&mut *tx)
            .await?;
            if row.is_some() {
                notify(&mut *tx, WAKE_CHANNEL, "").await?;
            }
            row
        }
    };
    if row.is_some()
        && let Finish::Succeeded { artifacts, .. } = &finish
    {
        for artifact in artifacts {
            sqlx::query(
                "INSERT INTO job_artifacts (job_id, name, content_type, data, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(id.0)
            .bind(&artifact.name)
            .bind(&artifact.content_type)
            .bind(&artifact.data)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
    }
    Ok(row)
}
