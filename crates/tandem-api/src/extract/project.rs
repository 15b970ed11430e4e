//! `ProjectAccess`: the caller's membership of the project named in the path, and the one
//! door to the permission policy.
//!
//! A project the caller is not a member of answers 404, exactly like one that does not
//! exist, so its existence is not revealed; a member lacking the role gets 403.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use tandem_domain::{
    Action, AuditContext, ProjectId, Role, UserId, Workspace, WorkspaceId, allows,
};
use uuid::Uuid;

use super::{AuthUser, PathParams};
use crate::error::ApiError;
use crate::state::AppState;

/// The authenticated caller and the id of this request: who to write in audit rows.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: UserId,
    pub request_id: Option<String>,
}

impl Actor {
    /// The audit context of a change made now.
    pub fn audit(&self, state: &AppState) -> AuditContext {
        AuditContext {
            actor: self.user_id,
            request_id: self.request_id.clone(),
            at: state.clock.now(),
        }
    }
}

impl FromRequestParts<AppState> for Actor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let auth = AuthUser::from_request_parts(parts, state).await?;
        Ok(Self {
            user_id: auth.user_id,
            request_id: request_id(parts),
        })
    }
}

/// A member's standing in one project.
#[derive(Debug, Clone)]
pub struct ProjectAccess {
    pub project_id: ProjectId,
    pub user_id: UserId,
    pub role: Role,
    pub actor: Actor,
}

impl ProjectAccess {
    /// Asks the policy; 403 `forbidden` if the caller's role does not allow `action`.
    pub fn require(&self, action: Action) -> Result<(), ApiError> {
        if allows(self.role, action) {
            Ok(())
        } else {
            Err(ApiError::client(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("your role ({}) does not allow this", self.role),
            ))
        }
    }

    /// Who is acting, for the audit row of a change made now.
    pub fn audit(&self, state: &AppState) -> AuditContext {
        self.actor.audit(state)
    }

    /// Loads the caller's membership of `project_id`; 404 if there is none.
    pub async fn load(
        state: &AppState,
        actor: Actor,
        project_id: ProjectId,
    ) -> Result<Self, ApiError> {
        let membership = state
            .store
            .membership(project_id, actor.user_id)
            .await?
            .ok_or_else(project_not_found)?;
        Ok(Self {
            project_id,
            user_id: actor.user_id,
            role: membership.role,
            actor,
        })
    }
}

pub fn project_not_found() -> ApiError {
    ApiError::not_found("no such project")
}

/// The request id the request-id layer set, for audit rows.
fn request_id(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The first path parameter as a UUID; anything else is "not found".
async fn path_id(parts: &mut Parts) -> Option<Uuid> {
    PathParams::read(parts).await.first_uuid()
}

impl FromRequestParts<AppState> for ProjectAccess {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let actor = Actor::from_request_parts(parts, state).await?;
        let id = path_id(parts).await.ok_or_else(project_not_found)?;
        Self::load(state, actor, ProjectId(id)).await
    }
}

/// A workspace named in the path (`/workspaces/{id}`) with the caller's access to its
/// project; a workspace in a project the caller cannot see is 404.
#[derive(Debug, Clone)]
pub struct WorkspaceAccess {
    pub workspace: Workspace,
    pub access: ProjectAccess,
}

impl FromRequestParts<AppState> for WorkspaceAccess {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let actor = Actor::from_request_parts(parts, state).await?;
        let not_found = || ApiError::not_found("no such workspace");
        let id = path_id(parts).await.ok_or_else(not_found)?;
        let workspace = state
            .store
            .workspace_by_id(WorkspaceId(id))
            .await?
            .ok_or_else(not_found)?;
        let access = ProjectAccess::load(state, actor, workspace.project_id)
            .await
            .map_err(|_| not_found())?;
        Ok(Self { workspace, access })
    }
}
