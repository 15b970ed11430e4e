//! `JobAccess`: a job named in the path, with the caller's access to its project. A job
//! in a project the caller cannot see is 404, like one that does not exist.

use axum::extract::{FromRequestParts, Path};
use axum::http::StatusCode;
use axum::http::request::Parts;
use tandem_domain::{Action, Job, JobId, Role};
use uuid::Uuid;

use crate::error::ApiError;
use crate::extract::{Actor, ProjectAccess};
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
        let Path(params) = Path::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map_err(|_| not_found())?;
        let id = params
            .iter()
            .find(|(name, _)| name == "job_id")
            .and_then(|(_, v)| Uuid::parse_str(v).ok())
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

/// The `{name}` of an artifact path.
#[derive(Debug, Clone)]
pub struct ArtifactName(pub String);

impl FromRequestParts<AppState> for ArtifactName {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Path(params) = Path::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::not_found("no such artifact"))?;
        params
            .into_iter()
            .find_map(|(key, value)| (key == "name").then_some(Self(value)))
            .ok_or_else(|| ApiError::not_found("no such artifact"))
    }
}
