//! Inserting and updating rows on SQLite. Inserts go as multi-row statements (up to
//! 1,000 rows, fewer when the parameter limit says so); an update reads its row
//! first, writes only the cells that change, and records history.

use std::collections::HashMap;

use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{AssertSqlSafe, SqliteConnection, SqlitePool};
use tandem_domain::{AuditContext, RowId, TableId};
use uuid::Uuid;

use super::row_codec::{add, add_cell, add_value, decode_row, ensure_table};
use super::row_history::insert_history;
use super::{BEGIN_WRITE, decode_id, encode_id, encode_time, on_unique_violation};
use crate::rows::cells::StoredFields;
use crate::rows::dialect::Dialect;
use crate::rows::statements::{self, rows_per_insert};
use crate::rows::writes::{PatchedRow, inserted_rows, patchable};
use crate::rows::{NewRow, RowAction, RowChange, RowPatch, RowWriteError, StoredRow};
use crate::{StoreError, TableField};

const SQLITE: Dialect = Dialect::Sqlite;

/// The constraint a taken row id breaks.
const ROW_ID_TAKEN: &str = "rows.id";

pub(super) async fn insert_rows(
    pool: &SqlitePool,
    table: TableId,
    fields: &[TableField],
    rows: &[NewRow],
    audit: &AuditContext,
) -> Result<Vec<StoredRow>, RowWriteError> {
    let stored = StoredFields::of(fields);
    let placed = rows
        .iter()
        .map(|row| stored.place(&row.cells))
        .collect::<Result<Vec<_>, _>>()?;
    // Only the columns some row writes: the others stay empty.
    let columns: Vec<usize> = (0..stored.len())
        .filter(|&i| placed.iter().any(|cells| cells[i].is_some()))
        .collect();
    let (at, actor) = (encode_time(audit.at), encode_id(audit.actor.0));

    let mut tx = pool.begin_with(BEGIN_WRITE).await?;
    ensure_table(&mut tx, table).await?;
    let mut seqs: HashMap<Uuid, i64> = HashMap::with_capacity(rows.len());
    let per_statement = rows_per_insert(SQLITE, columns.len());
    for (chunk, cells) in rows.chunks(per_statement).zip(placed.chunks(per_statement)) {
        let sql = statements::insert_rows(SQLITE, table, &stored, &columns, chunk.len());
        let mut args = SqliteArguments::default();
        for (row, cells) in chunk.iter().zip(cells) {
            add(&mut args, encode_id(row.id.0))?;
            add(&mut args, at.as_str())?;
            add(&mut args, at.as_str())?;
            add(&mut args, actor.as_str())?;
            add(&mut args, actor.as_str())?;
            for &index in &columns {
                add_value(&mut args, cells[index])?;
            }
        }
        let returned: Vec<(String, i64)> = sqlx::query_as_with(AssertSqlSafe(sql), args)
            .fetch_all(&mut *tx)
            .await
            .map_err(on_unique_violation(ROW_ID_TAKEN))?;
        for (id, seq) in returned {
            seqs.insert(decode_id("rows.id", &id)?, seq);
        }
    }
    tx.commit().await?;
    Ok(inserted_rows(&stored, rows, &placed, &seqs, audit)?)
}

pub(super) async fn update_rows(
    pool: &SqlitePool,
    table: TableId,
    fields: &[TableField],
    patches: &[RowPatch],
    audit: &AuditContext,
) -> Result<Vec<RowChange>, RowWriteError> {
    let stored = StoredFields::of(fields);
    let placed = patches
        .iter()
        .map(|patch| stored.place(&patch.cells))
        .collect::<Result<Vec<_>, _>>()?;
    let (at, actor) = (encode_time(audit.at), encode_id(audit.actor.0));

    let mut tx = pool.begin_with(BEGIN_WRITE).await?;
    ensure_table(&mut tx, table).await?;
    let select = statements::row_by_id(SQLITE, table, &stored, false);
    let mut changes = Vec::with_capacity(patches.len());
    let mut history = Vec::new();
    for (patch, cells) in patches.iter().zip(placed) {
        let current = read_row(&mut tx, &select, &stored, patch.id).await?;
        let patched = PatchedRow::new(&stored, patchable(patch, current)?, cells);
        if patched.changed() {
            let sql = statements::update_cells(SQLITE, table, &stored, &patched.columns);
            let mut args = SqliteArguments::default();
            for &index in &patched.columns {
                add_cell(&mut args, patched.value(&stored, index))?;
            }
            add(&mut args, at.as_str())?;
            add(&mut args, actor.as_str())?;
            add(&mut args, encode_id(patch.id.0))?;
            sqlx::query_with(AssertSqlSafe(sql), args)
                .execute(&mut *tx)
                .await?;
        }
        let (change, entry) = patched.finish(audit);
        changes.push(change);
        history.extend(entry);
    }
    insert_history(&mut tx, table, RowAction::Updated, audit, &history).await?;
    tx.commit().await?;
    Ok(changes)
}

/// The row `id`, live or trashed.
async fn read_row(
    conn: &mut SqliteConnection,
    select: &str,
    fields: &StoredFields<'_>,
    id: RowId,
) -> Result<Option<StoredRow>, StoreError> {
    let row: Option<SqliteRow> = sqlx::query(AssertSqlSafe(select.to_owned()))
        .bind(encode_id(id.0))
        .fetch_optional(conn)
        .await?;
    row.map(|row| decode_row(&row, fields)).transpose()
}
