//! Files: `/api/v1/workspaces/{workspace_id}/files` to list and create, and
//! `/api/v1/files/{file_id}` to read (with text), write the text, move and delete.

use axum::extract::State;
use axum::http::StatusCode;
use tandem_collab::CollabError;
use tandem_domain::{Action, DomainEvent, File, FileId, FilePath};
use tandem_store::StoreError;

use super::access::FileAccess;
use super::dto::{
    CreateFileRequest, FileContentView, FileView, MoveFileRequest, ReplaceContentRequest,
};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, Page, Pagination, WorkspaceAccess};
use crate::state::AppState;

/// The workspace's files, ordered by path (byte order), a page at a time.
#[utoipa::path(get, path = "/api/v1/workspaces/{workspace_id}/files", tag = "files",
    security(("bearer" = [])),
    params(("workspace_id" = Uuid, Path), Pagination),
    responses(
        (status = 200, description = "One page of files", body = Page<FileView>),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_files(
    State(state): State<AppState>,
    ws: WorkspaceAccess,
    pagination: Pagination,
) -> ApiResult<ApiJson<Page<FileView>>> {
    ws.access.require(Action::ReadWorkspace)?;
    let after = pagination
        .after_text()?
        .map(|path| FilePath::parse(&path, "cursor"))
        .transpose()
        .map_err(|e| ApiError::Validation(vec![e]))?;
    let rows = state
        .store
        .list_files(ws.workspace.id, after.as_ref(), pagination.limit() + 1)
        .await?;
    Ok(ApiJson(pagination.page_by_text(
        rows,
        |f| f.path.as_str(),
        FileView::from,
    )))
}

/// Create a file (editor or above), with optional initial text. Folders are implied by
/// paths.
#[utoipa::path(post, path = "/api/v1/workspaces/{workspace_id}/files", tag = "files",
    security(("bearer" = [])),
    params(("workspace_id" = Uuid, Path)),
    request_body = CreateFileRequest,
    responses(
        (status = 201, description = "The new file", body = FileView),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`file_path_taken`", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "`document_too_large`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_file(
    State(state): State<AppState>,
    ws: WorkspaceAccess,
    ApiJson(body): ApiJson<CreateFileRequest>,
) -> ApiResult<(StatusCode, ApiJson<FileView>)> {
    ws.access.require(Action::EditFiles)?;
    let path = FilePath::parse(&body.path, "path").map_err(|e| ApiError::Validation(vec![e]))?;
    let initial = body
        .content
        .as_deref()
        .and_then(tandem_collab::text::initial_update);
    if initial
        .as_ref()
        .is_some_and(|u| u.len() as u64 > state.collab.config.max_document_bytes)
    {
        return Err(too_large());
    }
    let audit = ws.access.audit(&state);
    let file = File {
        id: FileId::new(audit.at),
        workspace_id: ws.workspace.id,
        path,
        created_by: ws.access.user_id,
        created_at: audit.at,
        updated_at: audit.at,
    };
    state
        .store
        .create_file(&file, initial.as_deref(), &audit)
        .await
        .map_err(path_taken)?;
    state.events.publish(
        ws.access.user_id,
        DomainEvent::FileCreated {
            project_id: ws.workspace.project_id,
            file: file.clone(),
        },
    );
    Ok((StatusCode::CREATED, ApiJson(file.into())))
}

/// A file with its current text.
#[utoipa::path(get, path = "/api/v1/files/{file_id}", tag = "files",
    security(("bearer" = [])),
    params(("file_id" = Uuid, Path)),
    responses(
        (status = 200, description = "The file and its text", body = FileContentView),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_file(
    State(state): State<AppState>,
    file: FileAccess,
) -> ApiResult<ApiJson<FileContentView>> {
    file.access.require(Action::ReadWorkspace)?;
    let content = state
        .collab
        .text(file.file.id)
        .await
        .map_err(collab_error)?;
    Ok(ApiJson(FileContentView {
        file: file.file.into(),
        content,
    }))
}

/// Replace the file's text (editor or above) as one edit: live editors see it merged with
/// their own changes, not overwritten.
#[utoipa::path(put, path = "/api/v1/files/{file_id}/content", tag = "files",
    security(("bearer" = [])),
    params(("file_id" = Uuid, Path)),
    request_body = ReplaceContentRequest,
    responses(
        (status = 200, description = "The file and its new text", body = FileContentView),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "`document_too_large`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn replace_content(
    State(state): State<AppState>,
    file: FileAccess,
    ApiJson(body): ApiJson<ReplaceContentRequest>,
) -> ApiResult<ApiJson<FileContentView>> {
    file.access.require(Action::EditFiles)?;
    if body.content.len() as u64 > state.collab.config.max_document_bytes {
        return Err(too_large());
    }
    let changed = state
        .collab
        .replace_text(file.file.id, &body.content)
        .await
        .map_err(collab_error)?;
    saved(&state, file, changed).await
}

/// Move or rename a file (editor or above); paths are unique in a workspace.
#[utoipa::path(patch, path = "/api/v1/files/{file_id}", tag = "files",
    security(("bearer" = [])),
    params(("file_id" = Uuid, Path)),
    request_body = MoveFileRequest,
    responses(
        (status = 200, description = "The moved file", body = FileView),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`file_path_taken`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn move_file(
    State(state): State<AppState>,
    file: FileAccess,
    ApiJson(body): ApiJson<MoveFileRequest>,
) -> ApiResult<ApiJson<FileView>> {
    file.access.require(Action::EditFiles)?;
    let path = FilePath::parse(&body.path, "path").map_err(|e| ApiError::Validation(vec![e]))?;
    if path == file.file.path {
        return Ok(ApiJson(file.file.into()));
    }
    let moved = state
        .store
        .rename_file(file.file.id, &path, &file.access.audit(&state))
        .await
        .map_err(path_taken)?;
    state.events.publish(
        file.access.user_id,
        DomainEvent::FileRenamed {
            project_id: file.workspace.project_id,
            file: moved.clone(),
            from: file.file.path,
        },
    );
    Ok(ApiJson(moved.into()))
}

/// Delete a file with its history (editor or above); its open editors are disconnected.
#[utoipa::path(delete, path = "/api/v1/files/{file_id}", tag = "files",
    security(("bearer" = [])),
    params(("file_id" = Uuid, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_file(State(state): State<AppState>, file: FileAccess) -> ApiResult<StatusCode> {
    file.access.require(Action::EditFiles)?;
    state
        .store
        .delete_file(file.file.id, &file.access.audit(&state))
        .await?;
    state.collab.file_deleted(file.file.id).await;
    state.events.publish(
        file.access.user_id,
        DomainEvent::FileDeleted {
            project_id: file.workspace.project_id,
            workspace_id: file.workspace.id,
            file_id: file.file.id,
            path: file.file.path,
        },
    );
    Ok(StatusCode::NO_CONTENT)
}

/// Answers a text write: the file as it is now, and `file.saved` if the text changed.
pub(super) async fn saved(
    state: &AppState,
    file: FileAccess,
    changed: bool,
) -> ApiResult<ApiJson<FileContentView>> {
    let current = state
        .store
        .file_by_id(file.file.id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such file"))?;
    if changed {
        state.events.publish(
            file.access.user_id,
            DomainEvent::FileSaved {
                project_id: file.workspace.project_id,
                file: current.clone(),
            },
        );
    }
    let content = state.collab.text(current.id).await.map_err(collab_error)?;
    Ok(ApiJson(FileContentView {
        file: current.into(),
        content,
    }))
}

fn too_large() -> ApiError {
    ApiError::client(
        StatusCode::PAYLOAD_TOO_LARGE,
        "document_too_large",
        "the text is larger than the document size limit",
    )
}

pub(super) fn collab_error(error: CollabError) -> ApiError {
    match error {
        CollabError::NotFound => ApiError::not_found("no such file"),
        CollabError::TooLarge => too_large(),
        // Only peers' updates are checked for integrity; the server's are made from the
        // stored document.
        CollabError::BadUpdate | CollabError::Unintegrable(_) => {
            ApiError::Internal(anyhow::anyhow!("the server made a bad update"))
        }
        CollabError::Store(error) => error.into(),
    }
}

fn path_taken(err: StoreError) -> ApiError {
    match err {
        StoreError::Conflict("files.path") => ApiError::client(
            StatusCode::CONFLICT,
            "file_path_taken",
            "the workspace has a file at this path already",
        ),
        other => other.into(),
    }
}
