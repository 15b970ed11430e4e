//! One CSV cell's text as the API JSON a field of a given type is written with: the
//! reverse of [`crate::row::csv_text`]. Text that cannot be read as the type is passed
//! on as a string, so [`crate::field::validate`] refuses it with its usual code.

use serde_json::{Number, Value};

use super::infer::boolean;
use crate::field::FieldType;

/// The value to write for `text` in a field of `field_type`; empty text is an empty cell.
pub fn cell_value(field_type: &FieldType, text: &str) -> Value {
    if text.is_empty() {
        return Value::Null;
    }
    let as_text = || Value::String(text.to_owned());
    match field_type {
        FieldType::Number { .. } => text
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map_or_else(as_text, Value::Number),
        FieldType::Boolean => boolean(text).map_or_else(as_text, Value::Bool),
        FieldType::SingleSelect { options } => options
            .resolve(text.trim())
            .map_or_else(as_text, |o| Value::String(o.id.as_str().to_owned())),
        FieldType::MultiSelect { options } => Value::Array(
            text.split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(|item| {
                    Value::String(
                        options
                            .resolve(item)
                            .map_or(item, |o| o.id.as_str())
                            .to_owned(),
                    )
                })
                .collect(),
        ),
        FieldType::Json => serde_json::from_str(text).unwrap_or_else(|_| as_text()),
        _ => as_text(),
    }
}
