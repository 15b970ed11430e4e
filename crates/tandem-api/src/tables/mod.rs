//! Live tables over HTTP: a workspace's tables (`/workspaces/{id}/tables`, `/tables/{id}`)
//! and their typed fields (`/tables/{id}/fields`, `/fields/{id}`), with type changes that
//! convert the stored cells, a dry run that counts what a change would empty, and the
//! limits a deployment sets; and their rows (`/tables/{id}/rows…`, see [`rows`]).
//! Changes are announced on the `table:{id}` channel.

mod access;
mod dto;
mod field_type;
pub(crate) mod fields;
mod handlers;
pub mod rows;

use std::time::Duration;

use axum::extract::DefaultBodyLimit;

use tandem_tables::field::Limits;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// The limits of live tables a deployment sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TablesConfig {
    /// The most tables one workspace holds (409 `table_limit_reached` past it).
    pub max_tables_per_workspace: u64,
    /// The most fields one table holds (409 `field_limit_reached` past it).
    pub max_fields_per_table: u64,
    /// The bounds one cell keeps; a type change converts values within them.
    pub limits: Limits,
    /// How long one query of rows may run before it is cancelled (503 `query_timeout`).
    pub query_timeout: Duration,
    /// How long a row stays in the trash before it is deleted for good.
    pub trash_retention: Duration,
    /// The largest body of a request that writes rows (up to 1,000 per call), which
    /// may exceed the general `body_limit_bytes`.
    pub max_body_bytes: usize,
    /// The largest CSV one import takes, in bytes (413 `import_too_large` past it).
    pub import_max_bytes: usize,
}

impl Default for TablesConfig {
    fn default() -> Self {
        Self {
            max_tables_per_workspace: 500,
            max_fields_per_table: 500,
            limits: Limits::default(),
            query_timeout: Duration::from_secs(5),
            trash_retention: Duration::from_secs(30 * 24 * 3600),
            max_body_bytes: 16 * 1024 * 1024,
            import_max_bytes: 20 * 1024 * 1024,
        }
    }
}

pub fn router(state: &AppState) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::create_table, handlers::list_tables))
        .routes(routes!(
            handlers::get_table,
            handlers::update_table,
            handlers::delete_table
        ))
        .routes(routes!(fields::create_field, fields::list_fields))
        .routes(routes!(
            fields::get_field,
            fields::update_field,
            fields::delete_field
        ))
        .merge(rows::router().layer(DefaultBodyLimit::max(state.config.tables.max_body_bytes)))
}
