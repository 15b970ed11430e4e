//! The storage contract of chat: rooms, their members with read markers and counters,
//! messages with a per-room `seq`, receipts, reactions, invite tokens and search.

use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};
use tandem_domain::{
    Emoji, InviteRefusal, Message, MessageId, NewMessage, ProjectId, Reaction, Room, RoomId,
    RoomInvite, RoomInviteId, RoomMember, TokenHash, UserId,
};

use crate::StoreError;

/// A room as one member sees it in a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomListing {
    pub room: Room,
    /// The caller's membership; `None` for a public room they have not joined.
    pub membership: Option<RoomMember>,
}

/// What a post did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Posted {
    Created(Message),
    /// The sender already posted a message with this `client_id` here: that one.
    Existing(Message),
}

impl Posted {
    pub fn message(&self) -> &Message {
        match self {
            Posted::Created(m) | Posted::Existing(m) => m,
        }
    }
}

/// Which slice of a room's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryPage {
    /// The newest messages, newest first.
    Latest,
    /// Messages with seq below this one, newest first.
    Before(u64),
    /// Messages with seq above this one, oldest first.
    After(u64),
    /// About half the page on each side of this seq (it included), oldest first.
    Around(u64),
}

/// Chat rooms and messages. Posting takes the room's row lock (PostgreSQL) or the write
/// lock (SQLite), so seqs are gap-free and in commit order.
#[async_trait]
pub trait ChatStore: Send + Sync {
    /// Stores a room with its creator as its first member; `NotFound` if the project
    /// does not exist.
    async fn create_room(&self, room: &Room) -> Result<(), StoreError>;
    async fn room_by_id(&self, id: RoomId) -> Result<Option<Room>, StoreError>;
    /// The project's rooms `user` can see (public ones, and private ones they are in),
    /// archived ones included, with their membership.
    async fn rooms_for(
        &self,
        project: ProjectId,
        user: UserId,
    ) -> Result<Vec<RoomListing>, StoreError>;
    /// How many rooms the project has (for its limit).
    async fn count_rooms(&self, project: ProjectId) -> Result<u64, StoreError>;
    /// Replaces a room's editable fields (name, topic, visibility, viewers_can_post,
    /// archived_at) and bumps `updated_at`; `NotFound` if it does not exist.
    async fn update_room(&self, room: &Room) -> Result<Room, StoreError>;
    /// Deletes a room with its messages and members; `NotFound` if there is none.
    async fn delete_room(&self, id: RoomId) -> Result<(), StoreError>;

    /// Adds `user` (read marker at the room's newest message, so joining does not make
    /// history unread). Joining twice changes nothing; returns the membership and
    /// whether it is new.
    async fn join_room(
        &self,
        room: RoomId,
        user: UserId,
        at: DateTime<Utc>,
    ) -> Result<(RoomMember, bool), StoreError>;
    /// Removes `user`; false if they were not a member.
    async fn leave_room(&self, room: RoomId, user: UserId) -> Result<bool, StoreError>;
    async fn room_member(
        &self,
        room: RoomId,
        user: UserId,
    ) -> Result<Option<RoomMember>, StoreError>;
    /// Members in join order.
    async fn room_members(&self, room: RoomId) -> Result<Vec<RoomMember>, StoreError>;

    /// Posts a message with the room's next seq; counts it unread for every other
    /// member and as a mention for the mentioned ones. With a `client_id` already used
    /// by this sender in this room, returns that message instead (`Existing`).
    /// `NotFound` if the room does not exist.
    async fn post_message(&self, message: &NewMessage) -> Result<Posted, StoreError>;
    async fn message_by_id(&self, id: MessageId) -> Result<Option<Message>, StoreError>;
    async fn history(
        &self,
        room: RoomId,
        page: HistoryPage,
        limit: u32,
    ) -> Result<Vec<Message>, StoreError>;
    /// Replaces a live message's body and mentions, setting `edited_at`; `None` if there
    /// is no such live message. Counters are not touched: an edit does not notify again.
    async fn edit_message(
        &self,
        id: MessageId,
        body: &str,
        mentions: &[UserId],
        at: DateTime<Utc>,
    ) -> Result<Option<Message>, StoreError>;
    /// Turns a message into a tombstone (body and mentions gone, `deleted_at` set);
    /// unread counters of members who had not read it go down. `None` if there is no
    /// such live message.
    async fn delete_message(
        &self,
        id: MessageId,
        at: DateTime<Utc>,
    ) -> Result<Option<Message>, StoreError>;

    /// Moves `user`'s read marker forward to `seq` (never back, never past the newest
    /// message) and recounts their unread and mention counts; `None` if they are not a
    /// member.
    async fn mark_read(
        &self,
        room: RoomId,
        user: UserId,
        seq: u64,
    ) -> Result<Option<RoomMember>, StoreError>;

    /// Members who have read up to `seq` or further ("seen by").
    async fn receipts(&self, room: RoomId, seq: u64) -> Result<Vec<RoomMember>, StoreError>;

    /// Puts `user`'s `emoji` on a message, or takes it off if it was there; returns
    /// whether it is now on and the message's reactions. `None` if there is no such
    /// live message.
    async fn toggle_reaction(
        &self,
        message: MessageId,
        user: UserId,
        emoji: &Emoji,
        at: DateTime<Utc>,
    ) -> Result<Option<(bool, Vec<Reaction>)>, StoreError>;
    /// The reactions of each message, emoji in first-use order.
    async fn reactions(
        &self,
        messages: &[MessageId],
    ) -> Result<Vec<(MessageId, Vec<Reaction>)>, StoreError>;

    async fn create_room_invite(
        &self,
        invite: &RoomInvite,
        token: &TokenHash,
    ) -> Result<(), StoreError>;
    async fn room_invites(&self, room: RoomId) -> Result<Vec<RoomInvite>, StoreError>;
    /// Revokes an invite of `room`; false if there is no such live invite.
    async fn revoke_room_invite(
        &self,
        room: RoomId,
        id: RoomInviteId,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// The room a token invites into, whatever the token's state; `None` if unknown.
    async fn room_of_invite(&self, token: &TokenHash) -> Result<Option<RoomId>, StoreError>;
    /// Spends one use of the token and joins `user` to its room, in one transaction.
    async fn redeem_room_invite(
        &self,
        token: &TokenHash,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<Result<(RoomId, RoomMember), InviteRefusal>, StoreError>;

    /// Live messages matching `query` (words, all of them) in the project's rooms `user`
    /// may read: public rooms and private ones they are in. Newest first.
    async fn search_messages(
        &self,
        project: ProjectId,
        user: UserId,
        query: &str,
        limit: u32,
    ) -> Result<Vec<Message>, StoreError>;
}

/// A new message as the store keeps it once posted as `seq`, so a post need not read it
/// back: its time to the microsecond, its mentions without the author and in id order
/// (as they are read), neither edited nor deleted.
pub(crate) fn as_posted(message: &NewMessage, seq: u64) -> Message {
    let mut mentions: Vec<UserId> = message
        .mentions
        .iter()
        .copied()
        .filter(|u| *u != message.author_id)
        .collect();
    mentions.sort_unstable();
    mentions.dedup();
    Message {
        id: message.id,
        room_id: message.room_id,
        seq,
        author_id: Some(message.author_id),
        body: message.body.as_str().to_owned(),
        reply_to: message.reply_to,
        client_id: message.client_id.clone(),
        mentions,
        created_at: message.created_at.trunc_subsecs(6),
        edited_at: None,
        deleted_at: None,
    }
}

/// The words of a search, for a query language that must not see the user's syntax.
pub(crate) fn search_words(query: &str) -> Vec<String> {
    query
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(16)
        .map(str::to_lowercase)
        .collect()
}
