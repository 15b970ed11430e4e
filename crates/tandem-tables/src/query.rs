//! The query AST (filters, sorts, projection, keyset cursors) and its two grammars:
//! PostgREST's URL grammar for `GET …/rows` and the JSON twin for `POST …/rows/query`.
//!
//! Everything here is untyped and unbound: field references are names or ids as written
//! and values are as given. A later `bind` step checks them against the table's fields,
//! types the values (a `Literal` against the field's kind), translates `like`'s `*`
//! wildcard and refuses operators a field's type has no sense for; storage then turns the
//! bound query into parameterised SQL per backend.

mod ast;
mod cursor;
mod error;
mod grammar;
mod json;
mod print;
mod url;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub use ast::{
    Condition, Direction, FieldRef, FieldsBy, Filter, IsValue, Literal, Nulls, Op, Operand, Query,
    Sort,
};
pub use cursor::Cursor;
pub use error::{Location, QueryError};
pub use url::{RESERVED, decode_query_string, parse_pairs, parse_query_string};

/// Deepest nesting of `and`/`or` groups (`or=(…)` is 1).
pub const MAX_DEPTH: usize = 16;
/// Most conditions in one query.
pub const MAX_CONDITIONS: usize = 100;
/// Most items in one `in` list.
pub const MAX_IN_ITEMS: usize = 1000;
/// Longest value, field reference or search text, in bytes.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;
/// Most sort keys, and most selected fields.
pub const MAX_FIELDS: usize = 1000;
/// Largest `limit`; the API may clamp lower.
pub const MAX_LIMIT: u32 = 10_000;
/// Longest cursor token, in bytes.
pub const MAX_CURSOR_BYTES: usize = 256 * 1024;
