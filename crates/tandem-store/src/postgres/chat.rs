//! Chat in PostgreSQL. Posting takes the room's row lock (the `last_seq` update), so a
//! room's seqs are gap-free and in commit order and the counters move with the messages.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use tandem_domain::{
    Emoji, InviteRefusal, Message, MessageId, Name, NewMessage, ProjectId, Reaction, Room, RoomId,
    RoomInvite, RoomInviteId, RoomMember, TokenHash, Topic, UserId, Visibility,
};
use uuid::Uuid;

use super::chat_messages as messages;
use super::chat_social as social;
use super::{PgStore, micros, on_foreign_key_violation};
use crate::StoreError;
use crate::chat::{ChatStore, HistoryPage, Posted, RoomListing};

#[derive(sqlx::FromRow)]
struct RoomRow {
    id: Uuid,
    project_id: Uuid,
    name: String,
    topic: String,
    visibility: String,
    viewers_can_post: bool,
    created_by: Option<Uuid>,
    archived_at: Option<DateTime<Utc>>,
    last_seq: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl RoomRow {
    fn into_room(self) -> Result<Room, sqlx::Error> {
        Ok(Room {
            id: RoomId(self.id),
            project_id: ProjectId(self.project_id),
            name: Name::from_storage(self.name),
            topic: Topic::from_storage(self.topic),
            visibility: Visibility::parse(&self.visibility, "visibility").map_err(|e| {
                sqlx::Error::ColumnDecode {
                    index: "rooms.visibility".into(),
                    source: Box::new(e),
                }
            })?,
            viewers_can_post: self.viewers_can_post,
            created_by: self.created_by.map(UserId),
            archived_at: self.archived_at,
            last_seq: count(self.last_seq),
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct MemberRow {
    room_id: Uuid,
    user_id: Uuid,
    joined_at: DateTime<Utc>,
    read_seq: i64,
    unread_count: i64,
    mention_count: i64,
}

impl From<MemberRow> for RoomMember {
    fn from(row: MemberRow) -> Self {
        Self {
            room_id: RoomId(row.room_id),
            user_id: UserId(row.user_id),
            joined_at: row.joined_at,
            read_seq: count(row.read_seq),
            unread_count: count(row.unread_count),
            mention_count: count(row.mention_count),
        }
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct MessageRow {
    id: Uuid,
    pub(super) room_id: Uuid,
    seq: i64,
    author_id: Option<Uuid>,
    body: String,
    reply_to: Option<Uuid>,
    client_id: Option<String>,
    created_at: DateTime<Utc>,
    edited_at: Option<DateTime<Utc>>,
    deleted_at: Option<DateTime<Utc>>,
}

impl MessageRow {
    fn into_message(self, mentions: Vec<UserId>) -> Message {
        Message {
            id: MessageId(self.id),
            room_id: RoomId(self.room_id),
            seq: count(self.seq),
            author_id: self.author_id.map(UserId),
            body: self.body,
            reply_to: self.reply_to.map(MessageId),
            client_id: self.client_id,
            mentions,
            created_at: self.created_at,
            edited_at: self.edited_at,
            deleted_at: self.deleted_at,
        }
    }
}

pub(super) fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or_default()
}

pub(super) fn as_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

pub(super) async fn with_mentions(
    conn: &mut PgConnection,
    room: RoomId,
    rows: Vec<MessageRow>,
) -> Result<Vec<Message>, StoreError> {
    let (Some(low), Some(high)) = (
        rows.iter().map(|r| r.seq).min(),
        rows.iter().map(|r| r.seq).max(),
    ) else {
        return Ok(Vec::new());
    };
    let mentions: Vec<(i64, Uuid)> = sqlx::query_as(
        "SELECT seq, user_id FROM message_mentions WHERE room_id = $1 AND seq BETWEEN $2 AND $3 \
         ORDER BY seq, user_id",
    )
    .bind(room.0)
    .bind(low)
    .bind(high)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let mine = mentions
                .iter()
                .filter(|(seq, _)| *seq == row.seq)
                .map(|(_, id)| UserId(*id))
                .collect();
            row.into_message(mine)
        })
        .collect())
}

pub(super) async fn message_in(
    conn: &mut PgConnection,
    id: MessageId,
) -> Result<Option<Message>, StoreError> {
    let row: Option<MessageRow> = sqlx::query_as(concat!(
        "SELECT ",
        message_columns!(),
        " FROM messages WHERE id = $1"
    ))
    .bind(id.0)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let room = RoomId(row.room_id);
    Ok(with_mentions(conn, room, vec![row]).await?.pop())
}

#[async_trait]
impl ChatStore for PgStore {
    async fn create_room(&self, room: &Room) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO rooms (id, project_id, name, topic, visibility, viewers_can_post, \
             created_by, archived_at, last_seq, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $10)",
        )
        .bind(room.id.0)
        .bind(room.project_id.0)
        .bind(room.name.as_str())
        .bind(room.topic.as_str())
        .bind(room.visibility.as_str())
        .bind(room.viewers_can_post)
        .bind(room.created_by.map(|u| u.0))
        .bind(room.archived_at.map(micros))
        .bind(micros(room.created_at))
        .bind(micros(room.updated_at))
        .execute(&mut *tx)
        .await
        .map_err(on_foreign_key_violation)?;
        if let Some(creator) = room.created_by {
            sqlx::query(
                "INSERT INTO room_members (room_id, user_id, joined_at) VALUES ($1, $2, $3)",
            )
            .bind(room.id.0)
            .bind(creator.0)
            .bind(micros(room.created_at))
            .execute(&mut *tx)
            .await
            .map_err(on_foreign_key_violation)?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn room_by_id(&self, id: RoomId) -> Result<Option<Room>, StoreError> {
        let row: Option<RoomRow> = sqlx::query_as("SELECT * FROM rooms WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(RoomRow::into_room).transpose()?)
    }

    async fn rooms_for(
        &self,
        project: ProjectId,
        user: UserId,
    ) -> Result<Vec<RoomListing>, StoreError> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            room: RoomRow,
            m_joined_at: Option<DateTime<Utc>>,
            m_read_seq: Option<i64>,
            m_unread_count: Option<i64>,
            m_mention_count: Option<i64>,
        }
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT r.*, m.joined_at AS m_joined_at, m.read_seq AS m_read_seq, \
             m.unread_count AS m_unread_count, m.mention_count AS m_mention_count \
             FROM rooms r LEFT JOIN room_members m ON m.room_id = r.id AND m.user_id = $1 \
             WHERE r.project_id = $2 AND (r.visibility = 'public' OR m.user_id IS NOT NULL) \
             ORDER BY r.id",
        )
        .bind(user.0)
        .bind(project.0)
        .fetch_all(&self.pool)
        .await?;
        let mut listings = Vec::with_capacity(rows.len());
        for row in rows {
            let room = row.room.into_room()?;
            let membership = row.m_joined_at.map(|joined_at| RoomMember {
                room_id: room.id,
                user_id: user,
                joined_at,
                read_seq: count(row.m_read_seq.unwrap_or_default()),
                unread_count: count(row.m_unread_count.unwrap_or_default()),
                mention_count: count(row.m_mention_count.unwrap_or_default()),
            });
            listings.push(RoomListing { room, membership });
        }
        Ok(listings)
    }

    async fn count_rooms(&self, project: ProjectId) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM rooms WHERE project_id = $1")
            .bind(project.0)
            .fetch_one(&self.pool)
            .await?;
        Ok(count(n))
    }

    async fn update_room(&self, room: &Room) -> Result<Room, StoreError> {
        let row: Option<RoomRow> = sqlx::query_as(
            "UPDATE rooms SET name = $1, topic = $2, visibility = $3, viewers_can_post = $4, \
             archived_at = $5, updated_at = $6 WHERE id = $7 RETURNING *",
        )
        .bind(room.name.as_str())
        .bind(room.topic.as_str())
        .bind(room.visibility.as_str())
        .bind(room.viewers_can_post)
        .bind(room.archived_at.map(micros))
        .bind(micros(room.updated_at))
        .bind(room.id.0)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.ok_or(StoreError::NotFound)?.into_room()?)
    }

    async fn delete_room(&self, id: RoomId) -> Result<(), StoreError> {
        let deleted = sqlx::query("DELETE FROM rooms WHERE id = $1")
            .bind(id.0)
            .execute(&self.pool)
            .await?
            .rows_affected();
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
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO room_members (room_id, user_id, joined_at, read_seq) \
             SELECT id, $1, $2, last_seq FROM rooms WHERE id = $3 \
             ON CONFLICT (room_id, user_id) DO NOTHING",
        )
        .bind(user.0)
        .bind(micros(at))
        .bind(room.0)
        .execute(&mut *tx)
        .await
        .map_err(on_foreign_key_violation)?
        .rows_affected();
        let row: Option<MemberRow> =
            sqlx::query_as("SELECT * FROM room_members WHERE room_id = $1 AND user_id = $2")
                .bind(room.0)
                .bind(user.0)
                .fetch_optional(&mut *tx)
                .await?;
        tx.commit().await?;
        let member = row.ok_or(StoreError::NotFound)?;
        Ok((member.into(), inserted > 0))
    }

    async fn leave_room(&self, room: RoomId, user: UserId) -> Result<bool, StoreError> {
        let left = sqlx::query("DELETE FROM room_members WHERE room_id = $1 AND user_id = $2")
            .bind(room.0)
            .bind(user.0)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(left > 0)
    }

    async fn room_member(
        &self,
        room: RoomId,
        user: UserId,
    ) -> Result<Option<RoomMember>, StoreError> {
        let row: Option<MemberRow> =
            sqlx::query_as("SELECT * FROM room_members WHERE room_id = $1 AND user_id = $2")
                .bind(room.0)
                .bind(user.0)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(RoomMember::from))
    }

    async fn room_members(&self, room: RoomId) -> Result<Vec<RoomMember>, StoreError> {
        let rows: Vec<MemberRow> = sqlx::query_as(
            "SELECT * FROM room_members WHERE room_id = $1 ORDER BY joined_at, user_id",
        )
        .bind(room.0)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(RoomMember::from).collect())
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
        let room: Option<Uuid> =
            sqlx::query_scalar("SELECT room_id FROM room_invites WHERE token_hash = $1")
                .bind(&token.0)
                .fetch_optional(&self.pool)
                .await?;
        Ok(room.map(RoomId))
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
