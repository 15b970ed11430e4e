//! Reading rows: `GET /api/v1/tables/{table_id}/rows` with PostgREST's URL grammar,
//! `POST …/rows/query` with its JSON twin, and one row by id.

use axum::extract::{RawQuery, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tandem_domain::{FieldError, RowId};
use tandem_store::CountMode;
use tandem_tables::bind::{BindError, bind};
use tandem_tables::query::{FieldsBy, Query, QueryError, parse_query_string};

use super::dto::{RowPageView, RowView};
use super::scope::RowScope;
use super::version::etag;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, PathParams};
use crate::state::AppState;

/// The page size when a query does not say.
pub const DEFAULT_PAGE: u32 = 100;
/// The most rows one page holds; a larger `limit` is lowered to it.
pub const MAX_PAGE: u32 = 1_000;

/// A page of rows: filters (`field=op.value`, `or=(…)`, `and=(…)`, `not.`), `order`,
/// `select`, `limit`, `cursor`, `fields_by`. `Prefer: count=exact|estimated` adds `count`.
#[utoipa::path(get, path = "/api/v1/tables/{table_id}/rows", tag = "tables",
    security(("bearer" = [])),
    params(("table_id" = Uuid, Path)),
    responses(
        (status = 200, description = "A page of rows", body = RowPageView),
        (status = 400, description = "`malformed_filter`, `unknown_operator`, `unknown_field`, `operator_not_allowed`, `invalid_value`, `invalid_cursor`, … (see docs/TABLES.md)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`query_timeout`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_rows(
    State(state): State<AppState>,
    scope: RowScope,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let query = parse_query_string(raw.as_deref().unwrap_or("")).map_err(query_error)?;
    run(&state, &scope, query, count_preference(&headers)).await
}

/// The same as `GET …/rows`, with the query as JSON (see docs/TABLES.md).
#[utoipa::path(post, path = "/api/v1/tables/{table_id}/rows/query", tag = "tables",
    security(("bearer" = [])),
    params(("table_id" = Uuid, Path)),
    request_body(content = Object, description = "`{filter, order, select, limit, cursor, fields_by}`"),
    responses(
        (status = 200, description = "A page of rows", body = RowPageView),
        (status = 400, description = "As for `GET …/rows`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`query_timeout`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn query_rows(
    State(state): State<AppState>,
    scope: RowScope,
    headers: HeaderMap,
    body: String,
) -> ApiResult<Response> {
    let query = Query::from_json(&body).map_err(query_error)?;
    run(&state, &scope, query, count_preference(&headers)).await
}

/// One row, with an `ETag` of its version.
#[utoipa::path(get, path = "/api/v1/tables/{table_id}/rows/{row_id}", tag = "tables",
    security(("bearer" = [])),
    params(("table_id" = Uuid, Path), ("row_id" = Uuid, Path),
        ("fields_by" = Option<String>, Query, description = "`name` (default) or `id`")),
    responses(
        (status = 200, description = "The row", body = RowView),
        (status = 404, description = "`not_found`, `row_not_found`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_row(
    State(state): State<AppState>,
    scope: RowScope,
    path: PathParams,
    by: FieldsByParam,
) -> ApiResult<Response> {
    let id = row_id(&path)?;
    let row = state
        .store
        .row_by_id(scope.table.table.id, &scope.fields, id, false)
        .await?
        .ok_or_else(row_not_found)?;
    let view = scope.view(&row, None, by.0);
    let mut response = ApiJson(view).into_response();
    response
        .headers_mut()
        .insert(header::ETAG, etag(row.version));
    Ok(response)
}

/// Binds, runs and renders one query.
async fn run(
    state: &AppState,
    scope: &RowScope,
    mut query: Query,
    count: Option<CountMode>,
) -> ApiResult<Response> {
    if query.search.is_some() {
        return Err(ApiError::client(
            StatusCode::BAD_REQUEST,
            "search_unavailable",
            "full-text search over a table is not available yet",
        ));
    }
    query.limit = Some(query.limit.unwrap_or(DEFAULT_PAGE).min(MAX_PAGE));
    let bound = bind(&scope.schema, &query).map_err(bind_error)?;
    let timeout = state.config.tables.query_timeout;
    let table = scope.table.table.id;
    let page = state
        .store
        .query_rows(table, &scope.fields, &bound, timeout)
        .await?;
    let total = match count {
        Some(mode) => Some(
            state
                .store
                .count_rows(table, &scope.fields, bound.filter.as_ref(), mode, timeout)
                .await?,
        ),
        None => None,
    };
    let items = page
        .rows
        .iter()
        .map(|row| scope.view(row, Some(&bound.select), query.fields_by))
        .collect();
    let view = RowPageView {
        items,
        next_cursor: page.next_cursor.map(|c| c.encode()),
        count: total,
    };
    let mut response = ApiJson(view).into_response();
    if let Some(mode) = count {
        let applied = match mode {
            CountMode::Exact => "count=exact",
            CountMode::Estimated => "count=estimated",
        };
        response
            .headers_mut()
            .insert("preference-applied", HeaderValue::from_static(applied));
    }
    Ok(response)
}

/// `Prefer: count=exact` or `count=estimated`, among other preferences; others are
/// ignored, as RFC 7240 asks.
fn count_preference(headers: &HeaderMap) -> Option<CountMode> {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split([',', ';']))
        .find_map(|p| match p.trim() {
            "count=exact" => Some(CountMode::Exact),
            "count=estimated" | "count=planned" => Some(CountMode::Estimated),
            _ => None,
        })
}

/// A query that does not parse: 400 with the query error's code, pointing at the
/// parameter (or JSON path) and the text at fault.
pub fn query_error(err: QueryError) -> ApiError {
    let errors = err
        .location()
        .map(|at| {
            vec![
                FieldError::new(
                    at.param.clone(),
                    format!("{err} (at byte {}: {:?})", at.offset, at.fragment),
                )
                .with_code(err.code()),
            ]
        })
        .unwrap_or_default();
    ApiError::pointed(StatusCode::BAD_REQUEST, err.code(), err.to_string(), errors)
}

/// A query that names what the table does not have, or tests a field in a way its
/// type has no sense for: 400 with the bind error's code.
pub fn bind_error(err: BindError) -> ApiError {
    ApiError::client(StatusCode::BAD_REQUEST, err.code(), err.to_string())
}

pub fn row_not_found() -> ApiError {
    ApiError::client(
        StatusCode::NOT_FOUND,
        "row_not_found",
        "no such row in this table",
    )
}

pub fn row_id(path: &PathParams) -> Result<RowId, ApiError> {
    path.uuid("row_id").map(RowId).ok_or_else(row_not_found)
}

/// `?fields_by=name|id` on reads of single rows; anything else is the default.
#[derive(Debug)]
pub struct FieldsByParam(pub FieldsBy);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for FieldsByParam {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let pairs = tandem_tables::query::decode_query_string(parts.uri.query().unwrap_or(""))
            .map_err(query_error)?;
        match pairs
            .iter()
            .find(|(k, _)| k == "fields_by")
            .map(|(_, v)| v.as_str())
        {
            None | Some("name") => Ok(Self(FieldsBy::Name)),
            Some("id") => Ok(Self(FieldsBy::Id)),
            Some(other) => Err(ApiError::pointed(
                StatusCode::BAD_REQUEST,
                "invalid_fields_by",
                format!("fields_by must be name or id, not {other:?}"),
                vec![
                    FieldError::new("fields_by", "must be name or id")
                        .with_code("invalid_fields_by"),
                ],
            )),
        }
    }
}
