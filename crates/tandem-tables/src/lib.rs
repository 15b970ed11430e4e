//! Live tables' model, with no I/O: the field types and the rules their values follow
//! (`field`), the query AST (filters, sorts, projection, keyset cursors) with its two
//! parsers, PostgREST's URL grammar and the JSON twin for programs (`query`), binding a
//! query to a table's fields (`bind`), a row's cells as clients write and read them
//! (`row`), reading and typing a CSV to import (`import`) and the in-memory reference
//! semantics of a bound query (`eval`). Storage turns the bound query into SQL for each
//! backend; nothing here knows SQL.

pub mod bind;
pub mod eval;
pub mod field;
pub mod import;
pub mod query;
pub mod row;
