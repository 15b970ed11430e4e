//! Jobs: submit and list under `/api/v1/projects/{project_id}/jobs`; read, cancel, retry
//! and download artifacts under `/api/v1/jobs/{job_id}`.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tandem_domain::{Action, JobId, JobKind, JobState, UserId};
use tandem_jobs::{Submission, SubmitError};
use tandem_store::{Enqueued, JobFilter, StoreError};

use super::access::{ArtifactName, JobAccess};
use super::dto::{JobQuery, JobView, SubmitJobRequest};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, Page, Pagination, ProjectAccess};
use crate::state::AppState;

/// Submit a job (editor or above). With an `Idempotency-Key` header, repeating the same
/// request returns the first job (200) instead of a new one; the same key with a
/// different request is 422 `idempotency_key_mismatch`.
#[utoipa::path(post, path = "/api/v1/projects/{project_id}/jobs", tag = "jobs",
    security(("bearer" = [])),
    params(("project_id" = Uuid, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes retries of this submission safe: 1 to 255 printable ASCII characters")),
    request_body = SubmitJobRequest,
    responses(
        (status = 202, description = "The job, queued", body = JobView),
        (status = 200, description = "The job an earlier request with this idempotency key created", body = JobView),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`, `idempotency_key_mismatch`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn submit_job(
    State(state): State<AppState>,
    access: ProjectAccess,
    headers: HeaderMap,
    ApiJson(body): ApiJson<SubmitJobRequest>,
) -> ApiResult<(StatusCode, ApiJson<JobView>)> {
    access.require(Action::RunJobs)?;
    let idempotency_key = match headers.get("idempotency-key") {
        Some(value) => Some(
            value
                .to_str()
                .map_err(|_| ApiError::field("idempotency_key", "must be printable ASCII"))?
                .to_owned(),
        ),
        None => None,
    };
    let submission = Submission {
        project_id: access.project_id,
        created_by: access.user_id,
        kind: body.kind,
        payload: body.payload,
        priority: body.priority,
        run_at: body.run_at,
        max_attempts: body.max_attempts,
        idempotency_key,
    };
    match state.jobs.queue.submit(submission).await {
        Ok(Enqueued::Created(job)) => Ok((StatusCode::ACCEPTED, ApiJson(job.into()))),
        Ok(Enqueued::Existing(job)) => Ok((StatusCode::OK, ApiJson(job.into()))),
        Err(SubmitError::Invalid(errors)) => Err(ApiError::Validation(errors)),
        Err(SubmitError::IdempotencyKeyMismatch) => Err(ApiError::client(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_mismatch",
            "this Idempotency-Key was used for a different job",
        )),
        Err(SubmitError::Store(StoreError::NotFound)) => {
            Err(ApiError::not_found("no such project"))
        }
        Err(SubmitError::Store(error)) => Err(error.into()),
    }
}

/// The project's jobs, newest first (viewer or above).
#[utoipa::path(get, path = "/api/v1/projects/{project_id}/jobs", tag = "jobs",
    security(("bearer" = [])),
    params(("project_id" = Uuid, Path), JobQuery, Pagination),
    responses(
        (status = 200, description = "One page of jobs", body = Page<JobView>),
        (status = 400, description = "`invalid_query`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_jobs(
    State(state): State<AppState>,
    access: ProjectAccess,
    query: Result<Query<JobQuery>, axum::extract::rejection::QueryRejection>,
    pagination: Pagination,
) -> ApiResult<ApiJson<Page<JobView>>> {
    access.require(Action::ReadProject)?;
    let Query(query) = query
        .map_err(|e| ApiError::client(StatusCode::BAD_REQUEST, "invalid_query", e.body_text()))?;
    let mut errors = Vec::new();
    let state_filter = query
        .state
        .as_deref()
        .map(|s| JobState::parse(s, "state"))
        .transpose()
        .map_err(|e| errors.push(e))
        .ok()
        .flatten();
    let kind = query
        .kind
        .as_deref()
        .map(|k| JobKind::parse(k, "kind"))
        .transpose()
        .map_err(|e| errors.push(e))
        .ok()
        .flatten();
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let filter = JobFilter {
        state: state_filter,
        kind,
        created_by: query.created_by.map(UserId),
    };
    let before = pagination.after()?.map(JobId);
    let rows = state
        .store
        .list_jobs(access.project_id, &filter, before, pagination.limit() + 1)
        .await?;
    Ok(ApiJson(pagination.page(rows, |j| j.id.0, JobView::from)))
}

/// A job: state, attempts, progress, result, errors, timings and artifact names.
#[utoipa::path(get, path = "/api/v1/jobs/{job_id}", tag = "jobs",
    security(("bearer" = [])),
    params(("job_id" = Uuid, Path)),
    responses(
        (status = 200, description = "The job", body = JobView),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_job(State(state): State<AppState>, job: JobAccess) -> ApiResult<ApiJson<JobView>> {
    let artifacts = state.store.job_artifact_names(job.job.id).await?;
    let mut view = JobView::from(job.job);
    view.artifacts = Some(artifacts);
    Ok(ApiJson(view))
}

/// Cancel a job (its submitter, or an admin): a queued job is cancelled at once; a
/// running one is stopped (its sandbox killed) and then becomes `cancelled`. Cancelling a
/// finished job changes nothing and answers 409 `job_finished`.
#[utoipa::path(post, path = "/api/v1/jobs/{job_id}/cancel", tag = "jobs",
    security(("bearer" = [])),
    params(("job_id" = Uuid, Path)),
    responses(
        (status = 200, description = "The job, cancelled or with `cancel_requested` while it stops", body = JobView),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`job_finished`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn cancel_job(
    State(state): State<AppState>,
    job: JobAccess,
) -> ApiResult<ApiJson<JobView>> {
    job.require_steer()?;
    if job.job.state.is_finished() {
        return Err(job_finished(job.job.state));
    }
    let cancelled = state
        .jobs
        .queue
        .cancel(&job.job, job.access.user_id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such job"))?;
    Ok(ApiJson(cancelled.into()))
}

/// Queue a dead job again, with a fresh set of attempts (its submitter, or an admin).
#[utoipa::path(post, path = "/api/v1/jobs/{job_id}/retry", tag = "jobs",
    security(("bearer" = [])),
    params(("job_id" = Uuid, Path)),
    responses(
        (status = 200, description = "The job, queued", body = JobView),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`job_not_dead`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn retry_job(
    State(state): State<AppState>,
    job: JobAccess,
) -> ApiResult<ApiJson<JobView>> {
    job.require_steer()?;
    match state.jobs.queue.retry(job.job.id, job.access.user_id).await {
        Ok(Some(retried)) => Ok(ApiJson(retried.into())),
        Ok(None) => Err(ApiError::not_found("no such job")),
        Err(StoreError::Conflict(_)) => Err(ApiError::client(
            StatusCode::CONFLICT,
            "job_not_dead",
            "only a dead job can be retried",
        )),
        Err(error) => Err(error.into()),
    }
}

/// Download a file a job produced (e.g. a report's `report.md` and `report.csv`).
#[utoipa::path(get, path = "/api/v1/jobs/{job_id}/artifacts/{name}", tag = "jobs",
    security(("bearer" = [])),
    params(("job_id" = Uuid, Path), ("name" = String, Path)),
    responses(
        (status = 200, description = "The artifact, with its content type"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_artifact(
    State(state): State<AppState>,
    job: JobAccess,
    ArtifactName(name): ArtifactName,
) -> ApiResult<Response> {
    let not_found = || ApiError::not_found("no such artifact");
    let name = name.ok_or_else(not_found)?;
    let artifact = state
        .store
        .job_artifact(job.job.id, &name)
        .await?
        .ok_or_else(not_found)?;
    let content_type = HeaderValue::from_str(&artifact.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", artifact.name))
        .unwrap_or(HeaderValue::from_static("attachment"));
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        artifact.data,
    )
        .into_response())
}

fn job_finished(state: JobState) -> ApiError {
    ApiError::client(
        StatusCode::CONFLICT,
        "job_finished",
        format!("the job is already {}", state.as_str()),
    )
}
