//! What both backends do around a page statement: check that the query was bound to the
//! table's current fields, and turn the rows read (one more than the limit, to see
//! whether another page follows) into a [`RowPage`] with its next cursor.

use tandem_domain::FieldId;
use tandem_tables::bind::{BoundFilter, BoundQuery, FieldDef, SortTarget};
use tandem_tables::field::{CellValue, FieldType, Stored};

use super::cells::caller_bug;
use super::{RowPage, StoredRow, layout};
use crate::{StoreError, TableField};

/// Fails unless every field `query` (or `filter`) names is one of `fields` with the same
/// type: a query bound to fields that have since changed would read columns as what
/// they no longer are. A caller bug, so `Other`.
pub(crate) fn check_fields(
    fields: &[TableField],
    query: Option<&BoundQuery>,
    filter: Option<&BoundFilter>,
) -> Result<(), StoreError> {
    let sorted = query.into_iter().flat_map(|q| {
        q.order.iter().filter_map(|sort| match &sort.target {
            SortTarget::Field { field, .. } => Some(field),
            SortTarget::RowId => None,
        })
    });
    let selected = query.into_iter().flat_map(|q| q.select.iter());
    let mut named: Vec<&FieldDef> = sorted.chain(selected).collect();
    if let Some(filter) = filter {
        filtered(filter, &mut named);
    }
    match named.into_iter().find(|def| {
        !fields
            .iter()
            .any(|f| f.id.0 == def.id && f.field_type == def.field_type)
    }) {
        None => Ok(()),
        Some(stale) => Err(caller_bug(format!(
            "the query names field {} as a {}, which is not one of the table's current fields",
            stale.id,
            stale.field_type.tag()
        ))),
    }
}

/// The stored fields a page reads, as `fields` has them: the selected ones, then the
/// sort keys not among them (read to name the next page's cursor). `query` must have
/// passed [`check_fields`].
pub(crate) fn read_fields(fields: &[TableField], query: &BoundQuery) -> Vec<TableField> {
    let sorted = query.order.iter().filter_map(|sort| match &sort.target {
        SortTarget::Field { field, .. } => Some(field),
        SortTarget::RowId => None,
    });
    let mut read: Vec<TableField> = Vec::new();
    for def in query.select.iter().chain(sorted) {
        let stored = layout::is_stored(&def.field_type);
        if stored && !read.iter().any(|f| f.id.0 == def.id) {
            read.extend(fields.iter().find(|f| f.id.0 == def.id).cloned());
        }
    }
    read
}

fn filtered<'a>(filter: &'a BoundFilter, out: &mut Vec<&'a FieldDef>) {
    match filter {
        BoundFilter::And(children) | BoundFilter::Or(children) => {
            for child in children {
                filtered(child, out);
            }
        }
        BoundFilter::Not(child) => filtered(child, out),
        BoundFilter::Condition(condition) => out.push(&condition.field),
    }
}

/// The page `query` asked for, from the rows its statement returned in order, each with
/// the cells of every stored field the statement read: at most `limit` rows, a cursor
/// naming the last when more followed, and only the selected fields' cells.
pub(crate) fn finish(query: &BoundQuery, mut rows: Vec<StoredRow>) -> RowPage {
    let more = query
        .limit
        .is_some_and(|limit| rows.len() > usize::try_from(limit).unwrap_or(usize::MAX));
    if let Some(limit) = query.limit {
        rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    }
    let next_cursor = match rows.last() {
        Some(last) if more => {
            let key: Vec<Stored> = query
                .order
                .iter()
                .filter_map(|sort| match &sort.target {
                    SortTarget::Field { field, .. } => Some(sort_value(last, field)),
                    SortTarget::RowId => None,
                })
                .collect();
            Some(query.cursor_after(&key, last.id.0))
        }
        _ => None,
    };
    for row in &mut rows {
        row.cells
            .retain(|id, _| query.select.iter().any(|f| f.id == id.0));
    }
    RowPage { rows, next_cursor }
}

/// A row's value for a sort key, as the reference evaluator keys it: the stored form
/// of the field's cell, or of the system column a system field reads.
fn sort_value(row: &StoredRow, field: &FieldDef) -> Stored {
    match field.field_type {
        FieldType::Autonumber => Stored::Integer(row.autonumber),
        FieldType::CreatedAt => Stored::Timestamp(row.created_at),
        FieldType::UpdatedAt => Stored::Timestamp(row.updated_at),
        FieldType::CreatedBy => Stored::Uuid(row.created_by.0),
        FieldType::UpdatedBy => Stored::Uuid(row.updated_by.0),
        _ => row
            .cells
            .get(&FieldId(field.id))
            .map_or(Stored::Null, CellValue::to_stored),
    }
}
