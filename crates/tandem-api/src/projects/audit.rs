//! `GET /api/v1/projects/{project_id}/audit`: the project's audit log (admin or owner),
//! filtered by action, actor and time. There is no way to change it through the API.
#![expect(
    unused_qualifications,
    reason = "utoipa's path macro qualifies the second IntoParams type of an operation"
)]

use axum::extract::{Query, State};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use tandem_domain::{Action, AuditFilter, AuditId, UserId};
use utoipa::IntoParams;
use uuid::Uuid;

use super::dto::AuditView;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, Page, Pagination, ProjectAccess};
use crate::state::AppState;

/// Filters of the audit log.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only this action, e.g. `member.role_changed`.
    pub action: Option<String>,
    /// Only changes by this user.
    pub actor: Option<Uuid>,
    /// Only changes at or after this time (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Only changes before this time (RFC 3339).
    pub until: Option<DateTime<Utc>>,
}

/// The project's audit log, oldest first.
#[utoipa::path(get, path = "/api/v1/projects/{project_id}/audit", tag = "audit",
    security(("bearer" = [])),
    params(("project_id" = Uuid, Path), AuditQuery, Pagination),
    responses(
        (status = 200, description = "One page of audit entries", body = Page<AuditView>),
        (status = 400, description = "`invalid_query`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_audit(
    State(state): State<AppState>,
    access: ProjectAccess,
    filter: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
    pagination: Pagination,
) -> ApiResult<ApiJson<Page<AuditView>>> {
    access.require(Action::ReadAuditLog)?;
    let Query(query) = filter.map_err(|e| {
        ApiError::client(
            axum::http::StatusCode::BAD_REQUEST,
            "invalid_query",
            e.body_text(),
        )
    })?;
    let filter = AuditFilter {
        action: query.action,
        actor: query.actor.map(UserId),
        since: query.since,
        until: query.until,
    };
    let after = pagination.after()?.map(AuditId);
    let rows = state
        .store
        .list_audit(access.project_id, &filter, after, pagination.limit() + 1)
        .await?;
    Ok(ApiJson(pagination.page(rows, |e| e.id.0, AuditView::from)))
}
