//! A field's type as a request body gives it: the `type` tag with its settings flattened
//! beside the field's other parts, `{"name": "Price", "type": "number", "precision": 2}`.
//!
//! Each refusal says what is wrong: a `type` that names no field type is 422
//! `unknown_field_type`; a setting that breaks its rule is 422 with the rule's code
//! (`invalid_precision`, `duplicate_option_id`, …) and names the setting in `errors`; a
//! setting of another type, or of the wrong JSON kind, is `validation_failed`.

use axum::http::StatusCode;
use serde_json::{Map, Value, json};
use tandem_domain::FieldError;
use tandem_tables::field::{
    Color, FieldType, MAX_OPTIONS, MAX_PRECISION, OptionId, OptionName, Precision, SelectOption,
    SelectOptions, SettingsError,
};

use crate::error::ApiError;

/// The settings each type takes; a type not listed takes none.
fn settings_of(tag: &str) -> &'static [&'static str] {
    match tag {
        "number" => &["precision"],
        "single_select" | "multi_select" => &["options"],
        _ => &[],
    }
}

/// Reads the type a body gives, from the body's members that are not the field's other
/// parts. `current` is the field's type for an update: settings given without `type`
/// change the current type's settings, and settings not given keep their current values
/// where the new type has them (a single select becoming a multi select keeps its
/// options). Settings not given otherwise take their defaults: precision 0, no options.
/// `None` for an update that gives neither `type` nor a setting.
pub fn read_type(
    body: &Map<String, Value>,
    current: Option<&FieldType>,
) -> Result<Option<FieldType>, ApiError> {
    let tag = match (body.get("type"), current) {
        (Some(Value::String(tag)), _) => tag.as_str(),
        (Some(_), _) => {
            return Err(invalid("type", "must be a string naming a field type"));
        }
        (None, Some(current)) if !body.is_empty() => current.tag(),
        (None, Some(_)) => return Ok(None),
        (None, None) => return Err(invalid("type", "is required")),
    };
    if !FieldType::TAGS.contains(&tag) {
        return Err(ApiError::client(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_field_type",
            format!(
                "{tag:?} is not a field type; use one of {}",
                FieldType::TAGS.join(", ")
            ),
        ));
    }
    let allowed = settings_of(tag);
    let stray: Vec<FieldError> = body
        .keys()
        .filter(|key| *key != "type" && !allowed.contains(&key.as_str()))
        .map(|key| {
            FieldError::new(
                key.clone(),
                format!("is neither a part of a field nor a setting of a {tag} field"),
            )
        })
        .collect();
    if !stray.is_empty() {
        return Err(ApiError::Validation(stray));
    }
    let field_type = match tag {
        "number" => FieldType::Number {
            precision: match body.get("precision") {
                Some(given) => precision(given)?,
                None => match current.and_then(precision_of) {
                    Some(kept) => kept,
                    None => Precision::new(0).map_err(|e| settings_error("precision", e))?,
                },
            },
        },
        "single_select" | "multi_select" => {
            let options = match body.get("options") {
                Some(given) => options(given)?,
                None => current
                    .and_then(FieldType::options)
                    .cloned()
                    .unwrap_or_default(),
            };
            if tag == "single_select" {
                FieldType::SingleSelect { options }
            } else {
                FieldType::MultiSelect { options }
            }
        }
        // A type without settings is its tag alone.
        other => serde_json::from_value(json!({ "type": other }))
            .map_err(|e| invalid("type", e.to_string()))?,
    };
    Ok(Some(field_type))
}

/// A setting missing, stray or of the wrong JSON kind: 422 `validation_failed`.
fn invalid(field: impl Into<String>, message: impl Into<String>) -> ApiError {
    ApiError::Validation(vec![FieldError::new(field.into(), message)])
}

/// A setting that breaks its rule: 422 with the rule's code, naming the setting.
fn settings_error(field: impl Into<String>, error: SettingsError) -> ApiError {
    ApiError::invalid(
        error.code(),
        vec![FieldError::new(field.into(), error.to_string()).with_code(error.code())],
    )
}

fn precision_of(field_type: &FieldType) -> Option<Precision> {
    match field_type {
        FieldType::Number { precision } => Some(*precision),
        _ => None,
    }
}

fn precision(given: &Value) -> Result<Precision, ApiError> {
    let Some(places) = given.as_i64().or_else(|| given.as_u64().map(|_| i64::MAX)) else {
        return Err(invalid(
            "precision",
            format!("must be a whole number from 0 to {MAX_PRECISION}"),
        ));
    };
    match u8::try_from(places) {
        Ok(places) => Precision::new(places).map_err(|e| settings_error("precision", e)),
        Err(_) => Err(ApiError::invalid(
            SettingsError::Precision(u8::MAX).code(),
            vec![FieldError::new(
                "precision",
                format!("precision must be between 0 and {MAX_PRECISION}, got {places}"),
            )],
        )),
    }
}

fn options(given: &Value) -> Result<SelectOptions, ApiError> {
    let Value::Array(items) = given else {
        return Err(invalid(
            "options",
            "must be an array of options {id, name, color?}",
        ));
    };
    if items.len() > MAX_OPTIONS {
        return Err(settings_error("options", SettingsError::TooManyOptions));
    }
    let options = items
        .iter()
        .enumerate()
        .map(|(i, item)| option(i, item))
        .collect::<Result<Vec<_>, _>>()?;
    SelectOptions::new(options).map_err(|e| settings_error("options", e))
}

/// The `i`th option of a select's `options`.
fn option(i: usize, item: &Value) -> Result<SelectOption, ApiError> {
    let at = |part: &str| format!("options[{i}]{part}");
    let Value::Object(item) = item else {
        return Err(invalid(at(""), "must be an object {id, name, color?}"));
    };
    if let Some(key) = item
        .keys()
        .find(|key| !matches!(key.as_str(), "id" | "name" | "color"))
    {
        return Err(invalid(
            at(&format!(".{key}")),
            "is not a part of an option (id, name, color)",
        ));
    }
    let text = |part: &str| match item.get(part) {
        Some(Value::String(text)) => Ok(text.as_str()),
        Some(_) => Err(invalid(at(&format!(".{part}")), "must be a string")),
        None => Err(invalid(at(&format!(".{part}")), "is required")),
    };
    let id = OptionId::parse(text("id")?).map_err(|e| settings_error(at(".id"), e))?;
    let name = OptionName::parse(text("name")?).map_err(|e| settings_error(at(".name"), e))?;
    let color = match item.get("color") {
        None | Some(Value::Null) => None,
        Some(_) => Some(Color::parse(text("color")?).map_err(|e| settings_error(at(".color"), e))?),
    };
    Ok(SelectOption { id, name, color })
}

#[cfg(test)]
mod tests;
