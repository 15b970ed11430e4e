//! A table's fields as binding sees them: id, name and type, with lookup by id and
//! by case-insensitive name. Storage builds it from its metadata.

use uuid::Uuid;

use crate::field::{FieldName, FieldType, SqlKind};

/// One field of a table, pure data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDef {
    /// The field's stable id (its column is derived from it by storage).
    pub id: Uuid,
    /// The display name, unique in the table ignoring case.
    pub name: FieldName,
    /// The type and its settings.
    pub field_type: FieldType,
}

impl FieldDef {
    /// The SQL column kind of the field's type.
    pub fn sql_kind(&self) -> SqlKind {
        self.field_type.sql_kind()
    }
}

/// A table's fields in display order. Ids and name keys are expected to be unique
/// (storage enforces it); should they not be, the first field wins a lookup.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Schema {
    fields: Vec<FieldDef>,
}

impl Schema {
    /// A schema over these fields, in this order.
    pub fn new(fields: Vec<FieldDef>) -> Self {
        Schema { fields }
    }

    /// The fields in display order.
    pub fn fields(&self) -> &[FieldDef] {
        &self.fields
    }

    /// The field with this id.
    pub fn by_id(&self, id: Uuid) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.id == id)
    }

    /// The field whose name matches `name` ignoring case and surrounding spaces, as
    /// [`FieldName::key`] compares names.
    pub fn by_name(&self, name: &str) -> Option<&FieldDef> {
        let key = FieldName::parse(name).ok()?.key();
        self.fields.iter().find(|f| f.name.key() == key)
    }
}
