//! Typing what the caller wrote against a field: literals for filters, key values
//! from cursors, and PostgREST `like` patterns translated to SQL.

use serde_json::Value;

use super::error::BindError;
use super::schema::FieldDef;
use crate::field::{FieldType, Limits, OptionId, Stored, validate};
use crate::query::Literal;

/// Which operators and literals a field type takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    /// text, long_text, email, url: compared as text, `like` allowed.
    Text,
    /// number, date, datetime, created_at, updated_at, autonumber: ordered scalars.
    Ordered,
    /// boolean: equality and `is.true`/`is.false`.
    Boolean,
    /// single_select: equality on the option id.
    Select,
    /// multi_select: membership.
    Multi,
    /// user, created_by, updated_by: equality on the UUID.
    User,
    /// json: only `is.null`.
    Json,
}

impl Family {
    pub(crate) fn of(field_type: &FieldType) -> Family {
        match field_type {
            FieldType::Text | FieldType::LongText | FieldType::Email | FieldType::Url => {
                Family::Text
            }
            FieldType::Number { .. }
            | FieldType::Date
            | FieldType::Datetime
            | FieldType::CreatedAt
            | FieldType::UpdatedAt
            | FieldType::Autonumber => Family::Ordered,
            FieldType::Boolean => Family::Boolean,
            FieldType::SingleSelect { .. } => Family::Select,
            FieldType::MultiSelect { .. } => Family::Multi,
            FieldType::User | FieldType::CreatedBy | FieldType::UpdatedBy => Family::User,
            FieldType::Json => Family::Json,
        }
    }
}

/// A filter literal as the stored scalar it is compared with.
///
/// Text types take text as is (no trimming, no syntax check: `gt.m` on an email is
/// fine), NUL refused. Numbers take a JSON number or plain decimal text, unrounded.
/// Booleans take `true`/`false`. Dates, datetimes, users and select options follow
/// [`validate`]: a select option given by id or by name becomes its id.
pub(crate) fn typed(field: &FieldDef, literal: &Literal) -> Result<Stored, BindError> {
    let raw = literal.raw();
    let bad = |reason: &str| BindError::invalid(field.name.as_str(), &raw, reason);
    match (&field.field_type, literal) {
        (_, Literal::Text(s)) if Family::of(&field.field_type) == Family::Text => {
            if s.contains('\0') {
                return Err(bad("text cannot contain the NUL character"));
            }
            Ok(Stored::Text(s.clone()))
        }
        (FieldType::Number { .. }, _) => {
            let x = match literal {
                Literal::Number(n) => n.as_f64(),
                Literal::Text(s) => plain_decimal(s),
                Literal::Bool(_) => None,
            };
            match x {
                // Adding zero folds -0 into 0, as number cells are stored.
                Some(x) if x.is_finite() => Ok(Stored::Real(x + 0.0)),
                _ => Err(bad("expected a finite number")),
            }
        }
        (FieldType::Autonumber, _) => {
            let n = match literal {
                Literal::Number(n) => n.as_i64(),
                Literal::Text(s) => s.parse::<i64>().ok(),
                Literal::Bool(_) => None,
            };
            n.map(Stored::Integer)
                .ok_or_else(|| bad("expected a whole number"))
        }
        (FieldType::Boolean, Literal::Bool(b)) => Ok(Stored::Bool(*b)),
        (FieldType::Boolean, Literal::Text(s)) => match s.as_str() {
            "true" => Ok(Stored::Bool(true)),
            "false" => Ok(Stored::Bool(false)),
            _ => Err(bad("expected true or false")),
        },
        (_, Literal::Text(s)) => {
            let as_type = writable_twin(&field.field_type);
            match validate(&as_type, Value::String(s.clone()), &Limits::default()) {
                Ok(cell) if !cell.is_null() => Ok(cell.to_stored()),
                Ok(_) => Err(bad("expected a value, not an empty one")),
                Err(e) => Err(bad(&e.to_string())),
            }
        }
        _ => Err(bad(&format!(
            "expected text for a {} field",
            field.field_type.tag()
        ))),
    }
}

/// The writable type whose values a read-only type's values are, so [`validate`]
/// can check literals for it.
fn writable_twin(field_type: &FieldType) -> FieldType {
    match field_type {
        FieldType::CreatedAt | FieldType::UpdatedAt => FieldType::Datetime,
        FieldType::CreatedBy | FieldType::UpdatedBy => FieldType::User,
        // A multi select's single literal is one option, as a single select takes it.
        FieldType::MultiSelect { options } => FieldType::SingleSelect {
            options: options.clone(),
        },
        other => other.clone(),
    }
}

/// Plain decimal syntax only: Rust's parser also takes `inf` and `NaN`.
fn plain_decimal(s: &str) -> Option<f64> {
    let ok = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'));
    if ok { s.parse().ok() } else { None }
}

/// Translates a PostgREST pattern: `*` becomes `%`; `%`, `_` and the escape `\` are
/// escaped so they match themselves. For `ilike`, ASCII letters are lowercased.
pub(crate) fn like_pattern(pattern: &str, ascii_case_insensitive: bool) -> String {
    let mut out = String::with_capacity(pattern.len() + 8);
    for c in pattern.chars() {
        match c {
            '*' => out.push('%'),
            '%' | '_' | '\\' => {
                out.push(super::bound::LIKE_ESCAPE);
                out.push(c);
            }
            c if ascii_case_insensitive => out.push(c.to_ascii_lowercase()),
            c => out.push(c),
        }
    }
    out
}

/// A cursor's key value for a sorted field, in the JSON form
/// [`BoundQuery::cursor_after`](super::BoundQuery::cursor_after) writes.
pub(crate) fn cursor_key(field: &FieldDef, value: &Value) -> Result<Stored, BindError> {
    let bad = || BindError::InvalidCursor {
        reason: format!("its key value does not fit field {:?}", field.name.as_str()),
    };
    if value.is_null() {
        return Ok(Stored::Null);
    }
    match (&field.field_type, value) {
        (t, Value::String(s)) if Family::of(t) == Family::Text && !s.contains('\0') => {
            Ok(Stored::Text(s.clone()))
        }
        (FieldType::Number { .. }, Value::Number(n)) => n
            .as_f64()
            .filter(|x| x.is_finite())
            .map(|x| Stored::Real(x + 0.0))
            .ok_or_else(bad),
        (FieldType::Autonumber, Value::Number(n)) => {
            n.as_i64().map(Stored::Integer).ok_or_else(bad)
        }
        (FieldType::Boolean, Value::Bool(b)) => Ok(Stored::Bool(*b)),
        // An option deleted since still has a place in the order: any well-formed id.
        (FieldType::SingleSelect { .. }, Value::String(s)) => OptionId::parse(s)
            .map(|id| Stored::Text(id.as_str().to_owned()))
            .map_err(|_| bad()),
        (
            t @ (FieldType::Date
            | FieldType::Datetime
            | FieldType::CreatedAt
            | FieldType::UpdatedAt
            | FieldType::User
            | FieldType::CreatedBy
            | FieldType::UpdatedBy),
            Value::String(_),
        ) => match validate(&writable_twin(t), value.clone(), &Limits::default()) {
            Ok(cell) if !cell.is_null() => Ok(cell.to_stored()),
            _ => Err(bad()),
        },
        _ => Err(bad()),
    }
}
