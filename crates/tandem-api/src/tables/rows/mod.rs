//! A live table's rows over HTTP: pages by query (PostgREST's URL grammar or its JSON
//! twin) with keyset cursors and opt-in counts, one row by id with its version as ETag,
//! create/update/trash/restore one or up to 1,000 rows per call (all or none), the
//! trash, and each row's history. Events go to the `table:{id}` channel after commit.

mod dto;
mod events;
mod export;
mod history;
pub mod import;
pub mod purge;
mod read;
mod scope;
mod version;
mod write;

pub use dto::{RowHistoryPage, RowHistoryView, RowPageView, RowView, RowsView};

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(
            read::list_rows,
            write::create_rows,
            write::update_rows
        ))
        .routes(routes!(read::query_rows))
        .routes(routes!(read::get_row, write::update_row, write::delete_row))
        .routes(routes!(write::trash_rows))
        .routes(routes!(write::restore_rows))
        .routes(routes!(history::row_history))
        .routes(routes!(history::list_trash))
        .routes(routes!(export::export_csv))
        .routes(routes!(export::export_json))
        .routes(routes!(import::preview_import))
        .routes(routes!(import::import_rows))
}
