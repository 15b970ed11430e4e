//! The social side of chat in SQLite: receipts, reactions, invite tokens and search
//! (FTS5). The `ChatStore` impl in `chat.rs` delegates here.

use chrono::{DateTime, Utc};
use sqlx::SqlitePool;
use tandem_domain::{
    Emoji, InviteRefusal, Message, MessageId, ProjectId, Reaction, RoomId, RoomInvite,
    RoomInviteId, RoomMember, TokenHash, UserId,
};

use super::chat::{MemberRow, MessageRow, with_mentions};
use super::{BEGIN_WRITE, decode_id, decode_opt_time, decode_time, encode_id, encode_time};
use crate::StoreError;
use crate::chat::search_words;

pub(super) async fn receipts(
    pool: &SqlitePool,
    room: RoomId,
    seq: u64,
) -> Result<Vec<RoomMember>, StoreError> {
    let rows: Vec<MemberRow> = sqlx::query_as(
        "SELECT * FROM room_members WHERE room_id = ? AND read_seq >= ? ORDER BY joined_at, user_id",
    )
    .bind(encode_id(room.0))
    .bind(i64::try_from(seq).unwrap_or(i64::MAX))
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(MemberRow::into_member)
        .collect::<Result<_, _>>()?)
}

pub(super) async fn toggle_reaction(
    pool: &SqlitePool,
    message: MessageId,
    user: UserId,
    emoji: &Emoji,
    at: DateTime<Utc>,
) -> Result<Option<(bool, Vec<Reaction>)>, StoreError> {
    let mut tx = pool.begin_with(BEGIN_WRITE).await?;
    let (id, user_id) = (encode_id(message.0), encode_id(user.0));
    let live: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM messages WHERE id = ? AND deleted_at IS NULL")
            .bind(&id)
            .fetch_optional(&mut *tx)
            .await?;
    if live.is_none() {
        return Ok(None);
    }
    let removed = sqlx::query(
        "DELETE FROM message_reactions WHERE message_id = ? AND user_id = ? AND emoji = ?",
    )
    .bind(&id)
    .bind(&user_id)
    .bind(emoji.as_str())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if removed == 0 {
        sqlx::query(
            "INSERT INTO message_reactions (message_id, user_id, emoji, created_at) VALUES (?, ?, ?, ?)",
        )
        .bind(&id)
        .bind(&user_id)
        .bind(emoji.as_str())
        .bind(encode_time(at))
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
    pool: &SqlitePool,
    messages: &[MessageId],
) -> Result<Vec<(MessageId, Vec<Reaction>)>, StoreError> {
    let mut out = Vec::with_capacity(messages.len());
    if messages.is_empty() {
        return Ok(out);
    }
    let ids = serde_json::Value::from(messages.iter().map(|m| encode_id(m.0)).collect::<Vec<_>>())
        .to_string();
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT message_id, emoji, user_id FROM message_reactions \
         WHERE message_id IN (SELECT value FROM json_each(?)) ORDER BY created_at, emoji, user_id",
    )
    .bind(ids)
    .fetch_all(pool)
    .await?;
    for message in messages {
        let key = encode_id(message.0);
        let mut list: Vec<Reaction> = Vec::new();
        for (_, emoji, user) in rows.iter().filter(|(m, _, _)| *m == key) {
            let user = UserId(decode_id("message_reactions.user_id", user)?);
            match list.iter_mut().find(|r| r.emoji.as_str() == emoji) {
                Some(reaction) => reaction.users.push(user),
                None => list.push(Reaction {
                    emoji: Emoji::from_storage(emoji.clone()),
                    users: vec![user],
                }),
            }
        }
        out.push((*message, list));
    }
    Ok(out)
}

#[derive(sqlx::FromRow)]
struct InviteRow {
    id: String,
    room_id: String,
    created_by: Option<String>,
    max_uses: Option<i64>,
    uses: i64,
    expires_at: Option<String>,
    revoked_at: Option<String>,
    created_at: String,
}

impl InviteRow {
    fn into_invite(self) -> Result<RoomInvite, sqlx::Error> {
        Ok(RoomInvite {
            id: RoomInviteId(decode_id("room_invites.id", &self.id)?),
            room_id: RoomId(decode_id("room_invites.room_id", &self.room_id)?),
            created_by: self
                .created_by
                .map(|id| decode_id("room_invites.created_by", &id).map(UserId))
                .transpose()?,
            max_uses: self.max_uses.map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
            uses: u32::try_from(self.uses).unwrap_or(u32::MAX),
            expires_at: decode_opt_time("room_invites.expires_at", self.expires_at.as_deref())?,
            revoked_at: decode_opt_time("room_invites.revoked_at", self.revoked_at.as_deref())?,
            created_at: decode_time("room_invites.created_at", &self.created_at)?,
        })
    }
}

pub(super) async fn create_invite(
    pool: &SqlitePool,
    invite: &RoomInvite,
    token: &TokenHash,
) -> Result<(), StoreError> {
    let mut tx = pool.begin_with(BEGIN_WRITE).await?;
    sqlx::query(
        "INSERT INTO room_invites (id, room_id, token_hash, created_by, max_uses, uses, \
         expires_at, revoked_at, created_at) VALUES (?, ?, ?, ?, ?, 0, ?, NULL, ?)",
    )
    .bind(encode_id(invite.id.0))
    .bind(encode_id(invite.room_id.0))
    .bind(&token.0)
    .bind(invite.created_by.map(|u| encode_id(u.0)))
    .bind(invite.max_uses.map(i64::from))
    .bind(invite.expires_at.map(encode_time))
    .bind(encode_time(invite.created_at))
    .execute(&mut *tx)
    .await
    .map_err(super::on_foreign_key_violation)?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn invites(
    pool: &SqlitePool,
    room: RoomId,
) -> Result<Vec<RoomInvite>, StoreError> {
    let rows: Vec<InviteRow> = sqlx::query_as(
        "SELECT id, room_id, created_by, max_uses, uses, expires_at, revoked_at, created_at \
         FROM room_invites WHERE room_id = ? ORDER BY id",
    )
    .bind(encode_id(room.0))
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(InviteRow::into_invite)
        .collect::<Result<_, _>>()?)
}

pub(super) async fn revoke_invite(
    pool: &SqlitePool,
    room: RoomId,
    id: RoomInviteId,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let mut tx = pool.begin_with(BEGIN_WRITE).await?;
    let revoked = sqlx::query(
        "UPDATE room_invites SET revoked_at = ? WHERE id = ? AND room_id = ? AND revoked_at IS NULL",
    )
    .bind(encode_time(at))
    .bind(encode_id(id.0))
    .bind(encode_id(room.0))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(revoked > 0)
}

pub(super) async fn redeem_invite(
    pool: &SqlitePool,
    token: &TokenHash,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<Result<(RoomId, RoomMember), InviteRefusal>, StoreError> {
    let mut tx = pool.begin_with(BEGIN_WRITE).await?;
    let row: Option<InviteRow> = sqlx::query_as(
        "SELECT id, room_id, created_by, max_uses, uses, expires_at, revoked_at, created_at \
         FROM room_invites WHERE token_hash = ?",
    )
    .bind(&token.0)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(invite) = row.map(InviteRow::into_invite).transpose()? else {
        return Ok(Err(InviteRefusal::Unknown));
    };
    if invite.revoked_at.is_some() {
        return Ok(Err(InviteRefusal::Revoked));
    }
    if invite.expires_at.is_some_and(|at| at <= now) {
        return Ok(Err(InviteRefusal::Expired));
    }
    let room = encode_id(invite.room_id.0);
    let already: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM room_members WHERE room_id = ? AND user_id = ?")
            .bind(&room)
            .bind(encode_id(user.0))
            .fetch_optional(&mut *tx)
            .await?;
    // A member presenting the token again spends nothing.
    if already.is_none() {
        if invite.max_uses.is_some_and(|max| invite.uses >= max) {
            return Ok(Err(InviteRefusal::UsedUp));
        }
        sqlx::query("UPDATE room_invites SET uses = uses + 1 WHERE id = ?")
            .bind(encode_id(invite.id.0))
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO room_members (room_id, user_id, joined_at, read_seq) \
             SELECT id, ?, ?, last_seq FROM rooms WHERE id = ?",
        )
        .bind(encode_id(user.0))
        .bind(encode_time(now))
        .bind(&room)
        .execute(&mut *tx)
        .await?;
    }
    let member: MemberRow =
        sqlx::query_as("SELECT * FROM room_members WHERE room_id = ? AND user_id = ?")
            .bind(&room)
            .bind(encode_id(user.0))
            .fetch_one(&mut *tx)
            .await?;
    tx.commit().await?;
    Ok(Ok((invite.room_id, member.into_member()?)))
}

pub(super) async fn search(
    pool: &SqlitePool,
    project: ProjectId,
    user: UserId,
    query: &str,
    limit: u32,
) -> Result<Vec<Message>, StoreError> {
    let words = search_words(query);
    if words.is_empty() {
        return Ok(Vec::new());
    }
    // Every word quoted: FTS5 sees terms, never operators from the user's text.
    let fts: String = words
        .iter()
        .map(|w| format!("\"{w}\""))
        .collect::<Vec<_>>()
        .join(" ");
    let rows: Vec<MessageRow> = sqlx::query_as(
        "SELECT m.* FROM messages_fts f JOIN messages m ON m.rowid = f.rowid \
         JOIN rooms r ON r.id = m.room_id \
         WHERE messages_fts MATCH ? AND r.project_id = ? AND m.deleted_at IS NULL \
         AND (r.visibility = 'public' OR EXISTS (SELECT 1 FROM room_members x \
             WHERE x.room_id = r.id AND x.user_id = ?)) \
         ORDER BY m.created_at DESC LIMIT ?",
    )
    .bind(fts)
    .bind(encode_id(project.0))
    .bind(encode_id(user.0))
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    let mut conn = pool.acquire().await?;
    let mut found = Vec::with_capacity(rows.len());
    for row in rows {
        let room = RoomId(decode_id("messages.room_id", &row.room_id)?);
        found.extend(with_mentions(&mut conn, room, vec![row]).await?);
    }
    Ok(found)
}
