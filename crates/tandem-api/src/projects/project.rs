//! One project: `/api/v1/projects` and `/api/v1/projects/{project_id}` to create, list,
//! read, update and delete.

use axum::extract::State;
use axum::http::StatusCode;
use tandem_domain::{Action, Description, DomainEvent, Name, Project, ProjectId, Role};

use super::dto::{CreateProjectRequest, ProjectView, UpdateProjectRequest};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{Actor, ApiJson, Page, Pagination, ProjectAccess};
use crate::state::AppState;

/// Create a project; the caller becomes its owner.
#[utoipa::path(post, path = "/api/v1/projects", tag = "projects",
    security(("bearer" = [])),
    request_body = CreateProjectRequest,
    responses((status = 201, description = "The new project", body = ProjectView)))]
pub async fn create_project(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(body): ApiJson<CreateProjectRequest>,
) -> ApiResult<(StatusCode, ApiJson<ProjectView>)> {
    let (name, description) = collect(
        Name::parse(&body.name, "name"),
        Description::parse(&body.description),
    )?;
    let audit = actor.audit(&state);
    let now = audit.at;
    let project = Project {
        id: ProjectId::new(now),
        name,
        description,
        created_at: now,
        updated_at: now,
    };
    state
        .store
        .create_project(&project, actor.user_id, &audit)
        .await?;
    state
        .events
        .publish(actor.user_id, DomainEvent::ProjectCreated(project.clone()));
    Ok((
        StatusCode::CREATED,
        ApiJson(ProjectView::new(project, Role::Owner)),
    ))
}

/// The caller's projects, with the caller's role in each.
#[utoipa::path(get, path = "/api/v1/projects", tag = "projects",
    security(("bearer" = [])),
    params(Pagination),
    responses((status = 200, description = "One page of projects", body = Page<ProjectView>)))]
pub async fn list_projects(
    State(state): State<AppState>,
    auth: crate::extract::AuthUser,
    pagination: Pagination,
) -> ApiResult<ApiJson<Page<ProjectView>>> {
    let after = pagination.after()?.map(ProjectId);
    let rows = state
        .store
        .list_projects_for_user(auth.user_id, after, pagination.limit() + 1)
        .await?;
    Ok(ApiJson(pagination.page(
        rows,
        |row| row.project.id.0,
        |row| ProjectView::new(row.project, row.role),
    )))
}

/// A project the caller is a member of.
#[utoipa::path(get, path = "/api/v1/projects/{project_id}", tag = "projects",
    security(("bearer" = [])),
    params(("project_id" = Uuid, Path)),
    responses(
        (status = 200, description = "The project", body = ProjectView),
        (status = 404, description = "`not_found`: no such project, or the caller is not a member", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_project(
    State(state): State<AppState>,
    access: ProjectAccess,
) -> ApiResult<ApiJson<ProjectView>> {
    access.require(Action::ReadProject)?;
    let project = state
        .store
        .project_by_id(access.project_id)
        .await?
        .ok_or_else(crate::extract::project_not_found)?;
    Ok(ApiJson(ProjectView::new(project, access.role)))
}

/// Rename a project or change its description (admin or owner).
#[utoipa::path(patch, path = "/api/v1/projects/{project_id}", tag = "projects",
    security(("bearer" = [])),
    params(("project_id" = Uuid, Path)),
    request_body = UpdateProjectRequest,
    responses(
        (status = 200, description = "The updated project", body = ProjectView),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_project(
    State(state): State<AppState>,
    access: ProjectAccess,
    ApiJson(body): ApiJson<UpdateProjectRequest>,
) -> ApiResult<ApiJson<ProjectView>> {
    access.require(Action::UpdateProject)?;
    let name = body
        .name
        .as_deref()
        .map(|n| Name::parse(n, "name"))
        .transpose();
    let description = body
        .description
        .as_deref()
        .map(Description::parse)
        .transpose();
    let (name, description) = collect(name, description)?;
    if name.is_none() && description.is_none() {
        // Nothing to change: no write, no audit row, no event.
        let project = state
            .store
            .project_by_id(access.project_id)
            .await?
            .ok_or_else(crate::extract::project_not_found)?;
        return Ok(ApiJson(ProjectView::new(project, access.role)));
    }
    let project = state
        .store
        .update_project(
            access.project_id,
            name.as_ref(),
            description.as_ref(),
            &access.audit(&state),
        )
        .await?;
    state
        .events
        .publish(access.user_id, DomainEvent::ProjectUpdated(project.clone()));
    Ok(ApiJson(ProjectView::new(project, access.role)))
}

/// Delete a project and everything in it (owner only).
#[utoipa::path(delete, path = "/api/v1/projects/{project_id}", tag = "projects",
    security(("bearer" = [])),
    params(("project_id" = Uuid, Path)),
    responses(
        (status = 204, description = "Deleted, with its workspaces, members, invitations and audit log"),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_project(
    State(state): State<AppState>,
    access: ProjectAccess,
) -> ApiResult<StatusCode> {
    access.require(Action::DeleteProject)?;
    state.store.delete_project(access.project_id).await?;
    tracing::info!(project.id = %access.project_id, user.id = %access.user_id, "project deleted");
    state.events.publish(
        access.user_id,
        DomainEvent::ProjectDeleted {
            project_id: access.project_id,
        },
    );
    Ok(StatusCode::NO_CONTENT)
}

/// Both parsed values, or every field error at once.
pub(super) fn collect<A, B>(
    a: Result<A, tandem_domain::FieldError>,
    b: Result<B, tandem_domain::FieldError>,
) -> Result<(A, B), ApiError> {
    match (a, b) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (a, b) => Err(ApiError::Validation(
            [a.err(), b.err()].into_iter().flatten().collect(),
        )),
    }
}
