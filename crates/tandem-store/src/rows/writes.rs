//! The backend-neutral part of writing rows: the rows an insert returns, what a patch
//! changes in the row it read (and the history entry that records it), and the checks
//! a patched or moved row must pass. Backends only run the statements.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::SubsecRound;
use tandem_domain::{AuditContext, FieldId, RowId};
use tandem_tables::field::{CellValue, Stored};
use uuid::Uuid;

use super::cells::StoredFields;
use super::history::{changes_of, encode_changes};
use super::{NewRow, RowChange, RowPatch, RowWriteError, StoredRow};
use crate::StoreError;

/// One history entry to record: the row, the version it reached, its changes' JSON.
pub(crate) type HistoryEntry = (RowId, i64, String);

/// The rows an insert wrote, from what was asked (each row's cells placed by
/// [`StoredFields::place`]) and the `seq` the database gave each row id: version 1,
/// created and updated by the actor at the audit time (to the microsecond, as stored),
/// every stored field's cell.
pub(crate) fn inserted_rows(
    fields: &StoredFields<'_>,
    rows: &[NewRow],
    placed: &[Vec<Option<&CellValue>>],
    seqs: &HashMap<Uuid, i64>,
    audit: &AuditContext,
) -> Result<Vec<StoredRow>, StoreError> {
    let at = audit.at.trunc_subsecs(6);
    rows.iter()
        .zip(placed)
        .map(|(row, cells)| {
            let seq = seqs.get(&row.id.0).copied().ok_or_else(|| {
                StoreError::Other(sqlx::Error::Protocol(format!(
                    "the insert returned no number for row {}",
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
                cells: fields.cells_of(cells),
            })
        })
        .collect()
}

/// The live row a patch may change: `MissingRow` if there is none or it is trashed,
/// `Stale` if the patch expects another version.
pub(crate) fn patchable(
    patch: &RowPatch,
    row: Option<StoredRow>,
) -> Result<StoredRow, RowWriteError> {
    let row = match row {
        Some(row) if row.deleted_at.is_none() => row,
        _ => return Err(RowWriteError::MissingRow(patch.id)),
    };
    match patch.if_version {
        Some(expected) if expected != row.version => Err(RowWriteError::Stale {
            row: patch.id,
            current: row.version,
        }),
        _ => Ok(row),
    }
}

/// What one patch does to the row it read.
#[derive(Debug)]
pub(crate) struct PatchedRow {
    /// The row after the patch, its version and `updated_*` not yet moved.
    after: StoredRow,
    /// The changed cells' values before.
    before: BTreeMap<FieldId, CellValue>,
    /// The indexes (in the stored fields) of the changed cells, in field order.
    pub columns: Vec<usize>,
}

impl PatchedRow {
    /// Applies the placed cells of a patch to `current`; a cell written with its
    /// current value is no change.
    pub fn new(
        fields: &StoredFields<'_>,
        current: StoredRow,
        cells: Vec<Option<&CellValue>>,
    ) -> Self {
        let mut after = current;
        let mut before = BTreeMap::new();
        let mut columns = Vec::new();
        for (index, value) in cells.into_iter().enumerate() {
            let Some(value) = value else { continue };
            let id = fields.get(index).field.id;
            if after.cells.get(&id) != Some(value) {
                let old = after.cells.insert(id, value.clone());
                before.insert(id, old.unwrap_or(CellValue::Null));
                columns.push(index);
            }
        }
        Self {
            after,
            before,
            columns,
        }
    }

    /// Whether anything changed (else nothing is written).
    pub fn changed(&self) -> bool {
        !self.columns.is_empty()
    }

    /// The new scalar of the changed cell at `index`.
    pub fn value(&self, fields: &StoredFields<'_>, index: usize) -> Stored {
        let id = fields.get(index).field.id;
        self.after
            .cells
            .get(&id)
            .map_or(Stored::Null, CellValue::to_stored)
    }

    /// The outcome, and the history entry to record if the row changed: its version
    /// moves on by one, `updated_at`/`updated_by` become the audit's.
    pub fn finish(self, audit: &AuditContext) -> (RowChange, Option<HistoryEntry>) {
        let Self {
            mut after, before, ..
        } = self;
        if before.is_empty() {
            return (RowChange { row: after, before }, None);
        }
        after.version += 1;
        after.updated_at = audit.at.trunc_subsecs(6);
        after.updated_by = audit.actor;
        let changed = before.iter().map(|(id, old)| (*id, old, &after.cells[id]));
        let entry = (
            after.id,
            after.version,
            encode_changes(&changes_of(changed)),
        );
        (RowChange { row: after, before }, Some(entry))
    }
}

/// Row ids without repeats, in the order first named.
pub(crate) fn unique_ids(ids: &[RowId]) -> Vec<RowId> {
    let mut seen = HashSet::with_capacity(ids.len());
    ids.iter().copied().filter(|id| seen.insert(*id)).collect()
}

/// The rows a trash or restore statement returned, in the order of `ids`;
/// `MissingRow` for the first id not among them.
pub(crate) fn in_order(
    ids: &[RowId],
    rows: Vec<StoredRow>,
) -> Result<Vec<StoredRow>, RowWriteError> {
    let mut by_id: HashMap<RowId, StoredRow> = rows.into_iter().map(|row| (row.id, row)).collect();
    ids.iter()
        .map(|id| by_id.remove(id).ok_or(RowWriteError::MissingRow(*id)))
        .collect()
}

/// The history entries of rows trashed or restored: no cell changes.
pub(crate) fn moved_entries(rows: &[StoredRow]) -> Vec<HistoryEntry> {
    rows.iter()
        .map(|row| (row.id, row.version, "{}".to_owned()))
        .collect()
}
