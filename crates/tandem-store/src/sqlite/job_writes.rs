//! The per-job writes of the SQLite queue that batches repeat inside one transaction:
//! enqueueing one job (idempotent by key) and ending one attempt (fenced by its lease
//! token).

use chrono::{DateTime, Utc};
use sqlx::SqliteConnection;
use tandem_domain::{JobId, LeaseToken, NewJob};

use super::jobs::{JobRow, encode_token};
use super::{encode_id, encode_time, on_foreign_key_violation};
use crate::StoreError;
use crate::jobs::{Enqueued, Finish};

/// Enqueues one job inside `tx`: `Created`, `Existing` for a repeat, or the item's error
/// (which leaves `tx` usable).
pub(super) async fn enqueue(
    tx: &mut SqliteConnection,
    job: &NewJob,
    digest: &str,
) -> Result<Result<Enqueued, StoreError>, StoreError> {
    // `WHERE EXISTS` instead of a foreign-key failure: one job's missing project must
    // not abort the others' transaction.
    let inserted: Option<JobRow> = sqlx::query_as(
        "INSERT INTO jobs (id, project_id, created_by, kind, payload, state, priority, \
         run_at, max_attempts, idempotency_key, request_digest, created_at, updated_at) \
         SELECT ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ? \
         WHERE EXISTS (SELECT 1 FROM projects WHERE id = ?) \
         ON CONFLICT (created_by, idempotency_key) WHERE idempotency_key IS NOT NULL \
         DO NOTHING RETURNING *",
    )
    .bind(encode_id(job.id.0))
    .bind(encode_id(job.project_id.0))
    .bind(encode_id(job.created_by.0))
    .bind(job.kind.as_str())
    .bind(job.payload.to_string())
    .bind(job.priority)
    .bind(encode_time(job.run_at))
    .bind(i64::from(job.max_attempts))
    .bind(job.idempotency_key.as_deref())
    .bind(digest)
    .bind(encode_time(job.created_at))
    .bind(encode_time(job.created_at))
    .bind(encode_id(job.project_id.0))
    .fetch_optional(&mut *tx)
    .await
    .map_err(on_foreign_key_violation)?;
    if let Some(row) = inserted {
        return Ok(Ok(Enqueued::Created(row.into_job()?)));
    }
    let Some(key) = job.idempotency_key.as_deref() else {
        return Ok(Err(StoreError::NotFound));
    };
    let existing: Option<JobRow> =
        sqlx::query_as("SELECT * FROM jobs WHERE created_by = ? AND idempotency_key = ?")
            .bind(encode_id(job.created_by.0))
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
    tx: &mut SqliteConnection,
    id: JobId,
    token: LeaseToken,
    finish: Finish,
    now: DateTime<Utc>,
) -> Result<Option<JobRow>, StoreError> {
    let now_text = encode_time(now);
    let (id_text, token_text) = (encode_id(id.0), encode_token(token));
    let row: Option<JobRow> = match &finish {
        Finish::Succeeded { result, .. } => {
            sqlx::query_as(
                "UPDATE jobs SET state = 'succeeded', result = ?, finished_at = ?, \
                 updated_at = ?, lease_token = NULL, lease_expires_at = NULL \
                 WHERE id = ? AND state = 'running' AND lease_token = ? RETURNING *",
            )
            .bind(result.to_string())
            .bind(&now_text)
            .bind(&now_text)
            .bind(&id_text)
            .bind(&token_text)
            .fetch_optional(&mut *tx)
            .await?
        }
        Finish::Failed { error, retry_at } => {
            sqlx::query_as(
                "UPDATE jobs SET \
                 state = CASE WHEN attempt < max_attempts THEN 'failed' ELSE 'dead' END, \
                 run_at = CASE WHEN attempt < max_attempts THEN ? ELSE run_at END, \
                 finished_at = CASE WHEN attempt < max_attempts THEN NULL ELSE ? END, \
                 errors = json_insert(errors, '$[#]', \
                     json_object('attempt', attempt, 'at', ?, 'message', ?)), \
                 updated_at = ?, lease_token = NULL, lease_expires_at = NULL \
                 WHERE id = ? AND state = 'running' AND lease_token = ? RETURNING *",
            )
            .bind(encode_time(*retry_at))
            .bind(&now_text)
            .bind(&now_text)
            .bind(error)
            .bind(&now_text)
            .bind(&id_text)
            .bind(&token_text)
            .fetch_optional(&mut *tx)
            .await?
        }
        Finish::Cancelled => {
            sqlx::query_as(
                "UPDATE jobs SET state = 'cancelled', finished_at = ?, updated_at = ?, \
                 lease_token = NULL, lease_expires_at = NULL \
                 WHERE id = ? AND state = 'running' AND lease_token = ? RETURNING *",
            )
            .bind(&now_text)
            .bind(&now_text)
            .bind(&id_text)
            .bind(&token_text)
            .fetch_optional(&mut *tx)
            .await?
        }
        Finish::Released => {
            sqlx::query_as(
                "UPDATE jobs SET state = 'queued', attempt = attempt - 1, run_at = ?, \
                 updated_at = ?, lease_token = NULL, lease_expires_at = NULL \
                 WHERE id = ? AND state = 'running' AND lease_token = ? RETURNING *",
            )
            .bind(&now_text)
            .bind(&now_text)
            .bind(&id_text)
            .bind(&token_text)
            .fetch_optional(&mut *tx)
            .await?
        }
    };
    if row.is_some()
        && let Finish::Succeeded { artifacts, .. } = &finish
    {
        for artifact in artifacts {
            sqlx::query(
                "INSERT INTO job_artifacts (job_id, name, content_type, data, created_at) \
                 VALUES (?, ?, ?, ?, ?)",
            )
            .bind(&id_text)
            .bind(&artifact.name)
            .bind(&artifact.content_type)
            .bind(&artifact.data)
            .bind(&now_text)
            .execute(&mut *tx)
            .await?;
        }
    }
    Ok(row)
}
