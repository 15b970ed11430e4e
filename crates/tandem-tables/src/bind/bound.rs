//! The bound query: what a SQL generator needs, with every field resolved, every
//! value typed as the [`Stored`] scalar to bind, and the keyset made total.

use uuid::Uuid;

use super::schema::FieldDef;
use crate::field::{SqlKind, Stored};
use crate::query::{Cursor, Direction, Nulls, Sort};

/// The escape character of every [`LikePattern`]: SQL must say `ESCAPE '\'`
/// (SQLite has no default escape; PostgreSQL's default is the same backslash).
pub const LIKE_ESCAPE: char = '\\';

/// A query bound to a table's fields.
#[derive(Debug, Clone, PartialEq)]
pub struct BoundQuery {
    /// Which rows; `None` is every row.
    pub filter: Option<BoundFilter>,
    /// The full keyset sort, most significant first: the caller's keys, then always
    /// [`SortTarget::RowId`] ascending, so that the order is total.
    pub order: Vec<BoundSort>,
    /// The fields to return, duplicates removed, in the order asked (every field in
    /// schema order when the query did not say).
    pub select: Vec<FieldDef>,
    /// The page size asked for.
    pub limit: Option<u32>,
    /// Where the page starts: rows strictly after this key in `order`.
    pub after: Option<Keyset>,
    /// Full-text search as typed; its semantics belong to storage's index.
    pub search: Option<String>,
    /// The caller's sort as written, which the next page's cursor must carry.
    pub(crate) written_order: Vec<Sort>,
}

/// A cursor's position: one value per key of [`BoundQuery::order`] (the last being
/// the row id as [`Stored::Uuid`]); [`Stored::Null`] for an empty cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Keyset {
    /// The values, aligned with `order`.
    pub key: Vec<Stored>,
}

/// One key of the keyset sort.
#[derive(Debug, Clone, PartialEq)]
pub struct BoundSort {
    /// What is sorted on.
    pub target: SortTarget,
    /// Ascending or descending.
    pub direction: Direction,
    /// Where empty cells go (irrelevant for the row id, which is never empty).
    pub nulls: Nulls,
}

/// What a sort key sorts on.
#[derive(Debug, Clone, PartialEq)]
pub enum SortTarget {
    /// A field's column.
    Field {
        /// The field.
        field: FieldDef,
        /// Its column kind.
        kind: SqlKind,
    },
    /// The row's id: the final tie-breaker, ascending (uuid order on PostgreSQL, the
    /// same as the hyphenated lowercase text on SQLite).
    RowId,
}

/// A bound filter tree. SQL's three-valued logic applies: a test on an empty cell is
/// unknown (except `is`), `not` of unknown is unknown, and only true rows match.
#[derive(Debug, Clone, PartialEq)]
pub enum BoundFilter {
    /// Every child holds (no children: true).
    And(Vec<BoundFilter>),
    /// At least one child holds (no children: false).
    Or(Vec<BoundFilter>),
    /// The child does not hold.
    Not(Box<BoundFilter>),
    /// One test on one field.
    Condition(BoundCondition),
}

/// One field tested.
#[derive(Debug, Clone, PartialEq)]
pub struct BoundCondition {
    /// The field.
    pub field: FieldDef,
    /// Its column kind.
    pub kind: SqlKind,
    /// The test.
    pub test: Test,
}

/// A comparison operator for [`Test::Compare`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// `=`.
    Eq,
    /// `<>`.
    Neq,
    /// `>`.
    Gt,
    /// `>=`.
    Gte,
    /// `<`.
    Lt,
    /// `<=`.
    Lte,
}

/// A translated `like`/`ilike` pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LikePattern {
    /// SQL LIKE syntax: `%` for PostgREST's `*`, a literal `%`, `_` or `\` escaped with
    /// [`LIKE_ESCAPE`]; `_` never appears unescaped. For `ilike` it is already ASCII
    /// lowercased, to be matched against the ASCII-lowercased cell.
    pub pattern: String,
    /// `ilike`: compare with ASCII case folding only (`A`-`Z` ↔ `a`-`z`), which is what
    /// SQLite's `lower()`/`LIKE` do and PostgreSQL's `lower(x COLLATE "C")` does.
    pub ascii_case_insensitive: bool,
}

/// What a condition checks. Values are never [`Stored::Null`].
#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    /// `column op value`; unknown on an empty cell.
    Compare {
        /// The operator.
        op: CompareOp,
        /// The typed value to bind.
        value: Stored,
    },
    /// `column IN (values)`, the list non-empty and deduplicated; unknown on an empty cell.
    In(Vec<Stored>),
    /// An `in` with an empty list: false for every row, empty cells included.
    Never,
    /// `column LIKE pattern ESCAPE '\'` (see [`LikePattern`]); unknown on an empty cell.
    Like(LikePattern),
    /// Multi select holds at least one of these option ids (`Stored::Text`), from
    /// `eq` and `in`; unknown on an empty cell.
    ContainsAny(Vec<Stored>),
    /// Multi select holds none of these option ids, from `neq`; unknown on an empty cell.
    ContainsNone(Vec<Stored>),
    /// `IS NULL` (`is.null`, and `is.unknown` on booleans).
    IsNull,
    /// `IS TRUE`: false on an empty cell.
    IsTrue,
    /// `IS FALSE`: false on an empty cell.
    IsFalse,
}

impl BoundQuery {
    /// The cursor naming a row as the last of a page: its values for the caller's sort
    /// keys (as `order` lists them, without the row id) and its id. Key values must be
    /// the stored form of the row's cells; a value of the wrong kind is written as null.
    pub fn cursor_after(&self, key: &[Stored], row_id: Uuid) -> Cursor {
        let key = self
            .written_order
            .iter()
            .enumerate()
            .map(|(i, _)| key.get(i).map_or(serde_json::Value::Null, stored_json))
            .collect();
        Cursor {
            sort: self.written_order.clone(),
            key,
            row_id,
        }
    }
}

/// A stored scalar as a cursor key's JSON (what `bind` decodes back).
fn stored_json(s: &Stored) -> serde_json::Value {
    use serde_json::Value;
    match s {
        Stored::Null => Value::Null,
        Stored::Text(t) | Stored::Json(t) => Value::String(t.clone()),
        Stored::Integer(n) => Value::from(*n),
        Stored::Real(x) => serde_json::Number::from_f64(*x).map_or(Value::Null, Value::Number),
        Stored::Bool(b) => Value::Bool(*b),
        Stored::Date(d) => Value::String(d.format("%Y-%m-%d").to_string()),
        Stored::Timestamp(t) => {
            Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
        }
        Stored::Uuid(u) => Value::String(u.to_string()),
    }
}
