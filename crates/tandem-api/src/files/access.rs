//! `FileAccess`: a file named in the path, with the caller's access to its project. A file
//! in a project the caller cannot see is 404, like one that does not exist.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use tandem_domain::{File, FileId, Workspace};

use crate::error::ApiError;
use crate::extract::{Actor, PathParams, ProjectAccess};
use crate::state::AppState;

#[derive(Debug, Clone)]
pub struct FileAccess {
    pub file: File,
    pub workspace: Workspace,
    pub access: ProjectAccess,
}

impl FileAccess {
    /// Loads `file` and the caller's access to it; 404 for a file they cannot see.
    pub async fn load(state: &AppState, actor: Actor, file: FileId) -> Result<Self, ApiError> {
        let not_found = || ApiError::not_found("no such file");
        let file = state.store.file_by_id(file).await?.ok_or_else(not_found)?;
        let workspace = state
            .store
            .workspace_by_id(file.workspace_id)
            .await?
            .ok_or_else(not_found)?;
        let access = ProjectAccess::load(state, actor, workspace.project_id)
            .await
            .map_err(|_| not_found())?;
        Ok(Self {
            file,
            workspace,
            access,
        })
    }
}

impl FromRequestParts<AppState> for FileAccess {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let actor = Actor::from_request_parts(parts, state).await?;
        let id = PathParams::read(parts)
            .await
            .uuid("file_id")
            .ok_or_else(|| ApiError::not_found("no such file"))?;
        Self::load(state, actor, FileId(id)).await
    }
}
