//! Background jobs over HTTP: submit (idempotent by key), list, read, cancel, retry and
//! download artifacts; and the bridge that pushes job events to realtime channels.

mod access;
pub(crate) mod dto;
pub mod events;
mod handlers;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::submit_job, handlers::list_jobs))
        .routes(routes!(handlers::get_job))
        .routes(routes!(handlers::cancel_job))
        .routes(routes!(handlers::retry_job))
        .routes(routes!(handlers::get_artifact))
}
