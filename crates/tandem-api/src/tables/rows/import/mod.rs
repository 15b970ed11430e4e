//! CSV import into a live table: `POST …/import/preview` shows what an import would do
//! and writes nothing; `POST …/import` creates the missing fields (of the inferred
//! types) and queues a `table_import` job that inserts the rows (see [`job`]). Both take
//! the CSV as a `text/csv` body of at most `tables_import_max_bytes`, read here with
//! that limit instead of the JSON body limit. Every cell is checked before anything is
//! written: one refused cell and the import is refused whole.

mod dto;
mod job;
mod plan;

pub use dto::{ColumnPreview, ImportPreview, ImportQuery, SampleRow};
pub use job::{ImportPayload, KIND, TableImport, row_id};

use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use serde_json::{Map, Value};
use tandem_jobs::{Submission, SubmitError};
use tandem_store::Enqueued;
use tandem_tables::field::FieldType;
use tandem_tables::import::{Csv, CsvError, parse};

use self::plan::{Target, cell_error, check_cell, check_rows, strangers, targets};
use super::scope::RowScope;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::ApiJson;
use crate::jobs::dto::JobView;
use crate::state::AppState;
use crate::tables::fields::add_field;

/// Rows a preview shows.
const SAMPLE_ROWS: usize = 20;

/// See what importing a CSV would do (editor or above): where each column goes, the
/// first rows as they would be stored with every refused cell and its code, and the row
/// count. Nothing is written.
#[utoipa::path(post, path = "/api/v1/tables/{table_id}/import/preview", tag = "tables",
    security(("bearer" = [])),
    params(("table_id" = Uuid, Path), ImportQuery),
    request_body(content = String, content_type = "text/csv"),
    responses(
        (status = 200, description = "What the import would do", body = ImportPreview),
        (status = 400, description = "`invalid_query`: `create_fields` is not `true` or `false`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "`import_too_large`", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: the body is not `text/csv`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`csv_empty`, `csv_invalid_utf8`, `csv_ragged_row`, `csv_malformed`, `csv_invalid_column_name`, `csv_duplicate_column`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn preview_import(
    State(state): State<AppState>,
    scope: RowScope,
    query: Result<Query<ImportQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<ApiJson<ImportPreview>> {
    scope.require_edit()?;
    let create = create_fields(query)?;
    let csv = read_csv(&state, &headers, body).await?;
    let targets = targets(&csv, &scope.fields, create);
    let types: Vec<Option<&FieldType>> = targets.iter().map(Target::field_type).collect();
    let limits = state.config.tables.limits;
    let (_, errors, invalid_cells) = check_rows(&csv, &types, &limits);
    let sample = csv
        .rows
        .iter()
        .take(SAMPLE_ROWS)
        .enumerate()
        .map(|(r, row)| {
            let mut fields = Map::new();
            let mut errors = Vec::new();
            for (c, field_type) in types.iter().enumerate() {
                let Some(field_type) = field_type else {
                    continue;
                };
                let value = match check_cell(field_type, &row[c], &limits) {
                    Ok(value) => value.to_json(),
                    Err(error) => {
                        errors.push(cell_error(&csv, r, c, &error));
                        Value::Null
                    }
                };
                fields.insert(csv.columns[c].as_str().to_owned(), value);
            }
            SampleRow {
                line: csv.lines[r],
                fields,
                errors,
            }
        })
        .collect();
    let columns = targets
        .into_iter()
        .zip(&csv.columns)
        .map(|(target, column)| {
            let mut preview = ColumnPreview {
                column: column.as_str().to_owned(),
                field: None,
                create: None,
                skipped: None,
            };
            match target {
                Target::Existing(field) => preview.field = Some(field.into()),
                Target::Create(field_type) => preview.create = Some(field_type),
                Target::Skip(why) => preview.skipped = Some(why),
            }
            preview
        })
        .collect();
    Ok(ApiJson(ImportPreview {
        rows: csv.rows.len(),
        columns,
        sample,
        invalid_cells,
        errors,
    }))
}

/// Import a CSV (editor or above): every cell is checked first (one refused cell and
/// nothing is written), then the missing fields are created with the inferred types
/// (unless `create_fields=false`) and a `table_import` job is queued to insert the rows,
/// 1,000 per transaction, reporting `{rows_done, rows_total}` as it goes.
#[utoipa::path(post, path = "/api/v1/tables/{table_id}/import", tag = "tables",
    security(("bearer" = [])),
    params(("table_id" = Uuid, Path), ImportQuery),
    request_body(content = String, content_type = "text/csv"),
    responses(
        (status = 202, description = "The `table_import` job, queued", body = JobView),
        (status = 400, description = "`invalid_query`: `create_fields` is not `true` or `false`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`field_limit_reached`, `field_name_taken`", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "`import_too_large`", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`import_invalid_cells` (`errors` names each refused cell, `rows[i].{column}`, with its code), or a CSV code as for the preview", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn import_rows(
    State(state): State<AppState>,
    scope: RowScope,
    query: Result<Query<ImportQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, ApiJson<JobView>)> {
    scope.require_edit()?;
    let create = create_fields(query)?;
    let bytes = read_body(&state, &headers, body).await?;
    let csv = parse(&bytes).map_err(csv_error)?;
    let targets = targets(&csv, &scope.fields, create);
    let types: Vec<Option<&FieldType>> = targets.iter().map(Target::field_type).collect();
    let (checked, errors, count) = check_rows(&csv, &types, &state.config.tables.limits);
    let project = scope.table.access.project_id;
    let errors = if count == 0 {
        strangers(state.store.as_ref(), project, &csv, &checked).await?
    } else {
        errors
    };
    if !errors.is_empty() {
        return Err(ApiError::invalid("import_invalid_cells", errors));
    }
    let creating = targets
        .iter()
        .filter(|t| matches!(t, Target::Create(_)))
        .count();
    let max = state.config.tables.max_fields_per_table;
    if (scope.fields.len() + creating) as u64 > max {
        return Err(ApiError::client(
            StatusCode::CONFLICT,
            "field_limit_reached",
            format!("a table holds at most {max} fields; this import would add {creating}"),
        ));
    }
    let mut columns = Vec::with_capacity(targets.len());
    for (target, name) in targets.into_iter().zip(&csv.columns) {
        columns.push(match target {
            Target::Existing(field) => Some(field.id.0),
            Target::Create(field_type) => Some(
                add_field(&state, &scope.table, name.clone(), field_type, false)
                    .await?
                    .id
                    .0,
            ),
            Target::Skip(_) => None,
        });
    }
    let payload = ImportPayload {
        table_id: scope.table.table.id.0,
        columns,
        // Read as UTF-8 by `parse` already, so nothing is replaced.
        csv: String::from_utf8_lossy(&bytes).into_owned(),
    };
    let submission = Submission {
        project_id: project,
        created_by: scope.table.access.user_id,
        kind: KIND.to_owned(),
        payload: serde_json::to_value(payload).map_err(|e| ApiError::Internal(e.into()))?,
        priority: None,
        run_at: None,
        max_attempts: None,
        idempotency_key: None,
    };
    match state.jobs.queue.submit(submission).await {
        Ok(Enqueued::Created(job) | Enqueued::Existing(job)) => {
            Ok((StatusCode::ACCEPTED, ApiJson(job.into())))
        }
        Err(SubmitError::Invalid(errors)) => Err(ApiError::Validation(errors)),
        Err(SubmitError::Store(error)) => Err(error.into()),
        Err(SubmitError::IdempotencyKeyMismatch) => Err(ApiError::Internal(anyhow::anyhow!(
            "an import without an idempotency key met a mismatch"
        ))),
    }
}

fn create_fields(query: Result<Query<ImportQuery>, QueryRejection>) -> ApiResult<bool> {
    let Query(query) = query
        .map_err(|e| ApiError::client(StatusCode::BAD_REQUEST, "invalid_query", e.body_text()))?;
    Ok(query.create_fields.unwrap_or(true))
}

async fn read_csv(state: &AppState, headers: &HeaderMap, body: Body) -> ApiResult<Csv> {
    let bytes = read_body(state, headers, body).await?;
    parse(&bytes).map_err(csv_error)
}

/// The `text/csv` body, at most `tables_import_max_bytes`.
async fn read_body(state: &AppState, headers: &HeaderMap, body: Body) -> ApiResult<Bytes> {
    let csv = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("text/csv"));
    if !csv {
        return Err(ApiError::client(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "an import's body is a CSV: Content-Type: text/csv",
        ));
    }
    let max = state.config.tables.import_max_bytes;
    axum::body::to_bytes(body, max).await.map_err(|_| {
        ApiError::client(
            StatusCode::PAYLOAD_TOO_LARGE,
            "import_too_large",
            format!("an import takes at most {max} bytes of CSV"),
        )
    })
}

fn csv_error(error: CsvError) -> ApiError {
    ApiError::client(
        StatusCode::UNPROCESSABLE_ENTITY,
        error.code(),
        error.to_string(),
    )
}
