//! Chat messages in SQLite: posting (seq, counters, idempotency by client id), history
//! pages, edits, tombstones and read markers. The `ChatStore` impl in `chat.rs` delegates
//! here.

use chrono::{DateTime, Utc};
use sqlx::SqlitePool;
use tandem_domain::{Message, MessageId, NewMessage, RoomId, RoomMember, UserId};

use super::chat::{MemberRow, MessageRow, as_i64, message_in, with_mentions};
use super::{BEGIN_WRITE, decode_id, encode_id, encode_time, on_foreign_key_violation};
use crate::StoreError;
use crate::chat::{HistoryPage, Posted, as_posted};

pub(super) async fn post_message(
    pool: &SqlitePool,
    message: &NewMessage,
) -> Result<Posted, StoreError> {
    let mut tx = pool.begin_with(BEGIN_WRITE).await?;
    let room = encode_id(message.room_id.0);
    let author = encode_id(message.author_id.0);
    if let Some(client_id) = &message.client_id {
        let existing: Option<String> = sqlx::query_scalar(
            "SELECT id FROM messages WHERE room_id = ? AND author_id = ? AND client_id = ?",
        )
        .bind(&room)
        .bind(&author)
        .bind(client_id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(id) = existing {
            let id = MessageId(decode_id("messages.id", &id)?);
            let found = message_in(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
            return Ok(Posted::Existing(found));
        }
    }
    let seq: Option<i64> = sqlx::query_scalar(
        "UPDATE rooms SET last_seq = last_seq + 1 WHERE id = ? RETURNING last_seq",
    )
    .bind(&room)
    .fetch_optional(&mut *tx)
    .await?;
    let seq = seq.ok_or(StoreError::NotFound)?;
    sqlx::query(
        "INSERT INTO messages (id, room_id, seq, author_id, body, reply_to, client_id, \
         created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(encode_id(message.id.0))
    .bind(&room)
    .bind(seq)
    .bind(&author)
    .bind(message.body.as_str())
    .bind(message.reply_to.map(|m| encode_id(m.0)))
    .bind(message.client_id.as_deref())
    .bind(encode_time(message.created_at))
    .execute(&mut *tx)
    .await
    .map_err(on_foreign_key_violation)?;
    // Mentioning yourself notifies nobody.
    for user in message.mentions.iter().filter(|u| **u != message.author_id) {
        sqlx::query(
            "INSERT OR IGNORE INTO message_mentions (room_id, seq, user_id) VALUES (?, ?, ?)",
        )
        .bind(&room)
        .bind(seq)
        .bind(encode_id(user.0))
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE room_members SET mention_count = mention_count + 1 \
             WHERE room_id = ? AND user_id = ?",
        )
        .bind(&room)
        .bind(encode_id(user.0))
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query(
        "UPDATE room_members SET unread_count = unread_count + 1 \
         WHERE room_id = ? AND user_id <> ?",
    )
    .bind(&room)
    .bind(&author)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    let posted = as_posted(message, u64::try_from(seq).unwrap_or_default());
    Ok(Posted::Created(posted))
}

pub(super) async fn history(
    pool: &SqlitePool,
    room: RoomId,
    page: HistoryPage,
    limit: u32,
) -> Result<Vec<Message>, StoreError> {
    let mut conn = pool.acquire().await?;
    let id = encode_id(room.0);
    let limit = i64::from(limit);
    let rows: Vec<MessageRow> =
        match page {
            HistoryPage::Latest => {
                sqlx::query_as("SELECT * FROM messages WHERE room_id = ? ORDER BY seq DESC LIMIT ?")
                    .bind(&id)
                    .bind(limit)
                    .fetch_all(&mut *conn)
                    .await?
            }
            HistoryPage::Before(seq) => sqlx::query_as(
                "SELECT * FROM messages WHERE room_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
            )
            .bind(&id)
            .bind(as_i64(seq))
            .bind(limit)
            .fetch_all(&mut *conn)
            .await?,
            HistoryPage::After(seq) => {
                sqlx::query_as(
                    "SELECT * FROM messages WHERE room_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                )
                .bind(&id)
                .bind(as_i64(seq))
                .bind(limit)
                .fetch_all(&mut *conn)
                .await?
            }
            HistoryPage::Around(seq) => {
                let before = limit / 2;
                let mut rows: Vec<MessageRow> = sqlx::query_as(
                "SELECT * FROM messages WHERE room_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
            )
            .bind(&id)
            .bind(as_i64(seq))
            .bind(before)
            .fetch_all(&mut *conn)
            .await?;
                rows.reverse();
                let after: Vec<MessageRow> = sqlx::query_as(
                    "SELECT * FROM messages WHERE room_id = ? AND seq >= ? ORDER BY seq LIMIT ?",
                )
                .bind(&id)
                .bind(as_i64(seq))
                .bind(limit - before)
                .fetch_all(&mut *conn)
                .await?;
                rows.extend(after);
                rows
            }
        };
    with_mentions(&mut conn, room, rows).await
}

pub(super) async fn edit_message(
    pool: &SqlitePool,
    id: MessageId,
    body: &str,
    mentions: &[UserId],
    at: DateTime<Utc>,
) -> Result<Option<Message>, StoreError> {
    let mut tx = pool.begin_with(BEGIN_WRITE).await?;
    let row: Option<(String, i64, Option<String>)> = sqlx::query_as(
        "UPDATE messages SET body = ?, edited_at = ? WHERE id = ? AND deleted_at IS NULL \
         RETURNING room_id, seq, author_id",
    )
    .bind(body)
    .bind(encode_time(at))
    .bind(encode_id(id.0))
    .fetch_optional(&mut *tx)
    .await?;
    let Some((room, seq, author)) = row else {
        return Ok(None);
    };
    sqlx::query("DELETE FROM message_mentions WHERE room_id = ? AND seq = ?")
        .bind(&room)
        .bind(seq)
        .execute(&mut *tx)
        .await?;
    let author = author
        .map(|a| decode_id("messages.author_id", &a))
        .transpose()?;
    for user in mentions.iter().filter(|u| Some(u.0) != author) {
        sqlx::query(
            "INSERT OR IGNORE INTO message_mentions (room_id, seq, user_id) VALUES (?, ?, ?)",
        )
        .bind(&room)
        .bind(seq)
        .bind(encode_id(user.0))
        .execute(&mut *tx)
        .await?;
    }
    let edited = message_in(&mut tx, id).await?;
    tx.commit().await?;
    Ok(edited)
}

pub(super) async fn delete_message(
    pool: &SqlitePool,
    id: MessageId,
    at: DateTime<Utc>,
) -> Result<Option<Message>, StoreError> {
    let mut tx = pool.begin_with(BEGIN_WRITE).await?;
    let row: Option<(String, i64, Option<String>)> = sqlx::query_as(
        "UPDATE messages SET body = '', deleted_at = ? WHERE id = ? AND deleted_at IS NULL \
         RETURNING room_id, seq, author_id",
    )
    .bind(encode_time(at))
    .bind(encode_id(id.0))
    .fetch_optional(&mut *tx)
    .await?;
    let Some((room, seq, author)) = row else {
        return Ok(None);
    };
    // Members who had not read it yet no longer have it to read.
    sqlx::query(
        "UPDATE room_members SET unread_count = MAX(unread_count - 1, 0) \
         WHERE room_id = ? AND read_seq < ? AND user_id IS NOT ?",
    )
    .bind(&room)
    .bind(seq)
    .bind(author.as_deref())
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE room_members SET mention_count = MAX(mention_count - 1, 0) \
         WHERE room_id = ? AND read_seq < ? AND user_id IS NOT ? AND user_id IN \
         (SELECT user_id FROM message_mentions WHERE room_id = ? AND seq = ?)",
    )
    .bind(&room)
    .bind(seq)
    .bind(author.as_deref())
    .bind(&room)
    .bind(seq)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM message_mentions WHERE room_id = ? AND seq = ?")
        .bind(&room)
        .bind(seq)
        .execute(&mut *tx)
        .await?;
    let deleted = message_in(&mut tx, id).await?;
    tx.commit().await?;
    Ok(deleted)
}

pub(super) async fn mark_read(
    pool: &SqlitePool,
    room: RoomId,
    user: UserId,
    seq: u64,
) -> Result<Option<RoomMember>, StoreError> {
    let mut tx = pool.begin_with(BEGIN_WRITE).await?;
    let (room_id, user_id) = (encode_id(room.0), encode_id(user.0));
    // Forward only, and never past the newest message; then recount what is left.
    let row: Option<MemberRow> = sqlx::query_as(
        "UPDATE room_members SET read_seq = MAX(read_seq, \
             MIN(?, (SELECT last_seq FROM rooms WHERE id = room_members.room_id))), \
         unread_count = (SELECT COUNT(*) FROM messages m WHERE m.room_id = room_members.room_id \
             AND m.seq > MAX(room_members.read_seq, MIN(?, (SELECT last_seq FROM rooms WHERE id = room_members.room_id))) \
             AND m.deleted_at IS NULL AND m.author_id IS NOT room_members.user_id), \
         mention_count = (SELECT COUNT(*) FROM message_mentions x \
             WHERE x.room_id = room_members.room_id AND x.user_id = room_members.user_id \
             AND x.seq > MAX(room_members.read_seq, MIN(?, (SELECT last_seq FROM rooms WHERE id = room_members.room_id)))) \
         WHERE room_id = ? AND user_id = ? RETURNING *",
    )
    .bind(as_i64(seq))
    .bind(as_i64(seq))
    .bind(as_i64(seq))
    .bind(&room_id)
    .bind(&user_id)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(row.map(MemberRow::into_member).transpose()?)
}
