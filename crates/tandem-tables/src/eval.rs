//! The reference semantics of a [`BoundQuery`], in memory: filter, sort, project and
//! page a list of rows. Tests use it as the oracle the SQL of both backends must
//! match; the server never calls it.
//!
//! The semantics, exactly:
//! - Filters follow SQL's three-valued logic: a comparison, `in` or `like` on an empty
//!   cell is unknown; `not` of unknown is unknown; `and`/`or` are Kleene's; only rows
//!   whose filter is true match. `is.null` is true exactly on empty cells; `is.true` /
//!   `is.false` are false on empty cells; an empty `in` list is false for every row.
//! - Values compare by kind: text by bytes of UTF-8, i.e. by Unicode code point
//!   (PostgreSQL `COLLATE "C"`, SQLite `BINARY`); single-select options by their id
//!   as text; numbers numerically; booleans false < true; dates and instants
//!   chronologically; UUIDs (users, the row id) by their 16 bytes, which is the order of
//!   their lowercase hyphenated text; autonumbers as integers.
//! - `like` matches `%` against any run of characters, everything else literally (after
//!   the escape `\`); `ilike` first lowercases ASCII `A`-`Z` in the cell, nothing else.
//! - Sorting applies each key's direction, and its nulls placement independently of the
//!   direction; the last key is always the row id ascending, so the order is total.
//! - Paging: rows strictly after the cursor's key in that order, then the first `limit`
//!   (all when there is none). `next_cursor` names the page's last row when more
//!   matching rows follow it; a page of `limit=0` has none, as there is no row to name.
//! - `search` is not applied here: its semantics belong to storage's text index.

mod compare;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use std::cmp::Ordering;
use std::collections::BTreeMap;

use uuid::Uuid;

use crate::bind::{BoundFilter, BoundQuery, SortTarget};
use crate::field::{CellValue, Stored};
use crate::query::Cursor;
use compare::{compare_keys, test_cell};

/// One row: its id and its cells by field id (a missing field is an empty cell).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The row's id.
    pub id: Uuid,
    /// The cells, by field id.
    pub cells: BTreeMap<Uuid, CellValue>,
}

/// One page of a query's result.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The matching rows in order, with only the selected fields.
    pub rows: Vec<Row>,
    /// Where the next page starts, when there is one.
    pub next_cursor: Option<Cursor>,
}

/// Evaluates `query` over `rows` (see the module documentation for the semantics).
pub fn evaluate(query: &BoundQuery, rows: &[Row]) -> Page {
    let mut matching: Vec<(Vec<Stored>, &Row)> = rows
        .iter()
        .filter(|row| {
            query
                .filter
                .as_ref()
                .is_none_or(|f| holds(f, row) == Some(true))
        })
        .map(|row| (sort_key(query, row), row))
        .collect();
    matching.sort_by(|a, b| compare_keys(&query.order, &a.0, &b.0));
    if let Some(after) = &query.after {
        matching
            .retain(|(key, _)| compare_keys(&query.order, key, &after.key) == Ordering::Greater);
    }
    let limit = query
        .limit
        .map_or(matching.len(), |l| usize::try_from(l).unwrap_or(usize::MAX));
    let more = matching.len() > limit;
    matching.truncate(limit);
    let next_cursor = match matching.last() {
        Some((key, row)) if more => {
            // The key without its final row id, which the cursor carries apart.
            let fields = key.get(..key.len().saturating_sub(1)).unwrap_or(&[]);
            Some(query.cursor_after(fields, row.id))
        }
        _ => None,
    };
    let rows = matching
        .into_iter()
        .map(|(_, row)| Row {
            id: row.id,
            cells: query
                .select
                .iter()
                .map(|f| (f.id, cell(row, f.id).clone()))
                .collect(),
        })
        .collect();
    Page { rows, next_cursor }
}

fn cell(row: &Row, field: Uuid) -> &CellValue {
    row.cells.get(&field).unwrap_or(&CellValue::Null)
}

/// A row's values for the keyset sort, aligned with `query.order`.
fn sort_key(query: &BoundQuery, row: &Row) -> Vec<Stored> {
    query
        .order
        .iter()
        .map(|sort| match &sort.target {
            SortTarget::Field { field, .. } => cell(row, field.id).to_stored(),
            SortTarget::RowId => Stored::Uuid(row.id),
        })
        .collect()
}

/// The filter's truth value on a row: `None` is SQL's unknown.
fn holds(filter: &BoundFilter, row: &Row) -> Option<bool> {
    match filter {
        BoundFilter::And(fs) => fs
            .iter()
            .try_fold(true, |acc, f| match holds(f, row) {
                Some(false) => Err(()),
                None => Ok(false),
                Some(true) => Ok(acc),
            })
            .map_or(Some(false), |all_known| all_known.then_some(true)),
        BoundFilter::Or(fs) => fs
            .iter()
            .try_fold(true, |acc, f| match holds(f, row) {
                Some(true) => Err(()),
                None => Ok(false),
                Some(false) => Ok(acc),
            })
            .map_or(Some(true), |all_known| all_known.then_some(false)),
        BoundFilter::Not(f) => holds(f, row).map(|b| !b),
        BoundFilter::Condition(c) => test_cell(&c.test, cell(row, c.field.id)),
    }
}
