//! Writing rows: create one or many, update one (conditionally with `If-Match`) or
//! many, and move rows to the trash and back. Every call is one transaction: all its
//! rows are written or none, and its event is published after the commit.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};
use tandem_domain::{FieldId, RowId};
use tandem_store::{NewRow, RowPatch, RowWriteError};
use tandem_tables::field::CellValue;

use super::dto::{
    CreateRowsRequest, RowIdsRequest, RowInput, RowView, RowsView, UpdateRowsRequest,
};
use super::events;
use super::read::{FieldsByParam, row_id, row_not_found};
use super::scope::RowScope;
use super::version::if_match;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, PathParams};
use crate::state::AppState;

/// The most rows one call writes.
pub const MAX_BATCH: usize = 1_000;

/// Create one row (`{fields}` → the row) or up to 1,000 (`{rows: [{fields}, …]}` →
/// `{items}`), all or none: one bad value and nothing is written.
#[utoipa::path(post, path = "/api/v1/tables/{table_id}/rows", tag = "tables",
    security(("bearer" = [])),
    params(("table_id" = Uuid, Path),
        ("fields_by" = Option<String>, Query, description = "How the answer keys cells: `name` (default) or `id`")),
    request_body = CreateRowsRequest,
    responses(
        (status = 201, description = "The row, or `{items}` for `rows`", body = RowView),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` (each error names `rows[i].fields.{key}` and its code: `unknown_field`, `wrong_type`, `value_too_large`, `read_only_field`, `not_a_member`, …), `too_many_rows`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_rows(
    State(state): State<AppState>,
    scope: RowScope,
    by: FieldsByParam,
    ApiJson(body): ApiJson<CreateRowsRequest>,
) -> ApiResult<Response> {
    scope.require_edit()?;
    let (written, one) = match body {
        CreateRowsRequest::One { fields } => (vec![(String::new(), fields)], true),
        CreateRowsRequest::Many { rows } => (
            rows.into_iter()
                .enumerate()
                .map(|(i, r)| (format!("rows[{i}]"), r.fields))
                .collect(),
            false,
        ),
    };
    check_batch(written.len())?;
    let cells = scope.check(&state, written).await?;
    let audit = scope.table.access.audit(&state);
    let rows: Vec<NewRow> = cells
        .into_iter()
        .map(|cells| NewRow {
            id: RowId::new(audit.at),
            cells,
        })
        .collect();
    let stored = state
        .store
        .insert_rows(scope.table.table.id, &scope.fields, &rows, &audit)
        .await
        .map_err(write_error)?;
    events::created(&state, &scope, &stored);
    let mut items: Vec<RowView> = stored.iter().map(|r| scope.view(r, None, by.0)).collect();
    let body = match (one, items.pop()) {
        (true, Some(row)) => ApiJson(row).into_response(),
        (_, last) => {
            items.extend(last);
            ApiJson(RowsView { items }).into_response()
        }
    };
    Ok((StatusCode::CREATED, body).into_response())
}

/// Write some cells of one row; the others keep their values, so two people editing
/// different cells of a row never undo each other. `If-Match: "<version>"` writes only
/// if the row is still at that version.
#[utoipa::path(patch, path = "/api/v1/tables/{table_id}/rows/{row_id}", tag = "tables",
    security(("bearer" = [])),
    params(("table_id" = Uuid, Path), ("row_id" = Uuid, Path),
        ("If-Match" = Option<String>, Header, description = "The row's version, e.g. `\"7\"`"),
        ("fields_by" = Option<String>, Query, description = "`name` (default) or `id`")),
    request_body = RowInput,
    responses(
        (status = 200, description = "The row as written", body = RowView),
        (status = 400, description = "`invalid_if_match`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`, `row_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "`precondition_failed`: the row changed since that version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_row(
    State(state): State<AppState>,
    scope: RowScope,
    path: PathParams,
    headers: HeaderMap,
    by: FieldsByParam,
    ApiJson(body): ApiJson<RowInput>,
) -> ApiResult<ApiJson<RowView>> {
    scope.require_edit()?;
    let id = row_id(&path)?;
    let if_version = if_match(&headers)?;
    let written = Written {
        id,
        if_version,
        path: String::new(),
        cells: body.fields,
    };
    let mut changes = patch(&state, &scope, vec![written]).await?;
    let change = changes.pop().ok_or_else(row_not_found)?;
    Ok(ApiJson(scope.view(&change, None, by.0)))
}

/// Update up to 1,000 rows, all or none; a row's `version`, when given, must still be
/// its version.
#[utoipa::path(patch, path = "/api/v1/tables/{table_id}/rows", tag = "tables",
    security(("bearer" = [])),
    params(("table_id" = Uuid, Path),
        ("fields_by" = Option<String>, Query, description = "`name` (default) or `id`")),
    request_body = UpdateRowsRequest,
    responses(
        (status = 200, description = "The rows as written, in the order given", body = RowsView),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`, `row_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "`precondition_failed`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`, `too_many_rows`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_rows(
    State(state): State<AppState>,
    scope: RowScope,
    by: FieldsByParam,
    ApiJson(body): ApiJson<UpdateRowsRequest>,
) -> ApiResult<ApiJson<RowsView>> {
    scope.require_edit()?;
    check_batch(body.rows.len())?;
    let updates = body
        .rows
        .into_iter()
        .enumerate()
        .map(|(i, r)| Written {
            id: r.id,
            if_version: r.version,
            path: format!("rows[{i}]"),
            cells: r.fields,
        })
        .collect();
    let rows = patch(&state, &scope, updates).await?;
    let items = rows.iter().map(|r| scope.view(r, None, by.0)).collect();
    Ok(ApiJson(RowsView { items }))
}

/// One row's update as the client wrote it.
struct Written {
    id: RowId,
    if_version: Option<i64>,
    /// Where the row is in the body, for errors (`rows[3]`, or empty for a body that is
    /// the one row).
    path: String,
    cells: Map<String, Value>,
}

/// Checks and writes patches, publishes one event for the call, and returns each row
/// as written.
async fn patch(
    state: &AppState,
    scope: &RowScope,
    updates: Vec<Written>,
) -> ApiResult<Vec<tandem_store::StoredRow>> {
    let mut heads = Vec::with_capacity(updates.len());
    let mut written = Vec::with_capacity(updates.len());
    for update in updates {
        heads.push((update.id, update.if_version));
        written.push((update.path, update.cells));
    }
    let cells: Vec<Vec<(FieldId, CellValue)>> = scope.check(state, written).await?;
    let patches: Vec<RowPatch> = heads
        .into_iter()
        .zip(cells)
        .map(|((id, if_version), cells)| RowPatch {
            id,
            if_version,
            cells,
        })
        .collect();
    let audit = scope.table.access.audit(state);
    let changes = state
        .store
        .update_rows(scope.table.table.id, &scope.fields, &patches, &audit)
        .await
        .map_err(write_error)?;
    events::updated(state, scope, &changes);
    Ok(changes.into_iter().map(|c| c.row).collect())
}

/// Move one row to the trash, from where it can be restored until the retention
/// period ends.
#[utoipa::path(delete, path = "/api/v1/tables/{table_id}/rows/{row_id}", tag = "tables",
    security(("bearer" = [])),
    params(("table_id" = Uuid, Path), ("row_id" = Uuid, Path)),
    responses(
        (status = 204, description = "In the trash"),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`, `row_not_found`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_row(
    State(state): State<AppState>,
    scope: RowScope,
    path: PathParams,
) -> ApiResult<StatusCode> {
    scope.require_edit()?;
    let id = row_id(&path)?;
    trash(&state, &scope, vec![id]).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Move up to 1,000 rows to the trash, all or none.
#[utoipa::path(post, path = "/api/v1/tables/{table_id}/rows/trash", tag = "tables",
    security(("bearer" = [])),
    params(("table_id" = Uuid, Path)),
    request_body = RowIdsRequest,
    responses(
        (status = 204, description = "In the trash"),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`, `row_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`, `too_many_rows`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn trash_rows(
    State(state): State<AppState>,
    scope: RowScope,
    ApiJson(body): ApiJson<RowIdsRequest>,
) -> ApiResult<StatusCode> {
    scope.require_edit()?;
    check_batch(body.ids.len())?;
    trash(&state, &scope, distinct(body.ids)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn trash(state: &AppState, scope: &RowScope, ids: Vec<RowId>) -> ApiResult<()> {
    let audit = scope.table.access.audit(state);
    let rows = state
        .store
        .trash_rows(scope.table.table.id, &scope.fields, &ids, &audit)
        .await
        .map_err(write_error)?;
    events::deleted(state, scope, &rows);
    Ok(())
}

/// Bring up to 1,000 rows back from the trash, all or none.
#[utoipa::path(post, path = "/api/v1/tables/{table_id}/rows/restore", tag = "tables",
    security(("bearer" = [])),
    params(("table_id" = Uuid, Path),
        ("fields_by" = Option<String>, Query, description = "`name` (default) or `id`")),
    request_body = RowIdsRequest,
    responses(
        (status = 200, description = "The rows restored", body = RowsView),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`, `row_not_found` (not in the trash)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`, `too_many_rows`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn restore_rows(
    State(state): State<AppState>,
    scope: RowScope,
    by: FieldsByParam,
    ApiJson(body): ApiJson<RowIdsRequest>,
) -> ApiResult<ApiJson<RowsView>> {
    scope.require_edit()?;
    check_batch(body.ids.len())?;
    let audit = scope.table.access.audit(&state);
    let rows = state
        .store
        .restore_rows(
            scope.table.table.id,
            &scope.fields,
            &distinct(body.ids),
            &audit,
        )
        .await
        .map_err(write_error)?;
    events::restored(&state, &scope, &rows);
    let items = rows.iter().map(|r| scope.view(r, None, by.0)).collect();
    Ok(ApiJson(RowsView { items }))
}

fn check_batch(len: usize) -> ApiResult<()> {
    if (1..=MAX_BATCH).contains(&len) {
        Ok(())
    } else {
        Err(ApiError::client(
            StatusCode::UNPROCESSABLE_ENTITY,
            "too_many_rows",
            format!("one call writes 1 to {MAX_BATCH} rows, not {len}"),
        ))
    }
}

fn distinct(mut ids: Vec<RowId>) -> Vec<RowId> {
    let mut seen = std::collections::HashSet::with_capacity(ids.len());
    ids.retain(|id| seen.insert(*id));
    ids
}

/// How a failed write of rows answers.
pub fn write_error(err: RowWriteError) -> ApiError {
    match err {
        RowWriteError::MissingRow(id) => ApiError::client(
            StatusCode::NOT_FOUND,
            "row_not_found",
            format!("the table has no row {id} where this call looks for it"),
        ),
        RowWriteError::Stale { row, current } => ApiError::client(
            StatusCode::PRECONDITION_FAILED,
            "precondition_failed",
            format!("row {row} has changed: it is at version {current}"),
        ),
        RowWriteError::Store(e) => e.into(),
    }
}
