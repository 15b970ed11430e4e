//! Live tables' metadata as the rest of the system sees it: a table of a workspace and its
//! typed fields. Their JSON is the API's, so the events that carry them and the audit
//! rows that record them read like the REST answers.

use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};
use tandem_tables::field::{FieldName, FieldType};

use crate::{Description, FieldId, TableId, UserId, WorkspaceId};

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
///
/// Serialised with its type flattened beside the other parts, and whether clients may
/// write it: `{"id": …, "name": "Price", "type": "number", "precision": 2,
/// "indexed": false, "position": 0, "read_only": false, …}`.
#[derive(Debug, Clone, PartialEq, Eq)]
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

impl Serialize for TableField {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        /// The field's JSON, borrowed.
        #[derive(Serialize)]
        struct Json<'a> {
            id: FieldId,
            table_id: TableId,
            name: &'a FieldName,
            #[serde(flatten)]
            field_type: &'a FieldType,
            indexed: bool,
            position: i64,
            read_only: bool,
            created_at: DateTime<Utc>,
            updated_at: DateTime<Utc>,
        }
        Json {
            id: self.id,
            table_id: self.table_id,
            name: &self.name,
            field_type: &self.field_type,
            indexed: self.indexed,
            position: self.position,
            read_only: self.field_type.is_read_only(),
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
        .serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use tandem_tables::field::Precision;

    use super::*;

    fn field(field_type: FieldType) -> TableField {
        let at = "2026-01-02T03:04:05Z".parse().unwrap();
        TableField {
            id: FieldId(uuid::Uuid::nil()),
            table_id: TableId(uuid::Uuid::max()),
            name: FieldName::parse("Price").unwrap(),
            field_type,
            position: 3,
            indexed: true,
            created_at: at,
            updated_at: at,
        }
    }

    #[test]
    fn a_fields_type_and_settings_sit_beside_its_other_parts() {
        let number = FieldType::Number {
            precision: Precision::new(2).unwrap(),
        };
        assert_eq!(
            serde_json::to_value(field(number)).unwrap(),
            json!({
                "id": "00000000-0000-0000-0000-000000000000",
                "table_id": "ffffffff-ffff-ffff-ffff-ffffffffffff",
                "name": "Price",
                "type": "number",
                "precision": 2,
                "indexed": true,
                "position": 3,
                "read_only": false,
                "created_at": "2026-01-02T03:04:05Z",
                "updated_at": "2026-01-02T03:04:05Z",
            })
        );
    }

    #[test]
    fn a_system_field_says_it_is_read_only() {
        let json = serde_json::to_value(field(FieldType::CreatedAt)).unwrap();
        assert_eq!(
            (&json["type"], &json["read_only"]),
            (&json!("created_at"), &json!(true))
        );
    }
}

/// Rows of one table written by one call: one event however many rows, so a bulk write
/// of 1,000 rows is one message on the table's channel.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowsEvent {
    pub table_id: TableId,
    pub workspace_id: WorkspaceId,
    pub rows: Vec<RowDelta>,
}

/// One row in a [`RowsEvent`]: its new version and the cells the event carries, keyed
/// by field id (every cell for a created or restored row, the changed ones for an
/// update, none for a row gone to the trash).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowDelta {
    pub id: crate::RowId,
    pub version: i64,
    pub fields: serde_json::Map<String, serde_json::Value>,
    pub updated_at: DateTime<Utc>,
    pub updated_by: UserId,
}
