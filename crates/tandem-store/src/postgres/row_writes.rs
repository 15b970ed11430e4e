//! Inserting and updating rows on PostgreSQL. An insert writes up to 1,000 rows per
//! statement from one array parameter per column (`INSERT … SELECT … FROM unnest(…)`);
//! an update reads and locks its row first, writes only the cells that change, and
//! records history. Every write key-share locks the table's `live_tables` row (see
//! `ensure_table`).
//!
//! Arrays rather than a `VALUES` list of one parameter per cell: inserting 50,000 rows
//! of 20 fields in 1,000-row calls (`row_speed` in the conformance suite, release
//! build, PostgreSQL 15 on this 2-core machine under a load of about 4) took 1.0–1.3 s
//! with arrays and 1.6–1.7 s with `VALUES`, at about the same CPU time: 25,000
//! parameters per statement cost their own round of encoding, sending and decoding.

use std::collections::HashMap;

use sqlx::postgres::{PgArguments, PgRow};
use sqlx::{AssertSqlSafe, PgConnection, PgPool};
use tandem_domain::{AuditContext, RowId, TableId};
use uuid::Uuid;

use super::row_codec::{add, add_cell, add_column, decode_row, ensure_table};
use super::row_history::insert_history;
use super::{micros, on_unique_violation};
use crate::rows::cells::StoredFields;
use crate::rows::dialect::Dialect;
use crate::rows::statements::{self, MAX_ROWS_PER_STATEMENT};
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
    let sql = statements::insert_rows_from_arrays(table, &stored, &columns);
    for (chunk, cells) in rows
        .chunks(MAX_ROWS_PER_STATEMENT)
        .zip(placed.chunks(MAX_ROWS_PER_STATEMENT))
    {
        let mut args = PgArguments::default();
        add(
            &mut args,
            chunk.iter().map(|row| row.id.0).collect::<Vec<_>>(),
        )?;
        add(&mut args, at)?;
        add(&mut args, actor)?;
        for &index in &columns {
            add_column(
                &mut args,
                stored.get(index).kind,
                cells.iter().map(|c| c[index]),
            )?;
        }
        let returned: Vec<(Uuid, i64)> = sqlx::query_as_with(AssertSqlSafe(sql.clone()), args)
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
