//! A bound filter tree as a SQL condition. SQL's own three-valued logic is the reference
//! semantics (`and`/`or`/`not` are Kleene's, a test on an empty cell is unknown), so each
//! node becomes one SQL operator; only `like` and multi-select membership take a form
//! per dialect.

use tandem_tables::bind::{
    BoundCondition, BoundFilter, CompareOp, FieldDef, LIKE_ESCAPE, LikePattern, Test,
};
use tandem_tables::field::Stored;

use super::{Dialect, Writer, glob};
use crate::rows::layout;

// The PostgreSQL statements below spell the escape out as `ESCAPE '\'`.
const _: () = assert!(LIKE_ESCAPE == '\\');

/// Writes `filter` as a condition.
pub(super) fn filter(w: &mut Writer, filter: &BoundFilter) {
    match filter {
        BoundFilter::And(children) => junction(w, children, " AND ", "TRUE"),
        BoundFilter::Or(children) => junction(w, children, " OR ", "FALSE"),
        BoundFilter::Not(child) => {
            w.push("NOT (");
            self::filter(w, child);
            w.push(")");
        }
        BoundFilter::Condition(condition) => self::condition(w, condition),
    }
}

/// Children joined by `op`, each parenthesised; `empty` when there are none.
fn junction(w: &mut Writer, children: &[BoundFilter], op: &str, empty: &str) {
    if children.is_empty() {
        w.push(empty);
        return;
    }
    for (i, child) in children.iter().enumerate() {
        if i > 0 {
            w.push(op);
        }
        w.push("(");
        filter(w, child);
        w.push(")");
    }
}

fn condition(w: &mut Writer, condition: &BoundCondition) {
    let field = &condition.field;
    match &condition.test {
        Test::Compare { op, value } => {
            w.column(field);
            w.push(compare_op(*op));
            w.bind(value.clone());
        }
        Test::In(values) => {
            w.column(field);
            w.push(" IN (");
            w.bind_list(values);
            w.push(")");
        }
        Test::Never => w.push("FALSE"),
        Test::Like(pattern) => like(w, field, pattern),
        Test::ContainsAny(options) => holds_any(w, field, options),
        Test::ContainsNone(options) => {
            w.push("NOT (");
            holds_any(w, field, options);
            w.push(")");
        }
        Test::IsNull => {
            w.column(field);
            w.push(" IS NULL");
        }
        Test::IsTrue => {
            w.column(field);
            w.push(" IS TRUE");
        }
        Test::IsFalse => {
            w.column(field);
            w.push(" IS FALSE");
        }
    }
}

fn compare_op(op: CompareOp) -> &'static str {
    match op {
        CompareOp::Eq => " = ",
        CompareOp::Neq => " <> ",
        CompareOp::Gt => " > ",
        CompareOp::Gte => " >= ",
        CompareOp::Lt => " < ",
        CompareOp::Lte => " <= ",
    }
}

/// `like`, case-sensitive or ASCII-case-insensitive.
///
/// PostgreSQL: `LIKE … ESCAPE '\'` on the column in the `"C"` collation, whose `lower()`
/// folds ASCII letters only, as `ilike` wants (the database's default collation would
/// fold `É` too). SQLite: its `LIKE` folds ASCII case unless a connection-wide pragma
/// says otherwise, so the pattern runs as a `GLOB`, which is always case-sensitive;
/// SQLite's `lower()` folds ASCII letters only.
fn like(w: &mut Writer, field: &FieldDef, pattern: &LikePattern) {
    if pattern.ascii_case_insensitive {
        w.push("lower(");
        w.column(field);
        w.push(")");
    } else {
        w.column(field);
    }
    match w.dialect {
        Dialect::Postgres => {
            w.push(" LIKE ");
            w.bind(Stored::Text(pattern.pattern.clone()));
            w.push(" ESCAPE '\\'");
        }
        Dialect::Sqlite => {
            w.push(" GLOB ");
            w.bind(Stored::Text(glob::from_like(&pattern.pattern)));
        }
    }
}

/// Whether a multi select holds any of `options` (option ids as [`Stored::Text`]);
/// unknown on an empty cell, as every test but `is` is.
///
/// PostgreSQL: `jsonb ?| text[]`, which a GIN index on the column serves and which is
/// null on a null cell. SQLite: a `json_each` lookup, made null on a null cell, where
/// `EXISTS` alone would say false.
fn holds_any(w: &mut Writer, field: &FieldDef, options: &[Stored]) {
    let column = layout::column_of(field);
    match w.dialect {
        Dialect::Postgres => {
            w.ident(&column);
            w.push(" ?| ARRAY[");
            w.bind_list(options);
            w.push("]");
        }
        Dialect::Sqlite => {
            w.push("CASE WHEN ");
            w.ident(&column);
            w.push(" IS NULL THEN NULL ELSE EXISTS (SELECT 1 FROM json_each(");
            w.ident(&column);
            w.push(") AS held WHERE held.value IN (");
            w.bind_list(options);
            w.push(")) END");
        }
    }
}
