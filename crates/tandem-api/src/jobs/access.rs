//! `JobAccess`: a job named in the path, with the caller's access to its project. A job
//! in a project the caller cannot see is 404, like one that does not exist.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use tandem_domain::{Action, Job, JobId, Role};

use crate::error::ApiError;
use crate::extract::{Actor, PathParams, ProjectAccess};
use crate::state::AppState;

#[derive(Debug, Clone)]
pub struct JobAccess {
    pub job: Job,
    pub access: ProjectAccess,
}

impl JobAccess {
    /// Steering a job (cancel, retry) is for whoever submitted it, and admins.
    pub fn require_steer(&self) -> Result<(), ApiError> {
        self.access.require(Action::RunJobs)?;
        if self.job.created_by == Some(self.access.user_id) || self.access.role >= Role::Admin {
            Ok(())
        } else {
            Err(ApiError::client(
                StatusCode::FORBIDDEN,
                "forbidden",
                "only the job's submitter or an admin may do this",
            ))
        }
    }
}

impl FromRequestParts<AppState> for JobAccess {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let actor = Actor::from_request_parts(parts, state).await?;
        let not_found = || ApiError::not_found("no such job");
        let id = PathParams::read(parts)
            .await
            .uuid("job_id")
            .ok_or_else(not_found)?;
        let job = state
            .store
            .job_by_id(JobId(id))
            .await?
            .ok_or_else(not_found)?;
        let access = ProjectAccess::load(state, actor, job.project_id)
            .await
            .map_err(|_| not_found())?;
        access.require(Action::ReadProject)?;
        Ok(Self { job, access })
    }
}

/// The `{name}` of an artifact path, if it can be one. Job kinds name their artifacts
/// (`report.md`); a name that is not UTF-8 once percent-decoded, is too long, or holds a
/// control character (PostgreSQL text cannot even hold NUL) names none, and is answered
/// "no such artifact" once the job is known to be visible, without asking the store.
#[derive(Debug, Clone)]
pub struct ArtifactName(pub Option<String>);

impl ArtifactName {
    const MAX_BYTES: usize = 255;
}

impl FromRequestParts<AppState> for ArtifactName {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> Result<Self, Infallible> {
        let params = PathParams::read(parts).await;
        let name = params.get("name").filter(|name| {
            (1..=Self::MAX_BYTES).contains(&name.len()) && !name.chars().any(char::is_control)
        });
        Ok(Self(name.map(str::to_owned)))
    }
}
