//! Chat: rooms inside a project, their members with read markers and unread counts,
//! messages with a per-room `seq`, mentions, and the rules for each value.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Email, FieldError, MessageId, Name, ProjectId, RoomId, RoomInviteId, UserId};

/// Who may join a room: every project member (`public`), or only invited ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    Public,
    Private,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Private => "private",
        }
    }

    pub fn parse(raw: &str, field: &'static str) -> Result<Self, FieldError> {
        match raw {
            "public" => Ok(Visibility::Public),
            "private" => Ok(Visibility::Private),
            _ => Err(FieldError::new(field, "must be public or private")),
        }
    }
}

/// A room's topic: at most 500 characters, trimmed, no control characters but newlines.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(transparent)]
pub struct Topic(String);

impl Topic {
    pub const MAX_CHARS: usize = 500;

    pub fn parse(raw: &str, field: &'static str) -> Result<Self, FieldError> {
        let text = raw.trim();
        if text.chars().count() > Self::MAX_CHARS {
            return Err(FieldError::new(field, "must be at most 500 characters"));
        }
        if text.chars().any(|c| c.is_control() && c != '\n') {
            return Err(FieldError::new(
                field,
                "must not contain control characters",
            ));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn from_storage(text: String) -> Self {
        Self(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A message's Markdown text, stored exactly as written (never rendered by the server):
/// 1 byte to 16 KiB, not only whitespace, no NUL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct MessageBody(String);

impl MessageBody {
    pub const MAX_BYTES: usize = 16 * 1024;

    pub fn parse(raw: &str, field: &'static str) -> Result<Self, FieldError> {
        if raw.trim().is_empty() {
            return Err(FieldError::new(field, "is required"));
        }
        if raw.len() > Self::MAX_BYTES {
            return Err(FieldError::new(field, "must be at most 16 KiB"));
        }
        if raw.contains('\0') {
            return Err(FieldError::new(field, "must not contain NUL characters"));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The mentions written in the body: `@` followed by a member's email or user id,
    /// in order of first appearance, each once. Resolving them to members is the
    /// caller's job (a mention of a non-member mentions nobody).
    pub fn mentions(&self) -> Vec<Mention> {
        let mut found = Vec::new();
        for word in self
            .0
            .split(|c: char| c.is_whitespace() || "()[]<>,;\"'`".contains(c))
        {
            let Some(handle) = word.strip_prefix('@') else {
                continue;
            };
            let handle = handle.trim_end_matches(['.', ':', '!', '?']);
            let mention = if let Ok(id) = Uuid::try_parse(handle) {
                Mention::Id(UserId(id))
            } else if let Ok(email) = Email::parse(handle) {
                Mention::Email(email)
            } else {
                continue;
            };
            if !found.contains(&mention) {
                found.push(mention);
            }
        }
        found
    }
}

/// One `@…` in a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mention {
    Id(UserId),
    Email(Email),
}

/// A reaction: one emoji (or short code like `:+1:`), 1 to 32 characters, no spaces.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Emoji(String);

impl Emoji {
    pub fn parse(raw: &str, field: &'static str) -> Result<Self, FieldError> {
        let count = raw.chars().count();
        if count == 0 || count > 32 || raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(FieldError::new(
                field,
                "must be 1 to 32 characters without spaces",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn from_storage(text: String) -> Self {
        Self(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A chat room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Room {
    pub id: RoomId,
    pub project_id: ProjectId,
    pub name: Name,
    pub topic: Topic,
    pub visibility: Visibility,
    /// Whether project viewers may post here (they may always read).
    pub viewers_can_post: bool,
    /// Who created it; `None` once that account is deleted.
    pub created_by: Option<UserId>,
    pub archived_at: Option<DateTime<Utc>>,
    /// The newest message's seq (0 before the first).
    pub last_seq: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A member of a room, with where they have read up to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoomMember {
    pub room_id: RoomId,
    pub user_id: UserId,
    pub joined_at: DateTime<Utc>,
    /// The highest seq they have read; only ever moves forward.
    pub read_seq: u64,
    /// Messages after `read_seq` that others sent.
    pub unread_count: u64,
    /// Of those, the ones that mention them.
    pub mention_count: u64,
}

/// A message as stored. A deleted message stays as a tombstone: its place in the room
/// (`seq`) and its `deleted_at`, with the body and mentions gone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    pub id: MessageId,
    pub room_id: RoomId,
    pub seq: u64,
    /// `None` once the author's account is deleted.
    pub author_id: Option<UserId>,
    pub body: String,
    pub reply_to: Option<MessageId>,
    /// The sender's id for this message, which makes sending it idempotent.
    pub client_id: Option<String>,
    pub mentions: Vec<UserId>,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// A message to post; `mentions` are already resolved to the room's members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    pub id: MessageId,
    pub room_id: RoomId,
    pub author_id: UserId,
    pub body: MessageBody,
    pub reply_to: Option<MessageId>,
    pub client_id: Option<String>,
    pub mentions: Vec<UserId>,
    pub created_at: DateTime<Utc>,
}

/// One emoji on a message, with who put it there (in the order they did).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reaction {
    pub emoji: Emoji,
    pub users: Vec<UserId>,
}

/// An invite token into a private room; the token itself is only ever stored hashed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoomInvite {
    pub id: RoomInviteId,
    pub room_id: RoomId,
    pub created_by: Option<UserId>,
    /// `None`: any number of uses until it expires or is revoked.
    pub max_uses: Option<u32>,
    pub uses: u32,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// Why an invite token was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InviteRefusal {
    Unknown,
    Revoked,
    Expired,
    UsedUp,
}

/// Checks a client's message id: 1 to 64 printable ASCII characters.
pub fn parse_client_id(raw: &str, field: &'static str) -> Result<String, FieldError> {
    if raw.is_empty() || raw.len() > 64 || !raw.chars().all(|c| c.is_ascii_graphic()) {
        return Err(FieldError::new(
            field,
            "must be 1 to 64 printable ASCII characters",
        ));
    }
    Ok(raw.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_kept_as_written_within_limits() {
        assert_eq!(
            MessageBody::parse("  *hi*  ", "body").unwrap().as_str(),
            "  *hi*  "
        );
        for bad in ["", "   \n", "a\0b"] {
            assert!(MessageBody::parse(bad, "body").is_err(), "{bad:?}");
        }
        assert!(MessageBody::parse(&"x".repeat(16 * 1024), "body").is_ok());
        assert!(MessageBody::parse(&"x".repeat(16 * 1024 + 1), "body").is_err());
    }

    #[test]
    fn mentions_are_emails_or_ids_each_once() {
        let id = Uuid::now_v7();
        let body = MessageBody::parse(
            &format!("hey @ada@example.com, see @{id}. (@ada@example.com) @nobody @"),
            "body",
        )
        .unwrap();
        assert_eq!(
            body.mentions(),
            [
                Mention::Email(Email::parse("ada@example.com").unwrap()),
                Mention::Id(UserId(id))
            ]
        );
    }

    #[test]
    fn emoji_and_client_ids_are_bounded() {
        assert!(Emoji::parse("👍", "emoji").is_ok());
        assert!(Emoji::parse(":+1:", "emoji").is_ok());
        assert!(Emoji::parse("two words", "emoji").is_err());
        assert!(Emoji::parse("", "emoji").is_err());
        assert!(parse_client_id("c-1", "client_id").is_ok());
        assert!(parse_client_id(&"x".repeat(65), "client_id").is_err());
        assert!(parse_client_id("a b", "client_id").is_err());
    }
}
