//! The JSON of rows: a row as read, the bodies that write rows, and a page of a query.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tandem_domain::{RowId, UserId};
use tandem_store::StoredRow;
use utoipa::ToSchema;

/// A row: its system columns and its cells, keyed by field name (or by field id with
/// `fields_by=id`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RowView {
    #[schema(value_type = uuid::Uuid)]
    pub id: RowId,
    /// Grows by one with every change; send it back in `If-Match` (or `version` in a
    /// bulk update) to write only if nobody changed the row since.
    pub version: i64,
    /// The row's number in its table, never reused.
    pub autonumber: i64,
    /// The cells: every field asked for, `null` when empty.
    #[schema(value_type = Object)]
    pub fields: Map<String, Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[schema(value_type = uuid::Uuid)]
    pub created_by: UserId,
    #[schema(value_type = uuid::Uuid)]
    pub updated_by: UserId,
    /// When the row went to the trash; only rows in the trash have it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<DateTime<Utc>>,
}

impl RowView {
    pub fn new(row: &StoredRow, fields: Map<String, Value>) -> Self {
        Self {
            id: row.id,
            version: row.version,
            autonumber: row.autonumber,
            fields,
            created_at: row.created_at,
            updated_at: row.updated_at,
            created_by: row.created_by,
            updated_by: row.updated_by,
            deleted_at: row.deleted_at,
        }
    }
}

/// One row's cells as written, keyed by field name or id.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RowInput {
    #[schema(value_type = Object)]
    pub fields: Map<String, Value>,
}

/// `POST …/rows`: one row (`{fields}`) or up to 1,000 (`{rows: [{fields}, …]}`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum CreateRowsRequest {
    Many {
        rows: Vec<RowInput>,
    },
    One {
        #[schema(value_type = Object)]
        fields: Map<String, Value>,
    },
}

/// One row of a bulk update: the cells to write and, to write only if the row has not
/// changed, its `version`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RowUpdate {
    #[schema(value_type = uuid::Uuid)]
    pub id: RowId,
    #[serde(default)]
    pub version: Option<i64>,
    #[schema(value_type = Object)]
    pub fields: Map<String, Value>,
}

/// `PATCH …/rows`: up to 1,000 row updates, all or none.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateRowsRequest {
    pub rows: Vec<RowUpdate>,
}

/// Rows named by id: up to 1,000, for the trash and back.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RowIdsRequest {
    #[schema(value_type = Vec<uuid::Uuid>)]
    pub ids: Vec<RowId>,
}

/// Several rows, as written or read.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RowsView {
    pub items: Vec<RowView>,
}

/// A page of a table's rows.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RowPageView {
    pub items: Vec<RowView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
    /// How many rows match, when asked for with `Prefer: count=exact|estimated`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
}

/// One entry of a row's history.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RowHistoryView {
    pub version: i64,
    /// `created`, `updated`, `trashed` or `restored`.
    pub action: String,
    #[schema(value_type = uuid::Uuid)]
    pub actor: UserId,
    pub at: DateTime<Utc>,
    /// For `updated`: each changed field by id, `{name, before, after}` (the name as it
    /// is now, `null` for a field since deleted).
    #[schema(value_type = Object)]
    pub changes: Map<String, Value>,
}

/// A page of a row's history, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RowHistoryPage {
    pub items: Vec<RowHistoryView>,
    pub next_cursor: Option<String>,
}
