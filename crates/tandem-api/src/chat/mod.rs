//! Chat over HTTP: rooms in a project (public or private), joining and leaving, messages
//! with per-room seqs and idempotent posting, history pages, edits, tombstones and read
//! markers with unread and mention counts, receipts, reactions, invite tokens and search.

pub(crate) mod access;
pub(crate) mod dto;
pub(crate) mod messages;
mod rooms;
pub(crate) mod social;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(rooms::create_room, rooms::list_rooms))
        .routes(routes!(
            rooms::get_room,
            rooms::update_room,
            rooms::delete_room
        ))
        .routes(routes!(rooms::join_room))
        .routes(routes!(rooms::leave_room))
        .routes(routes!(rooms::list_room_members))
        .routes(routes!(rooms::remove_room_member))
        .routes(routes!(messages::post_message, messages::list_messages))
        .routes(routes!(messages::edit_message, messages::delete_message))
        .routes(routes!(messages::mark_read))
        .routes(routes!(social::receipts))
        .routes(routes!(social::react))
        .routes(routes!(social::create_invite, social::list_invites))
        .routes(routes!(social::revoke_invite))
        .routes(routes!(social::accept_invite))
        .routes(routes!(social::search))
}
