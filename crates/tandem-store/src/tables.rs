//! The storage contract for live tables' metadata: the tables of a workspace and their
//! typed fields. Each schema change also changes the table's row table (see
//! [`crate::rows::layout`]) in the same transaction: a table's row table is made and
//! dropped with it, a field's column with the field.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use tandem_domain::{AuditContext, Description, FieldId, TableId, UserId, WorkspaceId};
use tandem_tables::field::{FieldName, FieldType, Limits};

use crate::StoreError;

/// The constraint a table name taken in its workspace breaks.
pub const TABLE_NAME_TAKEN: &str = "live_tables.name";
/// The constraint a field name taken in its table breaks.
pub const FIELD_NAME_TAKEN: &str = "table_fields.name";

/// A live table's metadata. Its name follows the field-name rules (trimmed, 1..=255
/// characters) and is unique in its workspace case-insensitively, by [`FieldName::key`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LiveTable {
    pub id: TableId,
    pub workspace_id: WorkspaceId,
    pub name: FieldName,
    pub description: Description,
    /// The field that names a row in links and pickers; none until one is chosen.
    pub primary_field_id: Option<FieldId>,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A field (typed column) of a live table; its name is unique in the table
/// case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableField {
    pub id: FieldId,
    pub table_id: TableId,
    pub name: FieldName,
    /// Stored as its serde JSON form, `{"type": "number", "precision": 2}`.
    pub field_type: FieldType,
    /// Display order; fields list by position, then id, so ties stay stable.
    pub position: i64,
    /// Whether the row table keeps an index on this field's column.
    pub indexed: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TableField {
    /// The field as binding and evaluation see it.
    pub fn def(&self) -> tandem_tables::bind::FieldDef {
        tandem_tables::bind::FieldDef {
            id: self.id.0,
            name: self.name.clone(),
            field_type: self.field_type.clone(),
        }
    }
}

/// The parts of a table an update changes; `None` leaves a part as it is.
#[derive(Debug, Clone, Default)]
pub struct TableChanges {
    pub name: Option<FieldName>,
    pub description: Option<Description>,
    /// `Some(None)` clears the primary field.
    pub primary_field_id: Option<Option<FieldId>>,
}

/// The parts of a field an update changes; `None` leaves a part as it is.
#[derive(Debug, Clone, Default)]
pub struct FieldChanges {
    pub name: Option<FieldName>,
    /// A new type: every stored value is converted by `tandem_tables::field::convert`
    /// in the same transaction (values that cannot be carried over become empty).
    pub field_type: Option<FieldType>,
    /// The bounds converted values must keep, when `field_type` is given.
    pub limits: Limits,
    pub indexed: Option<bool>,
    pub position: Option<i64>,
}

/// Live tables and their fields. Audit actions, in the workspace's project: `table.created`,
/// `table.updated`, `table.deleted` (target type `table`) and `field.created`,
/// `field.updated`, `field.deleted` (target type `field`).
#[async_trait]
pub trait TableStore: Send + Sync {
    /// Stores a new table; `Conflict("live_tables.name")` if the workspace has a table
    /// of that name in any case, `NotFound` if the workspace does not exist, and
    /// `NotFound` if it names a primary field (a new table has none yet).
    async fn create_table(&self, table: &LiveTable, audit: &AuditContext)
    -> Result<(), StoreError>;
    async fn table_by_id(&self, id: TableId) -> Result<Option<LiveTable>, StoreError>;
    /// A workspace's tables by id (oldest first), starting after `after`.
    async fn list_tables(
        &self,
        workspace: WorkspaceId,
        after: Option<TableId>,
        limit: u32,
    ) -> Result<Vec<LiveTable>, StoreError>;
    /// Changes the parts given and sets `updated_at` to `audit.at`. `NotFound` if there
    /// is no such table or the primary field is not one of its fields;
    /// `Conflict("live_tables.name")` if the name is taken.
    async fn update_table(
        &self,
        id: TableId,
        changes: &TableChanges,
        audit: &AuditContext,
    ) -> Result<LiveTable, StoreError>;
    /// Deletes a table with its fields and its row table; `NotFound` if there is none.
    async fn delete_table(&self, id: TableId, audit: &AuditContext) -> Result<(), StoreError>;
    /// How many tables the workspace has, for its limit.
    async fn count_tables(&self, workspace: WorkspaceId) -> Result<u64, StoreError>;

    /// Stores a new field and adds its column (and index, when `indexed`);
    /// `Conflict("table_fields.name")` if the table has a field of that name in any
    /// case, `NotFound` if the table does not exist.
    async fn create_field(
        &self,
        field: &TableField,
        audit: &AuditContext,
    ) -> Result<(), StoreError>;
    async fn field_by_id(&self, id: FieldId) -> Result<Option<TableField>, StoreError>;
    /// All of a table's fields by position, then id; a table's fields are few (bounded
    /// by the caller's limit), so this does not page.
    async fn list_fields(&self, table: TableId) -> Result<Vec<TableField>, StoreError>;
    /// Changes the parts given and sets `updated_at` to `audit.at`: a new type converts
    /// the stored values (changing the column's SQL kind if it must), `indexed` makes or
    /// drops the index. `NotFound`, or `Conflict("table_fields.name")` if the name is
    /// taken. A system field type cannot be given to a stored field or taken from one
    /// (the caller refuses it first): such a change fails as `Other`, changing nothing.
    async fn update_field(
        &self,
        id: FieldId,
        changes: &FieldChanges,
        audit: &AuditContext,
    ) -> Result<TableField, StoreError>;
    /// Deletes a field and its column, clearing its table's primary field if it was
    /// that one (audited as `table.updated`); `NotFound` if there is none.
    async fn delete_field(&self, id: FieldId, audit: &AuditContext) -> Result<(), StoreError>;
    /// How many fields the table has, for its limit.
    async fn count_fields(&self, table: TableId) -> Result<u64, StoreError>;
    /// A dry run of changing field `id` to type `to`: how many of its non-empty cells
    /// (live and trashed rows) would become empty. Writes nothing. `NotFound` if there
    /// is no such field; a change [`TableStore::update_field`] refuses fails the same way.
    async fn conversion_loss(
        &self,
        id: FieldId,
        to: &FieldType,
        limits: &Limits,
    ) -> Result<u64, StoreError>;
}
