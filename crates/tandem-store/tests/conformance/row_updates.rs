//! Updating rows: only the named cells are written, `if_version` guards against lost
//! updates, a write that changes nothing is no change, and each real change is one
//! history entry with the cells before and after.

use serde_json::json;
use tandem_domain::{RowId, User};
use tandem_store::{
    LiveTable, RowAction, RowChange, RowPatch, RowWriteError, StoreError, StoredRow, TableField,
};
use tandem_tables::field::{CellValue, FieldType};

use crate::Fixture;
use crate::rows::{cell, every_type, select};
use crate::tables::number;

impl Fixture {
    /// Applies `patches` as `by`, which must succeed.
    pub async fn update(
        &self,
        table: &LiveTable,
        fields: &[TableField],
        patches: &[RowPatch],
        by: &User,
    ) -> Vec<RowChange> {
        self.store
            .update_rows(table.id, fields, patches, &self.audit_ctx(by))
            .await
            .unwrap()
    }
}

/// A patch of `id` without a version check.
fn patch(id: RowId, cells: Vec<(tandem_domain::FieldId, CellValue)>) -> RowPatch {
    RowPatch {
        id,
        if_version: None,
        cells,
    }
}

/// A table of title, estimate and status, with one row in it.
async fn one_row(f: &Fixture) -> (User, LiveTable, Vec<TableField>, StoredRow) {
    let types = vec![
        ("Title", FieldType::Text),
        ("Estimate", number(1)),
        ("Status", select(false)),
        ("Updated", FieldType::UpdatedAt),
    ];
    let (ada, table, fields) = f.table_with(types).await;
    let row = f.new_row(vec![
        cell(&fields[0], json!("Plan")),
        cell(&fields[1], json!(2.5)),
    ]);
    let inserted = f.insert(&table, &fields, &[row], &ada).await;
    (ada, table, fields, inserted[0].clone())
}

#[tokio::test]
async fn an_update_writes_only_the_cells_it_names() {
    let f = Fixture::new().await;
    let (ada, table, fields, row) = one_row(&f).await;
    let bob = f.user("bob@example.com").await;
    let (title, estimate, status) = (&fields[0], &fields[1], &fields[2]);
    f.tick();

    // Two writers, each with the row as it was, each changing another field.
    let first = f
        .update(
            &table,
            &fields,
            &[patch(row.id, vec![cell(status, json!("Done"))])],
            &ada,
        )
        .await;
    f.tick();
    let second = f
        .update(
            &table,
            &fields,
            &[patch(row.id, vec![cell(title, json!("Ship"))])],
            &bob,
        )
        .await;

    let read = f.row(&table, &fields, row.id).await.unwrap();
    assert_eq!(read, second[0].row);
    assert_eq!(read.cells[&title.id], CellValue::Text("Ship".into()));
    assert_eq!(read.cells[&status.id], first[0].row.cells[&status.id]);
    assert_eq!(read.cells[&status.id].to_json(), json!("done"));
    assert_eq!(read.cells[&estimate.id], CellValue::Number(2.5));
    assert_eq!(read.version, 3);
    assert_eq!((read.updated_at, read.updated_by), (f.now(), bob.id));
    assert_eq!((read.created_at, read.created_by), (row.created_at, ada.id));
    assert_eq!(second[0].before.len(), 1);
    assert_eq!(second[0].before[&title.id], CellValue::Text("Plan".into()));
}

#[tokio::test]
async fn concurrent_updates_of_different_cells_both_survive() {
    let f = Fixture::new().await;
    let (ada, table, fields, row) = one_row(&f).await;
    let (title, status) = (&fields[0], &fields[2]);
    let audit = f.audit_ctx(&ada);
    let first = [patch(row.id, vec![cell(title, json!("Ship"))])];
    let second = [patch(row.id, vec![cell(status, json!("todo"))])];

    let (a, b) = tokio::join!(
        f.store.update_rows(table.id, &fields, &first, &audit),
        f.store.update_rows(table.id, &fields, &second, &audit),
    );

    let mut versions = [a.unwrap()[0].row.version, b.unwrap()[0].row.version];
    versions.sort_unstable();
    assert_eq!(versions, [2, 3]);
    let read = f.row(&table, &fields, row.id).await.unwrap();
    assert_eq!(read.cells[&title.id], CellValue::Text("Ship".into()));
    assert_eq!(read.cells[&status.id].to_json(), json!("todo"));
    assert_eq!(
        f.store
            .row_history(table.id, row.id, None, 10)
            .await
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn a_stale_version_is_refused_with_the_current_one() {
    let f = Fixture::new().await;
    let (ada, table, fields, row) = one_row(&f).await;
    let title = &fields[0];
    let guarded = |version, text: &str| RowPatch {
        id: row.id,
        if_version: Some(version),
        cells: vec![cell(title, json!(text))],
    };

    let changed = f
        .update(&table, &fields, &[guarded(1, "Second")], &ada)
        .await;
    assert_eq!(changed[0].row.version, 2);
    let err = f
        .store
        .update_rows(table.id, &fields, &[guarded(1, "Lost")], &f.audit_ctx(&ada))
        .await;

    assert!(
        matches!(err, Err(RowWriteError::Stale { row: r, current: 2 }) if r == row.id),
        "{err:?}"
    );
    let read = f.row(&table, &fields, row.id).await.unwrap();
    assert_eq!(read.cells[&title.id], CellValue::Text("Second".into()));
    // All patches of a call or none: a stale one undoes the ones before it.
    let err = f
        .store
        .update_rows(
            table.id,
            &fields,
            &[guarded(2, "Third"), guarded(2, "Fourth")],
            &f.audit_ctx(&ada),
        )
        .await;
    assert!(
        matches!(err, Err(RowWriteError::Stale { current: 3, .. })),
        "{err:?}"
    );
    assert_eq!(f.row(&table, &fields, row.id).await.unwrap(), read);
}

#[tokio::test]
async fn an_update_that_changes_nothing_keeps_the_version_and_writes_no_history() {
    let f = Fixture::new().await;
    let (ada, table, fields, row) = one_row(&f).await;
    f.tick();

    let same = vec![
        cell(&fields[0], json!("Plan")),
        cell(&fields[2], json!(null)),
    ];
    let changes = f
        .update(&table, &fields, &[patch(row.id, same)], &ada)
        .await;

    assert_eq!(changes[0].row, row);
    assert!(changes[0].before.is_empty());
    assert_eq!(f.row(&table, &fields, row.id).await.unwrap(), row);
    let history = f
        .store
        .row_history(table.id, row.id, None, 10)
        .await
        .unwrap();
    assert!(history.is_empty(), "{history:?}");
}

#[tokio::test]
async fn patches_apply_in_order_and_each_change_is_one_history_entry() {
    let f = Fixture::new().await;
    let (ada, table, fields, row) = one_row(&f).await;
    let (title, estimate) = (&fields[0], &fields[1]);
    f.tick();

    let changes = f
        .update(
            &table,
            &fields,
            &[
                patch(
                    row.id,
                    vec![cell(title, json!("Draft")), cell(estimate, json!(2.5))],
                ),
                patch(
                    row.id,
                    vec![cell(estimate, json!(null)), cell(title, json!("Draft"))],
                ),
            ],
            &ada,
        )
        .await;

    assert_eq!(changes[0].row.version, 2);
    assert_eq!(changes[1].row.version, 3);
    assert_eq!(changes[1].before[&estimate.id], CellValue::Number(2.5));
    let history = f
        .store
        .row_history(table.id, row.id, None, 10)
        .await
        .unwrap();
    assert_eq!(history.len(), 2);
    let newest = &history[0];
    assert_eq!((newest.version, newest.action), (3, RowAction::Updated));
    assert_eq!((newest.actor, newest.at), (ada.id, f.now()));
    assert_eq!(newest.changes.len(), 1);
    assert_eq!(newest.changes[&estimate.id], (json!(2.5), json!(null)));
    assert_eq!(
        history[1].changes[&title.id],
        (json!("Plan"), json!("Draft"))
    );
    let older = f
        .store
        .row_history(table.id, row.id, Some(3), 10)
        .await
        .unwrap();
    assert_eq!(older, history[1..]);
}

#[tokio::test]
async fn updating_a_missing_or_trashed_row_fails_and_changes_nothing() {
    let f = Fixture::new().await;
    let (ada, table, fields, row) = one_row(&f).await;
    let title = &fields[0];
    let ghost = RowId::new(f.now());

    let err = f
        .store
        .update_rows(
            table.id,
            &fields,
            &[
                patch(row.id, vec![cell(title, json!("New"))]),
                patch(ghost, vec![]),
            ],
            &f.audit_ctx(&ada),
        )
        .await;
    assert!(
        matches!(err, Err(RowWriteError::MissingRow(id)) if id == ghost),
        "{err:?}"
    );
    assert_eq!(f.row(&table, &fields, row.id).await.unwrap(), row);

    f.store
        .trash_rows(table.id, &fields, &[row.id], &f.audit_ctx(&ada))
        .await
        .unwrap();
    let err = f
        .store
        .update_rows(
            table.id,
            &fields,
            &[patch(row.id, vec![])],
            &f.audit_ctx(&ada),
        )
        .await;
    assert!(
        matches!(err, Err(RowWriteError::MissingRow(id)) if id == row.id),
        "{err:?}"
    );
    let err = f
        .store
        .update_rows(table.id, &fields, &[], &f.audit_ctx(&ada))
        .await;
    assert!(err.unwrap().is_empty());
}

#[tokio::test]
async fn every_field_type_can_be_updated_and_emptied() {
    let f = Fixture::new().await;
    let (ada, table, fields) = f.table_with(every_type()).await;
    let row = f
        .insert(&table, &fields, &[f.new_row(vec![])], &ada)
        .await
        .remove(0);
    let values = json!({
        "Title": "Ünïcødé ✓", "Notes": "a\nb", "Estimate": 0.01, "Done": true,
        "Due": "9999-12-31", "Starts": "2026-06-01T00:00:00.000001Z", "Status": "todo",
        "Tags": ["todo", "done"], "Owner": ada.id.to_string(), "Email": "x@y.io",
        "Link": "http://a.b", "Data": [1, { "a": null }]
    });
    let cells: Vec<_> = fields
        .iter()
        .filter_map(|field| {
            values
                .get(field.name.as_str())
                .map(|v| cell(field, v.clone()))
        })
        .collect();
    let emptied: Vec<_> = cells.iter().map(|(id, _)| (*id, CellValue::Null)).collect();

    let set = f
        .update(&table, &fields, &[patch(row.id, cells.clone())], &ada)
        .await;
    assert_eq!(set[0].before.len(), 12);
    assert_eq!(f.row(&table, &fields, row.id).await.unwrap(), set[0].row);
    let cleared = f
        .update(&table, &fields, &[patch(row.id, emptied)], &ada)
        .await;
    let read = f.row(&table, &fields, row.id).await.unwrap();
    assert_eq!(read, cleared[0].row);
    assert!(read.cells.values().all(CellValue::is_null));
    let history = f
        .store
        .row_history(table.id, row.id, None, 1)
        .await
        .unwrap();
    assert_eq!(
        history[0].changes[&cells[0].0],
        (json!("Ünïcødé ✓"), json!(null))
    );
    let err = f
        .store
        .update_rows(
            table.id,
            &fields,
            &[patch(row.id, vec![(cells[0].0, CellValue::Number(1.0))])],
            &f.audit_ctx(&ada),
        )
        .await;
    assert!(
        matches!(err, Err(RowWriteError::Store(StoreError::Other(_)))),
        "{err:?}"
    );
}
