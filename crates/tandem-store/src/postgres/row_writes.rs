//! Inserting and updating rows on PostgreSQL. Inserts go as multi-row statements (up to
//! [`MAX_ROWS_PER_INSERT`] rows, fewer when the parameter limit says so); an update
//! reads its row first, writes only the cells that change, and records history.

use std::collections::{BTreeMap, HashMap};

use sqlx::postgres::{PgArguments, PgRow};
use sqlx::{AssertSqlSafe, PgConnection, PgPool};
use tandem_domain::{AuditContext, TableId};
use tandem_tables::field::{CellValue, Stored};
use uuid::Uuid;

use super::row_codec::{add, add_cell, decode_row, ensure_table};
use super::row_history::insert_history;
use super::{micros, on_unique_violation};
use crate::rows::cells::StoredFields;
use crate::rows::dialect::Dialect;
use crate::rows::history::{changes_of, encode_changes};
use crate::rows::statements::{self, MAX_ROWS_PER_INSERT, rows_per_insert};
use crate::rows::{NewRow, RowAction, RowChange, RowPatch, RowWriteError, StoredRow};
use crate::{StoreError, TableField};

const POSTGRES: Dialect = Dialect::Postgres;

/// The constraint a taken row id breaks.
pub(super) const ROW_ID_TAKEN: &str = "rows.id";

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
    let per_statement = rows_per_insert(POSTGRES, columns.len()).min(MAX_ROWS_PER_INSERT);
    for (chunk, cells) in rows.chunks(per_statement).zip(placed.chunks(per_statement)) {
        let sql = statements::insert_rows(POSTGRES, table, &stored, &columns, chunk.len());
        let mut args = PgArguments::default();
        add(&mut args, at)?;
        add(&mut args, actor)?;
        for (row, cells) in chunk.iter().zip(cells) {
            add(&mut args, row.id.0)?;
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

    let at = micros(audit.at);
    rows.iter()
        .map(|row| {
            let seq = seqs.get(&row.id.0).copied().ok_or_else(|| {
                StoreError::Other(sqlx::Error::Protocol(format!(
                    "no seq returned for row {}",
                    row.id
                )))
            })?;
            Ok(StoredRow {
                id: row.id,
                version: 1,
                autonumber: seq,
                created_at: at,
                updated_at: at,
                created_by: audit.actor,
                updated_by: audit.actor,
                deleted_at: None,
                cells: stored.all_cells(row.cells.iter().cloned().collect()),
            })
        })
        .collect::<Result<_, StoreError>>()
        .map_err(RowWriteError::from)
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
        let current = live_row(&mut tx, &select, &stored, patch).await?;
        let mut after = current.clone();
        let mut before = BTreeMap::new();
        let mut columns = Vec::new();
        for (index, value) in cells.into_iter().enumerate() {
            let Some(value) = value else { continue };
            let id = stored.get(index).field.id;
            if after.cells.get(&id) != Some(value) {
                let old = after.cells.insert(id, value.clone());
                before.insert(id, old.unwrap_or(CellValue::Null));
                columns.push(index);
            }
        }
        if !columns.is_empty() {
            let sql = statements::update_cells(POSTGRES, table, &stored, &columns);
            let mut args = PgArguments::default();
            add(&mut args, at)?;
            add(&mut args, actor)?;
            add(&mut args, patch.id.0)?;
            for &index in &columns {
                let field = stored.get(index);
                let value = after
                    .cells
                    .get(&field.field.id)
                    .map_or(Stored::Null, CellValue::to_stored);
                add_cell(&mut args, field.kind, value)?;
            }
            sqlx::query_with(AssertSqlSafe(sql), args)
                .execute(&mut *tx)
                .await?;
            after.version += 1;
            after.updated_at = micros(audit.at);
            after.updated_by = audit.actor;
            let changed = before.iter().map(|(id, old)| (*id, old, &after.cells[id]));
            history.push((
                patch.id,
                after.version,
                encode_changes(&changes_of(changed)),
            ));
        }
        changes.push(RowChange { row: after, before });
    }
    insert_history(&mut tx, table, RowAction::Updated, audit, &history).await?;
    tx.commit().await?;
    Ok(changes)
}

/// The live row a patch names, locked until the transaction ends, checked against its
/// `if_version`.
async fn live_row(
    conn: &mut PgConnection,
    select: &str,
    fields: &StoredFields<'_>,
    patch: &RowPatch,
) -> Result<StoredRow, RowWriteError> {
    let row: Option<PgRow> = sqlx::query(AssertSqlSafe(select.to_owned()))
        .bind(patch.id.0)
        .fetch_optional(conn)
        .await
        .map_err(StoreError::from)?;
    let row = match row {
        Some(row) => decode_row(&row, fields)?,
        None => return Err(RowWriteError::MissingRow(patch.id)),
    };
    if row.deleted_at.is_some() {
        return Err(RowWriteError::MissingRow(patch.id));
    }
    match patch.if_version {
        Some(expected) if expected != row.version => Err(RowWriteError::Stale {
            row: patch.id,
            current: row.version,
        }),
        _ => Ok(row),
    }
}
