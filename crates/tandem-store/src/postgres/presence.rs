//! Presence in PostgreSQL: the `workspace_last_seen` and `room_last_seen` tables, one row
//! per place and user.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tandem_domain::UserId;
use uuid::Uuid;

use super::{PgStore, micros};
use crate::{LastSeen, Place, PresenceStore, StoreError};

/// A last-seen row.
#[derive(sqlx::FromRow)]
struct LastSeenRow {
    user_id: Uuid,
    seen_at: DateTime<Utc>,
}

/// A concurrent upsert of the same row waits for this one and then applies its
/// `GREATEST` to the row as this one left it, so the newest time always survives.
const RECORD_IN_WORKSPACE: &str = "INSERT INTO workspace_last_seen (workspace_id, user_id, seen_at) \
     SELECT $1, $2, $3 \
     WHERE EXISTS (SELECT 1 FROM workspaces WHERE id = $1) \
     AND EXISTS (SELECT 1 FROM users WHERE id = $2) \
     ON CONFLICT (workspace_id, user_id) \
     DO UPDATE SET seen_at = GREATEST(workspace_last_seen.seen_at, EXCLUDED.seen_at)";
const RECORD_IN_ROOM: &str = "INSERT INTO room_last_seen (room_id, user_id, seen_at) \
     SELECT $1, $2, $3 \
     WHERE EXISTS (SELECT 1 FROM rooms WHERE id = $1) \
     AND EXISTS (SELECT 1 FROM users WHERE id = $2) \
     ON CONFLICT (room_id, user_id) \
     DO UPDATE SET seen_at = GREATEST(room_last_seen.seen_at, EXCLUDED.seen_at)";
const LIST_IN_WORKSPACE: &str = "SELECT user_id, seen_at FROM workspace_last_seen \
     WHERE workspace_id = $1 ORDER BY seen_at DESC, user_id";
const LIST_IN_ROOM: &str = "SELECT user_id, seen_at FROM room_last_seen \
     WHERE room_id = $1 ORDER BY seen_at DESC, user_id";

/// The place's id and its table's statements (record, list).
fn statements(place: Place) -> (Uuid, &'static str, &'static str) {
    match place {
        Place::Workspace(id) => (id.0, RECORD_IN_WORKSPACE, LIST_IN_WORKSPACE),
        Place::Room(id) => (id.0, RECORD_IN_ROOM, LIST_IN_ROOM),
    }
}

#[async_trait]
impl PresenceStore for PgStore {
    async fn record_last_seen(
        &self,
        place: Place,
        user_id: UserId,
        seen_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (id, record, _) = statements(place);
        let done = sqlx::query(record)
            .bind(id)
            .bind(user_id.0)
            .bind(micros(seen_at))
            .execute(&self.pool)
            .await;
        match done {
            Ok(_) => Ok(()),
            // The place or user was deleted by a transaction that committed after the
            // checks above saw it: ignored like one that was never there.
            Err(sqlx::Error::Database(db)) if db.is_foreign_key_violation() => Ok(()),
            Err(err) => Err(err.into()),
        }
    }

    async fn last_seen(&self, place: Place) -> Result<Vec<LastSeen>, StoreError> {
        let (id, _, list) = statements(place);
        let rows: Vec<LastSeenRow> = sqlx::query_as(list).bind(id).fetch_all(&self.pool).await?;
        Ok(rows
            .into_iter()
            .map(|row| LastSeen {
                user_id: UserId(row.user_id),
                place,
                seen_at: row.seen_at,
            })
            .collect())
    }
}
