//! Exporting rows: `GET /api/v1/tables/{table_id}/rows.csv` and `rows.json` stream every
//! row a query selects (all rows without one), a page at a time by keyset, so the
//! server holds one page however large the table. Filters, `order`, `select` and
//! `fields_by` work as on `GET …/rows`; `limit` and `cursor` do not apply.
//!
//! The export is not one snapshot: a row changed while it streams may show either
//! way, but keyset paging never repeats or skips a row that did not change.

use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::stream::{self, Stream};
use tandem_tables::bind::{BoundQuery, bind};
use tandem_tables::query::{Query, parse_query_string};
use tandem_tables::row::csv_text;

use super::read::{bind_error, query_error};
use super::scope::RowScope;
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

/// Rows per page fetched while streaming.
const EXPORT_PAGE: u32 = 1_000;

/// The export's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    /// RFC 4180 CSV: a header row of field names, then one line per row.
    Csv,
    /// A JSON array of rows as `GET …/rows` shows them.
    Json,
}

/// Every row the query selects, as CSV (header row of field names; options by name).
#[utoipa::path(get, path = "/api/v1/tables/{table_id}/rows.csv", tag = "tables",
    security(("bearer" = [])),
    params(("table_id" = Uuid, Path)),
    responses(
        (status = 200, description = "The rows as CSV, streamed", content_type = "text/csv"),
        (status = 400, description = "As for `GET …/rows`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn export_csv(
    State(state): State<AppState>,
    scope: RowScope,
    raw: RawQuery,
) -> ApiResult<Response> {
    export(state, scope, raw, Format::Csv).await
}

/// Every row the query selects, as one JSON array, streamed.
#[utoipa::path(get, path = "/api/v1/tables/{table_id}/rows.json", tag = "tables",
    security(("bearer" = [])),
    params(("table_id" = Uuid, Path)),
    responses(
        (status = 200, description = "A JSON array of rows, streamed", content_type = "application/json"),
        (status = 400, description = "As for `GET …/rows`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn export_json(
    State(state): State<AppState>,
    scope: RowScope,
    raw: RawQuery,
) -> ApiResult<Response> {
    export(state, scope, raw, Format::Json).await
}

async fn export(
    state: AppState,
    scope: RowScope,
    raw: RawQuery,
    format: Format,
) -> ApiResult<Response> {
    let mut query: Query =
        parse_query_string(raw.0.as_deref().unwrap_or("")).map_err(query_error)?;
    if query.limit.is_some() || query.cursor.is_some() || query.search.is_some() {
        return Err(ApiError::client(
            StatusCode::BAD_REQUEST,
            "export_parameter",
            "an export takes filters, order, select and fields_by; not limit, cursor or search",
        ));
    }
    query.limit = Some(EXPORT_PAGE);
    let bound = bind(&scope.schema, &query).map_err(bind_error)?;
    // The first page is fetched before answering, so a failing query still gets a
    // problem response rather than a cut-off body.
    let first = fetch(&state, &scope, &bound).await?;
    let (content_type, name) = match format {
        Format::Csv => ("text/csv; charset=utf-8", "rows.csv"),
        Format::Json => ("application/json", "rows.json"),
    };
    let head = match format {
        Format::Csv => csv_line(bound.select.iter().map(|f| f.name.as_str().to_owned())),
        Format::Json => b"[".to_vec(),
    };
    let body = pages(state, scope, query, bound, first, format, head);
    let mut response = Body::from_stream(body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

/// One fetched page: the rows' encoded bytes and the query for the next page.
type Fetched = (
    Vec<tandem_store::StoredRow>,
    Option<tandem_tables::query::Cursor>,
);

async fn fetch(state: &AppState, scope: &RowScope, bound: &BoundQuery) -> ApiResult<Fetched> {
    let page = state
        .store
        .query_rows(
            scope.table.table.id,
            &scope.fields,
            bound,
            state.config.tables.query_timeout,
        )
        .await?;
    Ok((page.rows, page.next_cursor))
}

/// What the export stream carries from one page to the next.
struct Export {
    state: AppState,
    scope: RowScope,
    query: Query,
    bound: BoundQuery,
    format: Format,
    /// The bytes that open the body, sent with the first page.
    head: Vec<u8>,
    /// The page to send next; `None` once the last one went.
    pending: Option<Fetched>,
    /// Whether a row went already (JSON separates rows with commas).
    sent_rows: bool,
}

/// The pages, encoded: each step sends one page and fetches the next, so one page is
/// held at a time. A failure part-way ends the body early (the status is already sent)
/// and is logged.
fn pages(
    state: AppState,
    scope: RowScope,
    query: Query,
    bound: BoundQuery,
    first: Fetched,
    format: Format,
    head: Vec<u8>,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> {
    let start = Export {
        state,
        scope,
        query,
        bound,
        format,
        head,
        pending: Some(first),
        sent_rows: false,
    };
    stream::unfold(start, |mut at| async move {
        let (rows, cursor) = at.pending.take()?;
        let mut bytes = std::mem::take(&mut at.head);
        at.encode(&rows, &mut bytes);
        match cursor {
            Some(cursor) => {
                at.query.cursor = Some(cursor);
                let next = match bind(&at.scope.schema, &at.query) {
                    Ok(bound) => {
                        at.bound = bound;
                        fetch(&at.state, &at.scope, &at.bound).await
                    }
                    Err(e) => Err(bind_error(e)),
                };
                match next {
                    Ok(page) => at.pending = Some(page),
                    Err(e) => {
                        tracing::warn!(error = %e, "an export stopped part-way");
                        return Some((Err(std::io::Error::other("the export stopped")), at));
                    }
                }
            }
            None if at.format == Format::Json => bytes.extend_from_slice(b"]"),
            None => {}
        }
        Some((Ok(Bytes::from(bytes)), at))
    })
}

impl Export {
    /// Appends a page of rows in the export's format.
    fn encode(&mut self, rows: &[tandem_store::StoredRow], out: &mut Vec<u8>) {
        for row in rows {
            let view = self
                .scope
                .view(row, Some(&self.bound.select), self.query.fields_by);
            match self.format {
                Format::Csv => {
                    let cells = self.bound.select.iter().map(|f| {
                        let key = match self.query.fields_by {
                            tandem_tables::query::FieldsBy::Name => f.name.as_str().to_owned(),
                            tandem_tables::query::FieldsBy::Id => f.id.to_string(),
                        };
                        view.fields
                            .get(&key)
                            .map_or_else(String::new, |v| csv_text(&f.field_type, v))
                    });
                    out.extend_from_slice(&csv_line(cells));
                }
                Format::Json => {
                    if self.sent_rows {
                        out.push(b',');
                    }
                    if serde_json::to_writer(&mut *out, &view).is_err() {
                        out.extend_from_slice(b"null");
                    }
                }
            }
            self.sent_rows = true;
        }
    }
}

/// One CSV record (RFC 4180 quoting, CRLF-terminated).
fn csv_line(cells: impl Iterator<Item = String>) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    // Writing to a Vec cannot fail; a record is only refused for I/O errors.
    let _ = writer.write_record(cells);
    writer.into_inner().unwrap_or_default()
}
