//! The one SQL generator for reading rows by query, shared by both backends: a
//! [`BoundQuery`] becomes one `SELECT` (and a filter one `count(*)`) whose text holds
//! only identifiers from [`layout`] and constant keywords, and whose every value is a
//! [`Stored`] parameter, bound in order by the backend.
//!
//! What differs between the backends is kept to the rows' [`Dialect`]: placeholders
//! (`$n::type` or `?n`), the row read list (see [`statements::row_columns`]), text
//! comparison (`COLLATE "C"` on PostgreSQL, SQLite's default `BINARY`), `like`
//! (PostgreSQL `LIKE … ESCAPE '\'`, SQLite `GLOB`, see [`glob`]) and multi-select
//! membership (`jsonb ?|` or `json_each`). Everything else is SQL both speak alike:
//! three-valued `AND`/`OR`/`NOT` are exactly the reference semantics of
//! `tandem_tables::eval`, and `NULLS FIRST`/`NULLS LAST` are always written out.
//!
//! `query.search` is not applied: full-text search needs the text indexes a later step
//! adds, and until then it has no meaning storage could give it.

mod filter;
mod glob;
mod keyset;

#[cfg(test)]
mod tests;

use tandem_domain::TableId;
use tandem_tables::bind::{BoundFilter, BoundQuery, FieldDef, Keyset};
use tandem_tables::field::{SqlKind, Stored};

use super::cells::StoredFields;
use super::dialect::Dialect;
use super::{layout, statements};

/// SQL text and the values of its placeholders, in order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Statement {
    pub(crate) sql: String,
    pub(crate) params: Vec<Stored>,
}

/// The statement of one page of `query`: the live rows that match its filter, strictly
/// after its cursor, in its keyset order, at most `limit + 1` of them so that the caller
/// sees whether another page follows. Each row is read as every row read is (see
/// [`statements::row_columns`]), with the cells of `fields`, which must include the
/// sort keys' (see `page::read_fields`): a page read as several ranges is merged in
/// order by them.
pub(crate) fn page(
    dialect: Dialect,
    table: TableId,
    fields: &StoredFields<'_>,
    query: &BoundQuery,
) -> Statement {
    let mut w = Writer::new(dialect);
    let Some(after) = &query.after else {
        part(&mut w, table, fields, query, None);
        return w.finish();
    };
    match keyset::ranges(&query.order, after) {
        None => part(&mut w, table, fields, query, Some(Start::Expanded(after))),
        Some(ranges) if ranges.len() == 1 => {
            part(
                &mut w,
                table,
                fields,
                query,
                Some(Start::Range(after, ranges[0])),
            );
        }
        Some(ranges) => {
            // One index range scan per range, each as limited as the page, merged in
            // order: the planner cannot seek one index for a condition with `OR`.
            w.push("SELECT * FROM (");
            for (i, range) in ranges.into_iter().enumerate() {
                if i > 0 {
                    w.push(" UNION ALL ");
                }
                w.push("SELECT * FROM (");
                part(
                    &mut w,
                    table,
                    fields,
                    query,
                    Some(Start::Range(after, range)),
                );
                w.push(") AS ");
                w.ident(&format!("range_{i}"));
            }
            w.push(") AS ");
            w.ident("page");
            w.push(" ORDER BY ");
            keyset::order_by(&mut w, &query.order, 0);
            limit(&mut w, query.limit);
        }
    }
    w.finish()
}

/// Where a part of a page starts.
#[derive(Clone, Copy)]
enum Start<'a> {
    /// Strictly after the cursor, in any keyset order.
    Expanded(&'a Keyset),
    /// In one range after the cursor.
    Range(&'a Keyset, keyset::Range),
}

/// `SELECT` the rows of `fields` that are live, match the filter and start where
/// `start` says, in keyset order, `limit + 1` of them.
fn part(
    w: &mut Writer,
    table: TableId,
    fields: &StoredFields<'_>,
    query: &BoundQuery,
    start: Option<Start<'_>>,
) {
    w.push("SELECT ");
    w.push(&statements::row_columns(w.dialect, fields));
    w.push(" FROM ");
    w.ident(&layout::row_table(table));
    live_rows_where(w, query.filter.as_ref());
    let settled = match start {
        None => 0,
        Some(Start::Expanded(after)) => {
            w.push(" AND (");
            keyset::after(w, &query.order, after);
            w.push(")");
            0
        }
        Some(Start::Range(after, range)) => {
            w.push(" AND (");
            keyset::range(w, &query.order, &after.key, range);
            w.push(")");
            range.settled()
        }
    };
    w.push(" ORDER BY ");
    keyset::order_by(w, &query.order, settled);
    limit(w, query.limit);
}

/// `LIMIT limit + 1`: one row more than the page, to see whether another follows.
fn limit(w: &mut Writer, limit: Option<u32>) {
    if let Some(limit) = limit {
        w.push(" LIMIT ");
        w.bind(Stored::Integer(i64::from(limit) + 1));
    }
}

/// The statement counting the live rows that match `filter` (all live rows when `None`).
pub(crate) fn count(dialect: Dialect, table: TableId, filter: Option<&BoundFilter>) -> Statement {
    let mut w = Writer::new(dialect);
    w.push("SELECT count(*) FROM ");
    w.ident(&layout::row_table(table));
    live_rows_where(&mut w, filter);
    w.finish()
}

/// `WHERE` the row is not in the trash and the filter holds.
fn live_rows_where(w: &mut Writer, filter: Option<&BoundFilter>) {
    w.push(" WHERE ");
    w.ident("deleted_at");
    w.push(" IS NULL");
    if let Some(filter) = filter {
        w.push(" AND (");
        filter::filter(w, filter);
        w.push(")");
    }
}

/// The column kind a parameter is bound and typed as (see each backend's `add_cell`).
/// The generator binds no null (an empty cell is tested with `IS NULL`); were it to, a
/// null would go as text.
pub(crate) fn param_kind(value: &Stored) -> SqlKind {
    match value {
        Stored::Null | Stored::Text(_) => SqlKind::Text,
        Stored::Integer(_) => SqlKind::Integer,
        Stored::Real(_) => SqlKind::Real,
        Stored::Bool(_) => SqlKind::Boolean,
        Stored::Json(_) => SqlKind::Json,
        Stored::Date(_) => SqlKind::Date,
        Stored::Timestamp(_) => SqlKind::Timestamp,
        Stored::Uuid(_) => SqlKind::Uuid,
    }
}

/// Builds one statement: SQL text, with values bound as they are written.
struct Writer {
    dialect: Dialect,
    sql: String,
    params: Vec<Stored>,
}

impl Writer {
    fn new(dialect: Dialect) -> Self {
        Writer {
            dialect,
            sql: String::with_capacity(256),
            params: Vec::new(),
        }
    }

    /// SQL the generator itself wrote: keywords and operators, never a value.
    fn push(&mut self, sql: &str) {
        self.sql.push_str(sql);
    }

    /// A quoted identifier. Every identifier comes from [`layout`]: lower-case letters,
    /// digits and `_`; anything else is a bug, not an input.
    fn ident(&mut self, name: &str) {
        assert!(
            !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
            "not a layout identifier: {name:?}"
        );
        self.sql.push('"');
        self.sql.push_str(name);
        self.sql.push('"');
    }

    /// A placeholder for `value`, typed by its kind on PostgreSQL.
    fn bind(&mut self, value: Stored) {
        let placeholder = self
            .dialect
            .cell_param(self.params.len() + 1, param_kind(&value));
        self.sql.push_str(&placeholder);
        self.params.push(value);
    }

    /// Placeholders for `values`, comma-separated.
    fn bind_list(&mut self, values: &[Stored]) {
        for (i, value) in values.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(value.clone());
        }
    }

    /// A field's column as an operand of comparisons and sorts: text compares by code
    /// point on both backends (the column is `COLLATE "C"` on PostgreSQL; saying so here
    /// keeps the semantics from resting on the DDL, and the planner still matches the
    /// column's index).
    fn column(&mut self, field: &FieldDef) {
        self.ident(&layout::column_of(field));
        if self.dialect == Dialect::Postgres && field.sql_kind() == SqlKind::Text {
            self.push(" COLLATE \"C\"");
        }
    }

    fn finish(self) -> Statement {
        Statement {
            sql: self.sql,
            params: self.params,
        }
    }
}
