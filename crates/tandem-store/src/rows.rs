//! The storage contract for live tables' rows: each table's rows live in a SQL table
//! of their own (see [`layout`]), written by [`RowStore`] and read by query through
//! [`RowQueryStore`]. Values arrive validated (`tandem_tables::field::validate`) and
//! leave decoded ([`CellValue`]); nothing here checks a value against its field.

pub(crate) mod cells;
pub(crate) mod conversion;
pub(crate) mod ddl;
pub(crate) mod dialect;
pub(crate) mod history;
pub mod layout;
pub(crate) mod page;
pub(crate) mod sql;
pub(crate) mod statements;
pub(crate) mod writes;

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tandem_domain::{AuditContext, FieldId, RowId, TableId, UserId};
use tandem_tables::bind::{BoundFilter, BoundQuery};
use tandem_tables::field::CellValue;
use tandem_tables::query::Cursor;

use crate::{StoreError, TableField};

/// One row as stored: its system columns and the cells of the fields asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRow {
    pub id: RowId,
    /// Starts at 1 and grows by one with every change (update, trash, restore).
    pub version: i64,
    /// The row's number in its table, assigned on insert, never reused.
    pub autonumber: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub created_by: UserId,
    pub updated_by: UserId,
    /// When the row went to the trash; `None` for a live row.
    pub deleted_at: Option<DateTime<Utc>>,
    /// Cells of the stored (non-system) fields read, by field id. A field the caller
    /// asked for whose cell is empty maps to [`CellValue::Null`]; system fields are the
    /// columns above and never appear here.
    pub cells: BTreeMap<FieldId, CellValue>,
}

/// A row to insert. Cells of fields not named are empty; `cells` names stored fields only.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRow {
    pub id: RowId,
    pub cells: Vec<(FieldId, CellValue)>,
}

/// Cells to write into one existing row; fields not named keep their values.
#[derive(Debug, Clone, PartialEq)]
pub struct RowPatch {
    pub id: RowId,
    /// Write only if the row's version is still this one.
    pub if_version: Option<i64>,
    pub cells: Vec<(FieldId, CellValue)>,
}

/// What one update did to a row: the row after, and the cells that really changed
/// (a cell written with its current value is no change), with their values before.
#[derive(Debug, Clone, PartialEq)]
pub struct RowChange {
    /// The row after the change, with every stored field's cell.
    pub row: StoredRow,
    /// The changed fields' values before, by field id; empty if nothing changed, in
    /// which case the version did not move and no history entry was written.
    pub before: BTreeMap<FieldId, CellValue>,
}

/// What happened to a row in one history entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowAction {
    Updated,
    Trashed,
    Restored,
}

impl RowAction {
    /// The stored and reported name: `updated`, `trashed`, `restored`.
    pub fn as_str(self) -> &'static str {
        match self {
            RowAction::Updated => "updated",
            RowAction::Trashed => "trashed",
            RowAction::Restored => "restored",
        }
    }
}

/// One entry of a row's history. Creation is not an entry: the row's own
/// `created_at`/`created_by` and the first update's `before` values tell it.
#[derive(Debug, Clone, PartialEq)]
pub struct RowHistoryEntry {
    /// The version the row reached with this change.
    pub version: i64,
    pub action: RowAction,
    pub actor: UserId,
    pub at: DateTime<Utc>,
    /// For `Updated`, each changed field's (before, after) as the API's JSON form of the
    /// cell at the time (`null` for empty); empty for `Trashed` and `Restored`. Kept as
    /// JSON because the field's type may have changed since.
    pub changes: BTreeMap<FieldId, (serde_json::Value, serde_json::Value)>,
}

/// How a write of rows failed.
#[derive(Debug, thiserror::Error)]
pub enum RowWriteError {
    /// No such row in the table (or, for updates and trashing, it is in the trash; for
    /// restoring, it is not).
    #[error("row {0} not found")]
    MissingRow(RowId),
    /// `if_version` did not match; `current` is the row's version now.
    #[error("row {row} is at version {current}")]
    Stale { row: RowId, current: i64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for RowWriteError {
    fn from(err: sqlx::Error) -> Self {
        RowWriteError::Store(StoreError::from(err))
    }
}

/// One page of a query's result, as `tandem_tables::eval::evaluate` defines it.
#[derive(Debug, Clone, PartialEq)]
pub struct RowPage {
    /// The matching rows in order, with the cells of the selected stored fields.
    pub rows: Vec<StoredRow>,
    /// Where the next page starts, when more rows match.
    pub next_cursor: Option<Cursor>,
}

/// How to count a query's rows (`Prefer: count=…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountMode {
    /// `count(*)` of the matching rows.
    Exact,
    /// The planner's estimate where the backend has one (PostgreSQL's statistics for
    /// an unfiltered table); otherwise exact.
    Estimated,
}

/// Writes and reads rows by id. Every method takes the table's current fields (the
/// caller has them from [`crate::TableStore::list_fields`]); a cell of a field not among
/// them, or of a read-only (system) field, is a caller bug and fails as `Other`.
/// All writes of one call are one transaction: all rows or none.
#[async_trait]
pub trait RowStore: Send + Sync {
    /// Inserts rows at version 1, created and updated by `audit.actor` at `audit.at`.
    /// `NotFound` (as `Store`) if the table does not exist; a taken row id is
    /// `Store(Conflict("rows.id"))`. Returns the rows with every stored field's cell.
    async fn insert_rows(
        &self,
        table: TableId,
        fields: &[TableField],
        rows: &[NewRow],
        audit: &AuditContext,
    ) -> Result<Vec<StoredRow>, RowWriteError>;

    /// Writes each patch's cells into its live row, bumps the version of each row that
    /// really changed, sets `updated_at`/`updated_by`, and records one history entry per
    /// changed row. Patches are applied in order (a row may appear twice).
    async fn update_rows(
        &self,
        table: TableId,
        fields: &[TableField],
        patches: &[RowPatch],
        audit: &AuditContext,
    ) -> Result<Vec<RowChange>, RowWriteError>;

    /// Moves live rows to the trash (`deleted_at`), bumping their versions; `MissingRow`
    /// for a row that is not live. Returns the rows as trashed.
    async fn trash_rows(
        &self,
        table: TableId,
        fields: &[TableField],
        ids: &[RowId],
        audit: &AuditContext,
    ) -> Result<Vec<StoredRow>, RowWriteError>;

    /// Brings trashed rows back, bumping their versions; `MissingRow` for a row that is
    /// not in the trash. Returns the rows as restored.
    async fn restore_rows(
        &self,
        table: TableId,
        fields: &[TableField],
        ids: &[RowId],
        audit: &AuditContext,
    ) -> Result<Vec<StoredRow>, RowWriteError>;

    /// A row with every stored field's cell; a trashed row only when `trashed` is true.
    async fn row_by_id(
        &self,
        table: TableId,
        fields: &[TableField],
        id: RowId,
        trashed: bool,
    ) -> Result<Option<StoredRow>, StoreError>;

    /// The table's trash, most recently trashed first, then by id; `after` is the last
    /// row of the previous page.
    async fn list_trash(
        &self,
        table: TableId,
        fields: &[TableField],
        after: Option<(DateTime<Utc>, RowId)>,
        limit: u32,
    ) -> Result<Vec<StoredRow>, StoreError>;

    /// Deletes for good every row of every table trashed before `before`, with its
    /// history; returns how many rows went.
    async fn purge_trash(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;

    /// A row's history, newest first, entries with versions below `before_version`
    /// when given. A row deleted for good has none.
    async fn row_history(
        &self,
        table: TableId,
        id: RowId,
        before_version: Option<i64>,
        limit: u32,
    ) -> Result<Vec<RowHistoryEntry>, StoreError>;
}

/// Reads rows by query: the bound query compiled to one parameterised SQL statement
/// per backend, with the semantics of `tandem_tables::eval` (the differential
/// conformance test holds both backends to it). Trashed rows never match.
#[async_trait]
pub trait RowQueryStore: Send + Sync {
    /// One page of the live rows `query` selects. `query.limit` must be set (the caller
    /// applies its default and maximum). Runs for at most `timeout`, then is cancelled
    /// with [`StoreError::QueryTimeout`] and leaves the connection usable. `NotFound` if
    /// the table does not exist. `query.search` is not applied yet: full-text search
    /// comes with the text indexes it needs.
    async fn query_rows(
        &self,
        table: TableId,
        fields: &[TableField],
        query: &BoundQuery,
        timeout: std::time::Duration,
    ) -> Result<RowPage, StoreError>;

    /// How many live rows match `filter` (all live rows when `None`), exactly or as
    /// `mode` allows (an estimate counts trashed rows too and may lag), within `timeout`
    /// as [`RowQueryStore::query_rows`] runs. `NotFound` if the table does not exist.
    async fn count_rows(
        &self,
        table: TableId,
        fields: &[TableField],
        filter: Option<&BoundFilter>,
        mode: CountMode,
        timeout: std::time::Duration,
    ) -> Result<u64, StoreError>;
}
