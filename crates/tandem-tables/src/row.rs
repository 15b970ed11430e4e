//! A row's cells as clients write and read them: a JSON object keyed by field name or
//! field id, checked against a table's fields into typed cells, and rendered back.
//!
//! Writing accepts either key for each field: a key that is the id of one of the
//! table's fields names that field, any other key is a name (compared ignoring case).
//! Reading keys every cell the one way the caller chose (`fields_by`).

use serde_json::{Map, Value};
use uuid::Uuid;

use crate::bind::{FieldDef, Schema};
use crate::field::{CellValue, FieldType, Limits, ValueError, validate};
use crate::query::FieldsBy;

/// Why one key of a written row was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CellError {
    /// The key names none of the table's fields.
    #[error("the table has no field {key:?}")]
    UnknownField {
        /// The key as written.
        key: String,
    },
    /// Two keys name the same field (say its name and its id).
    #[error("the field {key:?} is written twice")]
    DuplicateField {
        /// The second key as written.
        key: String,
    },
    /// The value does not fit the field.
    #[error("{key}: {error}")]
    Value {
        /// The key as written.
        key: String,
        /// What is wrong with the value.
        error: ValueError,
    },
}

impl CellError {
    /// The stable machine code the API reports.
    pub fn code(&self) -> &'static str {
        match self {
            CellError::UnknownField { .. } => "unknown_field",
            CellError::DuplicateField { .. } => "duplicate_field",
            CellError::Value { error, .. } => error.code(),
        }
    }

    /// The key the error is about, as the client wrote it.
    pub fn key(&self) -> &str {
        match self {
            CellError::UnknownField { key }
            | CellError::DuplicateField { key }
            | CellError::Value { key, .. } => key,
        }
    }
}

/// Checks a written row's cells against the table's fields: every key must name a
/// field, no field twice, every value valid for its field (read-only fields refuse every
/// value). All errors are reported, in key order, so a client fixes them in one go.
pub fn read_cells(
    schema: &Schema,
    cells: Map<String, Value>,
    limits: &Limits,
) -> Result<Vec<(Uuid, CellValue)>, Vec<CellError>> {
    let mut out: Vec<(Uuid, CellValue)> = Vec::with_capacity(cells.len());
    let mut errors = Vec::new();
    for (key, value) in cells {
        let Some(field) = field_for_key(schema, &key) else {
            errors.push(CellError::UnknownField { key });
            continue;
        };
        if out.iter().any(|(id, _)| *id == field.id) {
            errors.push(CellError::DuplicateField { key });
            continue;
        }
        match validate(&field.field_type, value, limits) {
            Ok(cell) => out.push((field.id, cell)),
            Err(error) => errors.push(CellError::Value { key, error }),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// The field a written key names: a field id first, then a name.
fn field_for_key<'a>(schema: &'a Schema, key: &str) -> Option<&'a FieldDef> {
    Uuid::try_parse(key)
        .ok()
        .and_then(|id| schema.by_id(id))
        .or_else(|| schema.by_name(key))
}

/// A row's cells as the API's JSON object, one entry per field of `fields`, keyed by
/// name or id (the object keeps its keys sorted); `value_of` gives each field's API JSON (`null` when empty).
pub fn render_cells(
    fields: &[FieldDef],
    by: FieldsBy,
    mut value_of: impl FnMut(&FieldDef) -> Value,
) -> Map<String, Value> {
    fields
        .iter()
        .map(|field| {
            let key = match by {
                FieldsBy::Name => field.name.as_str().to_owned(),
                FieldsBy::Id => field.id.to_string(),
            };
            (key, value_of(field))
        })
        .collect()
}

/// The API JSON of a stored cell (`null` when empty).
pub fn cell_json(cell: Option<&CellValue>) -> Value {
    cell.map_or(Value::Null, CellValue::to_json)
}

/// A cell's text in a CSV export, from its API JSON: empty for an empty cell, text as
/// is, select options by name (a multi select's joined with `, `, the way CSV import
/// splits them), numbers and booleans in JSON's spelling, any other JSON compact.
pub fn csv_text(field_type: &FieldType, value: &Value) -> String {
    let option_name = |id: &str| {
        field_type
            .options()
            .and_then(|o| o.by_id(id))
            .map_or_else(|| id.to_owned(), |o| o.name.as_str().to_owned())
    };
    match (field_type, value) {
        (_, Value::Null) => String::new(),
        (FieldType::SingleSelect { .. }, Value::String(id)) => option_name(id),
        (FieldType::MultiSelect { .. }, Value::Array(ids)) => ids
            .iter()
            .map(|id| id.as_str().map_or_else(|| id.to_string(), option_name))
            .collect::<Vec<_>>()
            .join(", "),
        (FieldType::Json, v) => v.to_string(),
        (_, Value::String(s)) => s.clone(),
        (_, v) => v.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::{FieldName, Precision, SelectOptions};
    use serde_json::json;

    fn schema() -> Schema {
        Schema::new(vec![
            FieldDef {
                id: Uuid::from_u128(1),
                name: FieldName::parse("Title").unwrap(),
                field_type: FieldType::Text,
            },
            FieldDef {
                id: Uuid::from_u128(2),
                name: FieldName::parse("Price").unwrap(),
                field_type: FieldType::Number {
                    precision: Precision::new(2).unwrap(),
                },
            },
            FieldDef {
                id: Uuid::from_u128(3),
                name: FieldName::parse("Made").unwrap(),
                field_type: FieldType::CreatedAt,
            },
        ])
    }

    fn object(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn keys_may_be_names_in_any_case_or_ids() {
        let id = Uuid::from_u128(2).to_string();
        let cells = read_cells(
            &schema(),
            object(json!({"title": "Tea", id: 1.005})),
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(
            cells,
            // Keys in sorted order: the id (a digit) before the name.
            vec![
                (Uuid::from_u128(2), CellValue::Number(1.01)),
                (Uuid::from_u128(1), CellValue::Text("Tea".into())),
            ]
        );
    }

    #[test]
    fn every_error_is_reported_with_its_key_and_code() {
        let id = Uuid::from_u128(1).to_string();
        let errors = read_cells(
            &schema(),
            object(json!({"Title": "a", id: "b", "Nope": 1, "Price": "x", "Made": null})),
            &Limits::default(),
        )
        .unwrap_err();
        let got: Vec<(&str, &str)> = errors.iter().map(|e| (e.key(), e.code())).collect();
        assert_eq!(
            got,
            vec![
                ("Made", "read_only_field"),
                ("Nope", "unknown_field"),
                ("Price", "wrong_type"),
                ("Title", "duplicate_field"),
            ]
        );
    }

    #[test]
    fn rendering_keys_by_name_or_id_in_field_order() {
        let s = schema();
        let by_name = render_cells(s.fields(), FieldsBy::Name, |f| json!(f.name.as_str()));
        assert_eq!(
            by_name.keys().collect::<Vec<_>>(),
            vec!["Made", "Price", "Title"]
        );
        let by_id = render_cells(&s.fields()[..1], FieldsBy::Id, |_| Value::Null);
        assert_eq!(
            Value::Object(by_id),
            json!({"00000000-0000-0000-0000-000000000001": null})
        );
    }

    #[test]
    fn csv_text_names_options_and_keeps_json_compact() {
        let options: SelectOptions = serde_json::from_value(json!([
            {"id": "a", "name": "Alpha"}, {"id": "b", "name": "Beta"}
        ]))
        .unwrap();
        let multi = FieldType::MultiSelect {
            options: options.clone(),
        };
        assert_eq!(csv_text(&multi, &json!(["b", "a"])), "Beta, Alpha");
        assert_eq!(
            csv_text(&FieldType::SingleSelect { options }, &json!("a")),
            "Alpha"
        );
        assert_eq!(csv_text(&FieldType::Json, &json!("x")), "\"x\"");
        assert_eq!(csv_text(&FieldType::Text, &json!("x")), "x");
        assert_eq!(csv_text(&FieldType::Boolean, &json!(true)), "true");
        assert_eq!(csv_text(&FieldType::Text, &Value::Null), "");
    }
}
