//! The social side of chat over HTTP: read receipts ("seen by"), reaction toggles,
//! invite tokens for private rooms, and search across the rooms a member may read.

use axum::extract::{FromRequestParts, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use chrono::Duration;
use serde::{Deserialize, Serialize};
use tandem_domain::{
    Action, DomainEvent, Emoji, InviteRefusal, MessageId, Reaction, ReactionChange, RoomInvite,
    RoomInviteId,
};
use utoipa::ToSchema;
use uuid::Uuid;

use super::access::RoomAccess;
use super::dto::{MessagePage, MessageView, RoomMemberView, RoomView, SearchQuery};
use super::messages::MessageAccess;
use super::rooms::announce_membership;
use crate::auth::{hash_token, new_token};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, AuthUser, PathParams, ProjectAccess};
use crate::state::AppState;

/// The `{message_id}` of a receipts path.
#[derive(Debug)]
pub struct MessageParam(pub MessageId);

impl FromRequestParts<AppState> for MessageParam {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> Result<Self, ApiError> {
        PathParams::read(parts)
            .await
            .uuid("message_id")
            .map(|id| Self(MessageId(id)))
            .ok_or_else(|| ApiError::not_found("no such message"))
    }
}

/// Who has read the room up to this message or further.
#[utoipa::path(get, path = "/api/v1/rooms/{room_id}/messages/{message_id}/receipts", tag = "chat",
    security(("bearer" = [])),
    params(("room_id" = Uuid, Path), ("message_id" = Uuid, Path)),
    responses(
        (status = 200, description = "Members who have read it", body = Vec<RoomMemberView>),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn receipts(
    State(state): State<AppState>,
    access: RoomAccess,
    MessageParam(id): MessageParam,
) -> ApiResult<ApiJson<Vec<RoomMemberView>>> {
    let message = state
        .store
        .message_by_id(id)
        .await?
        .filter(|m| m.room_id == access.room.id)
        .ok_or_else(|| ApiError::not_found("no such message"))?;
    let readers = state.store.receipts(access.room.id, message.seq).await?;
    Ok(ApiJson(
        readers.into_iter().map(RoomMemberView::from).collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReactRequest {
    /// An emoji or a short code, 1 to 32 characters without spaces.
    pub emoji: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReactionView {
    pub emoji: String,
    pub users: Vec<Uuid>,
}

impl From<Reaction> for ReactionView {
    fn from(r: Reaction) -> Self {
        Self {
            emoji: r.emoji.as_str().to_owned(),
            users: r.users.into_iter().map(|u| u.0).collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReactedView {
    /// Whether the caller's reaction is now on (false: the toggle took it off).
    pub on: bool,
    pub reactions: Vec<ReactionView>,
}

/// Toggle your reaction on a message (a member who may post in its room).
#[utoipa::path(post, path = "/api/v1/messages/{message_id}/reactions", tag = "chat",
    security(("bearer" = [])),
    params(("message_id" = Uuid, Path)),
    request_body = ReactRequest,
    responses(
        (status = 200, description = "The message's reactions", body = ReactedView),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn react(
    State(state): State<AppState>,
    access: MessageAccess,
    ApiJson(body): ApiJson<ReactRequest>,
) -> ApiResult<ApiJson<ReactedView>> {
    Ok(ApiJson(
        toggle_reaction(&state, &access, &body.emoji).await?,
    ))
}

/// Toggles the caller's `emoji` on the message (a member who may post in its room) and
/// tells the room.
pub async fn toggle_reaction(
    state: &AppState,
    access: &MessageAccess,
    emoji: &str,
) -> ApiResult<ReactedView> {
    access.room.require_post()?;
    let emoji = Emoji::parse(emoji, "emoji").map_err(|e| ApiError::Validation(vec![e]))?;
    let user_id = access.room.access.user_id;
    let (on, reactions) = state
        .store
        .toggle_reaction(access.message.id, user_id, &emoji, state.clock.now())
        .await?
        .ok_or_else(|| ApiError::not_found("no such message"))?;
    let change = ReactionChange {
        room_id: access.room.room.id,
        message_id: access.message.id,
        user_id,
        emoji,
        added: on,
        reactions: reactions.clone(),
    };
    state
        .events
        .publish(user_id, DomainEvent::ReactionChanged(change));
    Ok(ReactedView {
        on,
        reactions: reactions.into_iter().map(ReactionView::from).collect(),
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateInviteRequest {
    /// How many people may use it (1 to 1,000; absent: any number until it expires).
    pub max_uses: Option<u32>,
    /// Hours until it expires (1 to 720, default 168).
    pub expires_in_hours: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InviteView {
    pub id: Uuid,
    pub room_id: Uuid,
    pub max_uses: Option<u32>,
    pub uses: u32,
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<RoomInvite> for InviteView {
    fn from(i: RoomInvite) -> Self {
        Self {
            id: i.id.0,
            room_id: i.room_id.0,
            max_uses: i.max_uses,
            uses: i.uses,
            expires_at: i.expires_at,
            revoked_at: i.revoked_at,
            created_at: i.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedInvite {
    pub invite: InviteView,
    /// Shown this once; only its hash is stored.
    pub token: String,
}

/// Create an invite token into the room (its creator or an admin).
#[utoipa::path(post, path = "/api/v1/rooms/{room_id}/invites", tag = "chat",
    security(("bearer" = [])),
    params(("room_id" = Uuid, Path)),
    request_body = CreateInviteRequest,
    responses(
        (status = 201, description = "The invite and its token", body = CreatedInvite),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_invite(
    State(state): State<AppState>,
    access: RoomAccess,
    ApiJson(body): ApiJson<CreateInviteRequest>,
) -> ApiResult<(StatusCode, ApiJson<CreatedInvite>)> {
    access.require_manage()?;
    let mut errors = Vec::new();
    if body.max_uses.is_some_and(|n| !(1..=1_000).contains(&n)) {
        errors.push(tandem_domain::FieldError::new(
            "max_uses",
            "must be between 1 and 1000",
        ));
    }
    let hours = body.expires_in_hours.unwrap_or(168);
    if !(1..=720).contains(&hours) {
        errors.push(tandem_domain::FieldError::new(
            "expires_in_hours",
            "must be between 1 and 720",
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let now = state.clock.now();
    let (token, hash) = new_token();
    let invite = RoomInvite {
        id: RoomInviteId::new(now),
        room_id: access.room.id,
        created_by: Some(access.access.user_id),
        max_uses: body.max_uses,
        uses: 0,
        expires_at: Some(now + Duration::hours(i64::from(hours))),
        revoked_at: None,
        created_at: now,
    };
    state.store.create_room_invite(&invite, &hash).await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(CreatedInvite {
            invite: invite.into(),
            token,
        }),
    ))
}

/// The room's invites (its creator or an admin).
#[utoipa::path(get, path = "/api/v1/rooms/{room_id}/invites", tag = "chat",
    security(("bearer" = [])),
    params(("room_id" = Uuid, Path)),
    responses(
        (status = 200, description = "The invites", body = Vec<InviteView>),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_invites(
    State(state): State<AppState>,
    access: RoomAccess,
) -> ApiResult<ApiJson<Vec<InviteView>>> {
    access.require_manage()?;
    let invites = state.store.room_invites(access.room.id).await?;
    Ok(ApiJson(invites.into_iter().map(InviteView::from).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInviteRequest {
    pub token: String,
}

/// Join a room with an invite token (a member of the room's project).
#[utoipa::path(post, path = "/api/v1/rooms/invites/accept", tag = "chat",
    security(("bearer" = [])),
    request_body = AcceptInviteRequest,
    responses(
        (status = 200, description = "The room, joined", body = RoomView),
        (status = 404, description = "`invite_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "`invite_expired`, `invite_revoked`, `invite_used_up`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn accept_invite(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiJson(body): ApiJson<AcceptInviteRequest>,
) -> ApiResult<ApiJson<RoomView>> {
    let not_found =
        || ApiError::client(StatusCode::NOT_FOUND, "invite_not_found", "no such invite");
    let hash = hash_token(&body.token);
    let room_id = state
        .store
        .room_of_invite(&hash)
        .await?
        .ok_or_else(not_found)?;
    let room = state
        .store
        .room_by_id(room_id)
        .await?
        .ok_or_else(not_found)?;
    // An invite into a room of a project you are not in is nothing to you.
    state
        .store
        .membership(room.project_id, auth.user_id)
        .await?
        .ok_or_else(not_found)?;
    let gone = |code, detail: &str| ApiError::client(StatusCode::GONE, code, detail);
    let now = state.clock.now();
    let (_, member) = match state
        .store
        .redeem_room_invite(&hash, auth.user_id, now)
        .await?
    {
        Ok(joined) => joined,
        Err(InviteRefusal::Unknown) => return Err(not_found()),
        Err(InviteRefusal::Expired) => {
            return Err(gone("invite_expired", "the invite has expired"));
        }
        Err(InviteRefusal::Revoked) => {
            return Err(gone("invite_revoked", "the invite was revoked"));
        }
        Err(InviteRefusal::UsedUp) => {
            return Err(gone("invite_used_up", "the invite has been used up"));
        }
    };
    if member.joined_at == now {
        announce_membership(&state, auth.user_id, &room, auth.user_id, true);
    }
    Ok(ApiJson(RoomView::new(room, Some(&member))))
}

/// Search the messages of the project's rooms you may read, newest first.
#[utoipa::path(get, path = "/api/v1/projects/{project_id}/messages/search", tag = "chat",
    security(("bearer" = [])),
    params(("project_id" = Uuid, Path), SearchQuery),
    responses(
        (status = 200, description = "Matching messages", body = MessagePage),
        (status = 400, description = "`invalid_query`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn search(
    State(state): State<AppState>,
    access: ProjectAccess,
    query: Result<Query<SearchQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<ApiJson<MessagePage>> {
    access.require(Action::ReadProject)?;
    let Query(query) = query
        .map_err(|e| ApiError::client(StatusCode::BAD_REQUEST, "invalid_query", e.body_text()))?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::field("limit", "must be between 1 and 100"));
    }
    if query.q.len() > 500 {
        return Err(ApiError::field("q", "must be at most 500 bytes"));
    }
    let found = state
        .store
        .search_messages(access.project_id, access.user_id, &query.q, limit)
        .await?;
    Ok(ApiJson(MessagePage {
        items: found.into_iter().map(MessageView::from).collect(),
    }))
}

/// The `{invite_id}` of an invite path.
#[derive(Debug)]
pub struct InviteParam(pub RoomInviteId);

impl FromRequestParts<AppState> for InviteParam {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> Result<Self, ApiError> {
        PathParams::read(parts)
            .await
            .uuid("invite_id")
            .map(|id| Self(RoomInviteId(id)))
            .ok_or_else(|| ApiError::not_found("no such invite"))
    }
}

/// Revoke an invite (the room's creator or an admin); its token stops working at once.
#[utoipa::path(delete, path = "/api/v1/rooms/{room_id}/invites/{invite_id}", tag = "chat",
    security(("bearer" = [])),
    params(("room_id" = Uuid, Path), ("invite_id" = Uuid, Path)),
    responses(
        (status = 204, description = "Revoked"),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn revoke_invite(
    State(state): State<AppState>,
    access: RoomAccess,
    InviteParam(id): InviteParam,
) -> ApiResult<StatusCode> {
    access.require_manage()?;
    if state
        .store
        .revoke_room_invite(access.room.id, id, state.clock.now())
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("no such live invite"))
    }
}
