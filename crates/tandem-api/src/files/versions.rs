//! File history: `/api/v1/files/{file_id}/versions` to list and save named versions,
//! `/versions/{version_id}` to read one, and `/restore` to bring it back as a new edit.

use axum::extract::State;
use axum::http::StatusCode;
use tandem_domain::{Action, Name, VersionId, VersionKind};

use super::access::FileAccess;
use super::dto::{CreateVersionRequest, FileContentView, VersionContentView, VersionView};
use super::handlers::{collab_error, saved};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, Page, Pagination, PathParams};
use crate::state::AppState;

/// The file's versions, newest first: named ones and those taken automatically while it
/// was edited (once its oldest unsaved edit is 10 minutes old, and when an editing session
/// ends).
#[utoipa::path(get, path = "/api/v1/files/{file_id}/versions", tag = "files",
    security(("bearer" = [])),
    params(("file_id" = Uuid, Path), Pagination),
    responses(
        (status = 200, description = "One page of versions", body = Page<VersionView>),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_versions(
    State(state): State<AppState>,
    file: FileAccess,
    pagination: Pagination,
) -> ApiResult<ApiJson<Page<VersionView>>> {
    file.access.require(Action::ReadWorkspace)?;
    let before = pagination.after()?.map(VersionId);
    let rows = state
        .store
        .list_versions(file.file.id, before, pagination.limit() + 1)
        .await?;
    Ok(ApiJson(pagination.page(
        rows,
        |v| v.id.0,
        VersionView::from,
    )))
}

/// Save the file's current text as a named version (editor or above).
#[utoipa::path(post, path = "/api/v1/files/{file_id}/versions", tag = "files",
    security(("bearer" = [])),
    params(("file_id" = Uuid, Path)),
    request_body = CreateVersionRequest,
    responses(
        (status = 201, description = "The new version", body = VersionView),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_version(
    State(state): State<AppState>,
    file: FileAccess,
    ApiJson(body): ApiJson<CreateVersionRequest>,
) -> ApiResult<(StatusCode, ApiJson<VersionView>)> {
    file.access.require(Action::EditFiles)?;
    let name = Name::parse(&body.name, "name").map_err(|e| ApiError::Validation(vec![e]))?;
    let audit = file.access.audit(&state);
    let version = state
        .collab
        .create_version(
            file.file.id,
            VersionKind::Named,
            Some(name.as_str().to_owned()),
            Some(file.access.user_id),
            Some(&audit),
        )
        .await
        .map_err(collab_error)?;
    Ok((StatusCode::CREATED, ApiJson(version.into())))
}

/// A version with its text.
#[utoipa::path(get, path = "/api/v1/files/{file_id}/versions/{version_id}", tag = "files",
    security(("bearer" = [])),
    params(("file_id" = Uuid, Path), ("version_id" = Uuid, Path)),
    responses(
        (status = 200, description = "The version and its text", body = VersionContentView),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_version(
    State(state): State<AppState>,
    file: FileAccess,
    params: PathParams,
) -> ApiResult<ApiJson<VersionContentView>> {
    file.access.require(Action::ReadWorkspace)?;
    let version = state
        .store
        .version_by_id(version_id(&params)?)
        .await?
        .filter(|v| v.file_id == file.file.id)
        .ok_or_else(|| ApiError::not_found("no such version"))?;
    let content = state
        .collab
        .version_text(version.id)
        .await
        .map_err(collab_error)?
        .ok_or_else(|| ApiError::not_found("no such version"))?;
    Ok(ApiJson(VersionContentView {
        version: version.into(),
        content,
    }))
}

/// Bring the file back to a version's text (editor or above), as a new edit on top of the
/// current one, so live editors converge to it and nothing is lost from history.
#[utoipa::path(post, path = "/api/v1/files/{file_id}/versions/{version_id}/restore", tag = "files",
    security(("bearer" = [])),
    params(("file_id" = Uuid, Path), ("version_id" = Uuid, Path)),
    responses(
        (status = 200, description = "The file and its restored text", body = FileContentView),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn restore_version(
    State(state): State<AppState>,
    file: FileAccess,
    params: PathParams,
) -> ApiResult<ApiJson<FileContentView>> {
    file.access.require(Action::EditFiles)?;
    let version = state
        .store
        .version_by_id(version_id(&params)?)
        .await?
        .filter(|v| v.file_id == file.file.id)
        .ok_or_else(|| ApiError::not_found("no such version"))?;
    let changed = state
        .collab
        .restore(file.file.id, version.id)
        .await
        .map_err(collab_error)?;
    saved(&state, file, changed).await
}

/// The `{version_id}` of the path; anything but an id is "no such version".
fn version_id(params: &PathParams) -> Result<VersionId, ApiError> {
    params
        .uuid("version_id")
        .map(VersionId)
        .ok_or_else(|| ApiError::not_found("no such version"))
}
