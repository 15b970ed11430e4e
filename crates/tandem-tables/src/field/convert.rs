//! What a cell's value becomes when its field changes type; a dry run counts the
//! [`Conversion::Lost`] cells.
//!
//! Empty cells stay empty. Otherwise, by target type (the source is read as its
//! *text form*: text as is, numbers with their precision's places, `true`/`false`,
//! canonical dates and instants, an option's name, several names joined by `", "`,
//! a UUID, an autonumber's digits; JSON strings as their content, other JSON
//! compact):
//!
//! | to                  | kept when                                                    |
//! |---------------------|--------------------------------------------------------------|
//! | text, long_text     | always: the text form (lost only if over the cell limit)     |
//! | number              | from number (re-rounded), boolean (1/0), autonumber, or a text form that parses as a finite number |
//! | boolean             | from boolean, number (non-zero), or text `true/yes/y/1/on/checked` vs `false/no/n/0/off/unchecked` |
//! | date                | from date, an instant's UTC day, or text that is a date or an RFC 3339 instant |
//! | datetime            | from an instant, a date (midnight UTC), or such text          |
//! | single_select       | a select's option kept by id, else matched by name; from a multi select the first option that maps; from anything else its text form matching an option id or name |
//! | multi_select        | the options that map as above (those that do not are dropped; lost if none); text is split on commas |
//! | user                | from any user-valued type, or text that is a UUID              |
//! | email, url          | the text form when it passes the check                         |
//! | json                | always: the API JSON, except that select options become their names (ids mean nothing outside the field) |
//! | autonumber, created_at, updated_at, created_by, updated_by | only from the same type: storage computes these, any other value is lost |
//!
//! "Kept" can narrow a value (rounding, the first of several options, dropped
//! options); only an emptied cell counts as lost.

use serde_json::Value;

use super::syntax::{format_date, format_datetime, parse_date, parse_datetime};
use super::types::{FieldType, OptionId, Precision, SelectOptions};
use super::value::{CellValue, Limits, check_json, number, validate};

/// The outcome for one cell of a type change.
#[derive(Debug, Clone, PartialEq)]
pub enum Conversion {
    /// The cell keeps this value, valid for the new type (possibly narrowed).
    Kept(CellValue),
    /// The cell's value cannot be carried over; it becomes empty.
    Lost,
}

impl Conversion {
    /// Whether a non-empty value was lost.
    pub fn is_lost(&self) -> bool {
        matches!(self, Conversion::Lost)
    }
}

fn kept_or_lost(value: Option<CellValue>) -> Conversion {
    match value {
        Some(CellValue::Null) | None => Conversion::Lost,
        Some(v) => Conversion::Kept(v),
    }
}

/// Converts one cell's value from `from` to `to` (see the module table). `value` is
/// assumed valid for `from`; a value that is not is treated by its variant alone.
/// `limits` bound the result as a write would be bounded.
pub fn convert(from: &FieldType, to: &FieldType, value: &CellValue, limits: &Limits) -> Conversion {
    if value.is_null() {
        return Conversion::Kept(CellValue::Null);
    }
    if to.is_read_only() {
        return if from.tag() == to.tag() {
            Conversion::Kept(value.clone())
        } else {
            Conversion::Lost
        };
    }
    let text = || text_form(from, value);
    let from_text = |s: Option<String>| s.and_then(|s| validate(to, Value::String(s), limits).ok());
    let result = match to {
        FieldType::Text | FieldType::LongText | FieldType::Email | FieldType::Url => {
            from_text(text())
        }
        FieldType::Number { precision } => to_number(value, text(), *precision),
        FieldType::Boolean => to_boolean(value, text()),
        FieldType::Date => match value {
            CellValue::Date(d) => Some(CellValue::Date(*d)),
            CellValue::Datetime(t) => Some(CellValue::Date(t.date_naive())),
            _ => text().and_then(|s| {
                let s = s.trim();
                parse_date(s)
                    .or_else(|| parse_datetime(s).map(|t| t.date_naive()))
                    .map(CellValue::Date)
            }),
        },
        FieldType::Datetime => match value {
            CellValue::Datetime(t) => Some(CellValue::Datetime(*t)),
            CellValue::Date(d) => Some(CellValue::Datetime(
                d.and_time(chrono::NaiveTime::MIN).and_utc(),
            )),
            _ => text().and_then(|s| {
                let s = s.trim();
                parse_datetime(s)
                    .or_else(|| parse_date(s).map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc()))
                    .map(CellValue::Datetime)
            }),
        },
        FieldType::SingleSelect { options } => map_options(from, value, options)
            .and_then(|ids| ids.into_iter().next())
            .map(CellValue::Option),
        FieldType::MultiSelect { options } => map_options(from, value, options)
            .filter(|ids| !ids.is_empty())
            .map(CellValue::Options),
        FieldType::User => match value {
            CellValue::User(u) => Some(CellValue::User(*u)),
            _ => from_text(text().map(|s| s.trim().to_owned())),
        },
        FieldType::Json => {
            let json = match (value, from.options()) {
                (CellValue::Option(_) | CellValue::Options(_), Some(options)) => {
                    let names = option_names(value, options);
                    match value {
                        CellValue::Option(_) => names.into_iter().next().map(Value::String),
                        _ => Some(Value::Array(names.into_iter().map(Value::String).collect())),
                    }
                }
                _ => Some(value.to_json()),
            };
            json.filter(|j| !j.is_null() && check_json(j, limits).is_ok())
                .map(CellValue::Json)
        }
        FieldType::Autonumber
        | FieldType::CreatedAt
        | FieldType::UpdatedAt
        | FieldType::CreatedBy
        | FieldType::UpdatedBy => None,
    };
    kept_or_lost(result)
}

/// The names of the options a select value holds, skipping ids no longer defined.
fn option_names(value: &CellValue, options: &SelectOptions) -> Vec<String> {
    let ids: &[OptionId] = match value {
        CellValue::Option(id) => std::slice::from_ref(id),
        CellValue::Options(ids) => ids,
        _ => &[],
    };
    ids.iter()
        .filter_map(|id| options.by_id(id.as_str()))
        .map(|o| o.name.as_str().to_owned())
        .collect()
}

/// A value as text, the common ground for most conversions; `None` when a select's
/// options are all gone.
fn text_form(from: &FieldType, value: &CellValue) -> Option<String> {
    let s = match value {
        CellValue::Null => return None,
        CellValue::Text(s) => s.clone(),
        CellValue::Number(x) => {
            let places = match from {
                FieldType::Number { precision } => usize::from(precision.places()),
                _ => 0,
            };
            format!("{x:.places$}")
        }
        CellValue::Boolean(b) => b.to_string(),
        CellValue::Date(d) => format_date(*d),
        CellValue::Datetime(t) => format_datetime(*t),
        CellValue::Option(_) | CellValue::Options(_) => {
            let names = from
                .options()
                .map(|o| option_names(value, o))
                .unwrap_or_default();
            if names.is_empty() {
                return None;
            }
            names.join(", ")
        }
        CellValue::User(u) => u.to_string(),
        CellValue::Json(Value::String(s)) => s.clone(),
        CellValue::Json(v) => v.to_string(),
        CellValue::Integer(n) => n.to_string(),
    };
    Some(s)
}

/// Option ids in `to_options` for a value: same id first, then the source option's
/// name, then (for non-select sources) the comma-separated text form.
fn map_options(
    from: &FieldType,
    value: &CellValue,
    to_options: &SelectOptions,
) -> Option<Vec<OptionId>> {
    let candidates: Vec<String> = match (value, from.options()) {
        (CellValue::Option(_) | CellValue::Options(_), Some(from_options)) => {
            let ids: &[OptionId] = match value {
                CellValue::Option(id) => std::slice::from_ref(id),
                CellValue::Options(ids) => ids,
                _ => &[],
            };
            let mut out = Vec::new();
            for id in ids {
                if to_options.by_id(id.as_str()).is_some() {
                    out.push(id.as_str().to_owned());
                } else if let Some(o) = from_options.by_id(id.as_str()) {
                    out.push(o.name.as_str().to_owned());
                }
            }
            out
        }
        // A JSON array of strings reads as a list of options.
        (CellValue::Json(Value::Array(items)), _) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_owned))
            .collect(),
        _ => text_form(from, value)?
            .split(',')
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
            .collect(),
    };
    let mut ids: Vec<OptionId> = Vec::new();
    for c in candidates {
        if let Some(o) = to_options.resolve(&c)
            && !ids.contains(&o.id)
        {
            ids.push(o.id.clone());
        }
    }
    Some(ids)
}

fn to_number(value: &CellValue, text: Option<String>, precision: Precision) -> Option<CellValue> {
    let x = match value {
        CellValue::Number(x) => *x,
        CellValue::Boolean(b) => f64::from(u8::from(*b)),
        #[expect(
            clippy::cast_precision_loss,
            reason = "out-of-range results are refused by `number`"
        )]
        CellValue::Integer(n) => *n as f64,
        CellValue::Json(Value::Number(n)) => n.as_f64()?,
        CellValue::Date(_) | CellValue::Datetime(_) | CellValue::User(_) => return None,
        _ => {
            let t = text?;
            let t = t.trim();
            // Only plain decimal syntax: Rust's parser also takes "inf" and "NaN".
            if !t
                .bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
            {
                return None;
            }
            t.parse().ok()?
        }
    };
    number(x, precision).ok()
}

fn to_boolean(value: &CellValue, text: Option<String>) -> Option<CellValue> {
    match value {
        CellValue::Boolean(b) => Some(CellValue::Boolean(*b)),
        CellValue::Number(x) => Some(CellValue::Boolean(*x != 0.0)),
        CellValue::Integer(n) => Some(CellValue::Boolean(*n != 0)),
        CellValue::Json(Value::Bool(b)) => Some(CellValue::Boolean(*b)),
        _ => match text?.trim().to_lowercase().as_str() {
            "true" | "yes" | "y" | "1" | "on" | "checked" => Some(CellValue::Boolean(true)),
            "false" | "no" | "n" | "0" | "off" | "unchecked" => Some(CellValue::Boolean(false)),
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests;
