//! Rows' history on PostgreSQL: the `table_row_history` rows written with each update,
//! trashing and restoring, and read back newest first.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgArguments;
use sqlx::{AssertSqlSafe, PgConnection, PgPool};
use tandem_domain::{AuditContext, RowId, TableId, UserId};
use uuid::Uuid;

use super::micros;
use super::row_codec::add;
use crate::StoreError;
use crate::rows::dialect::Dialect;
use crate::rows::history::{decode_action, decode_changes};
use crate::rows::statements::{self, MAX_HISTORY_PER_INSERT};
use crate::rows::{RowAction, RowHistoryEntry};

const POSTGRES: Dialect = Dialect::Postgres;

/// Records one entry per `(row, version reached, changes JSON)`, all with the same
/// action, actor and time.
pub(super) async fn insert_history(
    conn: &mut PgConnection,
    table: TableId,
    action: RowAction,
    audit: &AuditContext,
    entries: &[(RowId, i64, String)],
) -> Result<(), StoreError> {
    let (actor, at) = (audit.actor.0, micros(audit.at));
    for chunk in entries.chunks(MAX_HISTORY_PER_INSERT) {
        let mut args = PgArguments::default();
        for (row, version, changes) in chunk {
            add(&mut args, table.0)?;
            add(&mut args, row.0)?;
            add(&mut args, *version)?;
            add(&mut args, action.as_str())?;
            add(&mut args, actor)?;
            add(&mut args, at)?;
            add(&mut args, changes.as_str())?;
        }
        let sql = statements::insert_history(POSTGRES, chunk.len());
        sqlx::query_with(AssertSqlSafe(sql), args)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// A `table_row_history` row, its changes read as JSON text.
#[derive(sqlx::FromRow)]
struct HistoryRow {
    version: i64,
    action: String,
    actor: Uuid,
    at: DateTime<Utc>,
    changes: String,
}

impl TryFrom<HistoryRow> for RowHistoryEntry {
    type Error = sqlx::Error;

    fn try_from(row: HistoryRow) -> Result<Self, Self::Error> {
        Ok(RowHistoryEntry {
            version: row.version,
            action: decode_action(&row.action)?,
            actor: UserId(row.actor),
            at: row.at,
            changes: decode_changes(&row.changes)?,
        })
    }
}

pub(super) async fn row_history(
    pool: &PgPool,
    table: TableId,
    id: RowId,
    before_version: Option<i64>,
    limit: u32,
) -> Result<Vec<RowHistoryEntry>, StoreError> {
    let sql = statements::row_history(POSTGRES, before_version.is_some());
    let mut query = sqlx::query_as::<_, HistoryRow>(AssertSqlSafe(sql))
        .bind(table.0)
        .bind(id.0);
    if let Some(before) = before_version {
        query = query.bind(before);
    }
    let query = query.bind(i64::from(limit));
    let rows = query.fetch_all(pool).await?;
    Ok(rows
        .into_iter()
        .map(RowHistoryEntry::try_from)
        .collect::<Result<_, _>>()?)
}
