//! The rows' trash: trashing and restoring (all or nothing, each a history entry),
//! the trash's pages, and purging rows trashed long enough ago with their history.

use chrono::Duration;
use serde_json::json;
use tandem_domain::RowId;
use tandem_store::{RowAction, RowPatch, RowWriteError, StoredRow};
use tandem_tables::field::FieldType;

use crate::Fixture;
use crate::rows::cell;

fn ids(rows: &[StoredRow]) -> Vec<RowId> {
    rows.iter().map(|r| r.id).collect()
}

#[tokio::test]
async fn trashed_rows_leave_the_table_until_restored() {
    let f = Fixture::new().await;
    let (ada, table, fields) = f.table_with(vec![("Title", FieldType::Text)]).await;
    let rows: Vec<_> = (0..3)
        .map(|n| f.new_row(vec![cell(&fields[0], json!(format!("row {n}")))]))
        .collect();
    let rows = f.insert(&table, &fields, &rows, &ada).await;
    f.tick();

    let trashed = f
        .store
        .trash_rows(
            table.id,
            &fields,
            &[rows[2].id, rows[0].id],
            &f.audit_ctx(&ada),
        )
        .await
        .unwrap();

    assert_eq!(ids(&trashed), [rows[2].id, rows[0].id]);
    for (row, before) in trashed.iter().zip([&rows[2], &rows[0]]) {
        assert_eq!(row.deleted_at, Some(f.now()));
        assert_eq!(row.version, 2);
        assert_eq!(
            (row.updated_at, &row.cells),
            (before.updated_at, &before.cells)
        );
        assert_eq!(
            f.store
                .row_by_id(table.id, &fields, row.id, false)
                .await
                .unwrap(),
            None
        );
        assert_eq!(f.row(&table, &fields, row.id).await.as_ref(), Some(row));
    }
    let trash = f
        .store
        .list_trash(table.id, &fields, None, 10)
        .await
        .unwrap();
    let mut by_id = ids(&trashed);
    by_id.sort();
    assert_eq!(ids(&trash), by_id, "trashed together: by id");

    f.tick();
    let restored = f
        .store
        .restore_rows(table.id, &fields, &[rows[0].id], &f.audit_ctx(&ada))
        .await
        .unwrap();
    assert_eq!((restored[0].deleted_at, restored[0].version), (None, 3));
    assert_eq!(
        f.store
            .row_by_id(table.id, &fields, rows[0].id, false)
            .await
            .unwrap(),
        Some(restored[0].clone())
    );
    let history = f
        .store
        .row_history(table.id, rows[0].id, None, 10)
        .await
        .unwrap();
    let actions: Vec<_> = history.iter().map(|h| (h.version, h.action)).collect();
    assert_eq!(actions, [(3, RowAction::Restored), (2, RowAction::Trashed)]);
    assert!(
        history
            .iter()
            .all(|h| h.changes.is_empty() && h.actor == ada.id)
    );
    assert_eq!(history[0].at, f.now());
}

#[tokio::test]
async fn trashing_or_restoring_is_all_or_nothing() {
    let f = Fixture::new().await;
    let (ada, table, fields) = f.table_with(vec![("Title", FieldType::Text)]).await;
    let rows = f
        .insert(
            &table,
            &fields,
            &[f.new_row(vec![]), f.new_row(vec![])],
            &ada,
        )
        .await;
    let ghost = RowId::new(f.now());

    let err = f
        .store
        .trash_rows(table.id, &fields, &[rows[0].id, ghost], &f.audit_ctx(&ada))
        .await;
    assert!(
        matches!(err, Err(RowWriteError::MissingRow(id)) if id == ghost),
        "{err:?}"
    );
    assert_eq!(f.row(&table, &fields, rows[0].id).await.unwrap(), rows[0]);

    let err = f
        .store
        .restore_rows(table.id, &fields, &[rows[1].id], &f.audit_ctx(&ada))
        .await;
    assert!(
        matches!(err, Err(RowWriteError::MissingRow(id)) if id == rows[1].id),
        "{err:?}"
    );

    // A row named twice is trashed once.
    let trashed = f
        .store
        .trash_rows(
            table.id,
            &fields,
            &[rows[1].id, rows[1].id],
            &f.audit_ctx(&ada),
        )
        .await
        .unwrap();
    assert_eq!(ids(&trashed), [rows[1].id]);
    let err = f
        .store
        .trash_rows(table.id, &fields, &[rows[1].id], &f.audit_ctx(&ada))
        .await;
    assert!(matches!(err, Err(RowWriteError::MissingRow(_))), "{err:?}");
    let patch = RowPatch {
        id: rows[1].id,
        if_version: None,
        cells: vec![],
    };
    let err = f
        .store
        .update_rows(table.id, &fields, &[patch], &f.audit_ctx(&ada))
        .await;
    assert!(matches!(err, Err(RowWriteError::MissingRow(_))), "{err:?}");
}

#[tokio::test]
async fn the_trash_pages_newest_first_then_by_id() {
    let f = Fixture::new().await;
    let (ada, table, fields) = f.table_with(vec![("Title", FieldType::Text)]).await;
    let rows: Vec<_> = (0..5).map(|_| f.new_row(vec![])).collect();
    let rows = f.insert(&table, &fields, &rows, &ada).await;
    // Rows 0 and 1 go first, together; then 2, 3 and 4 one by one.
    f.tick();
    let audit = f.audit_ctx(&ada);
    f.store
        .trash_rows(table.id, &fields, &[rows[1].id, rows[0].id], &audit)
        .await
        .unwrap();
    for row in &rows[2..] {
        f.tick();
        f.store
            .trash_rows(table.id, &fields, &[row.id], &f.audit_ctx(&ada))
            .await
            .unwrap();
    }

    let first = f
        .store
        .list_trash(table.id, &fields, None, 2)
        .await
        .unwrap();
    assert_eq!(ids(&first), [rows[4].id, rows[3].id]);
    let last = &first[1];
    let after = Some((last.deleted_at.unwrap(), last.id));
    let second = f
        .store
        .list_trash(table.id, &fields, after, 2)
        .await
        .unwrap();
    assert_eq!(ids(&second), [rows[2].id, rows[0].id]);
    let last = &second[1];
    let after = Some((last.deleted_at.unwrap(), last.id));
    let third = f
        .store
        .list_trash(table.id, &fields, after, 2)
        .await
        .unwrap();
    assert_eq!(ids(&third), [rows[1].id]);
}

#[tokio::test]
async fn purging_deletes_rows_trashed_before_the_cutoff_with_their_history() {
    let f = Fixture::new().await;
    let (ada, table, fields) = f.table_with(vec![("Title", FieldType::Text)]).await;
    let project = f.project(&ada, "Other").await;
    let workspace = f.workspace(&project, &ada, "Elsewhere").await;
    let other = f.table(&workspace, &ada, "Elsewhere").await;
    let rows = f
        .insert(
            &table,
            &fields,
            &[f.new_row(vec![]), f.new_row(vec![]), f.new_row(vec![])],
            &ada,
        )
        .await;
    let far = f.insert(&other, &[], &[f.new_row(vec![])], &ada).await;
    let patch = RowPatch {
        id: rows[0].id,
        if_version: None,
        cells: vec![cell(&fields[0], json!("x"))],
    };
    f.update(&table, &fields, &[patch], &ada).await;
    f.store
        .trash_rows(table.id, &fields, &[rows[0].id], &f.audit_ctx(&ada))
        .await
        .unwrap();
    f.store
        .trash_rows(other.id, &[], &[far[0].id], &f.audit_ctx(&ada))
        .await
        .unwrap();
    f.clock.advance(Duration::days(30));
    let cutoff = f.now();
    f.store
        .trash_rows(table.id, &fields, &[rows[1].id], &f.audit_ctx(&ada))
        .await
        .unwrap();

    let purged = f.store.purge_trash(cutoff).await.unwrap();

    assert_eq!(purged, 2);
    assert_eq!(f.row(&table, &fields, rows[0].id).await, None);
    assert_eq!(f.row(&other, &[], far[0].id).await, None);
    assert!(
        f.store
            .row_history(table.id, rows[0].id, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        f.row(&table, &fields, rows[1].id)
            .await
            .unwrap()
            .deleted_at
            .is_some()
    );
    assert_eq!(
        f.store
            .row_history(table.id, rows[1].id, None, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(f.row(&table, &fields, rows[2].id).await.unwrap(), rows[2]);
    assert_eq!(f.store.purge_trash(cutoff).await.unwrap(), 0);
}
