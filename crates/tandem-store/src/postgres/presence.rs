//! Presence in PostgreSQL: the `workspace_last_seen` table, one row per workspace and user.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tandem_domain::{UserId, WorkspaceId};
use uuid::Uuid;

use super::{PgStore, micros};
use crate::{LastSeen, PresenceStore, StoreError};

/// A `workspace_last_seen` row.
#[derive(sqlx::FromRow)]
struct LastSeenRow {
    user_id: Uuid,
    workspace_id: Uuid,
    seen_at: DateTime<Utc>,
}

impl From<LastSeenRow> for LastSeen {
    fn from(row: LastSeenRow) -> Self {
        LastSeen {
            user_id: UserId(row.user_id),
            workspace_id: WorkspaceId(row.workspace_id),
            seen_at: row.seen_at,
        }
    }
}

#[async_trait]
impl PresenceStore for PgStore {
    async fn record_last_seen(
        &self,
        workspace_id: WorkspaceId,
        user_id: UserId,
        seen_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        // A concurrent upsert of the same row waits for this one and then applies its
        // `GREATEST` to the row as this one left it, so the newest time always survives.
        let done = sqlx::query(
            "INSERT INTO workspace_last_seen (workspace_id, user_id, seen_at) \
             SELECT $1, $2, $3 \
             WHERE EXISTS (SELECT 1 FROM workspaces WHERE id = $1) \
             AND EXISTS (SELECT 1 FROM users WHERE id = $2) \
             ON CONFLICT (workspace_id, user_id) \
             DO UPDATE SET seen_at = GREATEST(workspace_last_seen.seen_at, EXCLUDED.seen_at)",
        )
        .bind(workspace_id.0)
        .bind(user_id.0)
        .bind(micros(seen_at))
        .execute(&self.pool)
        .await;
        match done {
            Ok(_) => Ok(()),
            // The workspace or user was deleted by a transaction that committed after the
            // checks above saw it: ignored like one that was never there.
            Err(sqlx::Error::Database(db)) if db.is_foreign_key_violation() => Ok(()),
            Err(err) => Err(err.into()),
        }
    }

    async fn last_seen(&self, workspace_id: WorkspaceId) -> Result<Vec<LastSeen>, StoreError> {
        let rows: Vec<LastSeenRow> = sqlx::query_as(
            "SELECT user_id, workspace_id, seen_at FROM workspace_last_seen \
             WHERE workspace_id = $1 ORDER BY seen_at DESC, user_id",
        )
        .bind(workspace_id.0)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(LastSeen::from).collect())
    }
}
