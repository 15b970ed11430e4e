//! Cell values: what a client may write into a field (`validate`) and how a value
//! reads back as API JSON (`CellValue::to_json`).

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::syntax::{
    format_date, format_datetime, is_email, is_http_url, parse_date, parse_datetime,
};
use super::types::{FieldType, OptionId, Precision};

/// The largest magnitude a number cell holds: 2^53 - 1, so every whole number is
/// exact in a double and in JavaScript clients.
pub const MAX_NUMBER: f64 = 9_007_199_254_740_991.0;

/// Bounds on one cell, configurable per deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most bytes of a text cell (UTF-8) or of a JSON cell's compact serialisation.
    pub max_cell_bytes: usize,
    /// The deepest nesting of arrays and objects in a JSON cell.
    pub max_json_depth: usize,
}

impl Default for Limits {
    /// 100 KiB per cell and 32 levels of JSON: room for long notes, not for files.
    fn default() -> Self {
        Limits {
            max_cell_bytes: 100 * 1024,
            max_json_depth: 32,
        }
    }
}

/// The typed value of one cell. One variant serves several field types (`Text` holds
/// text, long text, email and URL cells), so a value is read together with its
/// field's type.
#[derive(Debug, Clone, PartialEq)]
pub enum CellValue {
    /// Empty. Empty strings and empty multi-select arrays are stored as this too, so
    /// "is empty" has one meaning.
    Null,
    /// text, long_text, email, url.
    Text(String),
    /// number: finite, already rounded to the field's precision, never `-0.0`.
    Number(f64),
    /// boolean.
    Boolean(bool),
    /// date.
    Date(NaiveDate),
    /// datetime, created_at, updated_at: UTC, microsecond precision.
    Datetime(DateTime<Utc>),
    /// single_select: the option's id.
    Option(OptionId),
    /// multi_select: option ids, non-empty, no duplicates, in the order written.
    Options(Vec<OptionId>),
    /// user, created_by, updated_by.
    User(Uuid),
    /// json: any JSON value except `null` (which is [`CellValue::Null`]).
    Json(Value),
    /// autonumber.
    Integer(i64),
}

/// Why a written value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// The field is set by storage, not by clients.
    #[error("this field is read-only")]
    ReadOnlyField,
    /// The JSON kind does not fit the field.
    #[error("expected {expected}")]
    WrongType {
        /// What the field takes, for the message.
        expected: &'static str,
    },
    /// Over [`Limits::max_cell_bytes`].
    #[error("the value takes {bytes} bytes, more than the {max} a cell holds")]
    TooLarge {
        /// The value's size.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// JSON nested deeper than [`Limits::max_json_depth`].
    #[error("the JSON value nests deeper than {max} levels")]
    TooDeep {
        /// The limit.
        max: usize,
    },
    /// A NUL character, which PostgreSQL text cannot hold.
    #[error("text cannot contain the NUL character")]
    NulCharacter,
    /// A number beyond ±[`MAX_NUMBER`] (or not representable as a double).
    #[error("the number is out of range (at most ±9007199254740991)")]
    NumberOutOfRange,
    /// Not `YYYY-MM-DD`, or no such day.
    #[error("expected a date as YYYY-MM-DD")]
    InvalidDate,
    /// Not RFC 3339, or out of range.
    #[error("expected an RFC 3339 date and time, e.g. 2024-05-01T09:30:00Z")]
    InvalidDatetime,
    /// Neither an option id nor an option name of this field.
    #[error("{given:?} is not an option of this field")]
    UnknownOption {
        /// What the client wrote.
        given: String,
    },
    /// One option named twice in a multi select.
    #[error("option {given:?} is chosen twice")]
    DuplicateOption {
        /// The second mention, as written.
        given: String,
    },
    /// Not a UUID.
    #[error("expected a user id (a UUID)")]
    InvalidUser,
    /// Failed the email check.
    #[error("expected an email address")]
    InvalidEmail,
    /// Not an http(s) URL with a host.
    #[error("expected an http or https URL")]
    InvalidUrl,
}

impl ValueError {
    /// The stable machine code the API reports.
    pub fn code(&self) -> &'static str {
        match self {
            ValueError::ReadOnlyField => "read_only_field",
            ValueError::WrongType { .. } => "wrong_type",
            ValueError::TooLarge { .. } => "value_too_large",
            ValueError::TooDeep { .. } => "json_too_deep",
            ValueError::NulCharacter => "nul_character",
            ValueError::NumberOutOfRange => "number_out_of_range",
            ValueError::InvalidDate => "invalid_date",
            ValueError::InvalidDatetime => "invalid_datetime",
            ValueError::UnknownOption { .. } => "unknown_option",
            ValueError::DuplicateOption { .. } => "duplicate_option",
            ValueError::InvalidUser => "invalid_user",
            ValueError::InvalidEmail => "invalid_email",
            ValueError::InvalidUrl => "invalid_url",
        }
    }
}

/// Checks a client's JSON for one cell and returns its typed value.
///
/// `null` empties any writable cell. Read-only fields refuse every write, `null`
/// included, with `read_only_field`. Per type:
/// - text, long_text: a string without NUL, at most `max_cell_bytes`; `""` is empty.
/// - number: a JSON number within ±2^53-1, **rounded** half away from zero (on its
///   shortest decimal text) to the field's precision, since clients send doubles such as
///   `0.1 + 0.2` and refusing those would be hostile; strings are refused.
/// - boolean: `true` or `false` only.
/// - date: `"YYYY-MM-DD"`. datetime: RFC 3339, stored in UTC to the microsecond.
/// - single_select: an option id, or an option name ignoring case → the option id.
/// - multi_select: an array of such strings, no option twice; `[]` is empty.
/// - user: a UUID string (membership is the caller's check).
/// - email, url: see the syntax module; surrounding spaces are trimmed.
/// - json: any value, at most `max_cell_bytes` compact and `max_json_depth` deep.
pub fn validate(
    field_type: &FieldType,
    value: Value,
    limits: &Limits,
) -> Result<CellValue, ValueError> {
    if field_type.is_read_only() {
        return Err(ValueError::ReadOnlyField);
    }
    if value.is_null() {
        return Ok(CellValue::Null);
    }
    match field_type {
        FieldType::Text | FieldType::LongText => {
            let s = expect_string(value, "a string")?;
            check_text(&s, limits)?;
            Ok(text_or_null(s))
        }
        FieldType::Number { precision } => match &value {
            Value::Number(n) => number(n.as_f64().ok_or(ValueError::NumberOutOfRange)?, *precision),
            _ => Err(ValueError::WrongType {
                expected: "a number",
            }),
        },
        FieldType::Boolean => {
            value
                .as_bool()
                .map(CellValue::Boolean)
                .ok_or(ValueError::WrongType {
                    expected: "true or false",
                })
        }
        FieldType::Date => {
            let s = expect_string(value, "a date string")?;
            parse_date(&s)
                .map(CellValue::Date)
                .ok_or(ValueError::InvalidDate)
        }
        FieldType::Datetime => {
            let s = expect_string(value, "a date-time string")?;
            parse_datetime(&s)
                .map(CellValue::Datetime)
                .ok_or(ValueError::InvalidDatetime)
        }
        FieldType::SingleSelect { options } => {
            let s = expect_string(value, "an option id or name")?;
            let option = options
                .resolve(&s)
                .ok_or(ValueError::UnknownOption { given: s.clone() })?;
            Ok(CellValue::Option(option.id.clone()))
        }
        FieldType::MultiSelect { options } => {
            let Value::Array(items) = value else {
                return Err(ValueError::WrongType {
                    expected: "an array of option ids or names",
                });
            };
            let mut ids: Vec<OptionId> =
                Vec::with_capacity(items.len().min(options.as_slice().len()));
            for item in items {
                let s = expect_string(item, "an array of option ids or names")?;
                let option = options
                    .resolve(&s)
                    .ok_or_else(|| ValueError::UnknownOption { given: s.clone() })?;
                if ids.contains(&option.id) {
                    return Err(ValueError::DuplicateOption { given: s });
                }
                ids.push(option.id.clone());
            }
            Ok(if ids.is_empty() {
                CellValue::Null
            } else {
                CellValue::Options(ids)
            })
        }
        FieldType::User => {
            let s = expect_string(value, "a user id string")?;
            Uuid::try_parse(&s)
                .map(CellValue::User)
                .map_err(|_| ValueError::InvalidUser)
        }
        FieldType::Email => checked_text(value, limits, is_email, ValueError::InvalidEmail),
        FieldType::Url => checked_text(value, limits, is_http_url, ValueError::InvalidUrl),
        FieldType::Json => {
            check_json(&value, limits)?;
            Ok(CellValue::Json(value))
        }
        FieldType::Autonumber
        | FieldType::CreatedAt
        | FieldType::UpdatedAt
        | FieldType::CreatedBy
        | FieldType::UpdatedBy => Err(ValueError::ReadOnlyField),
    }
}

fn expect_string(value: Value, expected: &'static str) -> Result<String, ValueError> {
    match value {
        Value::String(s) => Ok(s),
        _ => Err(ValueError::WrongType { expected }),
    }
}

fn text_or_null(s: String) -> CellValue {
    if s.is_empty() {
        CellValue::Null
    } else {
        CellValue::Text(s)
    }
}

/// Size and NUL checks shared by every text-holding type.
pub(crate) fn check_text(s: &str, limits: &Limits) -> Result<(), ValueError> {
    if s.len() > limits.max_cell_bytes {
        return Err(ValueError::TooLarge {
            bytes: s.len(),
            max: limits.max_cell_bytes,
        });
    }
    if s.contains('\0') {
        return Err(ValueError::NulCharacter);
    }
    Ok(())
}

fn checked_text(
    value: Value,
    limits: &Limits,
    ok: fn(&str) -> bool,
    err: ValueError,
) -> Result<CellValue, ValueError> {
    let s = expect_string(value, "a string")?;
    check_text(&s, limits)?;
    let s = s.trim();
    if s.is_empty() {
        return Ok(CellValue::Null);
    }
    if ok(s) {
        Ok(CellValue::Text(s.to_owned()))
    } else {
        Err(err)
    }
}

/// Rounds to `precision` places, half away from zero, and checks the range.
///
/// Rounding works on the shortest decimal text that reads back as `x` (what the
/// client most likely typed: `1.005` rather than its binary neighbour
/// `1.00499999…`), then parses the rounded text back, so the result is the double
/// nearest a p-place decimal and rounding it again changes nothing.
pub(crate) fn number(x: f64, precision: Precision) -> Result<CellValue, ValueError> {
    if !x.is_finite() || x.abs() > MAX_NUMBER {
        return Err(ValueError::NumberOutOfRange);
    }
    let text = round_decimal(&format!("{}", x.abs()), usize::from(precision.places()));
    let magnitude: f64 = text.parse().map_err(|_| ValueError::NumberOutOfRange)?;
    if magnitude > MAX_NUMBER {
        return Err(ValueError::NumberOutOfRange);
    }
    let rounded = if x < 0.0 { -magnitude } else { magnitude };
    // Adding zero turns -0.0 into 0.0: one zero, one stored form.
    Ok(CellValue::Number(rounded + 0.0))
}

/// Rounds a plain non-negative decimal (`digits[.digits]`, as `{}` prints a finite
/// double) to `places` decimals, half away from zero.
fn round_decimal(text: &str, places: usize) -> String {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    if frac.len() <= places {
        return text.to_owned();
    }
    let round_up = frac.as_bytes().get(places).is_some_and(|d| *d >= b'5');
    let mut digits: Vec<u8> = int.bytes().chain(frac.bytes().take(places)).collect();
    if round_up {
        let mut i = digits.len();
        loop {
            if i == 0 {
                digits.insert(0, b'1');
                break;
            }
            i -= 1;
            if digits[i] == b'9' {
                digits[i] = b'0';
            } else {
                digits[i] += 1;
                break;
            }
        }
    }
    let split = digits.len() - places;
    let (int, frac) = digits.split_at(split);
    let int = String::from_utf8_lossy(int);
    if frac.is_empty() {
        int.into_owned()
    } else {
        format!("{int}.{}", String::from_utf8_lossy(frac))
    }
}

/// Size (compact serialisation) and depth checks for a JSON cell. Depth is measured
/// without recursion, so a hostile value cannot exhaust the stack here.
pub(crate) fn check_json(value: &Value, limits: &Limits) -> Result<(), ValueError> {
    let mut stack = vec![(value, 0usize)];
    while let Some((v, depth)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match v {
            Value::Array(items) => Box::new(items.iter()),
            Value::Object(map) => Box::new(map.values()),
            _ => continue,
        };
        if depth + 1 > limits.max_json_depth {
            return Err(ValueError::TooDeep {
                max: limits.max_json_depth,
            });
        }
        stack.extend(children.map(|c| (c, depth + 1)));
    }
    let bytes = serde_json::to_string(value)
        .map(|s| s.len())
        .unwrap_or(usize::MAX);
    if bytes > limits.max_cell_bytes {
        return Err(ValueError::TooLarge {
            bytes,
            max: limits.max_cell_bytes,
        });
    }
    Ok(())
}

impl CellValue {
    /// The value as the API returns it; `validate` accepts it back unchanged (option
    /// ids for selects, canonical text for dates and instants).
    pub fn to_json(&self) -> Value {
        match self {
            CellValue::Null => Value::Null,
            CellValue::Text(s) => Value::String(s.clone()),
            CellValue::Number(x) => {
                serde_json::Number::from_f64(*x).map_or(Value::Null, Value::Number)
            }
            CellValue::Boolean(b) => Value::Bool(*b),
            CellValue::Date(d) => Value::String(format_date(*d)),
            CellValue::Datetime(t) => Value::String(format_datetime(*t)),
            CellValue::Option(id) => Value::String(id.as_str().to_owned()),
            CellValue::Options(ids) => Value::Array(
                ids.iter()
                    .map(|id| Value::String(id.as_str().to_owned()))
                    .collect(),
            ),
            CellValue::User(u) => Value::String(u.to_string()),
            CellValue::Json(v) => v.clone(),
            CellValue::Integer(n) => Value::from(*n),
        }
    }

    /// Whether the cell is empty.
    pub fn is_null(&self) -> bool {
        matches!(self, CellValue::Null)
    }
}

#[cfg(test)]
pub(crate) mod tests;
