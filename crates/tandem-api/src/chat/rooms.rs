//! Rooms: `/api/v1/projects/{project_id}/rooms` to create and list (with the caller's
//! unread and mention counts), `/api/v1/rooms/{room_id}` to read, update and delete, and
//! joining, leaving and the member list.

use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use tandem_domain::{
    Action, DomainEvent, Name, Room, RoomId, RoomMembership, Topic, UserId, Visibility,
};

use super::access::RoomAccess;
use super::dto::{CreateRoomRequest, RoomMemberView, RoomView, UpdateRoomRequest};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, PathParams, ProjectAccess};
use crate::state::AppState;

/// The most rooms one project may have.
pub const MAX_ROOMS_PER_PROJECT: u64 = 1_000;

/// Create a room (editor or above); its creator is its first member.
#[utoipa::path(post, path = "/api/v1/projects/{project_id}/rooms", tag = "chat",
    security(("bearer" = [])),
    params(("project_id" = Uuid, Path)),
    request_body = CreateRoomRequest,
    responses(
        (status = 201, description = "The new room", body = RoomView),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`room_limit_reached`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_room(
    State(state): State<AppState>,
    access: ProjectAccess,
    ApiJson(body): ApiJson<CreateRoomRequest>,
) -> ApiResult<(StatusCode, ApiJson<RoomView>)> {
    access.require(Action::CreateRooms)?;
    let mut errors = Vec::new();
    let name = Name::parse(&body.name, "name")
        .map_err(|e| errors.push(e))
        .ok();
    let topic = Topic::parse(body.topic.as_deref().unwrap_or(""), "topic")
        .map_err(|e| errors.push(e))
        .ok();
    let visibility = Visibility::parse(&body.visibility, "visibility")
        .map_err(|e| errors.push(e))
        .ok();
    let (Some(name), Some(topic), Some(visibility)) = (name, topic, visibility) else {
        return Err(ApiError::Validation(errors));
    };
    if state.store.count_rooms(access.project_id).await? >= MAX_ROOMS_PER_PROJECT {
        return Err(ApiError::client(
            StatusCode::CONFLICT,
            "room_limit_reached",
            format!("a project has at most {MAX_ROOMS_PER_PROJECT} rooms"),
        ));
    }
    let now = state.clock.now();
    let room = Room {
        id: RoomId::new(now),
        project_id: access.project_id,
        name,
        topic,
        visibility,
        viewers_can_post: body.viewers_can_post,
        created_by: Some(access.user_id),
        archived_at: None,
        last_seq: 0,
        created_at: now,
        updated_at: now,
    };
    state.store.create_room(&room).await?;
    state
        .events
        .publish(access.user_id, DomainEvent::RoomCreated(room.clone()));
    let member = state.store.room_member(room.id, access.user_id).await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(RoomView::new(room, member.as_ref())),
    ))
}

/// The project's rooms the caller can see (public ones, and private ones they are in),
/// each with the caller's read marker, unread count and mention count.
#[utoipa::path(get, path = "/api/v1/projects/{project_id}/rooms", tag = "chat",
    security(("bearer" = [])),
    params(("project_id" = Uuid, Path)),
    responses(
        (status = 200, description = "The rooms", body = Vec<RoomView>),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_rooms(
    State(state): State<AppState>,
    access: ProjectAccess,
) -> ApiResult<ApiJson<Vec<RoomView>>> {
    access.require(Action::ReadProject)?;
    let listings = state
        .store
        .rooms_for(access.project_id, access.user_id)
        .await?;
    Ok(ApiJson(
        listings
            .into_iter()
            .map(|l| RoomView::new(l.room, l.membership.as_ref()))
            .collect(),
    ))
}

/// A room.
#[utoipa::path(get, path = "/api/v1/rooms/{room_id}", tag = "chat",
    security(("bearer" = [])),
    params(("room_id" = Uuid, Path)),
    responses(
        (status = 200, description = "The room", body = RoomView),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_room(room: RoomAccess) -> ApiResult<ApiJson<RoomView>> {
    Ok(ApiJson(RoomView::new(room.room, room.member.as_ref())))
}

/// Change a room's name, topic, visibility, whether viewers post, or archive it (its
/// creator or an admin).
#[utoipa::path(patch, path = "/api/v1/rooms/{room_id}", tag = "chat",
    security(("bearer" = [])),
    params(("room_id" = Uuid, Path)),
    request_body = UpdateRoomRequest,
    responses(
        (status = 200, description = "The room", body = RoomView),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_room(
    State(state): State<AppState>,
    access: RoomAccess,
    ApiJson(body): ApiJson<UpdateRoomRequest>,
) -> ApiResult<ApiJson<RoomView>> {
    access.require_manage()?;
    let mut room = access.room.clone();
    let mut errors = Vec::new();
    if let Some(name) = &body.name {
        Name::parse(name, "name")
            .map(|n| room.name = n)
            .unwrap_or_else(|e| errors.push(e));
    }
    if let Some(topic) = &body.topic {
        Topic::parse(topic, "topic")
            .map(|t| room.topic = t)
            .unwrap_or_else(|e| errors.push(e));
    }
    if let Some(visibility) = &body.visibility {
        Visibility::parse(visibility, "visibility")
            .map(|v| room.visibility = v)
            .unwrap_or_else(|e| errors.push(e));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    if let Some(viewers_can_post) = body.viewers_can_post {
        room.viewers_can_post = viewers_can_post;
    }
    let now = state.clock.now();
    match body.archived {
        Some(true) if room.archived_at.is_none() => room.archived_at = Some(now),
        Some(false) => room.archived_at = None,
        _ => {}
    }
    room.updated_at = now;
    let updated = state.store.update_room(&room).await?;
    state.events.publish(
        access.access.user_id,
        DomainEvent::RoomUpdated(updated.clone()),
    );
    Ok(ApiJson(RoomView::new(updated, access.member.as_ref())))
}

/// Delete a room with its messages (its creator or an admin).
#[utoipa::path(delete, path = "/api/v1/rooms/{room_id}", tag = "chat",
    security(("bearer" = [])),
    params(("room_id" = Uuid, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_room(
    State(state): State<AppState>,
    access: RoomAccess,
) -> ApiResult<StatusCode> {
    access.require_manage()?;
    state.store.delete_room(access.room.id).await?;
    state
        .events
        .publish(access.access.user_id, DomainEvent::RoomDeleted(access.room));
    Ok(StatusCode::NO_CONTENT)
}

/// Join a public room (any project member); joining again changes nothing. Messages
/// from before joining do not count as unread.
#[utoipa::path(post, path = "/api/v1/rooms/{room_id}/join", tag = "chat",
    security(("bearer" = [])),
    params(("room_id" = Uuid, Path)),
    responses(
        (status = 200, description = "The room, joined", body = RoomView),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn join_room(
    State(state): State<AppState>,
    access: RoomAccess,
) -> ApiResult<ApiJson<RoomView>> {
    // A private room the caller is not in is already 404; one they are in is a no-op.
    let user_id = access.access.user_id;
    let (member, joined) = state
        .store
        .join_room(access.room.id, user_id, state.clock.now())
        .await?;
    if joined {
        announce_membership(&state, user_id, &access.room, user_id, true);
    }
    Ok(ApiJson(RoomView::new(access.room, Some(&member))))
}

/// Leave a room.
#[utoipa::path(post, path = "/api/v1/rooms/{room_id}/leave", tag = "chat",
    security(("bearer" = [])),
    params(("room_id" = Uuid, Path)),
    responses(
        (status = 204, description = "Left (or was not a member)"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn leave_room(
    State(state): State<AppState>,
    access: RoomAccess,
) -> ApiResult<StatusCode> {
    let user_id = access.access.user_id;
    if state.store.leave_room(access.room.id, user_id).await? {
        announce_membership(&state, user_id, &access.room, user_id, false);
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The room's members, in join order, with their read markers.
#[utoipa::path(get, path = "/api/v1/rooms/{room_id}/members", tag = "chat",
    security(("bearer" = [])),
    params(("room_id" = Uuid, Path)),
    responses(
        (status = 200, description = "The members", body = Vec<RoomMemberView>),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_room_members(
    State(state): State<AppState>,
    access: RoomAccess,
) -> ApiResult<ApiJson<Vec<RoomMemberView>>> {
    let members = state.store.room_members(access.room.id).await?;
    Ok(ApiJson(
        members.into_iter().map(RoomMemberView::from).collect(),
    ))
}

/// The `{user_id}` of a member path.
#[derive(Debug)]
pub struct MemberParam(pub UserId);

impl FromRequestParts<AppState> for MemberParam {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> Result<Self, ApiError> {
        PathParams::read(parts)
            .await
            .uuid("user_id")
            .map(|id| Self(UserId(id)))
            .ok_or_else(|| ApiError::not_found("no such member"))
    }
}

/// Remove someone from the room (the room's creator or an admin).
#[utoipa::path(delete, path = "/api/v1/rooms/{room_id}/members/{user_id}", tag = "chat",
    security(("bearer" = [])),
    params(("room_id" = Uuid, Path), ("user_id" = Uuid, Path)),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn remove_room_member(
    State(state): State<AppState>,
    access: RoomAccess,
    MemberParam(user): MemberParam,
) -> ApiResult<StatusCode> {
    access.require_manage()?;
    if state.store.leave_room(access.room.id, user).await? {
        announce_membership(&state, access.access.user_id, &access.room, user, false);
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("no such member of this room"))
    }
}

/// Tells the room that `user` joined or left it (`actor` did it).
pub fn announce_membership(
    state: &AppState,
    actor: UserId,
    room: &Room,
    user: UserId,
    joined: bool,
) {
    let membership = RoomMembership {
        room_id: room.id,
        user_id: user,
        visibility: room.visibility,
    };
    let event = if joined {
        DomainEvent::RoomMemberJoined(membership)
    } else {
        DomainEvent::RoomMemberLeft(membership)
    };
    state.events.publish(actor, event);
}
