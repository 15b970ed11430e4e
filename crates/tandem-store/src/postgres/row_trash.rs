//! The rows' trash on PostgreSQL: trashing and restoring (each a history entry), the
//! trash's pages, and purging what has been there long enough.
//!
//! Trashing and restoring move the version but leave `updated_at`/`updated_by`, which
//! say when and by whom the row's cells last changed; history says who trashed it.

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::{AssertSqlSafe, PgPool};
use tandem_domain::{AuditContext, RowId, TableId};
use uuid::Uuid;

use super::micros;
use super::row_codec::{add, decode_row, ensure_table};
use super::row_history::insert_history;
use crate::rows::cells::StoredFields;
use crate::rows::dialect::Dialect;
use crate::rows::statements::{self, MAX_ROWS_PER_STATEMENT};
use crate::rows::writes::{in_order, moved_entries, unique_ids};
use crate::rows::{RowAction, RowWriteError, StoredRow};
use crate::{StoreError, TableField};

const POSTGRES: Dialect = Dialect::Postgres;

/// Trashes (`action` Trashed) or restores (Restored) rows, all or none; `MissingRow`
/// for the first row not in the state the action needs. A row named twice counts once.
pub(super) async fn move_rows(
    pool: &PgPool,
    table: TableId,
    fields: &[TableField],
    ids: &[RowId],
    action: RowAction,
    audit: &AuditContext,
) -> Result<Vec<StoredRow>, RowWriteError> {
    let stored = StoredFields::of(fields);
    let unique = unique_ids(ids);
    let mut tx = pool.begin().await?;
    ensure_table(&mut tx, table, true).await?;
    let mut moved = Vec::with_capacity(unique.len());
    for chunk in unique.chunks(MAX_ROWS_PER_STATEMENT) {
        let mut args = PgArguments::default();
        let sql = if action == RowAction::Trashed {
            add(&mut args, micros(audit.at))?;
            add(&mut args, audit.actor.0)?;
            statements::trash_rows(POSTGRES, table, &stored, chunk.len())
        } else {
            statements::restore_rows(POSTGRES, table, &stored, chunk.len())
        };
        for id in chunk {
            add(&mut args, id.0)?;
        }
        let rows: Vec<PgRow> = sqlx::query_with(AssertSqlSafe(sql), args)
            .fetch_all(&mut *tx)
            .await
            .map_err(StoreError::from)?;
        let rows = rows
            .iter()
            .map(|row| decode_row(row, &stored))
            .collect::<Result<Vec<_>, _>>()?;
        moved.extend(in_order(chunk, rows)?);
    }
    insert_history(&mut tx, table, action, audit, &moved_entries(&moved)).await?;
    tx.commit().await?;
    Ok(moved)
}

pub(super) async fn list_trash(
    pool: &PgPool,
    table: TableId,
    fields: &[TableField],
    after: Option<(DateTime<Utc>, RowId)>,
    limit: u32,
) -> Result<Vec<StoredRow>, StoreError> {
    let stored = StoredFields::of(fields);
    let mut conn = pool.acquire().await?;
    ensure_table(&mut conn, table, false).await?;
    let sql = statements::list_trash(POSTGRES, table, &stored, after.is_some());
    let mut query = sqlx::query(AssertSqlSafe(sql));
    if let Some((at, id)) = after {
        query = query.bind(micros(at)).bind(micros(at)).bind(id.0);
    }
    let query = query.bind(i64::from(limit));
    let rows = query.fetch_all(&mut *conn).await?;
    rows.iter().map(|row| decode_row(row, &stored)).collect()
}

/// Purges each table in a transaction of its own, so a long purge holds no lock for
/// long.
pub(super) async fn purge_trash(pool: &PgPool, before: DateTime<Utc>) -> Result<u64, StoreError> {
    let tables: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM live_tables ORDER BY id")
        .fetch_all(pool)
        .await?;
    let before = micros(before);
    let mut purged = 0;
    for table in tables {
        let table = TableId(table);
        let mut tx = pool.begin().await?;
        // Deleted since it was listed: its rows went with it.
        match ensure_table(&mut tx, table, true).await {
            Err(StoreError::NotFound) => continue,
            found => found?,
        }
        sqlx::query(AssertSqlSafe(statements::purge_history(POSTGRES, table)))
            .bind(table.0)
            .bind(before)
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query(AssertSqlSafe(statements::purge_rows(POSTGRES, table)))
            .bind(before)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        purged += done.rows_affected();
    }
    Ok(purged)
}
