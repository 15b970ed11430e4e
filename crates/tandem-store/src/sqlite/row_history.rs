//! Rows' history on SQLite: the `table_row_history` rows written with each update,
//! trashing and restoring, and read back newest first.

use sqlx::sqlite::SqliteArguments;
use sqlx::{AssertSqlSafe, SqliteConnection, SqlitePool};
use tandem_domain::{AuditContext, RowId, TableId, UserId};

use super::row_codec::add;
use super::{decode_id, decode_time, encode_id, encode_time};
use crate::StoreError;
use crate::rows::dialect::Dialect;
use crate::rows::history::{decode_action, decode_changes};
use crate::rows::statements::{self, MAX_HISTORY_PER_INSERT};
use crate::rows::{RowAction, RowHistoryEntry};

const SQLITE: Dialect = Dialect::Sqlite;

/// Records one entry per `(row, version reached, changes JSON)`, all with the same
/// action, actor and time.
pub(super) async fn insert_history(
    conn: &mut SqliteConnection,
    table: TableId,
    action: RowAction,
    audit: &AuditContext,
    entries: &[(RowId, i64, String)],
) -> Result<(), StoreError> {
    let (table, actor, at) = (
        encode_id(table.0),
        encode_id(audit.actor.0),
        encode_time(audit.at),
    );
    for chunk in entries.chunks(MAX_HISTORY_PER_INSERT) {
        let mut args = SqliteArguments::default();
        for (row, version, changes) in chunk {
            add(&mut args, table.as_str())?;
            add(&mut args, encode_id(row.0))?;
            add(&mut args, *version)?;
            add(&mut args, action.as_str())?;
            add(&mut args, actor.as_str())?;
            add(&mut args, at.as_str())?;
            add(&mut args, changes.as_str())?;
        }
        let sql = statements::insert_history(SQLITE, chunk.len());
        sqlx::query_with(AssertSqlSafe(sql), args)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// A `table_row_history` row as SQLite returns it.
#[derive(sqlx::FromRow)]
struct HistoryRow {
    version: i64,
    action: String,
    actor: String,
    at: String,
    changes: String,
}

impl TryFrom<HistoryRow> for RowHistoryEntry {
    type Error = sqlx::Error;

    fn try_from(row: HistoryRow) -> Result<Self, Self::Error> {
        Ok(RowHistoryEntry {
            version: row.version,
            action: decode_action(&row.action)?,
            actor: UserId(decode_id("table_row_history.actor", &row.actor)?),
            at: decode_time("table_row_history.at", &row.at)?,
            changes: decode_changes(&row.changes)?,
        })
    }
}

pub(super) async fn row_history(
    pool: &SqlitePool,
    table: TableId,
    id: RowId,
    before_version: Option<i64>,
    limit: u32,
) -> Result<Vec<RowHistoryEntry>, StoreError> {
    let sql = statements::row_history(SQLITE, before_version.is_some());
    let mut query = sqlx::query_as::<_, HistoryRow>(AssertSqlSafe(sql))
        .bind(encode_id(table.0))
        .bind(encode_id(id.0));
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
