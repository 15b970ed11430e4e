//! The queue as the API uses it: submit (validated by the job kind, idempotent by key),
//! cancel and retry, each publishing its event and waking or stopping workers.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tandem_domain::{Clock, FieldError, Job, JobId, JobKind, JobState, NewJob, ProjectId, UserId};
use tandem_store::{Enqueued, Store, StoreError};

use crate::batch::Batcher;
use crate::events::{JobEvent, JobEvents};
use crate::handler::Registry;
use crate::signals::Signals;

/// The priority range a submission may ask for.
pub const PRIORITIES: std::ops::RangeInclusive<i32> = -100..=100;
/// The most attempts a submission may ask for.
pub const MAX_ATTEMPTS: u32 = 20;
/// How far ahead a job may be scheduled.
pub const MAX_DELAY_DAYS: i64 = 30;
/// The longest idempotency key.
pub const MAX_KEY_CHARS: usize = 255;

/// A job as a client submits it.
#[derive(Debug, Clone, PartialEq)]
pub struct Submission {
    pub project_id: ProjectId,
    pub created_by: UserId,
    pub kind: String,
    pub payload: Value,
    pub priority: Option<i32>,
    pub run_at: Option<DateTime<Utc>>,
    pub max_attempts: Option<u32>,
    pub idempotency_key: Option<String>,
}

/// Why a submission was refused.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("invalid job")]
    Invalid(Vec<FieldError>),
    /// The key was used before by this submitter for a different request.
    #[error("the idempotency key was used for a different job")]
    IdempotencyKeyMismatch,
    #[error(transparent)]
    Store(StoreError),
}

/// Submits and steers jobs.
#[derive(Debug, Clone)]
pub struct Queue {
    /// Submissions go to the database in groups.
    pub(crate) enqueues: Batcher<(NewJob, String), Result<Enqueued, StoreError>>,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) registry: Registry,
    pub(crate) signals: Signals,
    pub(crate) events: Arc<dyn JobEvents>,
}

impl Queue {
    /// The job kinds this server accepts.
    pub fn kinds(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.registry.kinds()
    }

    /// Checks and stores a job, waking a worker; with an idempotency key, a repeat of
    /// an earlier submission returns its job (`Enqueued::Existing`).
    pub async fn submit(&self, submission: Submission) -> Result<Enqueued, SubmitError> {
        let now = self.clock.now();
        let new = self.check(submission, now)?;
        let digest = digest(&new);
        let created_by = new.created_by;
        let enqueued = self
            .enqueues
            .submit((new, digest))
            .await
            .unwrap_or_else(|| Err(StoreError::Config("the job queue has stopped".into())))
            .map_err(|error| match error {
                StoreError::Conflict("jobs.idempotency_key") => SubmitError::IdempotencyKeyMismatch,
                other => SubmitError::Store(other),
            })?;
        if let Enqueued::Created(job) = &enqueued {
            self.events
                .publish(Some(created_by), JobEvent::Created(job.clone()));
            self.signals.wake();
        }
        Ok(enqueued)
    }

    fn check(&self, s: Submission, now: DateTime<Utc>) -> Result<NewJob, SubmitError> {
        let mut errors = Vec::new();
        let kind = JobKind::parse(&s.kind, "kind")
            .map_err(|e| errors.push(e))
            .ok();
        let handler = kind.as_ref().and_then(|kind| {
            let found = self.registry.get(kind.as_str());
            if found.is_none() {
                let known: Vec<_> = self.registry.kinds().collect();
                errors.push(FieldError::new(
                    "kind",
                    format!("must be one of: {}", known.join(", ")),
                ));
            }
            found
        });
        // No payload is an empty one.
        let submitted = if s.payload.is_null() {
            json!({})
        } else {
            s.payload
        };
        let payload = handler.and_then(|h| match h.validate(&submitted) {
            Ok(payload) => Some(payload),
            Err(problems) => {
                errors.extend(problems);
                None
            }
        });
        let priority = s.priority.unwrap_or(0);
        if !PRIORITIES.contains(&priority) {
            errors.push(FieldError::new("priority", "must be between -100 and 100"));
        }
        let max_attempts = s
            .max_attempts
            .or_else(|| handler.map(|h| h.max_attempts()))
            .unwrap_or(3);
        if !(1..=MAX_ATTEMPTS).contains(&max_attempts) {
            errors.push(FieldError::new("max_attempts", "must be between 1 and 20"));
        }
        let run_at = s.run_at.unwrap_or(now).max(now);
        if run_at > now + chrono::Duration::days(MAX_DELAY_DAYS) {
            errors.push(FieldError::new("run_at", "must be at most 30 days ahead"));
        }
        if let Some(key) = &s.idempotency_key {
            let printable = key.chars().all(|c| c.is_ascii_graphic());
            if key.is_empty() || key.chars().count() > MAX_KEY_CHARS || !printable {
                errors.push(FieldError::new(
                    "idempotency_key",
                    "must be 1 to 255 printable ASCII characters",
                ));
            }
        }
        match (kind, payload) {
            (Some(kind), Some(payload)) if errors.is_empty() => Ok(NewJob {
                id: JobId::new(now),
                project_id: s.project_id,
                created_by: s.created_by,
                kind,
                payload,
                priority,
                run_at,
                max_attempts,
                idempotency_key: s.idempotency_key,
                created_at: now,
            }),
            _ => Err(SubmitError::Invalid(errors)),
        }
    }

    /// Cancels a job (see `JobStore::cancel_job`); a running one is stopped by its
    /// worker, here at once and on other nodes through the database's notification.
    /// `before` is the job as the caller last read it: a changed state is announced.
    pub async fn cancel(&self, before: &Job, actor: UserId) -> Result<Option<Job>, StoreError> {
        let id = before.id;
        let job = self.store.cancel_job(id, self.clock.now()).await?;
        if let Some(job) = &job {
            if job.state == JobState::Running && job.cancel_requested {
                self.signals.cancel(id);
            }
            if before.state != job.state {
                self.events
                    .publish(Some(actor), JobEvent::Updated(job.clone()));
            }
        }
        Ok(job)
    }

    /// Queues a dead job again; `Conflict("jobs.state")` if it is not dead.
    pub async fn retry(&self, id: JobId, actor: UserId) -> Result<Option<Job>, StoreError> {
        let job = self.store.retry_job(id, self.clock.now()).await?;
        if let Some(job) = &job {
            self.events
                .publish(Some(actor), JobEvent::Updated(job.clone()));
            self.signals.wake();
        }
        Ok(job)
    }
}

/// What makes two submissions the same request: kind, payload (keys in any order),
/// priority, schedule and attempts, hashed.
fn digest(job: &NewJob) -> String {
    let request = json!({
        "kind": job.kind.as_str(),
        "payload": canonical(&job.payload),
        "priority": job.priority,
        "max_attempts": job.max_attempts,
    });
    hex::encode(Sha256::digest(canonical(&request).to_string().as_bytes()))
}

/// `value` with every object's keys sorted, so equal JSON hashes equally whatever order
/// its keys were written in.
fn canonical(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let mut sorted = serde_json::Map::new();
            for (key, value) in entries {
                sorted.insert(key.clone(), canonical(value));
            }
            Value::Object(sorted)
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_ignores_key_order() {
        let a: Value =
            serde_json::from_str(r#"{"b":1,"a":{"y":[1,{"d":2,"c":3}],"x":0}}"#).unwrap();
        let b: Value =
            serde_json::from_str(r#"{"a":{"x":0,"y":[1,{"c":3,"d":2}]},"b":1}"#).unwrap();
        assert_eq!(canonical(&a).to_string(), canonical(&b).to_string());
    }
}
