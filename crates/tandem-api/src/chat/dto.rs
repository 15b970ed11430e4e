//! The JSON shapes of rooms, members and messages.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tandem_domain::{Message, Room, RoomMember};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRoomRequest {
    /// 1 to 100 characters.
    pub name: String,
    /// At most 500 characters.
    #[serde(default)]
    pub topic: Option<String>,
    /// `public` (any project member may join) or `private` (invited members only).
    pub visibility: String,
    /// Whether project viewers may post (default false: they read).
    #[serde(default)]
    pub viewers_can_post: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateRoomRequest {
    pub name: Option<String>,
    pub topic: Option<String>,
    pub visibility: Option<String>,
    pub viewers_can_post: Option<bool>,
    /// True archives the room (read-only), false brings it back.
    pub archived: Option<bool>,
}

/// A room, with the caller's standing in it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoomView {
    pub id: Uuid,
    pub project_id: Uuid,
    pub name: String,
    pub topic: String,
    pub visibility: String,
    pub viewers_can_post: bool,
    pub created_by: Option<Uuid>,
    pub archived_at: Option<DateTime<Utc>>,
    /// The newest message's seq.
    pub last_seq: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Whether the caller has joined.
    pub joined: bool,
    /// The caller's read marker, and what is unread after it (0 when not joined).
    pub read_seq: u64,
    pub unread_count: u64,
    pub mention_count: u64,
}

impl RoomView {
    pub fn new(room: Room, member: Option<&RoomMember>) -> Self {
        Self {
            id: room.id.0,
            project_id: room.project_id.0,
            name: room.name.as_str().to_owned(),
            topic: room.topic.as_str().to_owned(),
            visibility: room.visibility.as_str().to_owned(),
            viewers_can_post: room.viewers_can_post,
            created_by: room.created_by.map(|u| u.0),
            archived_at: room.archived_at,
            last_seq: room.last_seq,
            created_at: room.created_at,
            updated_at: room.updated_at,
            joined: member.is_some(),
            read_seq: member.map_or(0, |m| m.read_seq),
            unread_count: member.map_or(0, |m| m.unread_count),
            mention_count: member.map_or(0, |m| m.mention_count),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RoomMemberView {
    pub user_id: Uuid,
    pub joined_at: DateTime<Utc>,
    pub read_seq: u64,
}

impl From<RoomMember> for RoomMemberView {
    fn from(m: RoomMember) -> Self {
        Self {
            user_id: m.user_id.0,
            joined_at: m.joined_at,
            read_seq: m.read_seq,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostMessageRequest {
    /// Markdown, stored as written, up to 16 KiB; `@email` or `@user-id` mentions a member.
    pub body: String,
    pub reply_to: Option<Uuid>,
    /// Your id for this message (1 to 64 printable ASCII characters): sending it again
    /// returns the first message instead of posting twice.
    pub client_id: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditMessageRequest {
    pub body: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadRequest {
    /// The highest seq read; the marker never moves back.
    pub seq: u64,
}

/// A message. A deleted one keeps its place with an empty body and `deleted_at`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageView {
    pub id: Uuid,
    pub room_id: Uuid,
    pub seq: u64,
    pub author_id: Option<Uuid>,
    pub body: String,
    pub reply_to: Option<Uuid>,
    pub client_id: Option<String>,
    pub mentions: Vec<Uuid>,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
}

impl From<Message> for MessageView {
    fn from(m: Message) -> Self {
        Self {
            id: m.id.0,
            room_id: m.room_id.0,
            seq: m.seq,
            author_id: m.author_id.map(|u| u.0),
            body: m.body,
            reply_to: m.reply_to.map(|r| r.0),
            client_id: m.client_id,
            mentions: m.mentions.into_iter().map(|u| u.0).collect(),
            created_at: m.created_at,
            edited_at: m.edited_at,
            deleted_at: m.deleted_at,
        }
    }
}

/// Which messages: at most one of `before`, `after`, `around` (a seq); none means the
/// newest. `limit` 1 to 100 (default 50).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    pub before: Option<u64>,
    pub after: Option<u64>,
    pub around: Option<u64>,
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessagePage {
    /// Newest first for the newest and `before`; oldest first for `after` and `around`.
    pub items: Vec<MessageView>,
}

/// The `?q=` of a search.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Words to find (all of them), in any case.
    pub q: String,
    /// 1 to 100 (default 50).
    pub limit: Option<u32>,
}
