//! Inserting and updating rows on PostgreSQL. Inserts go as multi-row statements (up to
//! 1,000 rows, fewer when the parameter limit says so); an update reads and locks its
//! row first, writes only the cells that change, and records history. Every write
//! share-locks the table's `live_tables` row (see `ensure_table`).

use std::collections::HashMap;

use sqlx::postgres::{PgArguments, PgRow};
use sqlx::{AssertSqlSafe, PgConnection, PgPool};
use tandem_domain::{AuditContext, RowId, TableId};
use tandem_tables::field::{CellValue, Stored};
use uuid::Uuid;

use super::row_codec::{add, add_cell, decode_row, ensure_table};
use super::row_history::insert_history;
use super::{micros, on_unique_violation};
use crate::rows::cells::StoredFields;
use crate::rows::dialect::Dialect;
use crate::rows::statements::{self, rows_per_insert};
use crate::rows::writes::{PatchedRow, inserted_rows, patchable};
use crate::rows::{NewRow, RowAction, RowChange, RowPatch, RowWriteError, StoredRow};
use crate::{StoreError, TableField};

const POSTGRES: Dialect = Dialect::Postgres;

/// The constraint a taken row id breaks.
const ROW_ID_TAKEN: &str = "rows.id";

pub(super) async fn insert_rows(
    pool: &PgPool,
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
    let (at, actor) = (micros(audit.at), audit.actor.0);

    let mut tx = pool.begin().await?;
    ensure_table(&mut tx, table, true).await?;
    let mut seqs: HashMap<Uuid, i64> = HashMap::with_capacity(rows.len());
    let per_statement = rows_per_insert(POSTGRES, columns.len());
    for (chunk, cells) in rows.chunks(per_statement).zip(placed.chunks(per_statement)) {
        let sql = statements::insert_rows(POSTGRES, table, &stored, &columns, chunk.len());
        let mut args = PgArguments::default();
        for (row, cells) in chunk.iter().zip(cells) {
            add(&mut args, row.id.0)?;
            add(&mut args, at)?;
            add(&mut args, at)?;
            add(&mut args, actor)?;
            add(&mut args, actor)?;
            for &index in &columns {
                let value = cells[index].map_or(Stored::Null, CellValue::to_stored);
                add_cell(&mut args, stored.get(index).kind, value)?;
            }
        }
        let returned: Vec<(Uuid, i64)> = sqlx::query_as_with(AssertSqlSafe(sql), args)
            .fetch_all(&mut *tx)
            .await
            .map_err(on_unique_violation(ROW_ID_TAKEN))?;
        for (id, seq) in returned {
            seqs.insert(id, seq);
        }
    }
    tx.commit().await?;
    Ok(inserted_rows(&stored, rows, &placed, &seqs, audit)?)
}

pub(super) async fn update_rows(
    pool: &PgPool,
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
    let (at, actor) = (micros(audit.at), audit.actor.0);

    let mut tx = pool.begin().await?;
    ensure_table(&mut tx, table, true).await?;
    let select = statements::row_by_id(POSTGRES, table, &stored, true);
    let mut changes = Vec::with_capacity(patches.len());
    let mut history = Vec::new();
    for (patch, cells) in patches.iter().zip(placed) {
        let current = read_row(&mut tx, &select, &stored, patch.id).await?;
        let patched = PatchedRow::new(&stored, patchable(patch, current)?, cells);
        if patched.changed() {
            let sql = statements::update_cells(POSTGRES, table, &stored, &patched.columns);
            let mut args = PgArguments::default();
            for &index in &patched.columns {
                let value = patched.value(&stored, index);
                add_cell(&mut args, stored.get(index).kind, value)?;
            }
            add(&mut args, at)?;
            add(&mut args, actor)?;
            add(&mut args, patch.id.0)?;
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

/// The row `id`, live or trashed, locked until the transaction ends.
async fn read_row(
    conn: &mut PgConnection,
    select: &str,
    fields: &StoredFields<'_>,
    id: RowId,
) -> Result<Option<StoredRow>, StoreError> {
    let row: Option<PgRow> = sqlx::query(AssertSqlSafe(select.to_owned()))
        .bind(id.0)
        .fetch_optional(conn)
        .await?;
    row.map(|row| decode_row(&row, fields)).transpose()
}
