//! A row's history and a table's trash: `GET …/rows/{row_id}/history` (each change with
//! its actor, time and per field before/after, newest first) and `GET …/trash`.

use axum::extract::State;
use serde_json::{Map, Value, json};
use tandem_store::RowHistoryEntry;

use super::dto::{RowHistoryPage, RowHistoryView, RowPageView};
use super::read::{FieldsByParam, row_id, row_not_found};
use super::scope::RowScope;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, Pagination, PathParams};
use crate::state::AppState;

/// A row's changes, newest first, ending with its creation. Pages by version: pass
/// `next_cursor` as `cursor`.
#[utoipa::path(get, path = "/api/v1/tables/{table_id}/rows/{row_id}/history", tag = "tables",
    security(("bearer" = [])),
    params(("table_id" = Uuid, Path), ("row_id" = Uuid, Path), Pagination),
    responses(
        (status = 200, description = "The row's history", body = RowHistoryPage),
        (status = 404, description = "`not_found`, `row_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` (a bad cursor or limit)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn row_history(
    State(state): State<AppState>,
    scope: RowScope,
    path: PathParams,
    page: Pagination,
) -> ApiResult<ApiJson<RowHistoryPage>> {
    let id = row_id(&path)?;
    let table = scope.table.table.id;
    let row = state
        .store
        .row_by_id(table, &scope.fields, id, true)
        .await?
        .ok_or_else(row_not_found)?;
    let before = match page.after_text()? {
        Some(text) => Some(
            text.parse::<i64>()
                .map_err(|_| ApiError::field("cursor", "is not a cursor this server issued"))?,
        ),
        None => None,
    };
    let entries = state
        .store
        .row_history(table, id, before, page.limit() + 1)
        .await?;
    let mut items: Vec<RowHistoryView> = entries.iter().map(|e| entry_view(&scope, e)).collect();
    // Creation is the last entry of every history; it shows once the store has no
    // older change to give.
    if entries.len() <= page.limit() as usize && before.is_none_or(|b| b > 1) {
        items.push(RowHistoryView {
            version: 1,
            action: "created".into(),
            actor: row.created_by,
            at: row.created_at,
            changes: Map::new(),
        });
    }
    let limit = page.limit() as usize;
    let next_cursor = (items.len() > limit).then(|| {
        items.truncate(limit);
        text_cursor(&items[limit - 1].version.to_string())
    });
    Ok(ApiJson(RowHistoryPage { items, next_cursor }))
}

fn entry_view(scope: &RowScope, entry: &RowHistoryEntry) -> RowHistoryView {
    let changes = entry
        .changes
        .iter()
        .map(|(field, (before, after))| {
            let name = scope
                .fields
                .iter()
                .find(|f| f.id == *field)
                .map_or(Value::Null, |f| Value::String(f.name.as_str().to_owned()));
            (
                field.to_string(),
                json!({"name": name, "before": before, "after": after}),
            )
        })
        .collect();
    RowHistoryView {
        version: entry.version,
        action: entry.action.as_str().to_owned(),
        actor: entry.actor,
        at: entry.at,
        changes,
    }
}

/// The table's trash, most recently trashed first.
#[utoipa::path(get, path = "/api/v1/tables/{table_id}/trash", tag = "tables",
    security(("bearer" = [])),
    params(("table_id" = Uuid, Path), Pagination,
        ("fields_by" = Option<String>, Query, description = "`name` (default) or `id`")),
    responses(
        (status = 200, description = "Rows in the trash, with `deleted_at`", body = RowPageView),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` (a bad cursor or limit)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_trash(
    State(state): State<AppState>,
    scope: RowScope,
    page: Pagination,
    by: FieldsByParam,
) -> ApiResult<ApiJson<RowPageView>> {
    let after = match page.after_text()? {
        Some(text) => Some(trash_cursor(&text)?),
        None => None,
    };
    let limit = page.limit() as usize;
    let mut rows = state
        .store
        .list_trash(scope.table.table.id, &scope.fields, after, page.limit() + 1)
        .await?;
    let next_cursor = if rows.len() > limit {
        rows.truncate(limit);
        let last = &rows[limit - 1];
        last.deleted_at
            .map(|at| text_cursor(&format!("{}|{}", at.to_rfc3339(), last.id)))
    } else {
        None
    };
    let items = rows.iter().map(|r| scope.view(r, None, by.0)).collect();
    Ok(ApiJson(RowPageView {
        items,
        next_cursor,
        count: None,
    }))
}

fn trash_cursor(
    text: &str,
) -> Result<(chrono::DateTime<chrono::Utc>, tandem_domain::RowId), ApiError> {
    let bad = || ApiError::field("cursor", "is not a cursor this server issued");
    let (at, id) = text.split_once('|').ok_or_else(bad)?;
    let at = chrono::DateTime::parse_from_rfc3339(at).map_err(|_| bad())?;
    let id = uuid::Uuid::try_parse(id).map_err(|_| bad())?;
    Ok((at.with_timezone(&chrono::Utc), tandem_domain::RowId(id)))
}

/// A cursor over a text key, in the encoding `Pagination::after_text` reads.
fn text_cursor(key: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key)
}
