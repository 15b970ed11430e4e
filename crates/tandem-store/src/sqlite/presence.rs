//! Presence in SQLite: the `workspace_last_seen` table, one row per workspace and user.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tandem_domain::{UserId, WorkspaceId};

use super::{SqliteStore, decode_id, decode_time, encode_id, encode_time};
use crate::{LastSeen, PresenceStore, StoreError};

/// A `workspace_last_seen` row as SQLite returns it.
#[derive(sqlx::FromRow)]
struct LastSeenRow {
    user_id: String,
    workspace_id: String,
    seen_at: String,
}

impl TryFrom<LastSeenRow> for LastSeen {
    type Error = sqlx::Error;

    fn try_from(row: LastSeenRow) -> Result<Self, Self::Error> {
        Ok(LastSeen {
            user_id: UserId(decode_id("workspace_last_seen.user_id", &row.user_id)?),
            workspace_id: WorkspaceId(decode_id(
                "workspace_last_seen.workspace_id",
                &row.workspace_id,
            )?),
            seen_at: decode_time("workspace_last_seen.seen_at", &row.seen_at)?,
        })
    }
}

#[async_trait]
impl PresenceStore for SqliteStore {
    async fn record_last_seen(
        &self,
        workspace_id: WorkspaceId,
        user_id: UserId,
        seen_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        // One write statement holds the write lock from its existence checks to its insert,
        // so no deletion can slip in between and the foreign keys always hold. Stored times
        // are fixed-width text, so `max` of the text is the later time.
        sqlx::query(
            "INSERT INTO workspace_last_seen (workspace_id, user_id, seen_at) \
             SELECT ?1, ?2, ?3 \
             WHERE EXISTS (SELECT 1 FROM workspaces WHERE id = ?1) \
             AND EXISTS (SELECT 1 FROM users WHERE id = ?2) \
             ON CONFLICT (workspace_id, user_id) \
             DO UPDATE SET seen_at = max(workspace_last_seen.seen_at, excluded.seen_at)",
        )
        .bind(encode_id(workspace_id.0))
        .bind(encode_id(user_id.0))
        .bind(encode_time(seen_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn last_seen(&self, workspace_id: WorkspaceId) -> Result<Vec<LastSeen>, StoreError> {
        let rows: Vec<LastSeenRow> = sqlx::query_as(
            "SELECT user_id, workspace_id, seen_at FROM workspace_last_seen \
             WHERE workspace_id = ? \
             ORDER BY seen_at DESC, user_id",
        )
        .bind(encode_id(workspace_id.0))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(LastSeen::try_from)
            .collect::<Result<_, _>>()?)
    }
}
