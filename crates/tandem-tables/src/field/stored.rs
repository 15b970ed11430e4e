//! The storage-neutral scalar form of a cell: what storage binds as one SQL
//! parameter and reads back from one column, whatever the backend.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::syntax::{normalise_datetime, parse_date, parse_datetime};
use super::types::{FieldType, OptionId};
use super::value::CellValue;

/// One cell as a SQL parameter. Which variant a field type produces follows its
/// [`SqlKind`](super::SqlKind): Text → `Text`, Integer → `Integer`, Real → `Real`,
/// Boolean → `Bool`, Date → `Date`, Timestamp → `Timestamp`, Uuid → `Uuid`,
/// Json → `Json` (compact JSON text; bind it as `jsonb` on PostgreSQL).
#[derive(Debug, Clone, PartialEq)]
pub enum Stored {
    /// SQL NULL.
    Null,
    /// Text.
    Text(String),
    /// A 64-bit integer.
    Integer(i64),
    /// A double.
    Real(f64),
    /// A boolean.
    Bool(bool),
    /// A JSON document as compact text.
    Json(String),
    /// A calendar date.
    Date(NaiveDate),
    /// An instant in UTC, microsecond precision.
    Timestamp(DateTime<Utc>),
    /// A UUID.
    Uuid(Uuid),
}

impl Stored {
    /// The variant's name, for error messages.
    fn kind(&self) -> &'static str {
        match self {
            Stored::Null => "null",
            Stored::Text(_) => "text",
            Stored::Integer(_) => "integer",
            Stored::Real(_) => "real",
            Stored::Bool(_) => "bool",
            Stored::Json(_) => "json",
            Stored::Date(_) => "date",
            Stored::Timestamp(_) => "timestamp",
            Stored::Uuid(_) => "uuid",
        }
    }
}

/// A stored value that does not fit its field's type: the column and the field
/// definition disagree, which only a storage bug or a hand-edited database causes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a {found} value cannot be read as a {field_type} cell")]
pub struct StoredError {
    /// The field type's tag.
    pub field_type: &'static str,
    /// What was found, e.g. `"text"` or `"malformed json"`.
    pub found: &'static str,
}

impl StoredError {
    /// The stable machine code.
    pub fn code(&self) -> &'static str {
        "stored_value_mismatch"
    }
}

impl CellValue {
    /// The scalar storage binds. The value must have come from `validate`,
    /// `from_stored` or `convert` for the field it is stored in.
    pub fn to_stored(&self) -> Stored {
        match self {
            CellValue::Null => Stored::Null,
            CellValue::Text(s) => Stored::Text(s.clone()),
            CellValue::Number(x) => Stored::Real(*x),
            CellValue::Boolean(b) => Stored::Bool(*b),
            CellValue::Date(d) => Stored::Date(*d),
            CellValue::Datetime(t) => Stored::Timestamp(*t),
            CellValue::Option(id) => Stored::Text(id.as_str().to_owned()),
            CellValue::Options(_) | CellValue::Json(_) => Stored::Json(self.to_json().to_string()),
            CellValue::User(u) => Stored::Uuid(*u),
            CellValue::Integer(n) => Stored::Integer(*n),
        }
    }

    /// Reads a stored scalar back as the field's value.
    ///
    /// Lenient where backends differ: SQLite hands back dates, instants and UUIDs as
    /// text and booleans as 0/1, and a REAL column may yield an integer. Option ids
    /// no longer among the field's options (the option was deleted) read as absent,
    /// so a deletion never needs a table rewrite before reads are right.
    pub fn from_stored(field_type: &FieldType, stored: Stored) -> Result<CellValue, StoredError> {
        let tag = field_type.tag();
        let mismatch = |found: &'static str| StoredError {
            field_type: tag,
            found,
        };
        if stored == Stored::Null {
            return Ok(CellValue::Null);
        }
        let found = stored.kind();
        match (field_type, stored) {
            (
                FieldType::Text | FieldType::LongText | FieldType::Email | FieldType::Url,
                Stored::Text(s),
            ) => Ok(if s.is_empty() {
                CellValue::Null
            } else {
                CellValue::Text(s)
            }),
            (FieldType::Number { .. }, Stored::Real(x)) if x.is_finite() => {
                Ok(CellValue::Number(x + 0.0))
            }
            #[expect(
                clippy::cast_precision_loss,
                reason = "stored numbers are within ±2^53, exact as doubles"
            )]
            (FieldType::Number { .. }, Stored::Integer(n)) => Ok(CellValue::Number(n as f64)),
            (FieldType::Boolean, Stored::Bool(b)) => Ok(CellValue::Boolean(b)),
            (FieldType::Boolean, Stored::Integer(n @ (0 | 1))) => Ok(CellValue::Boolean(n == 1)),
            (FieldType::Date, Stored::Date(d)) => Ok(CellValue::Date(d)),
            (FieldType::Date, Stored::Text(s)) => parse_date(&s)
                .map(CellValue::Date)
                .ok_or(mismatch("malformed date")),
            (
                FieldType::Datetime | FieldType::CreatedAt | FieldType::UpdatedAt,
                Stored::Timestamp(t),
            ) => normalise_datetime(t)
                .map(CellValue::Datetime)
                .ok_or(mismatch("out-of-range timestamp")),
            (
                FieldType::Datetime | FieldType::CreatedAt | FieldType::UpdatedAt,
                Stored::Text(s),
            ) => parse_datetime(&s)
                .map(CellValue::Datetime)
                .ok_or(mismatch("malformed timestamp")),
            (FieldType::SingleSelect { options }, Stored::Text(s)) => Ok(options
                .by_id(&s)
                .map_or(CellValue::Null, |o| CellValue::Option(o.id.clone()))),
            (FieldType::MultiSelect { options }, Stored::Json(s)) => {
                let ids: Vec<String> =
                    serde_json::from_str(&s).map_err(|_| mismatch("malformed json"))?;
                let mut kept: Vec<OptionId> = Vec::new();
                for id in ids {
                    if let Some(o) = options.by_id(&id)
                        && !kept.contains(&o.id)
                    {
                        kept.push(o.id.clone());
                    }
                }
                Ok(if kept.is_empty() {
                    CellValue::Null
                } else {
                    CellValue::Options(kept)
                })
            }
            (FieldType::User | FieldType::CreatedBy | FieldType::UpdatedBy, Stored::Uuid(u)) => {
                Ok(CellValue::User(u))
            }
            (FieldType::User | FieldType::CreatedBy | FieldType::UpdatedBy, Stored::Text(s)) => {
                Uuid::try_parse(&s)
                    .map(CellValue::User)
                    .map_err(|_| mismatch("malformed uuid"))
            }
            (FieldType::Json, Stored::Json(s) | Stored::Text(s)) => {
                let v: serde_json::Value =
                    serde_json::from_str(&s).map_err(|_| mismatch("malformed json"))?;
                Ok(if v.is_null() {
                    CellValue::Null
                } else {
                    CellValue::Json(v)
                })
            }
            (FieldType::Autonumber, Stored::Integer(n)) => Ok(CellValue::Integer(n)),
            _ => Err(mismatch(found)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::value::tests::{any_json, any_writable_type, select};
    use crate::field::value::{Limits, validate};
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn a_multi_select_is_stored_as_a_json_array_of_ids() {
        let v = validate(&select(true), json!(["Done", "todo"]), &Limits::default()).unwrap();
        assert_eq!(v.to_stored(), Stored::Json(r#"["done","todo"]"#.into()));
    }

    #[test]
    fn deleted_options_read_back_as_absent() {
        let v = CellValue::from_stored(&select(true), Stored::Json(r#"["gone","done"]"#.into()))
            .unwrap();
        assert_eq!(v.to_json(), json!(["done"]));
        assert_eq!(
            CellValue::from_stored(&select(false), Stored::Text("gone".into())).unwrap(),
            CellValue::Null
        );
    }

    #[test]
    fn sqlite_shapes_are_accepted() {
        assert_eq!(
            CellValue::from_stored(&FieldType::Boolean, Stored::Integer(1)).unwrap(),
            CellValue::Boolean(true)
        );
        let t = CellValue::from_stored(
            &FieldType::CreatedAt,
            Stored::Text("2024-01-02T03:04:05.000006Z".into()),
        )
        .unwrap();
        assert_eq!(t.to_json(), json!("2024-01-02T03:04:05.000006Z"));
    }

    #[test]
    fn a_mismatched_stored_value_is_an_error_not_a_panic() {
        let err =
            CellValue::from_stored(&FieldType::Boolean, Stored::Text("yes".into())).unwrap_err();
        assert_eq!(err.code(), "stored_value_mismatch");
        assert!(CellValue::from_stored(&FieldType::Json, Stored::Json("{".into())).is_err());
    }

    proptest! {
        #[test]
        fn a_validated_value_round_trips_through_its_stored_form(t in any_writable_type(), v in any_json()) {
            if let Ok(cell) = validate(&t, v, &Limits::default()) {
                prop_assert_eq!(CellValue::from_stored(&t, cell.to_stored()).unwrap(), cell);
            }
        }
    }
}
