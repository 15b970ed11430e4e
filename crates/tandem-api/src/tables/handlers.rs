//! Tables: `/api/v1/workspaces/{workspace_id}/tables` to create and list, and
//! `/api/v1/tables/{table_id}` to read, update and delete. Viewers read, editors create
//! and change, admins delete.

use axum::extract::State;
use axum::http::StatusCode;
use tandem_domain::{Action, Description, DomainEvent, FieldError, FieldId, LiveTable, TableId};
use tandem_store::{StoreError, TABLE_NAME_TAKEN, TableChanges};
use tandem_tables::field::FieldName;

use super::access::TableAccess;
use super::dto::{CreateTableRequest, TableView, UpdateTableRequest};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, Page, Pagination, WorkspaceAccess};
use crate::state::AppState;

/// Create a table in the workspace (editor or above); it starts with no fields.
#[utoipa::path(post, path = "/api/v1/workspaces/{workspace_id}/tables", tag = "tables",
    security(("bearer" = [])),
    params(("workspace_id" = Uuid, Path)),
    request_body = CreateTableRequest,
    responses(
        (status = 201, description = "The new table", body = TableView),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`table_name_taken`, `table_limit_reached`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_table(
    State(state): State<AppState>,
    ws: WorkspaceAccess,
    ApiJson(body): ApiJson<CreateTableRequest>,
) -> ApiResult<(StatusCode, ApiJson<TableView>)> {
    ws.access.require(Action::EditTables)?;
    let mut errors = Vec::new();
    let name = table_name(&body.name).map_err(|e| errors.push(e)).ok();
    let description = Description::parse(body.description.as_deref().unwrap_or(""))
        .map_err(|e| errors.push(e))
        .ok();
    let (Some(name), Some(description)) = (name, description) else {
        return Err(ApiError::Validation(errors));
    };
    let max = state.config.tables.max_tables_per_workspace;
    if state.store.count_tables(ws.workspace.id).await? >= max {
        return Err(ApiError::client(
            StatusCode::CONFLICT,
            "table_limit_reached",
            format!("a workspace holds at most {max} tables"),
        ));
    }
    let audit = ws.access.audit(&state);
    let table = LiveTable {
        id: TableId::new(audit.at),
        workspace_id: ws.workspace.id,
        name,
        description,
        primary_field_id: None,
        created_by: ws.access.user_id,
        created_at: audit.at,
        updated_at: audit.at,
    };
    state
        .store
        .create_table(&table, &audit)
        .await
        .map_err(name_taken)?;
    state
        .events
        .publish(ws.access.user_id, DomainEvent::TableCreated(table.clone()));
    Ok((StatusCode::CREATED, ApiJson(table.into())))
}

/// The workspace's tables, oldest first.
#[utoipa::path(get, path = "/api/v1/workspaces/{workspace_id}/tables", tag = "tables",
    security(("bearer" = [])),
    params(("workspace_id" = Uuid, Path), Pagination),
    responses(
        (status = 200, description = "One page of tables", body = Page<TableView>),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_tables(
    State(state): State<AppState>,
    ws: WorkspaceAccess,
    pagination: Pagination,
) -> ApiResult<ApiJson<Page<TableView>>> {
    ws.access.require(Action::ReadTables)?;
    let after = pagination.after()?.map(TableId);
    let rows = state
        .store
        .list_tables(ws.workspace.id, after, pagination.limit() + 1)
        .await?;
    Ok(ApiJson(pagination.page(rows, |t| t.id.0, TableView::from)))
}

/// A table.
#[utoipa::path(get, path = "/api/v1/tables/{table_id}", tag = "tables",
    security(("bearer" = [])),
    params(("table_id" = Uuid, Path)),
    responses(
        (status = 200, description = "The table", body = TableView),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_table(table: TableAccess) -> ApiResult<ApiJson<TableView>> {
    table.access.require(Action::ReadTables)?;
    Ok(ApiJson(table.table.into()))
}

/// Rename a table, describe it, or choose (or clear, with null) its primary field (editor
/// or above).
#[utoipa::path(patch, path = "/api/v1/tables/{table_id}", tag = "tables",
    security(("bearer" = [])),
    params(("table_id" = Uuid, Path)),
    request_body = UpdateTableRequest,
    responses(
        (status = 200, description = "The updated table", body = TableView),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`table_name_taken`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`, also when `primary_field_id` is not one of the table's fields", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_table(
    State(state): State<AppState>,
    table: TableAccess,
    ApiJson(body): ApiJson<UpdateTableRequest>,
) -> ApiResult<ApiJson<TableView>> {
    table.access.require(Action::EditTables)?;
    let mut errors = Vec::new();
    let name = body
        .name
        .as_deref()
        .map(table_name)
        .transpose()
        .map_err(|e| errors.push(e))
        .ok()
        .flatten();
    let description = body
        .description
        .as_deref()
        .map(Description::parse)
        .transpose()
        .map_err(|e| errors.push(e))
        .ok()
        .flatten();
    let primary_field_id = body.primary_field_id.map(|id| id.map(FieldId));
    if let Some(Some(field)) = primary_field_id {
        let own = state.store.field_by_id(field).await?;
        if own.is_none_or(|f| f.table_id != table.table.id) {
            errors.push(FieldError::new(
                "primary_field_id",
                "is not a field of this table",
            ));
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let changes = TableChanges {
        name,
        description,
        primary_field_id,
    };
    if changes.name.is_none() && changes.description.is_none() && changes.primary_field_id.is_none()
    {
        // Nothing to change: no write, no audit row, no event.
        return Ok(ApiJson(table.table.into()));
    }
    let updated = state
        .store
        .update_table(table.table.id, &changes, &table.access.audit(&state))
        .await
        .map_err(name_taken)?;
    state.events.publish(
        table.access.user_id,
        DomainEvent::TableUpdated(updated.clone()),
    );
    Ok(ApiJson(updated.into()))
}

/// Delete a table with its fields and rows (admin or owner).
#[utoipa::path(delete, path = "/api/v1/tables/{table_id}", tag = "tables",
    security(("bearer" = [])),
    params(("table_id" = Uuid, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_table(
    State(state): State<AppState>,
    table: TableAccess,
) -> ApiResult<StatusCode> {
    table.access.require(Action::DeleteTables)?;
    state
        .store
        .delete_table(table.table.id, &table.access.audit(&state))
        .await?;
    state
        .events
        .publish(table.access.user_id, DomainEvent::TableDeleted(table.table));
    Ok(StatusCode::NO_CONTENT)
}

/// A table's name: the field-name rules (1 to 255 characters, trimmed, no control
/// characters).
fn table_name(raw: &str) -> Result<FieldName, FieldError> {
    FieldName::parse(raw).map_err(|e| FieldError::new("name", name_message(&e)))
}

/// What a person reads about a refused table or field name.
pub(super) fn name_message(error: &tandem_tables::field::NameError) -> String {
    use tandem_tables::field::NameError;
    match error {
        NameError::Empty => "is required".to_owned(),
        other => other.to_string(),
    }
}

fn name_taken(err: StoreError) -> ApiError {
    match err {
        StoreError::Conflict(TABLE_NAME_TAKEN) => ApiError::client(
            StatusCode::CONFLICT,
            "table_name_taken",
            "the workspace has a table with this name already (names ignore case)",
        ),
        other => other.into(),
    }
}
