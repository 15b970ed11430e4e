//! The stored fields of a row table as both backends read and write them: which
//! fields have columns, where a named cell goes, and how a column's scalar becomes a
//! cell again. Backends only move [`Stored`] values in and out of SQL.

use std::collections::BTreeMap;

use tandem_domain::FieldId;
use tandem_tables::field::{CellValue, FieldType, SqlKind, Stored};

use super::layout;
use crate::{StoreError, TableField};

/// One field with a column of its own.
#[derive(Debug)]
pub(crate) struct StoredField<'a> {
    pub field: &'a TableField,
    /// `f_<field hex>`.
    pub column: String,
    pub kind: SqlKind,
}

/// A table's stored fields, in the order the caller listed them; the order of the cell
/// columns in every statement built on them.
#[derive(Debug)]
pub(crate) struct StoredFields<'a> {
    fields: Vec<StoredField<'a>>,
}

impl<'a> StoredFields<'a> {
    /// The fields of `fields` that have columns (system fields are read from the
    /// system columns instead).
    pub fn of(fields: &'a [TableField]) -> Self {
        let fields = fields
            .iter()
            .filter(|f| layout::is_stored(&f.field_type))
            .map(|field| StoredField {
                field,
                column: layout::field_column(field.id),
                kind: field.field_type.sql_kind(),
            })
            .collect();
        Self { fields }
    }

    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn get(&self, index: usize) -> &StoredField<'a> {
        &self.fields[index]
    }

    pub fn iter(&self) -> impl Iterator<Item = &StoredField<'a>> {
        self.fields.iter()
    }

    /// Where `field`'s cell goes; a field that is not among them, or is a system field,
    /// is the caller's bug.
    pub fn index_of(&self, field: FieldId) -> Result<usize, StoreError> {
        self.fields
            .iter()
            .position(|f| f.field.id == field)
            .ok_or_else(|| caller_bug(format!("{field} is not a writable field of this table")))
    }

    /// The cells a write names, placed by column (`None` where not named; of a field
    /// named twice the last value wins), each checked to fit its column.
    pub fn place<'c>(
        &self,
        cells: &'c [(FieldId, CellValue)],
    ) -> Result<Vec<Option<&'c CellValue>>, StoreError> {
        let mut placed = vec![None; self.fields.len()];
        for (field, value) in cells {
            let index = self.index_of(*field)?;
            let target = &self.fields[index];
            if !fits(target.kind, value) {
                return Err(caller_bug(format!(
                    "a {value:?} cell does not fit the {} field {field}",
                    target.field.field_type.tag()
                )));
            }
            placed[index] = Some(value);
        }
        Ok(placed)
    }

    /// Decodes the scalar read from the column at `index`.
    pub fn decode(&self, index: usize, stored: Stored) -> Result<CellValue, StoreError> {
        decode(&self.fields[index].field.field_type, stored)
    }

    /// Every stored field's cell from cells placed by [`StoredFields::place`], empty
    /// where none was placed.
    pub fn cells_of(&self, placed: &[Option<&CellValue>]) -> BTreeMap<FieldId, CellValue> {
        self.fields
            .iter()
            .zip(placed)
            .map(|(f, value)| (f.field.id, value.cloned().unwrap_or(CellValue::Null)))
            .collect()
    }
}

/// Decodes a scalar read from a column of `field_type`'s kind.
pub(crate) fn decode(field_type: &FieldType, stored: Stored) -> Result<CellValue, StoreError> {
    CellValue::from_stored(field_type, stored)
        .map_err(|e| StoreError::Other(sqlx::Error::Decode(Box::new(e))))
}

/// Whether a value is stored in a column of `kind` (see `CellValue::to_stored`).
fn fits(kind: SqlKind, value: &CellValue) -> bool {
    matches!(
        (kind, value),
        (_, CellValue::Null)
            | (SqlKind::Text, CellValue::Text(_) | CellValue::Option(_))
            | (SqlKind::Integer, CellValue::Integer(_))
            | (SqlKind::Real, CellValue::Number(_))
            | (SqlKind::Boolean, CellValue::Boolean(_))
            | (SqlKind::Date, CellValue::Date(_))
            | (SqlKind::Timestamp, CellValue::Datetime(_))
            | (SqlKind::Uuid, CellValue::User(_))
            | (SqlKind::Json, CellValue::Options(_) | CellValue::Json(_))
    )
}

/// A misuse of the store by its caller (the contract says such calls fail as `Other`).
pub(crate) fn caller_bug(message: String) -> StoreError {
    StoreError::Other(sqlx::Error::InvalidArgument(message))
}
