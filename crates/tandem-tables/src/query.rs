//! The query AST (filters, sorts, projection, keyset cursors) and its two grammars:
//! PostgREST's URL grammar for `GET …/rows` and the JSON twin for `POST …/rows/query`.
//!
//! Everything here is untyped and unbound: field references are names or ids as written
//! and values are as given. A later `bind` step checks them against the table's fields,
//! types the values (a `Literal` against the field's kind), translates `like`'s `*`
//! wildcard and refuses operators a field's type has no sense for; storage then turns the
//! bound query into parameterised SQL per backend.

mod ast;
mod bounds;
mod cursor;
mod error;
mod grammar;
mod json;
mod print;
mod request;
mod url;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub use ast::{
    Condition, Direction, FieldRef, FieldsBy, Filter, IsValue, Literal, Nulls, Op, Operand, Sort,
};
pub use bounds::{
    MAX_CONDITIONS, MAX_CURSOR_BYTES, MAX_DEPTH, MAX_FIELDS, MAX_IN_ITEMS, MAX_LIMIT,
    MAX_VALUE_BYTES,
};
pub use cursor::Cursor;
pub use error::{Location, QueryError};
pub use request::Query;
pub use url::{RESERVED, decode_query_string, parse_pairs, parse_query_string};
