//! The JSON shapes of live tables and their fields. A table's and a field's JSON are also
//! what their events carry (the domain types serialise the same way; the tests below
//! hold the two together).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use tandem_domain::{LiveTable, TableField};
use tandem_tables::field::FieldType;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// A live table.
#[derive(Debug, Serialize, ToSchema)]
pub struct TableView {
    pub id: Uuid,
    pub workspace_id: Uuid,
    /// Unique in the workspace, ignoring case.
    pub name: String,
    pub description: String,
    /// The field that names a row in links and pickers; null until one is chosen.
    pub primary_field_id: Option<Uuid>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<LiveTable> for TableView {
    fn from(table: LiveTable) -> Self {
        Self {
            id: table.id.0,
            workspace_id: table.workspace_id.0,
            name: table.name.as_str().to_owned(),
            description: table.description.as_str().to_owned(),
            primary_field_id: table.primary_field_id.map(|f| f.0),
            created_by: table.created_by.0,
            created_at: table.created_at,
            updated_at: table.updated_at,
        }
    }
}

/// A field of a live table: its type's tag and settings sit beside its other parts.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldView {
    pub id: Uuid,
    pub table_id: Uuid,
    /// Unique in the table, ignoring case.
    pub name: String,
    #[serde(flatten)]
    #[schema(value_type = FieldTypeSchema)]
    pub field_type: FieldType,
    /// Whether the field's column is indexed, for fast filters and sorts on it.
    pub indexed: bool,
    /// Display order: fields list by position, then id.
    pub position: i64,
    /// True for the system types, whose values the server sets.
    pub read_only: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<TableField> for FieldView {
    fn from(field: TableField) -> Self {
        Self {
            id: field.id.0,
            table_id: field.table_id.0,
            name: field.name.as_str().to_owned(),
            read_only: field.field_type.is_read_only(),
            field_type: field.field_type,
            indexed: field.indexed,
            position: field.position,
            created_at: field.created_at,
            updated_at: field.updated_at,
        }
    }
}

/// A field's type and its settings, as they sit in a field's JSON.
#[derive(Debug, ToSchema)]
#[schema(as = FieldType)]
#[expect(dead_code, reason = "documents tandem_tables::field::FieldType's JSON")]
pub struct FieldTypeSchema {
    /// `text`, `long_text`, `number`, `boolean`, `date`, `datetime`, `single_select`,
    /// `multi_select`, `user`, `email`, `url`, `json`, or a read-only system type:
    /// `autonumber`, `created_at`, `updated_at`, `created_by`, `updated_by`.
    #[schema(example = "number")]
    r#type: String,
    /// `number` only: decimal places kept, 0 to 10 (default 0).
    #[schema(minimum = 0, maximum = 10)]
    precision: Option<u8>,
    /// `single_select` and `multi_select` only: the choices, in display order (default
    /// none); ids unique, names unique ignoring case, at most 1,000.
    options: Option<Vec<SelectOptionSchema>>,
}

/// One choice of a select field.
#[derive(Debug, ToSchema)]
#[schema(as = SelectOption)]
#[expect(
    dead_code,
    reason = "documents tandem_tables::field::SelectOption's JSON"
)]
pub struct SelectOptionSchema {
    /// Stable id cells store: 1 to 64 letters, digits, `-` or `_`.
    #[schema(example = "in_progress")]
    id: String,
    /// Display name: 1 to 255 characters.
    #[schema(example = "In progress")]
    name: String,
    /// A color token: 1 to 32 letters, digits, `#`, `-` or `_`.
    #[schema(example = "blue")]
    color: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTableRequest {
    /// 1 to 255 characters, no control characters; unique in the workspace ignoring case.
    #[schema(example = "Tasks")]
    pub name: String,
    /// At most 2,000 characters.
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTableRequest {
    pub name: Option<String>,
    pub description: Option<String>,
    /// One of the table's fields, or null to clear it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Uuid>)]
    pub primary_field_id: Option<Option<Uuid>>,
}

/// Tells a member given as null (`Some(None)`) from one left out (`None`).
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A new field: its name, its type with the type's settings beside it, and whether to
/// index it: `{"name": "Price", "type": "number", "precision": 2}`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateFieldRequest {
    /// 1 to 255 characters, no control characters; unique in the table ignoring case.
    #[schema(example = "Price")]
    pub name: String,
    #[serde(flatten)]
    #[schema(value_type = FieldTypeSchema)]
    pub type_and_settings: Map<String, Value>,
    /// Index the field's column (default false).
    #[serde(default)]
    pub indexed: bool,
}

/// Changes to a field; parts left out stay as they are. A new `type` converts the
/// field's cells (see docs/TABLES.md); settings given without `type` change the current
/// type's settings.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateFieldRequest {
    pub name: Option<String>,
    #[serde(flatten)]
    #[schema(value_type = FieldTypeSchemaUpdate)]
    pub type_and_settings: Map<String, Value>,
    pub indexed: Option<bool>,
    pub position: Option<i64>,
    /// Change the type even though some cells cannot be converted and will be emptied.
    #[serde(default)]
    pub force: bool,
}

/// A field's new type and settings; every part optional.
#[derive(Debug, ToSchema)]
#[schema(as = FieldTypeChange)]
#[expect(dead_code, reason = "documents the type part of a field update")]
pub struct FieldTypeSchemaUpdate {
    #[schema(example = "single_select")]
    r#type: Option<String>,
    #[schema(minimum = 0, maximum = 10)]
    precision: Option<u8>,
    options: Option<Vec<SelectOptionSchema>>,
}

/// `?dry_run=true`: answer what a change would do without making it.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DryRunQuery {
    /// Check the change and count the cells a type change would empty, writing nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// What a field update did, or with `?dry_run=true` would do.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum FieldUpdateView {
    Updated(FieldView),
    DryRun(FieldDryRunView),
}

/// The answer of a dry run: nothing was written.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldDryRunView {
    /// How many cells the type change would empty (0 without a type change).
    pub lost: u64,
    /// The field as the change would leave it.
    pub field: FieldView,
}

#[cfg(test)]
mod tests {
    use tandem_domain::{Description, FieldId, TableId, UserId, WorkspaceId};
    use tandem_tables::field::FieldName;

    use super::*;

    #[test]
    fn a_tables_view_is_the_json_its_events_carry() {
        let at = Utc::now();
        let table = LiveTable {
            id: TableId::new(at),
            workspace_id: WorkspaceId::new(at),
            name: FieldName::parse("Tasks").unwrap(),
            description: Description::parse("What to do").unwrap(),
            primary_field_id: Some(FieldId::new(at)),
            created_by: UserId::new(at),
            created_at: at,
            updated_at: at,
        };
        assert_eq!(
            serde_json::to_value(TableView::from(table.clone())).unwrap(),
            serde_json::to_value(&table).unwrap()
        );
    }

    #[test]
    fn a_fields_view_is_the_json_its_events_carry_for_every_type() {
        let at = Utc::now();
        for tag in FieldType::TAGS {
            let json = serde_json::json!({
                "type": tag,
                "precision": 3,
                "options": [{"id": "a", "name": "A", "color": "red"}],
            });
            let field = TableField {
                id: FieldId::new(at),
                table_id: TableId::new(at),
                name: FieldName::parse("Field").unwrap(),
                field_type: serde_json::from_value(json).unwrap(),
                position: 7,
                indexed: true,
                created_at: at,
                updated_at: at,
            };
            assert_eq!(
                serde_json::to_value(FieldView::from(field.clone())).unwrap(),
                serde_json::to_value(&field).unwrap(),
                "{tag}"
            );
        }
    }
}
