//! The query AST: filters as a tree, sorts, projection, paging; untyped and unbound.

use std::borrow::Cow;

/// A field as the caller wrote it: a name or an id, according to [`FieldsBy`]. Binding it
/// to one of the table's fields happens later, so nothing here checks that it exists.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldRef(pub String);

impl FieldRef {
    /// The reference as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for FieldRef {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

/// Whether [`FieldRef`]s are field names (the default, readable) or field ids (stable
/// across renames, for programs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum FieldsBy {
    /// References are field names.
    #[default]
    Name,
    /// References are field ids.
    Id,
}

impl FieldsBy {
    /// The spelling in both grammars (`name`, `id`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Id => "id",
        }
    }
}

/// A filter: a tree of conditions joined by `and`, `or` and `not`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// Every child holds.
    And(Vec<Filter>),
    /// At least one child holds.
    Or(Vec<Filter>),
    /// The child does not hold.
    Not(Box<Filter>),
    /// One field compared with an operand.
    Condition(Condition),
}

/// One comparison. The parsers guarantee that `value` fits `op` (see [`Operand`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// The field compared.
    pub field: FieldRef,
    /// The comparison.
    pub op: Op,
    /// What the field is compared with.
    pub value: Operand,
}

/// The comparison operators, PostgREST's names. Link filters, lookups and formulas will
/// add variants; matches on this enum are meant to be exhaustive so that each layer
/// notices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// Equal.
    Eq,
    /// Not equal.
    Neq,
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Gte,
    /// Less than.
    Lt,
    /// Less than or equal.
    Lte,
    /// Pattern match, case-sensitive; `*` is the wildcard (PostgREST's choice, as `%`
    /// would need encoding in URLs).
    Like,
    /// Pattern match, case-insensitive; `*` is the wildcard.
    Ilike,
    /// One of a list ([`Operand::List`]).
    In,
    /// `IS NULL`, `IS TRUE`, `IS FALSE`, `IS UNKNOWN` ([`Operand::Is`]).
    Is,
}

impl Op {
    /// Every operator, for parsers and tests.
    pub const ALL: [Op; 10] = [
        Op::Eq,
        Op::Neq,
        Op::Gt,
        Op::Gte,
        Op::Lt,
        Op::Lte,
        Op::Like,
        Op::Ilike,
        Op::In,
        Op::Is,
    ];

    /// The operator's name in both grammars.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "eq",
            Op::Neq => "neq",
            Op::Gt => "gt",
            Op::Gte => "gte",
            Op::Lt => "lt",
            Op::Lte => "lte",
            Op::Like => "like",
            Op::Ilike => "ilike",
            Op::In => "in",
            Op::Is => "is",
        }
    }

    /// The operator with this name, if any.
    pub fn from_name(name: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|op| op.as_str() == name)
    }
}

/// What a condition compares its field with: a [`Literal`] for `eq` … `ilike`, a list for
/// `in`, a keyword for `is`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operand {
    /// One value.
    Scalar(Literal),
    /// The items of `in.(…)`; may be empty (no row matches).
    List(Vec<Literal>),
    /// The keyword after `is.`.
    Is(IsValue),
}

/// A value as the caller gave it. The URL grammar only has text; the JSON twin keeps
/// numbers and booleans typed, so that binding can tell `5` from `"5"` where it matters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Literal {
    /// Text as written (URL values, JSON strings).
    Text(String),
    /// A JSON number, exactly as serde_json read it.
    Number(serde_json::Number),
    /// A JSON boolean.
    Bool(bool),
}

impl Literal {
    /// The raw text form, the one the URL grammar carries.
    pub fn raw(&self) -> Cow<'_, str> {
        match self {
            Literal::Text(s) => Cow::Borrowed(s),
            Literal::Number(n) => Cow::Owned(n.to_string()),
            Literal::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
        }
    }

    /// The JSON form.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Literal::Text(s) => serde_json::Value::String(s.clone()),
            Literal::Number(n) => serde_json::Value::Number(n.clone()),
            Literal::Bool(b) => serde_json::Value::Bool(*b),
        }
    }
}

/// The keyword of `is.…`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IsValue {
    /// `is.null`.
    Null,
    /// `is.true`.
    True,
    /// `is.false`.
    False,
    /// `is.unknown` (null, for booleans).
    Unknown,
}

impl IsValue {
    /// The keyword's spelling in the URL grammar.
    pub fn as_str(self) -> &'static str {
        match self {
            IsValue::Null => "null",
            IsValue::True => "true",
            IsValue::False => "false",
            IsValue::Unknown => "unknown",
        }
    }

    /// The keyword with this spelling, if any.
    pub fn from_name(name: &str) -> Option<IsValue> {
        [
            IsValue::Null,
            IsValue::True,
            IsValue::False,
            IsValue::Unknown,
        ]
        .into_iter()
        .find(|v| v.as_str() == name)
    }
}

/// One sort key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Sort {
    /// The field sorted on.
    pub field: FieldRef,
    /// Ascending or descending.
    pub direction: Direction,
    /// Where empty values go; always explicit here, the parsers fill in the default.
    pub nulls: Nulls,
}

impl Sort {
    /// A sort key with PostgREST's default for nulls (last when ascending, first when
    /// descending, which is what PostgreSQL does when nothing is said).
    pub fn new(field: FieldRef, direction: Direction) -> Self {
        Sort {
            field,
            direction,
            nulls: direction.default_nulls(),
        }
    }
}

/// A sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Direction {
    /// Smallest first.
    #[default]
    Asc,
    /// Largest first.
    Desc,
}

impl Direction {
    /// The spelling in both grammars.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Asc => "asc",
            Direction::Desc => "desc",
        }
    }

    /// Where nulls go when the caller does not say.
    pub fn default_nulls(self) -> Nulls {
        match self {
            Direction::Asc => Nulls::Last,
            Direction::Desc => Nulls::First,
        }
    }
}

/// Where empty values sort.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Nulls {
    /// Before every value.
    First,
    /// After every value.
    Last,
}

impl Nulls {
    /// The spelling in the JSON twin (`first`, `last`).
    pub fn as_str(self) -> &'static str {
        match self {
            Nulls::First => "first",
            Nulls::Last => "last",
        }
    }
}
