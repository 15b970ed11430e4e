//! Presence in SQLite: the `workspace_last_seen` and `room_last_seen` tables, one row per
//! place and user.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tandem_domain::UserId;
use uuid::Uuid;

use super::{SqliteStore, decode_id, decode_time, encode_id, encode_time};
use crate::{LastSeen, Place, PresenceStore, StoreError};

/// A last-seen row as SQLite returns it.
#[derive(sqlx::FromRow)]
struct LastSeenRow {
    user_id: String,
    seen_at: String,
}

/// One write statement holds the write lock from its existence checks to its insert, so
/// no deletion can slip in between and the foreign keys always hold. Stored times are
/// fixed-width text, so `max` of the text is the later time.
const RECORD_IN_WORKSPACE: &str = "INSERT INTO workspace_last_seen (workspace_id, user_id, seen_at) \
     SELECT ?1, ?2, ?3 \
     WHERE EXISTS (SELECT 1 FROM workspaces WHERE id = ?1) \
     AND EXISTS (SELECT 1 FROM users WHERE id = ?2) \
     ON CONFLICT (workspace_id, user_id) \
     DO UPDATE SET seen_at = max(workspace_last_seen.seen_at, excluded.seen_at)";
const RECORD_IN_ROOM: &str = "INSERT INTO room_last_seen (room_id, user_id, seen_at) \
     SELECT ?1, ?2, ?3 \
     WHERE EXISTS (SELECT 1 FROM rooms WHERE id = ?1) \
     AND EXISTS (SELECT 1 FROM users WHERE id = ?2) \
     ON CONFLICT (room_id, user_id) \
     DO UPDATE SET seen_at = max(room_last_seen.seen_at, excluded.seen_at)";
const LIST_IN_WORKSPACE: &str = "SELECT user_id, seen_at FROM workspace_last_seen \
     WHERE workspace_id = ? ORDER BY seen_at DESC, user_id";
const LIST_IN_ROOM: &str = "SELECT user_id, seen_at FROM room_last_seen \
     WHERE room_id = ? ORDER BY seen_at DESC, user_id";

/// The place's id and its table's statements (record, list).
fn statements(place: Place) -> (Uuid, &'static str, &'static str) {
    match place {
        Place::Workspace(id) => (id.0, RECORD_IN_WORKSPACE, LIST_IN_WORKSPACE),
        Place::Room(id) => (id.0, RECORD_IN_ROOM, LIST_IN_ROOM),
    }
}

#[async_trait]
impl PresenceStore for SqliteStore {
    async fn record_last_seen(
        &self,
        place: Place,
        user_id: UserId,
        seen_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (id, record, _) = statements(place);
        sqlx::query(record)
            .bind(encode_id(id))
            .bind(encode_id(user_id.0))
            .bind(encode_time(seen_at))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn last_seen(&self, place: Place) -> Result<Vec<LastSeen>, StoreError> {
        let (id, _, list) = statements(place);
        let rows: Vec<LastSeenRow> = sqlx::query_as(list)
            .bind(encode_id(id))
            .fetch_all(&self.pool)
            .await?;
        let seen = rows
            .into_iter()
            .map(|row| {
                Ok(LastSeen {
                    user_id: UserId(decode_id("last_seen.user_id", &row.user_id)?),
                    place,
                    seen_at: decode_time("last_seen.seen_at", &row.seen_at)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()?;
        Ok(seen)
    }
}
