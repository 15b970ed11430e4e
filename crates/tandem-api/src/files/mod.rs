//! Files and their collaborative documents: REST for the tree, the text and history, and
//! the Yjs WebSocket at `/api/v1/collab/{file_id}`.

mod access;
mod collab;
mod dto;
mod handlers;
mod socket;
mod upgrade;
mod versions;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::list_files, handlers::create_file))
        .routes(routes!(
            handlers::get_file,
            handlers::move_file,
            handlers::delete_file
        ))
        .routes(routes!(handlers::replace_content))
        .routes(routes!(versions::list_versions, versions::create_version))
        .routes(routes!(versions::get_version))
        .routes(routes!(versions::restore_version))
        .routes(routes!(collab::collab))
}
