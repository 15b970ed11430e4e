//! The social side of chat in PostgreSQL: receipts, reactions, invite tokens and search
//! (a generated `tsvector` with a GIN index). The `ChatStore` impl in `chat.rs` delegates
//! here.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tandem_domain::{
    Emoji, InviteRefusal, Message, MessageId, ProjectId, Reaction, RoomId, RoomInvite,
    RoomInviteId, RoomMember, TokenHash, UserId,
};
use uuid::Uuid;

use super::chat::{MemberRow, MessageRow, with_mentions};
use super::{micros, on_foreign_key_violation};
use crate::StoreError;
use crate::chat::search_words;

pub(super) async fn receipts(
    pool: &PgPool,
    room: RoomId,
    seq: u64,
) -> Result<Vec<RoomMember>, StoreError> {
    let rows: Vec<MemberRow> = sqlx::query_as(
        "SELECT * FROM room_members WHERE room_id = $1 AND read_seq >= $2 ORDER BY joined_at, user_id",
    )
    .bind(room.0)
    .bind(i64::try_from(seq).unwrap_or(i64::MAX))
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(RoomMember::from).collect())
}

pub(super) async fn toggle_reaction(
    pool: &PgPool,
    message: MessageId,
    user: UserId,
    emoji: &Emoji,
    at: DateTime<Utc>,
) -> Result<Option<(bool, Vec<Reaction>)>, StoreError> {
    let mut tx = pool.begin().await?;
    // Lock the message: two toggles of one reaction take turns.
    let live: Option<i32> = sqlx::query_scalar(
        "SELECT 1 FROM messages WHERE id = $1 AND deleted_at IS NULL FOR UPDATE",
    )
    .bind(message.0)
    .fetch_optional(&mut *tx)
    .await?;
    if live.is_none() {
        return Ok(None);
    }
    let removed = sqlx::query(
        "DELETE FROM message_reactions WHERE message_id = $1 AND user_id = $2 AND emoji = $3",
    )
    .bind(message.0)
    .bind(user.0)
    .bind(emoji.as_str())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if removed == 0 {
        sqlx::query(
            "INSERT INTO message_reactions (message_id, user_id, emoji, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(message.0)
        .bind(user.0)
        .bind(emoji.as_str())
        .bind(micros(at))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    let reactions = reactions(pool, &[message])
        .await?
        .pop()
        .map(|(_, r)| r)
        .unwrap_or_default();
    Ok(Some((removed == 0, reactions)))
}

pub(super) async fn reactions(
    pool: &PgPool,
    messages: &[MessageId],
) -> Result<Vec<(MessageId, Vec<Reaction>)>, StoreError> {
    let ids: Vec<Uuid> = messages.iter().map(|m| m.0).collect();
    let rows: Vec<(Uuid, String, Uuid)> = sqlx::query_as(
        "SELECT message_id, emoji, user_id FROM message_reactions \
         WHERE message_id = ANY($1) ORDER BY created_at, emoji, user_id",
    )
    .bind(&ids)
    .fetch_all(pool)
    .await?;
    Ok(messages
        .iter()
        .map(|message| {
            let mut list: Vec<Reaction> = Vec::new();
            for (_, emoji, user) in rows.iter().filter(|(m, _, _)| *m == message.0) {
                match list.iter_mut().find(|r| r.emoji.as_str() == emoji) {
                    Some(reaction) => reaction.users.push(UserId(*user)),
                    None => list.push(Reaction {
                        emoji: Emoji::from_storage(emoji.clone()),
                        users: vec![UserId(*user)],
                    }),
                }
            }
            (*message, list)
        })
        .collect())
}

#[derive(sqlx::FromRow)]
struct InviteRow {
    id: Uuid,
    room_id: Uuid,
    created_by: Option<Uuid>,
    max_uses: Option<i32>,
    uses: i32,
    expires_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

impl From<InviteRow> for RoomInvite {
    fn from(row: InviteRow) -> Self {
        Self {
            id: RoomInviteId(row.id),
            room_id: RoomId(row.room_id),
            created_by: row.created_by.map(UserId),
            max_uses: row.max_uses.map(|n| u32::try_from(n).unwrap_or_default()),
            uses: u32::try_from(row.uses).unwrap_or_default(),
            expires_at: row.expires_at,
            revoked_at: row.revoked_at,
            created_at: row.created_at,
        }
    }
}

pub(super) async fn create_invite(
    pool: &PgPool,
    invite: &RoomInvite,
    token: &TokenHash,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO room_invites (id, room_id, token_hash, created_by, max_uses, uses, \
         expires_at, revoked_at, created_at) VALUES ($1, $2, $3, $4, $5, 0, $6, NULL, $7)",
    )
    .bind(invite.id.0)
    .bind(invite.room_id.0)
    .bind(&token.0)
    .bind(invite.created_by.map(|u| u.0))
    .bind(
        invite
            .max_uses
            .map(|n| i32::try_from(n).unwrap_or(i32::MAX)),
    )
    .bind(invite.expires_at.map(micros))
    .bind(micros(invite.created_at))
    .execute(pool)
    .await
    .map_err(on_foreign_key_violation)?;
    Ok(())
}

pub(super) async fn invites(pool: &PgPool, room: RoomId) -> Result<Vec<RoomInvite>, StoreError> {
    let rows: Vec<InviteRow> = sqlx::query_as(
        "SELECT id, room_id, created_by, max_uses, uses, expires_at, revoked_at, created_at \
         FROM room_invites WHERE room_id = $1 ORDER BY id",
    )
    .bind(room.0)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(RoomInvite::from).collect())
}

pub(super) async fn revoke_invite(
    pool: &PgPool,
    room: RoomId,
    id: RoomInviteId,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let revoked = sqlx::query(
        "UPDATE room_invites SET revoked_at = $1 WHERE id = $2 AND room_id = $3 AND revoked_at IS NULL",
    )
    .bind(micros(at))
    .bind(id.0)
    .bind(room.0)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(revoked > 0)
}

pub(super) async fn redeem_invite(
    pool: &PgPool,
    token: &TokenHash,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<Result<(RoomId, RoomMember), InviteRefusal>, StoreError> {
    let mut tx = pool.begin().await?;
    // The invite's lock: concurrent redemptions of a single-use token take turns, so
    // only one spends it.
    let row: Option<InviteRow> = sqlx::query_as(
        "SELECT id, room_id, created_by, max_uses, uses, expires_at, revoked_at, created_at \
         FROM room_invites WHERE token_hash = $1 FOR UPDATE",
    )
    .bind(&token.0)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(invite) = row.map(RoomInvite::from) else {
        return Ok(Err(InviteRefusal::Unknown));
    };
    if invite.revoked_at.is_some() {
        return Ok(Err(InviteRefusal::Revoked));
    }
    if invite.expires_at.is_some_and(|at| at <= now) {
        return Ok(Err(InviteRefusal::Expired));
    }
    let already: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM room_members WHERE room_id = $1 AND user_id = $2")
            .bind(invite.room_id.0)
            .bind(user.0)
            .fetch_optional(&mut *tx)
            .await?;
    // A member presenting the token again spends nothing.
    if already.is_none() {
        if invite.max_uses.is_some_and(|max| invite.uses >= max) {
            return Ok(Err(InviteRefusal::UsedUp));
        }
        sqlx::query("UPDATE room_invites SET uses = uses + 1 WHERE id = $1")
            .bind(invite.id.0)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO room_members (room_id, user_id, joined_at, read_seq) \
             SELECT id, $1, $2, last_seq FROM rooms WHERE id = $3 ON CONFLICT DO NOTHING",
        )
        .bind(user.0)
        .bind(micros(now))
        .bind(invite.room_id.0)
        .execute(&mut *tx)
        .await?;
    }
    let member: MemberRow =
        sqlx::query_as("SELECT * FROM room_members WHERE room_id = $1 AND user_id = $2")
            .bind(invite.room_id.0)
            .bind(user.0)
            .fetch_one(&mut *tx)
            .await?;
    tx.commit().await?;
    Ok(Ok((invite.room_id, member.into())))
}

pub(super) async fn search(
    pool: &PgPool,
    project: ProjectId,
    user: UserId,
    query: &str,
    limit: u32,
) -> Result<Vec<Message>, StoreError> {
    let words = search_words(query);
    if words.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<MessageRow> = sqlx::query_as(
        "SELECT m.id, m.room_id, m.seq, m.author_id, m.body, m.reply_to, m.client_id, \
         m.created_at, m.edited_at, m.deleted_at \
         FROM messages m JOIN rooms r ON r.id = m.room_id \
         WHERE m.search @@ plainto_tsquery('simple', $1) AND r.project_id = $2 \
         AND m.deleted_at IS NULL \
         AND (r.visibility = 'public' OR EXISTS (SELECT 1 FROM room_members x \
             WHERE x.room_id = r.id AND x.user_id = $3)) \
         ORDER BY m.created_at DESC LIMIT $4",
    )
    .bind(words.join(" "))
    .bind(project.0)
    .bind(user.0)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    let mut conn = pool.acquire().await?;
    let mut found = Vec::with_capacity(rows.len());
    for row in rows {
        let room = RoomId(row.room_id);
        found.extend(with_mentions(&mut conn, room, vec![row]).await?);
    }
    Ok(found)
}
