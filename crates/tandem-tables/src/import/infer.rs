//! Inferring a column's field type from its non-empty values. The first rule every
//! value passes wins, in this order: long text (a line break, or over 255 characters),
//! boolean, number, date, datetime, email, URL, multi select, single select, text. A
//! column with no value is text.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate};
use serde_json::Value;

use super::Csv;
use crate::field::{
    FieldType, Limits, MAX_NUMBER, MAX_PRECISION, OptionId, OptionName, Precision, SelectOption,
    SelectOptions, validate,
};

/// The most distinct values (or list items) a column may have to become a select.
pub const MAX_SELECT_OPTIONS: usize = 20;
/// Longer values make a column long text.
const MAX_TEXT_CHARS: usize = 255;

/// Each column's inferred type, in column order.
pub fn infer(csv: &Csv) -> Vec<FieldType> {
    (0..csv.columns.len())
        .map(|i| infer_column(csv.rows.iter().map(|row| row[i].as_str())))
        .collect()
}

/// One column's type, from its values (empty ones are ignored).
pub fn infer_column<'a>(values: impl IntoIterator<Item = &'a str>) -> FieldType {
    let values: Vec<&str> = values.into_iter().filter(|v| !v.is_empty()).collect();
    if values.is_empty() {
        return FieldType::Text;
    }
    if values
        .iter()
        .any(|v| v.contains(['\n', '\r']) || v.chars().count() > MAX_TEXT_CHARS)
    {
        return FieldType::LongText;
    }
    if values.iter().all(|v| boolean(v).is_some()) {
        return FieldType::Boolean;
    }
    if let Some(places) = values
        .iter()
        .map(|v| decimals(v))
        .collect::<Option<Vec<_>>>()
    {
        let most = places.into_iter().max().unwrap_or(0).min(MAX_PRECISION);
        if let Ok(precision) = Precision::new(most) {
            return FieldType::Number { precision };
        }
    }
    if values.iter().all(|v| is_date(v)) {
        return FieldType::Date;
    }
    if values
        .iter()
        .all(|v| DateTime::parse_from_rfc3339(v).is_ok())
    {
        return FieldType::Datetime;
    }
    for checked in [FieldType::Email, FieldType::Url] {
        if values.iter().all(|v| passes(&checked, v)) {
            return checked;
        }
    }
    if values.iter().any(|v| v.contains(',')) {
        let items: Vec<&str> = values.iter().flat_map(|v| v.split(',')).collect();
        if let Some(options) = select_options(&items) {
            return FieldType::MultiSelect { options };
        }
    }
    if let Some(options) = select_options(&values) {
        return FieldType::SingleSelect { options };
    }
    FieldType::Text
}

/// `true`/`false`/`yes`/`no`, ignoring case and surrounding blanks.
pub(crate) fn boolean(value: &str) -> Option<bool> {
    match value.trim().to_lowercase().as_str() {
        "true" | "yes" => Some(true),
        "false" | "no" => Some(false),
        _ => None,
    }
}

/// The decimal places a number needs, or `None` for text that is no plain decimal
/// number within the stored range. A leading zero (`007`) keeps a column text: such
/// codes would lose their zeros as numbers.
fn decimals(value: &str) -> Option<u8> {
    let unsigned = value.strip_prefix('-').unwrap_or(value);
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i32>().ok()?),
        None => (unsigned, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(fraction) || mantissa.ends_with('.') {
        return None;
    }
    if whole.len() > 1 && whole.starts_with('0') {
        return None;
    }
    let number: f64 = value.parse().ok()?;
    if !number.is_finite() || number.abs() > MAX_NUMBER {
        return None;
    }
    let places = (fraction.len() as i64 - i64::from(exponent)).clamp(0, 255);
    Some(places as u8)
}

fn is_date(value: &str) -> bool {
    value.len() == 10 && NaiveDate::parse_from_str(value, "%Y-%m-%d").is_ok()
}

/// Whether the value is one a field of this type accepts as text.
fn passes(field_type: &FieldType, value: &str) -> bool {
    validate(
        field_type,
        Value::String(value.to_owned()),
        &Limits::default(),
    )
    .is_ok()
}

/// A select's options when the items repeat and take at most
/// [`MAX_SELECT_OPTIONS`] distinct names (ignoring case), each a valid option name;
/// ids are `o1`, `o2`, … in order of first use.
fn select_options(items: &[&str]) -> Option<SelectOptions> {
    let mut seen = HashSet::new();
    let mut options = Vec::new();
    for item in items {
        let name = OptionName::parse(item).ok()?;
        if seen.insert(name.key()) {
            if options.len() == MAX_SELECT_OPTIONS {
                return None;
            }
            let id = OptionId::parse(&format!("o{}", options.len() + 1)).ok()?;
            options.push(SelectOption {
                id,
                name,
                color: None,
            });
        }
    }
    if options.len() == items.len() {
        return None;
    }
    SelectOptions::new(options).ok()
}
