//! Chat messages in PostgreSQL: posting (seq, counters, idempotency by client id),
//! history pages, edits, tombstones and read markers. The `ChatStore` impl in `chat.rs`
//! delegates here.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tandem_domain::{Message, MessageId, NewMessage, RoomId, RoomMember, UserId};
use uuid::Uuid;

use super::chat::{MemberRow, MessageRow, as_i64, message_in, with_mentions};
use super::{micros, on_foreign_key_violation};
use crate::StoreError;
use crate::chat::{HistoryPage, Posted, as_posted};

pub(super) async fn post_message(
    pool: &PgPool,
    message: &NewMessage,
) -> Result<Posted, StoreError> {
    let mut tx = pool.begin().await?;
    // The room's lock first: concurrent posts with one client id serialise here, so
    // the second finds the first.
    let seq: Option<i64> = sqlx::query_scalar(
        "UPDATE rooms SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq",
    )
    .bind(message.room_id.0)
    .fetch_optional(&mut *tx)
    .await?;
    let seq = seq.ok_or(StoreError::NotFound)?;
    if let Some(client_id) = &message.client_id {
        let existing: Option<Uuid> = sqlx::query_scalar(
            "SELECT id FROM messages WHERE room_id = $1 AND author_id = $2 AND client_id = $3",
        )
        .bind(message.room_id.0)
        .bind(message.author_id.0)
        .bind(client_id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(id) = existing {
            // Give the seq back: nothing is posted.
            tx.rollback().await?;
            let mut conn = pool.acquire().await?;
            let found = message_in(&mut conn, MessageId(id))
                .await?
                .ok_or(StoreError::NotFound)?;
            return Ok(Posted::Existing(found));
        }
    }
    sqlx::query(
        "INSERT INTO messages (id, room_id, seq, author_id, body, reply_to, client_id, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(message.id.0)
    .bind(message.room_id.0)
    .bind(seq)
    .bind(message.author_id.0)
    .bind(message.body.as_str())
    .bind(message.reply_to.map(|m| m.0))
    .bind(message.client_id.as_deref())
    .bind(micros(message.created_at))
    .execute(&mut *tx)
    .await
    .map_err(on_foreign_key_violation)?;
    // Mentioning yourself notifies nobody.
    let mentioned: Vec<Uuid> = message
        .mentions
        .iter()
        .filter(|u| **u != message.author_id)
        .map(|u| u.0)
        .collect();
    if !mentioned.is_empty() {
        sqlx::query(
            "INSERT INTO message_mentions (room_id, seq, user_id) \
             SELECT $1, $2, u FROM UNNEST($3::uuid[]) AS u ON CONFLICT DO NOTHING",
        )
        .bind(message.room_id.0)
        .bind(seq)
        .bind(&mentioned)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE room_members SET mention_count = mention_count + 1 \
             WHERE room_id = $1 AND user_id = ANY($2)",
        )
        .bind(message.room_id.0)
        .bind(&mentioned)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query(
        "UPDATE room_members SET unread_count = unread_count + 1 \
         WHERE room_id = $1 AND user_id <> $2",
    )
    .bind(message.room_id.0)
    .bind(message.author_id.0)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    let posted = as_posted(message, u64::try_from(seq).unwrap_or_default());
    Ok(Posted::Created(posted))
}

pub(super) async fn history(
    pool: &PgPool,
    room: RoomId,
    page: HistoryPage,
    limit: u32,
) -> Result<Vec<Message>, StoreError> {
    let mut conn = pool.acquire().await?;
    let limit = i64::from(limit);
    let select = |sql: &'static str, seq: i64, limit: i64| {
        sqlx::query_as::<_, MessageRow>(sql)
            .bind(room.0)
            .bind(seq)
            .bind(limit)
    };
    let rows: Vec<MessageRow> = match page {
        HistoryPage::Latest => {
            select(
                concat!(
                    "SELECT ",
                    message_columns!(),
                    " FROM messages WHERE room_id = $1 AND seq > $2 ORDER BY seq DESC LIMIT $3"
                ),
                0,
                limit,
            )
            .fetch_all(&mut *conn)
            .await?
        }
        HistoryPage::Before(seq) => {
            select(
                concat!(
                    "SELECT ",
                    message_columns!(),
                    " FROM messages WHERE room_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3"
                ),
                as_i64(seq),
                limit,
            )
            .fetch_all(&mut *conn)
            .await?
        }
        HistoryPage::After(seq) => {
            select(
                concat!(
                    "SELECT ",
                    message_columns!(),
                    " FROM messages WHERE room_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
                ),
                as_i64(seq),
                limit,
            )
            .fetch_all(&mut *conn)
            .await?
        }
        HistoryPage::Around(seq) => {
            let before = limit / 2;
            let mut rows = select(
                concat!(
                    "SELECT ",
                    message_columns!(),
                    " FROM messages WHERE room_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3"
                ),
                as_i64(seq),
                before,
            )
            .fetch_all(&mut *conn)
            .await?;
            rows.reverse();
            let after = select(
                concat!(
                    "SELECT ",
                    message_columns!(),
                    " FROM messages WHERE room_id = $1 AND seq >= $2 ORDER BY seq LIMIT $3"
                ),
                as_i64(seq),
                limit - before,
            )
            .fetch_all(&mut *conn)
            .await?;
            rows.extend(after);
            rows
        }
    };
    with_mentions(&mut conn, room, rows).await
}

pub(super) async fn edit_message(
    pool: &PgPool,
    id: MessageId,
    body: &str,
    mentions: &[UserId],
    at: DateTime<Utc>,
) -> Result<Option<Message>, StoreError> {
    let mut tx = pool.begin().await?;
    let row: Option<(Uuid, i64, Option<Uuid>)> = sqlx::query_as(
        "UPDATE messages SET body = $1, edited_at = $2 WHERE id = $3 AND deleted_at IS NULL \
         RETURNING room_id, seq, author_id",
    )
    .bind(body)
    .bind(micros(at))
    .bind(id.0)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((room, seq, author)) = row else {
        return Ok(None);
    };
    sqlx::query("DELETE FROM message_mentions WHERE room_id = $1 AND seq = $2")
        .bind(room)
        .bind(seq)
        .execute(&mut *tx)
        .await?;
    let mentioned: Vec<Uuid> = mentions
        .iter()
        .map(|u| u.0)
        .filter(|u| Some(*u) != author)
        .collect();
    sqlx::query(
        "INSERT INTO message_mentions (room_id, seq, user_id) \
         SELECT $1, $2, u FROM UNNEST($3::uuid[]) AS u ON CONFLICT DO NOTHING",
    )
    .bind(room)
    .bind(seq)
    .bind(&mentioned)
    .execute(&mut *tx)
    .await?;
    let edited = message_in(&mut tx, id).await?;
    tx.commit().await?;
    Ok(edited)
}

pub(super) async fn delete_message(
    pool: &PgPool,
    id: MessageId,
    at: DateTime<Utc>,
) -> Result<Option<Message>, StoreError> {
    let mut tx = pool.begin().await?;
    let row: Option<(Uuid, i64, Option<Uuid>)> = sqlx::query_as(
        "UPDATE messages SET body = '', deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL \
         RETURNING room_id, seq, author_id",
    )
    .bind(micros(at))
    .bind(id.0)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((room, seq, author)) = row else {
        return Ok(None);
    };
    // Held to the end, like a post's: a read marker's recount waits for this to commit.
    sqlx::query("SELECT 1 FROM rooms WHERE id = $1 FOR NO KEY UPDATE")
        .bind(room)
        .execute(&mut *tx)
        .await?;
    // Members who had not read it yet no longer have it to read.
    sqlx::query(
        "UPDATE room_members SET unread_count = GREATEST(unread_count - 1, 0) \
         WHERE room_id = $1 AND read_seq < $2 AND user_id IS DISTINCT FROM $3",
    )
    .bind(room)
    .bind(seq)
    .bind(author)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE room_members SET mention_count = GREATEST(mention_count - 1, 0) \
         WHERE room_id = $1 AND read_seq < $2 AND user_id IN \
         (SELECT user_id FROM message_mentions WHERE room_id = $1 AND seq = $2)",
    )
    .bind(room)
    .bind(seq)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM message_mentions WHERE room_id = $1 AND seq = $2")
        .bind(room)
        .bind(seq)
        .execute(&mut *tx)
        .await?;
    let deleted = message_in(&mut tx, id).await?;
    tx.commit().await?;
    Ok(deleted)
}

pub(super) async fn mark_read(
    pool: &PgPool,
    room: RoomId,
    user: UserId,
    seq: u64,
) -> Result<Option<RoomMember>, StoreError> {
    // The room's row, shared: a post or a deletion in flight (they hold it exclusively)
    // commits first, so the recount below sees it. Then the member's row: a concurrent
    // read of the same member commits first, so the marker never moves back. Each
    // statement of a READ COMMITTED transaction sees what committed before it began.
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT 1 FROM rooms WHERE id = $1 FOR SHARE")
        .bind(room.0)
        .execute(&mut *tx)
        .await?;
    sqlx::query("SELECT 1 FROM room_members WHERE room_id = $1 AND user_id = $2 FOR UPDATE")
        .bind(room.0)
        .bind(user.0)
        .execute(&mut *tx)
        .await?;
    // Forward only, and never past the newest message; then recount what is left.
    let row: Option<MemberRow> = sqlx::query_as(
        "WITH target AS (SELECT GREATEST(m.read_seq, LEAST($1, r.last_seq)) AS read_seq \
             FROM room_members m JOIN rooms r ON r.id = m.room_id \
             WHERE m.room_id = $2 AND m.user_id = $3) \
         UPDATE room_members SET read_seq = target.read_seq, \
         unread_count = (SELECT COUNT(*) FROM messages x WHERE x.room_id = $2 \
             AND x.seq > target.read_seq AND x.deleted_at IS NULL \
             AND x.author_id IS DISTINCT FROM $3), \
         mention_count = (SELECT COUNT(*) FROM message_mentions x WHERE x.room_id = $2 \
             AND x.user_id = $3 AND x.seq > target.read_seq) \
         FROM target WHERE room_id = $2 AND user_id = $3 \
         RETURNING room_members.*",
    )
    .bind(as_i64(seq))
    .bind(room.0)
    .bind(user.0)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(row.map(RoomMember::from))
}
