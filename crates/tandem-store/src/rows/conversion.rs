//! A field's type change as both backends apply it: whether storage allows it, whether
//! the column must change its SQL kind, and what each stored cell becomes, one page of
//! cells at a time (the backends read and write the pages).

use tandem_tables::field::{CellValue, Conversion, FieldType, Limits, Stored, convert};
use uuid::Uuid;

use super::cells::{caller_bug, decode};
use super::layout::is_stored;
use crate::StoreError;

/// How many cells a conversion reads, and writes back, per statement.
pub(crate) const CONVERSION_PAGE: usize = 1_000;

/// What a type change does to a field's column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColumnChange {
    /// Nothing: the type is the same, or both types are system types (whose values
    /// storage computes from the system columns).
    None,
    /// The column stays; cells whose value changes are rewritten in place.
    Rewrite,
    /// The cells move to a new column of the new SQL kind, which replaces the old one.
    Replace,
}

/// What changing a field from `from` to `to` does to its column. A change between a
/// stored type and a system type is refused as the caller's bug (`Other`): a system
/// field has no column to convert from, and its values cannot be written to.
pub(crate) fn column_change(from: &FieldType, to: &FieldType) -> Result<ColumnChange, StoreError> {
    match (is_stored(from), is_stored(to)) {
        (false, false) => Ok(ColumnChange::None),
        (true, true) if from == to => Ok(ColumnChange::None),
        (true, true) if from.sql_kind() == to.sql_kind() => Ok(ColumnChange::Rewrite),
        (true, true) => Ok(ColumnChange::Replace),
        _ => Err(caller_bug(format!(
            "a field cannot change from {} to {}: one is a system type",
            from.tag(),
            to.tag()
        ))),
    }
}

/// One page of a conversion: the cells to write and how many values were lost.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct ConvertedPage {
    /// (row id, new scalar) for each cell to write. On [`ColumnChange::Rewrite`] only
    /// the cells whose value changed (lost ones become NULL); on
    /// [`ColumnChange::Replace`] every non-empty converted cell (the new column starts
    /// empty).
    pub writes: Vec<(Uuid, Stored)>,
    /// How many non-empty values became empty.
    pub lost: u64,
}

/// Converts one page of `(row id, stored scalar)` cells of a field from `from` to `to`.
pub(crate) fn convert_page(
    from: &FieldType,
    to: &FieldType,
    limits: &Limits,
    change: ColumnChange,
    cells: Vec<(Uuid, Stored)>,
) -> Result<ConvertedPage, StoreError> {
    let mut page = ConvertedPage::default();
    for (row, stored) in cells {
        let before = decode(from, stored)?;
        match convert(from, to, &before, limits) {
            Conversion::Lost => {
                page.lost += 1;
                if change == ColumnChange::Rewrite {
                    page.writes.push((row, Stored::Null));
                }
            }
            Conversion::Kept(after) => {
                let write = match change {
                    ColumnChange::Rewrite => after != before,
                    ColumnChange::Replace => !after.is_null(),
                    ColumnChange::None => false,
                };
                if write {
                    page.writes.push((row, after.to_stored()));
                }
            }
        }
    }
    Ok(page)
}

/// How many of `cells` would lose their value going from `from` to `to`.
pub(crate) fn count_lost(
    from: &FieldType,
    to: &FieldType,
    limits: &Limits,
    cells: Vec<Stored>,
) -> Result<u64, StoreError> {
    let mut lost = 0;
    for stored in cells {
        let before: CellValue = decode(from, stored)?;
        if convert(from, to, &before, limits).is_lost() {
            lost += 1;
        }
    }
    Ok(lost)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn number(precision: u8) -> FieldType {
        serde_json::from_value(json!({ "type": "number", "precision": precision })).unwrap()
    }

    #[test]
    fn stored_and_system_types_do_not_mix() {
        assert!(column_change(&FieldType::Text, &FieldType::CreatedAt).is_err());
        assert!(column_change(&FieldType::Autonumber, &FieldType::Text).is_err());
        assert_eq!(
            column_change(&FieldType::CreatedAt, &FieldType::UpdatedAt).unwrap(),
            ColumnChange::None
        );
        assert_eq!(
            column_change(&FieldType::Text, &FieldType::Email).unwrap(),
            ColumnChange::Rewrite
        );
        assert_eq!(
            column_change(&FieldType::Text, &number(0)).unwrap(),
            ColumnChange::Replace
        );
    }

    #[test]
    fn a_rewrite_writes_only_changed_cells_and_empties_lost_ones() {
        let (a, b, c) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        let cells = vec![
            (a, Stored::Real(1.25)),
            (b, Stored::Real(2.0)),
            (c, Stored::Real(3.5)),
        ];
        let page = convert_page(
            &number(2),
            &number(0),
            &Limits::default(),
            ColumnChange::Rewrite,
            cells,
        )
        .unwrap();
        assert_eq!(
            page.writes,
            vec![(a, Stored::Real(1.0)), (c, Stored::Real(4.0))]
        );
        assert_eq!(page.lost, 0);

        let cells = vec![
            (a, Stored::Text("x".into())),
            (b, Stored::Text("a@b.co".into())),
        ];
        let page = convert_page(
            &FieldType::Text,
            &FieldType::Email,
            &Limits::default(),
            ColumnChange::Rewrite,
            cells,
        )
        .unwrap();
        assert_eq!(page.writes, vec![(a, Stored::Null)]);
        assert_eq!(page.lost, 1);
    }

    #[test]
    fn a_replacement_writes_every_kept_cell() {
        let cells = vec![
            (Uuid::from_u128(1), Stored::Text("12.5".into())),
            (Uuid::from_u128(2), Stored::Text("twelve".into())),
        ];
        let page = convert_page(
            &FieldType::Text,
            &number(1),
            &Limits::default(),
            ColumnChange::Replace,
            cells,
        )
        .unwrap();
        assert_eq!(page.writes, vec![(Uuid::from_u128(1), Stored::Real(12.5))]);
        assert_eq!(page.lost, 1);
        let lost = count_lost(
            &FieldType::Text,
            &number(1),
            &Limits::default(),
            vec![Stored::Text("1".into()), Stored::Text("one".into())],
        )
        .unwrap();
        assert_eq!(lost, 1);
    }
}
