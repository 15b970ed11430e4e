//! The keyset sort: its `ORDER BY`, and the condition "strictly after the cursor in this
//! order", nulls placed per key whatever the direction, as `tandem_tables::eval` orders.
//!
//! Two forms of the condition say the same thing:
//! - When every key is ascending and no cursor value is null (the common case: the row
//!   id is always ascending), a row-value comparison `(k1, …, id) > (c1, …, cid)`, which
//!   PostgreSQL and SQLite both turn into a range scan of a `(k1, id)` index. A
//!   row-value comparison is null, so false, at the first key a row holds null in, which
//!   is right where nulls sort first; for each key whose nulls sort last, one more term
//!   takes in the rows equal up to that key and null in it.
//! - Otherwise the expansion over keys: equal on the keys before, after on this one.

use tandem_tables::bind::{BoundSort, Keyset, SortTarget};
use tandem_tables::field::Stored;
use tandem_tables::query::{Direction, Nulls};

use super::Writer;
use crate::rows::layout;

/// The `ORDER BY` list. Nulls placement is written for every column that can hold
/// null; the system columns cannot, and leaving it out keeps their order the one a
/// plain index on them has.
pub(super) fn order_by(w: &mut Writer, order: &[BoundSort]) {
    for (i, sort) in order.iter().enumerate() {
        if i > 0 {
            w.push(", ");
        }
        key(w, sort);
        w.push(match sort.direction {
            Direction::Asc => " ASC",
            Direction::Desc => " DESC",
        });
        if nullable(sort) {
            w.push(match sort.nulls {
                Nulls::First => " NULLS FIRST",
                Nulls::Last => " NULLS LAST",
            });
        }
    }
}

/// The condition that a row sorts strictly after `after` in `order`.
pub(super) fn after(w: &mut Writer, order: &[BoundSort], after: &Keyset) {
    let ascending = order.iter().all(|sort| sort.direction == Direction::Asc);
    let known = after.key.iter().all(|value| *value != Stored::Null);
    if ascending && known {
        row_value_after(w, order, &after.key);
    } else {
        expanded_after(w, order, &after.key);
    }
}

/// `(k1, …, id) > (c1, …, cid)`, plus the rows a nulls-last key puts after the cursor.
fn row_value_after(w: &mut Writer, order: &[BoundSort], cursor: &[Stored]) {
    w.push("(");
    for (i, sort) in order.iter().enumerate() {
        if i > 0 {
            w.push(", ");
        }
        key(w, sort);
    }
    w.push(") > (");
    w.bind_list(cursor);
    w.push(")");
    for (i, sort) in order.iter().enumerate() {
        if nullable(sort) && sort.nulls == Nulls::Last {
            w.push(" OR (");
            equal_prefix(w, &order[..i], cursor);
            key(w, sort);
            w.push(" IS NULL)");
        }
    }
}

/// One term per key `i`: equal to the cursor on the keys before `i`, after it on `i`.
fn expanded_after(w: &mut Writer, order: &[BoundSort], cursor: &[Stored]) {
    let mut terms = 0;
    for (i, (sort, value)) in order.iter().zip(cursor).enumerate() {
        // After a null that sorts last there is nothing at this key.
        if *value == Stored::Null && sort.nulls == Nulls::Last {
            continue;
        }
        if terms > 0 {
            w.push(" OR ");
        }
        terms += 1;
        w.push("(");
        equal_prefix(w, &order[..i], cursor);
        if *value == Stored::Null {
            // The cursor's null sorts first: every value comes after it.
            key(w, sort);
            w.push(" IS NOT NULL");
        } else {
            let beyond = match sort.direction {
                Direction::Asc => " > ",
                Direction::Desc => " < ",
            };
            let nulls_after = nullable(sort) && sort.nulls == Nulls::Last;
            if nulls_after {
                w.push("(");
            }
            key(w, sort);
            w.push(beyond);
            w.bind(value.clone());
            if nulls_after {
                w.push(" OR ");
                key(w, sort);
                w.push(" IS NULL)");
            }
        }
        w.push(")");
    }
    if terms == 0 {
        w.push("FALSE");
    }
}

/// `k = c AND ` for each key of `prefix` (`k IS NULL AND ` where the cursor holds null).
fn equal_prefix(w: &mut Writer, prefix: &[BoundSort], cursor: &[Stored]) {
    for (sort, value) in prefix.iter().zip(cursor) {
        key(w, sort);
        if *value == Stored::Null {
            w.push(" IS NULL AND ");
        } else {
            w.push(" = ");
            w.bind(value.clone());
            w.push(" AND ");
        }
    }
}

/// A sort key's operand.
fn key(w: &mut Writer, sort: &BoundSort) {
    match &sort.target {
        SortTarget::Field { field, .. } => w.column(field),
        SortTarget::RowId => w.ident("id"),
    }
}

/// Whether the key's column can hold null: a stored field's can, a system column and
/// the row id cannot.
fn nullable(sort: &BoundSort) -> bool {
    match &sort.target {
        SortTarget::Field { field, .. } => layout::is_stored(&field.field_type),
        SortTarget::RowId => false,
    }
}
