//! One read of a table's rows as asked: the whole query, whose parts are in `ast`.

use super::ast::{FieldRef, FieldsBy, Filter, Sort};
use super::cursor::Cursor;

/// One read of a table's rows: which rows, in which order, which fields, which page.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Query {
    /// Which rows; `None` is every row.
    pub filter: Option<Filter>,
    /// The sort keys, most significant first; storage appends the row id as the last
    /// tie-breaker so that keyset paging is total.
    pub order: Vec<Sort>,
    /// The fields to return; `None` is every field.
    pub select: Option<Vec<FieldRef>>,
    /// The page size asked for; the API decides the default and may clamp it.
    pub limit: Option<u32>,
    /// Where the page starts: after the row this cursor names.
    pub cursor: Option<Cursor>,
    /// Full-text search across the table's searchable fields, as typed.
    pub search: Option<String>,
    /// How the field references in this query are spelled.
    pub fields_by: FieldsBy,
}
