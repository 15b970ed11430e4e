//! The keyset sort: its `ORDER BY`, and the condition "strictly after the cursor in this
//! order", nulls placed per key whatever the direction, as `tandem_tables::eval` orders.
//!
//! When every key is ascending and no cursor value is null (the row id is always
//! ascending, so this is the default order and any ascending sort), what follows the
//! cursor is one or more [`Range`]s, each one index range scan:
//! - [`Range::Beyond`], a row-value comparison `(k1, …, id) > (c1, …, cid)`, which
//!   PostgreSQL and SQLite both run as a seek into a `(k1, id)` index. It is null, so
//!   false, at the first key a row holds null in, which is right where nulls sort first;
//! - and, for each key `i` whose nulls sort last, [`Range::NullAt`]: the rows equal to
//!   the cursor on the keys before `i` and null in it.
//!
//! Otherwise (a descending key, or a null in the cursor) the condition is the expansion
//! over keys: equal to the cursor on the keys before, after it on this one.

use tandem_tables::bind::{BoundSort, Keyset, SortTarget};
use tandem_tables::field::Stored;
use tandem_tables::query::{Direction, Nulls};

use super::Writer;
use crate::rows::layout;

/// One stretch of the rows after a cursor, read by one index range scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Range {
    /// The rows whose keys compare after the cursor's as a row value.
    Beyond,
    /// The rows equal to the cursor on the keys before key `i` and null in key `i`,
    /// which sorts its nulls last.
    NullAt(usize),
}

impl Range {
    /// How many leading keys cannot be null, or are all null, in the range: their nulls
    /// placement changes nothing there.
    pub(super) fn settled(self) -> usize {
        match self {
            Range::Beyond => 1,
            Range::NullAt(i) => i + 1,
        }
    }
}

/// The `ORDER BY` list. Nulls placement is written for every key from `settled` on that
/// can hold null. The system columns cannot, nor can the `settled` leading keys, and
/// leaving it out keeps their order the one a plain index on them has on each backend
/// (nulls last on PostgreSQL, first on SQLite).
pub(super) fn order_by(w: &mut Writer, order: &[BoundSort], settled: usize) {
    for (i, sort) in order.iter().enumerate() {
        if i > 0 {
            w.push(", ");
        }
        key(w, sort);
        w.push(match sort.direction {
            Direction::Asc => " ASC",
            Direction::Desc => " DESC",
        });
        if i >= settled && nullable(sort) {
            w.push(match sort.nulls {
                Nulls::First => " NULLS FIRST",
                Nulls::Last => " NULLS LAST",
            });
        }
    }
}

/// The ranges the rows after `after` fall in, when row values can seek an index: every
/// key ascending and no cursor value null. `None` otherwise: then [`after`] says it.
pub(super) fn ranges(order: &[BoundSort], after: &Keyset) -> Option<Vec<Range>> {
    let ascending = order.iter().all(|sort| sort.direction == Direction::Asc);
    let known = after.key.iter().all(|value| *value != Stored::Null);
    if !(ascending && known) {
        return None;
    }
    let nulls_after = order
        .iter()
        .enumerate()
        .filter(|(_, sort)| nullable(sort) && sort.nulls == Nulls::Last)
        .map(|(i, _)| Range::NullAt(i));
    Some(std::iter::once(Range::Beyond).chain(nulls_after).collect())
}

/// The condition of one range after `cursor`.
pub(super) fn range(w: &mut Writer, order: &[BoundSort], cursor: &[Stored], range: Range) {
    match range {
        Range::Beyond => {
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
        }
        Range::NullAt(i) => {
            equal_prefix(w, &order[..i], cursor);
            key(w, &order[i]);
            w.push(" IS NULL");
        }
    }
}

/// The condition that a row sorts strictly after `after` in `order`, whatever the
/// directions and nulls: one term per key `i`, equal to the cursor on the keys before
/// `i` and after it on `i`.
pub(super) fn after(w: &mut Writer, order: &[BoundSort], after: &Keyset) {
    let cursor = after.key.as_slice();
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
