//! `RoomAccess`: a room named in the path, with the caller's standing in its project and
//! in the room. A private room the caller is not in answers 404, exactly like a room that
//! does not exist, and so does any room of a project they are not a member of.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use tandem_domain::{Action, Role, Room, RoomId, RoomMember, Visibility};

use crate::error::ApiError;
use crate::extract::{Actor, PathParams, ProjectAccess};
use crate::state::AppState;

#[derive(Debug, Clone)]
pub struct RoomAccess {
    pub room: Room,
    pub access: ProjectAccess,
    /// The caller's membership of the room, if they joined it.
    pub member: Option<RoomMember>,
}

pub fn room_not_found() -> ApiError {
    ApiError::not_found("no such room")
}

impl RoomAccess {
    pub async fn load(state: &AppState, actor: Actor, id: RoomId) -> Result<Self, ApiError> {
        let room = state
            .store
            .room_by_id(id)
            .await?
            .ok_or_else(room_not_found)?;
        let access = ProjectAccess::load(state, actor, room.project_id)
            .await
            .map_err(|_| room_not_found())?;
        access.require(Action::ReadProject)?;
        let member = state.store.room_member(room.id, access.user_id).await?;
        if room.visibility == Visibility::Private && member.is_none() {
            return Err(room_not_found());
        }
        Ok(Self {
            room,
            access,
            member,
        })
    }

    /// Renaming, archiving, deleting, removing members, inviting: the room's creator and
    /// the project's admins.
    pub fn require_manage(&self) -> Result<(), ApiError> {
        if self.room.created_by == Some(self.access.user_id) || self.access.role >= Role::Admin {
            Ok(())
        } else {
            Err(forbidden("only the room's creator or an admin may do this"))
        }
    }

    /// Posting and reacting: a member of the room whose project role may post here
    /// (viewers only where the room allows it), in a room that is not archived.
    pub fn require_post(&self) -> Result<&RoomMember, ApiError> {
        let member = self
            .member
            .as_ref()
            .ok_or_else(|| forbidden("join the room first"))?;
        if self.access.role < Role::Editor && !self.room.viewers_can_post {
            return Err(forbidden("viewers may read this room but not post in it"));
        }
        if self.room.archived_at.is_some() {
            return Err(ApiError::client(
                StatusCode::CONFLICT,
                "room_archived",
                "the room is archived",
            ));
        }
        Ok(member)
    }

    /// Read markers: members only.
    pub fn require_member(&self) -> Result<&RoomMember, ApiError> {
        self.member
            .as_ref()
            .ok_or_else(|| forbidden("join the room first"))
    }
}

fn forbidden(detail: &str) -> ApiError {
    ApiError::client(StatusCode::FORBIDDEN, "forbidden", detail)
}

impl FromRequestParts<AppState> for RoomAccess {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let actor = Actor::from_request_parts(parts, state).await?;
        let id = PathParams::read(parts)
            .await
            .uuid("room_id")
            .ok_or_else(room_not_found)?;
        Self::load(state, actor, RoomId(id)).await
    }
}
