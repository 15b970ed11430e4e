//! Live tables' model, with no I/O: the field types and the rules their values follow
//! (`field`), and the query AST (filters, sorts, projection, keyset cursors) with its two
//! parsers, PostgREST's URL grammar and the JSON twin for programs (`query`). Storage
//! turns the AST into SQL for each backend; nothing here knows SQL.

pub mod field;
pub mod query;
