//! `TableAccess` and `FieldAccess`: a live table, or one of its fields, named in the path,
//! with the caller's access to its workspace's project. A table in a project the caller
//! is not a member of answers 404, exactly like one that does not exist; so does a field
//! of such a table.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use tandem_domain::{FieldId, LiveTable, TableField, TableId};

use crate::error::ApiError;
use crate::extract::{Actor, PathParams, ProjectAccess};
use crate::state::AppState;

#[derive(Debug, Clone)]
pub struct TableAccess {
    pub table: LiveTable,
    pub access: ProjectAccess,
}

pub fn table_not_found() -> ApiError {
    ApiError::not_found("no such table")
}

pub fn field_not_found() -> ApiError {
    ApiError::not_found("no such field")
}

/// A 404 about what the caller named, not about the project or table behind it; any
/// other failure as it is.
fn not_found_as(error: ApiError, named: fn() -> ApiError) -> ApiError {
    if error.status() == StatusCode::NOT_FOUND {
        named()
    } else {
        error
    }
}

impl TableAccess {
    /// Loads `table` and the caller's access to it; 404 for a table they cannot see.
    pub async fn load(state: &AppState, actor: Actor, table: TableId) -> Result<Self, ApiError> {
        let table = state
            .store
            .table_by_id(table)
            .await?
            .ok_or_else(table_not_found)?;
        let workspace = state
            .store
            .workspace_by_id(table.workspace_id)
            .await?
            .ok_or_else(table_not_found)?;
        let access = ProjectAccess::load(state, actor, workspace.project_id)
            .await
            .map_err(|e| not_found_as(e, table_not_found))?;
        Ok(Self { table, access })
    }
}

impl FromRequestParts<AppState> for TableAccess {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let actor = Actor::from_request_parts(parts, state).await?;
        let id = PathParams::read(parts)
            .await
            .uuid("table_id")
            .ok_or_else(table_not_found)?;
        Self::load(state, actor, TableId(id)).await
    }
}

/// A field named in the path, with its table and the caller's access to it.
#[derive(Debug, Clone)]
pub struct FieldAccess {
    pub field: TableField,
    pub table: TableAccess,
}

impl FromRequestParts<AppState> for FieldAccess {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let actor = Actor::from_request_parts(parts, state).await?;
        let id = PathParams::read(parts)
            .await
            .uuid("field_id")
            .ok_or_else(field_not_found)?;
        let field = state
            .store
            .field_by_id(FieldId(id))
            .await?
            .ok_or_else(field_not_found)?;
        let table = TableAccess::load(state, actor, field.table_id)
            .await
            .map_err(|e| not_found_as(e, field_not_found))?;
        Ok(Self { field, table })
    }
}
