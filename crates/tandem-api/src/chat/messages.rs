//! Messages: post (idempotent by `client_id`) and page through a room's history, edit and
//! delete one, and move the caller's read marker.

use axum::extract::{FromRequestParts, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use tandem_domain::{
    DomainEvent, Mention, Message, MessageBody, MessageId, NewMessage, ReadMarker, Role, RoomId,
    RoomMember, UserId, parse_client_id,
};
use tandem_store::{HistoryPage, Posted};

use super::access::{RoomAccess, room_not_found};
use super::dto::{
    EditMessageRequest, HistoryQuery, MessagePage, MessageView, PostMessageRequest, ReadRequest,
    RoomView,
};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{Actor, ApiJson, PathParams};
use crate::realtime::typing;
use crate::state::AppState;

/// The room members a body mentions (`@email` or `@user-id`); anyone else is nobody. The
/// members are only read when the body mentions someone: most messages mention nobody.
async fn resolve_mentions(
    state: &AppState,
    body: &MessageBody,
    room: RoomId,
) -> ApiResult<Vec<UserId>> {
    let mentions = body.mentions();
    if mentions.is_empty() {
        return Ok(Vec::new());
    }
    let members = state.store.room_members(room).await?;
    let mut ids = Vec::new();
    for mention in mentions {
        let id = match mention {
            Mention::Id(id) => Some(id),
            Mention::Email(email) => state
                .store
                .user_by_email(email.as_str())
                .await?
                .map(|u| u.id),
        };
        if let Some(id) = id
            && members.iter().any(|m| m.user_id == id)
            && !ids.contains(&id)
        {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// Counts one post against the user's allowances; 429 `rate_limited` with `Retry-After`
/// once one is spent. A limiter that cannot answer lets the post through (its outage
/// shows in `/readyz` and the logs).
async fn limit_posting(state: &AppState, user: UserId) -> ApiResult<()> {
    for (n, limiter) in state.chat_limiters.iter().enumerate() {
        match limiter.hit(&format!("chat{n}:{user}")).await {
            Ok(decision) if !decision.allowed => {
                return Err(ApiError::RateLimited {
                    retry_after_secs: decision.reset_after.as_secs().max(1),
                });
            }
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(error = ?error, "chat rate limiter unavailable; post let through")
            }
        }
    }
    Ok(())
}

/// Post a message (a member whose role may post here). With a `client_id` already used
/// by the caller in this room, the first message comes back (200) instead of a second.
#[utoipa::path(post, path = "/api/v1/rooms/{room_id}/messages", tag = "chat",
    security(("bearer" = [])),
    params(("room_id" = Uuid, Path)),
    request_body = PostMessageRequest,
    responses(
        (status = 201, description = "The new message", body = MessageView),
        (status = 200, description = "The message posted earlier with this client_id", body = MessageView),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`room_archived`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn post_message(
    State(state): State<AppState>,
    access: RoomAccess,
    ApiJson(body): ApiJson<PostMessageRequest>,
) -> ApiResult<(StatusCode, ApiJson<MessageView>)> {
    match post(&state, &access, body).await? {
        Posted::Created(message) => Ok((StatusCode::CREATED, ApiJson(message.into()))),
        Posted::Existing(message) => Ok((StatusCode::OK, ApiJson(message.into()))),
    }
}

/// Posts a message, over REST or the realtime socket alike: checks the caller may post
/// and has allowance left, validates, stores, and tells the room. Posting also ends the
/// author's "typing" there.
pub async fn post(
    state: &AppState,
    access: &RoomAccess,
    body: PostMessageRequest,
) -> ApiResult<Posted> {
    access.require_post()?;
    let author = access.access.user_id;
    limit_posting(state, author).await?;
    let mut errors = Vec::new();
    let text = MessageBody::parse(&body.body, "body")
        .map_err(|e| errors.push(e))
        .ok();
    let client_id = body
        .client_id
        .as_deref()
        .map(|c| parse_client_id(c, "client_id"))
        .transpose()
        .map_err(|e| errors.push(e))
        .ok()
        .flatten();
    let Some(text) = text.filter(|_| errors.is_empty()) else {
        return Err(ApiError::Validation(errors));
    };
    let reply_to = match body.reply_to {
        Some(id) => {
            let replied = state.store.message_by_id(MessageId(id)).await?;
            if replied.is_none_or(|m| m.room_id != access.room.id) {
                return Err(ApiError::field("reply_to", "is not a message of this room"));
            }
            Some(MessageId(id))
        }
        None => None,
    };
    let mentions = resolve_mentions(state, &text, access.room.id).await?;
    let now = state.clock.now();
    let new = NewMessage {
        id: MessageId::new(now),
        room_id: access.room.id,
        author_id: author,
        body: text,
        reply_to,
        client_id,
        mentions,
        created_at: now,
    };
    let posted = state.store.post_message(&new).await?;
    if let Posted::Created(message) = &posted {
        state
            .events
            .publish(author, DomainEvent::MessageCreated(message.clone()));
        if state.realtime.typing.is_typing(access.room.id, author)
            && let Err(error) = typing::announce(state, access.room.id, author, false).await
        {
            tracing::warn!(error = ?error, "could not end a typing after a post");
        }
    }
    Ok(posted)
}

/// A page of the room's history (anyone who may read the room). Fetching history marks
/// nothing read.
#[utoipa::path(get, path = "/api/v1/rooms/{room_id}/messages", tag = "chat",
    security(("bearer" = [])),
    params(("room_id" = Uuid, Path), HistoryQuery),
    responses(
        (status = 200, description = "The page", body = MessagePage),
        (status = 400, description = "`invalid_query`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_messages(
    State(state): State<AppState>,
    access: RoomAccess,
    query: Result<Query<HistoryQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<ApiJson<MessagePage>> {
    let Query(query) = query
        .map_err(|e| ApiError::client(StatusCode::BAD_REQUEST, "invalid_query", e.body_text()))?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::field("limit", "must be between 1 and 100"));
    }
    let page = match (query.before, query.after, query.around) {
        (None, None, None) => HistoryPage::Latest,
        (Some(seq), None, None) => HistoryPage::Before(seq),
        (None, Some(seq), None) => HistoryPage::After(seq),
        (None, None, Some(seq)) => HistoryPage::Around(seq),
        _ => {
            return Err(ApiError::field(
                "before",
                "give at most one of before, after and around",
            ));
        }
    };
    let messages = state.store.history(access.room.id, page, limit).await?;
    Ok(ApiJson(MessagePage {
        items: messages.into_iter().map(MessageView::from).collect(),
    }))
}

/// A message named in the path with the caller's access to its room.
#[derive(Debug)]
pub struct MessageAccess {
    pub message: Message,
    pub room: RoomAccess,
}

impl MessageAccess {
    /// The message with the caller's access to its room; 404 for a message of a room
    /// they may not read, as for one that does not exist.
    pub async fn load(state: &AppState, actor: Actor, id: MessageId) -> Result<Self, ApiError> {
        let not_found = || ApiError::not_found("no such message");
        let message = state.store.message_by_id(id).await?.ok_or_else(not_found)?;
        let room = RoomAccess::load(state, actor, message.room_id)
            .await
            .map_err(|e| match e.status() {
                StatusCode::NOT_FOUND => not_found(),
                _ => e,
            })?;
        Ok(Self { message, room })
    }
}

impl FromRequestParts<AppState> for MessageAccess {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let actor = Actor::from_request_parts(parts, state).await?;
        let not_found = || ApiError::not_found("no such message");
        let id = PathParams::read(parts)
            .await
            .uuid("message_id")
            .ok_or_else(not_found)?;
        Self::load(state, actor, MessageId(id)).await
    }
}

/// Edit your own message; it keeps its place and gets `edited_at`.
#[utoipa::path(patch, path = "/api/v1/messages/{message_id}", tag = "chat",
    security(("bearer" = [])),
    params(("message_id" = Uuid, Path)),
    request_body = EditMessageRequest,
    responses(
        (status = 200, description = "The message", body = MessageView),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn edit_message(
    State(state): State<AppState>,
    access: MessageAccess,
    ApiJson(body): ApiJson<EditMessageRequest>,
) -> ApiResult<ApiJson<MessageView>> {
    Ok(ApiJson(edit(&state, &access, &body.body).await?.into()))
}

/// Edits a message (its author, where they may still post) and tells the room.
pub async fn edit(state: &AppState, access: &MessageAccess, body: &str) -> ApiResult<Message> {
    let editor = access.room.access.user_id;
    if access.message.author_id != Some(editor) {
        return Err(ApiError::client(
            StatusCode::FORBIDDEN,
            "forbidden",
            "only the author may edit a message",
        ));
    }
    access.room.require_post()?;
    let text = MessageBody::parse(body, "body").map_err(|e| ApiError::Validation(vec![e]))?;
    let mentions = resolve_mentions(state, &text, access.room.room.id).await?;
    let edited = state
        .store
        .edit_message(
            access.message.id,
            text.as_str(),
            &mentions,
            state.clock.now(),
        )
        .await?
        .ok_or_else(|| ApiError::not_found("no such message"))?;
    state
        .events
        .publish(editor, DomainEvent::MessageUpdated(edited.clone()));
    Ok(edited)
}

/// Delete a message (its author, or an admin): it stays as a tombstone in its place.
#[utoipa::path(delete, path = "/api/v1/messages/{message_id}", tag = "chat",
    security(("bearer" = [])),
    params(("message_id" = Uuid, Path)),
    responses(
        (status = 200, description = "The tombstone", body = MessageView),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_message(
    State(state): State<AppState>,
    access: MessageAccess,
) -> ApiResult<ApiJson<MessageView>> {
    Ok(ApiJson(delete(&state, &access).await?.into()))
}

/// Deletes a message (its author, or an admin), leaving its tombstone, and tells the room.
pub async fn delete(state: &AppState, access: &MessageAccess) -> ApiResult<Message> {
    let by = access.room.access.user_id;
    if access.message.author_id != Some(by) && access.room.access.role < Role::Admin {
        return Err(ApiError::client(
            StatusCode::FORBIDDEN,
            "forbidden",
            "only the author or an admin may delete a message",
        ));
    }
    let deleted = state
        .store
        .delete_message(access.message.id, state.clock.now())
        .await?
        .ok_or_else(|| ApiError::not_found("no such message"))?;
    state
        .events
        .publish(by, DomainEvent::MessageDeleted(deleted.clone()));
    Ok(deleted)
}

/// Move your read marker forward to `seq` (it never moves back, nor past the newest
/// message); returns the room with your new counts.
#[utoipa::path(post, path = "/api/v1/rooms/{room_id}/read", tag = "chat",
    security(("bearer" = [])),
    params(("room_id" = Uuid, Path)),
    request_body = ReadRequest,
    responses(
        (status = 200, description = "The room with the caller's counts", body = RoomView),
        (status = 403, description = "`forbidden`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn mark_read(
    State(state): State<AppState>,
    access: RoomAccess,
    ApiJson(body): ApiJson<ReadRequest>,
) -> ApiResult<ApiJson<RoomView>> {
    let member = read(&state, &access, body.seq).await?;
    Ok(ApiJson(RoomView::new(access.room, Some(&member))))
}

/// Moves the caller's read marker forward (a member) and, when it moved, tells the room.
pub async fn read(state: &AppState, access: &RoomAccess, seq: u64) -> ApiResult<RoomMember> {
    let before = access.require_member()?.read_seq;
    let user_id = access.access.user_id;
    let member = state
        .store
        .mark_read(access.room.id, user_id, seq)
        .await?
        .ok_or_else(room_not_found)?;
    if member.read_seq > before {
        let marker = ReadMarker {
            room_id: access.room.id,
            user_id,
            seq: member.read_seq,
        };
        state.events.publish(user_id, DomainEvent::RoomRead(marker));
    }
    Ok(member)
}
