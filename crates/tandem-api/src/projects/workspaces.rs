//! Workspaces: `/api/v1/projects/{project_id}/workspaces` to create and list, and
//! `/api/v1/workspaces/{workspace_id}` to read, update and delete. A workspace inherits
//! its project's membership.

use axum::extract::State;
use axum::http::StatusCode;
use tandem_domain::{Action, DomainEvent, Name, Workspace, WorkspaceId};
use tandem_store::StoreError;

use super::dto::{CreateWorkspaceRequest, UpdateWorkspaceRequest, WorkspaceView};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, Page, Pagination, ProjectAccess, WorkspaceAccess};
use crate::state::AppState;

/// Create a workspace (editor or above); names are unique within a project.
#[utoipa::path(post, path = "/api/v1/projects/{project_id}/workspaces", tag = "workspaces",
    security(("bearer" = [])),
    params(("project_id" = Uuid, Path)),
    request_body = CreateWorkspaceRequest,
    responses(
        (status = 201, description = "The new workspace", body = WorkspaceView),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`workspace_name_taken`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_workspace(
    State(state): State<AppState>,
    access: ProjectAccess,
    ApiJson(body): ApiJson<CreateWorkspaceRequest>,
) -> ApiResult<(StatusCode, ApiJson<WorkspaceView>)> {
    access.require(Action::CreateWorkspace)?;
    let name = Name::parse(&body.name, "name").map_err(|e| ApiError::Validation(vec![e]))?;
    let audit = access.audit(&state);
    let workspace = Workspace {
        id: WorkspaceId::new(audit.at),
        project_id: access.project_id,
        name,
        settings: body.settings,
        created_at: audit.at,
        updated_at: audit.at,
    };
    state
        .store
        .create_workspace(&workspace, &audit)
        .await
        .map_err(name_taken)?;
    state.events.publish(
        access.user_id,
        DomainEvent::WorkspaceCreated(workspace.clone()),
    );
    Ok((StatusCode::CREATED, ApiJson(workspace.into())))
}

/// The project's workspaces.
#[utoipa::path(get, path = "/api/v1/projects/{project_id}/workspaces", tag = "workspaces",
    security(("bearer" = [])),
    params(("project_id" = Uuid, Path), Pagination),
    responses(
        (status = 200, description = "One page of workspaces", body = Page<WorkspaceView>),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_workspaces(
    State(state): State<AppState>,
    access: ProjectAccess,
    pagination: Pagination,
) -> ApiResult<ApiJson<Page<WorkspaceView>>> {
    access.require(Action::ReadWorkspace)?;
    let after = pagination.after()?.map(WorkspaceId);
    let rows = state
        .store
        .list_workspaces(access.project_id, after, pagination.limit() + 1)
        .await?;
    Ok(ApiJson(pagination.page(
        rows,
        |w| w.id.0,
        WorkspaceView::from,
    )))
}

/// A workspace.
#[utoipa::path(get, path = "/api/v1/workspaces/{workspace_id}", tag = "workspaces",
    security(("bearer" = [])),
    params(("workspace_id" = Uuid, Path)),
    responses(
        (status = 200, description = "The workspace", body = WorkspaceView),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_workspace(ws: WorkspaceAccess) -> ApiResult<ApiJson<WorkspaceView>> {
    ws.access.require(Action::ReadWorkspace)?;
    Ok(ApiJson(ws.workspace.into()))
}

/// Rename a workspace or replace its settings (editor or above).
#[utoipa::path(patch, path = "/api/v1/workspaces/{workspace_id}", tag = "workspaces",
    security(("bearer" = [])),
    params(("workspace_id" = Uuid, Path)),
    request_body = UpdateWorkspaceRequest,
    responses(
        (status = 200, description = "The updated workspace", body = WorkspaceView),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`workspace_name_taken`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_workspace(
    State(state): State<AppState>,
    ws: WorkspaceAccess,
    ApiJson(body): ApiJson<UpdateWorkspaceRequest>,
) -> ApiResult<ApiJson<WorkspaceView>> {
    ws.access.require(Action::UpdateWorkspace)?;
    let name = body
        .name
        .as_deref()
        .map(|n| Name::parse(n, "name"))
        .transpose()
        .map_err(|e| ApiError::Validation(vec![e]))?;
    if name.is_none() && body.settings.is_none() {
        // Nothing to change: no write, no audit row, no event.
        return Ok(ApiJson(ws.workspace.into()));
    }
    let workspace = state
        .store
        .update_workspace(
            ws.workspace.id,
            name.as_ref(),
            body.settings.as_ref(),
            &ws.access.audit(&state),
        )
        .await
        .map_err(name_taken)?;
    state.events.publish(
        ws.access.user_id,
        DomainEvent::WorkspaceUpdated(workspace.clone()),
    );
    Ok(ApiJson(workspace.into()))
}

/// Delete a workspace (admin or owner).
#[utoipa::path(delete, path = "/api/v1/workspaces/{workspace_id}", tag = "workspaces",
    security(("bearer" = [])),
    params(("workspace_id" = Uuid, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_workspace(
    State(state): State<AppState>,
    ws: WorkspaceAccess,
) -> ApiResult<StatusCode> {
    ws.access.require(Action::DeleteWorkspace)?;
    state
        .store
        .delete_workspace(ws.workspace.id, &ws.access.audit(&state))
        .await?;
    state.events.publish(
        ws.access.user_id,
        DomainEvent::WorkspaceDeleted {
            project_id: ws.workspace.project_id,
            workspace_id: ws.workspace.id,
        },
    );
    Ok(StatusCode::NO_CONTENT)
}

fn name_taken(err: StoreError) -> ApiError {
    match err {
        StoreError::Conflict("workspaces.name") => ApiError::client(
            StatusCode::CONFLICT,
            "workspace_name_taken",
            "the project has a workspace with this name already",
        ),
        other => other.into(),
    }
}
