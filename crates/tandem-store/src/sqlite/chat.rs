//! Chat in SQLite. Every write takes the write lock up front, so a room's seqs are
//! gap-free and in commit order and the counters move with the messages.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::SqliteConnection;
use tandem_domain::{
    Emoji, InviteRefusal, Message, MessageId, Name, NewMessage, ProjectId, Reaction, Room, RoomId,
    RoomInvite, RoomInviteId, RoomMember, TokenHash, Topic, UserId, Visibility,
};

use super::chat_messages as messages;
use super::chat_social as social;
use super::{
    BEGIN_WRITE, SqliteStore, decode_error, decode_id, decode_opt_time, decode_time, encode_id,
    encode_time, on_foreign_key_violation,
};
use crate::StoreError;
use crate::chat::{ChatStore, HistoryPage, Posted, RoomListing};

#[derive(sqlx::FromRow)]
struct RoomRow {
    id: String,
    project_id: String,
    name: String,
    topic: String,
    visibility: String,
    viewers_can_post: bool,
    created_by: Option<String>,
    archived_at: Option<String>,
    last_seq: i64,
    created_at: String,
    updated_at: String,
}

impl RoomRow {
    fn into_room(self) -> Result<Room, sqlx::Error> {
        Ok(Room {
            id: RoomId(decode_id("rooms.id", &self.id)?),
            project_id: ProjectId(decode_id("rooms.project_id", &self.project_id)?),
            name: Name::from_storage(self.name),
            topic: Topic::from_storage(self.topic),
            visibility: Visibility::parse(&self.visibility, "visibility")
                .map_err(|e| decode_error("rooms.visibility", e))?,
            viewers_can_post: self.viewers_can_post,
            created_by: self
                .created_by
                .map(|id| decode_id("rooms.created_by", &id).map(UserId))
                .transpose()?,
            archived_at: decode_opt_time("rooms.archived_at", self.archived_at.as_deref())?,
            last_seq: count(self.last_seq),
            created_at: decode_time("rooms.created_at", &self.created_at)?,
            updated_at: decode_time("rooms.updated_at", &self.updated_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct MemberRow {
    room_id: String,
    user_id: String,
    joined_at: String,
    read_seq: i64,
    unread_count: i64,
    mention_count: i64,
}

impl MemberRow {
    pub(super) fn into_member(self) -> Result<RoomMember, sqlx::Error> {
        Ok(RoomMember {
            room_id: RoomId(decode_id("room_members.room_id", &self.room_id)?),
            user_id: UserId(decode_id("room_members.user_id", &self.user_id)?),
            joined_at: decode_time("room_members.joined_at", &self.joined_at)?,
            read_seq: count(self.read_seq),
            unread_count: count(self.unread_count),
            mention_count: count(self.mention_count),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct MessageRow {
    id: String,
    pub(super) room_id: String,
    seq: i64,
    author_id: Option<String>,
    body: String,
    reply_to: Option<String>,
    client_id: Option<String>,
    created_at: String,
    edited_at: Option<String>,
    deleted_at: Option<String>,
}

impl MessageRow {
    fn into_message(self, mentions: Vec<UserId>) -> Result<Message, sqlx::Error> {
        Ok(Message {
            id: MessageId(decode_id("messages.id", &self.id)?),
            room_id: RoomId(decode_id("messages.room_id", &self.room_id)?),
            seq: count(self.seq),
            author_id: self
                .author_id
                .map(|id| decode_id("messages.author_id", &id).map(UserId))
                .transpose()?,
            body: self.body,
            reply_to: self
                .reply_to
                .map(|id| decode_id("messages.reply_to", &id).map(MessageId))
                .transpose()?,
            client_id: self.client_id,
            mentions,
            created_at: decode_time("messages.created_at", &self.created_at)?,
            edited_at: decode_opt_time("messages.edited_at", self.edited_at.as_deref())?,
            deleted_at: decode_opt_time("messages.deleted_at", self.deleted_at.as_deref())?,
        })
    }
}

pub(super) fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or_default()
}

pub(super) fn as_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Messages of `room` from `rows`, with their mentions read in one query.
pub(super) async fn with_mentions(
    conn: &mut SqliteConnection,
    room: RoomId,
    rows: Vec<MessageRow>,
) -> Result<Vec<Message>, StoreError> {
    let (Some(low), Some(high)) = (
        rows.iter().map(|r| r.seq).min(),
        rows.iter().map(|r| r.seq).max(),
    ) else {
        return Ok(Vec::new());
    };
    let mentions: Vec<(i64, String)> = sqlx::query_as(
        "SELECT seq, user_id FROM message_mentions WHERE room_id = ? AND seq BETWEEN ? AND ? \
         ORDER BY seq, user_id",
    )
    .bind(encode_id(room.0))
    .bind(low)
    .bind(high)
    .fetch_all(&mut *conn)
    .await?;
    let mut messages = Vec::with_capacity(rows.len());
    for row in rows {
        let mine = mentions
            .iter()
            .filter(|(seq, _)| *seq == row.seq)
            .map(|(_, id)| decode_id("message_mentions.user_id", id).map(UserId))
            .collect::<Result<Vec<_>, _>>()?;
        messages.push(row.into_message(mine)?);
    }
    Ok(messages)
}

pub(super) async fn message_in(
    conn: &mut SqliteConnection,
    id: MessageId,
) -> Result<Option<Message>, StoreError> {
    let row: Option<MessageRow> = sqlx::query_as("SELECT * FROM messages WHERE id = ?")
        .bind(encode_id(id.0))
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let room = RoomId(decode_id("messages.room_id", &row.room_id)?);
    Ok(with_mentions(conn, room, vec![row]).await?.pop())
}

#[async_trait]
impl ChatStore for SqliteStore {
    async fn create_room(&self, room: &Room) -> Result<(), StoreError> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        sqlx::query(
            "INSERT INTO rooms (id, project_id, name, topic, visibility, viewers_can_post, \
             created_by, archived_at, last_seq, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
        )
        .bind(encode_id(room.id.0))
        .bind(encode_id(room.project_id.0))
        .bind(room.name.as_str())
        .bind(room.topic.as_str())
        .bind(room.visibility.as_str())
        .bind(room.viewers_can_post)
        .bind(room.created_by.map(|u| encode_id(u.0)))
        .bind(room.archived_at.map(encode_time))
        .bind(encode_time(room.created_at))
        .bind(encode_time(room.updated_at))
        .execute(&mut *tx)
        .await
        .map_err(on_foreign_key_violation)?;
        if let Some(creator) = room.created_by {
            sqlx::query("INSERT INTO room_members (room_id, user_id, joined_at) VALUES (?, ?, ?)")
                .bind(encode_id(room.id.0))
                .bind(encode_id(creator.0))
                .bind(encode_time(room.created_at))
                .execute(&mut *tx)
                .await
                .map_err(on_foreign_key_violation)?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn room_by_id(&self, id: RoomId) -> Result<Option<Room>, StoreError> {
        let row: Option<RoomRow> = sqlx::query_as("SELECT * FROM rooms WHERE id = ?")
            .bind(encode_id(id.0))
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(RoomRow::into_room).transpose()?)
    }

    async fn rooms_for(
        &self,
        project: ProjectId,
        user: UserId,
    ) -> Result<Vec<RoomListing>, StoreError> {
        // One query: the rooms and, where there is one, the caller's membership.
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            room: RoomRow,
            m_joined_at: Option<String>,
            m_read_seq: Option<i64>,
            m_unread_count: Option<i64>,
            m_mention_count: Option<i64>,
        }
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT r.*, m.joined_at AS m_joined_at, m.read_seq AS m_read_seq, \
             m.unread_count AS m_unread_count, m.mention_count AS m_mention_count \
             FROM rooms r LEFT JOIN room_members m ON m.room_id = r.id AND m.user_id = ? \
             WHERE r.project_id = ? AND (r.visibility = 'public' OR m.user_id IS NOT NULL) \
             ORDER BY r.id",
        )
        .bind(encode_id(user.0))
        .bind(encode_id(project.0))
        .fetch_all(&self.pool)
        .await?;
        let mut listings = Vec::with_capacity(rows.len());
        for row in rows {
            let room = row.room.into_room()?;
            let membership = match row.m_joined_at {
                Some(joined_at) => Some(RoomMember {
                    room_id: room.id,
                    user_id: user,
                    joined_at: decode_time("room_members.joined_at", &joined_at)?,
                    read_seq: count(row.m_read_seq.unwrap_or_default()),
                    unread_count: count(row.m_unread_count.unwrap_or_default()),
                    mention_count: count(row.m_mention_count.unwrap_or_default()),
                }),
                None => None,
            };
            listings.push(RoomListing { room, membership });
        }
        Ok(listings)
    }

    async fn count_rooms(&self, project: ProjectId) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM rooms WHERE project_id = ?")
            .bind(encode_id(project.0))
            .fetch_one(&self.pool)
            .await?;
        Ok(count(n))
    }

    async fn update_room(&self, room: &Room) -> Result<Room, StoreError> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        let row: Option<RoomRow> = sqlx::query_as(
            "UPDATE rooms SET name = ?, topic = ?, visibility = ?, viewers_can_post = ?, \
             archived_at = ?, updated_at = ? WHERE id = ? RETURNING *",
        )
        .bind(room.name.as_str())
        .bind(room.topic.as_str())
        .bind(room.visibility.as_str())
        .bind(room.viewers_can_post)
        .bind(room.archived_at.map(encode_time))
        .bind(encode_time(room.updated_at))
        .bind(encode_id(room.id.0))
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row.ok_or(StoreError::NotFound)?.into_room()?)
    }

    async fn delete_room(&self, id: RoomId) -> Result<(), StoreError> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        let deleted = sqlx::query("DELETE FROM rooms WHERE id = ?")
            .bind(encode_id(id.0))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        if deleted == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn join_room(
        &self,
        room: RoomId,
        user: UserId,
        at: DateTime<Utc>,
    ) -> Result<(RoomMember, bool), StoreError> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        let inserted = sqlx::query(
            "INSERT INTO room_members (room_id, user_id, joined_at, read_seq) \
             SELECT id, ?, ?, last_seq FROM rooms WHERE id = ? \
             ON CONFLICT (room_id, user_id) DO NOTHING",
        )
        .bind(encode_id(user.0))
        .bind(encode_time(at))
        .bind(encode_id(room.0))
        .execute(&mut *tx)
        .await
        .map_err(on_foreign_key_violation)?
        .rows_affected();
        let row: Option<MemberRow> =
            sqlx::query_as("SELECT * FROM room_members WHERE room_id = ? AND user_id = ?")
                .bind(encode_id(room.0))
                .bind(encode_id(user.0))
                .fetch_optional(&mut *tx)
                .await?;
        tx.commit().await?;
        let member = row.ok_or(StoreError::NotFound)?.into_member()?;
        Ok((member, inserted > 0))
    }

    async fn leave_room(&self, room: RoomId, user: UserId) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        let left = sqlx::query("DELETE FROM room_members WHERE room_id = ? AND user_id = ?")
            .bind(encode_id(room.0))
            .bind(encode_id(user.0))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(left > 0)
    }

    async fn room_member(
        &self,
        room: RoomId,
        user: UserId,
    ) -> Result<Option<RoomMember>, StoreError> {
        let row: Option<MemberRow> =
            sqlx::query_as("SELECT * FROM room_members WHERE room_id = ? AND user_id = ?")
                .bind(encode_id(room.0))
                .bind(encode_id(user.0))
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(MemberRow::into_member).transpose()?)
    }

    async fn room_members(&self, room: RoomId) -> Result<Vec<RoomMember>, StoreError> {
        let rows: Vec<MemberRow> = sqlx::query_as(
            "SELECT * FROM room_members WHERE room_id = ? ORDER BY joined_at, user_id",
        )
        .bind(encode_id(room.0))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(MemberRow::into_member)
            .collect::<Result<_, _>>()?)
    }

    async fn post_message(&self, message: &NewMessage) -> Result<Posted, StoreError> {
        messages::post_message(&self.pool, message).await
    }

    async fn message_by_id(&self, id: MessageId) -> Result<Option<Message>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        message_in(&mut conn, id).await
    }

    async fn history(
        &self,
        room: RoomId,
        page: HistoryPage,
        limit: u32,
    ) -> Result<Vec<Message>, StoreError> {
        messages::history(&self.pool, room, page, limit).await
    }

    async fn edit_message(
        &self,
        id: MessageId,
        body: &str,
        mentions: &[UserId],
        at: DateTime<Utc>,
    ) -> Result<Option<Message>, StoreError> {
        messages::edit_message(&self.pool, id, body, mentions, at).await
    }

    async fn delete_message(
        &self,
        id: MessageId,
        at: DateTime<Utc>,
    ) -> Result<Option<Message>, StoreError> {
        messages::delete_message(&self.pool, id, at).await
    }

    async fn mark_read(
        &self,
        room: RoomId,
        user: UserId,
        seq: u64,
    ) -> Result<Option<RoomMember>, StoreError> {
        messages::mark_read(&self.pool, room, user, seq).await
    }

    async fn receipts(&self, room: RoomId, seq: u64) -> Result<Vec<RoomMember>, StoreError> {
        social::receipts(&self.pool, room, seq).await
    }

    async fn toggle_reaction(
        &self,
        message: MessageId,
        user: UserId,
        emoji: &Emoji,
        at: DateTime<Utc>,
    ) -> Result<Option<(bool, Vec<Reaction>)>, StoreError> {
        social::toggle_reaction(&self.pool, message, user, emoji, at).await
    }

    async fn reactions(
        &self,
        messages: &[MessageId],
    ) -> Result<Vec<(MessageId, Vec<Reaction>)>, StoreError> {
        social::reactions(&self.pool, messages).await
    }

    async fn create_room_invite(
        &self,
        invite: &RoomInvite,
        token: &TokenHash,
    ) -> Result<(), StoreError> {
        social::create_invite(&self.pool, invite, token).await
    }

    async fn room_invites(&self, room: RoomId) -> Result<Vec<RoomInvite>, StoreError> {
        social::invites(&self.pool, room).await
    }

    async fn revoke_room_invite(
        &self,
        room: RoomId,
        id: RoomInviteId,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        social::revoke_invite(&self.pool, room, id, at).await
    }

    async fn room_of_invite(&self, token: &TokenHash) -> Result<Option<RoomId>, StoreError> {
        let room: Option<String> =
            sqlx::query_scalar("SELECT room_id FROM room_invites WHERE token_hash = ?")
                .bind(&token.0)
                .fetch_optional(&self.pool)
                .await?;
        Ok(room
            .map(|id| decode_id("room_invites.room_id", &id).map(RoomId))
            .transpose()?)
    }

    async fn redeem_room_invite(
        &self,
        token: &TokenHash,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<Result<(RoomId, RoomMember), InviteRefusal>, StoreError> {
        social::redeem_invite(&self.pool, token, user, now).await
    }

    async fn search_messages(
        &self,
        project: ProjectId,
        user: UserId,
        query: &str,
        limit: u32,
    ) -> Result<Vec<Message>, StoreError> {
        social::search(&self.pool, project, user, query, limit).await
    }
}
