//! Live tables' fields: created with their type JSON intact, listed by position,
//! updated and deleted, names unique per table case-insensitively, each change audited.

use serde_json::json;
use tandem_domain::{FieldId, TableId};
use tandem_store::{FieldChanges, LiveTable, StoreError, TableChanges, TableField};
use tandem_tables::field::FieldType;

use crate::tables::{field_name, number};
use crate::{Fixture, assert_audit, state};

#[tokio::test]
async fn fields_round_trip_their_type_and_list_by_position() {
    let f = Fixture::new().await;
    let (ada, project, workspace) = f.desk().await;
    let table = f.table(&workspace, &ada, "Tasks").await;
    let status_type: FieldType = serde_json::from_value(json!({
        "type": "single_select",
        "options": [{ "id": "todo", "name": "To do", "color": "red" }, { "id": "done", "name": "Done" }]
    }))
    .unwrap();

    let status = f
        .field(&table, &ada, "Status", status_type.clone(), 2)
        .await;
    let estimate = f.field(&table, &ada, "Estimate", number(2), 1).await;
    let title = f.field(&table, &ada, "Title", FieldType::Text, 1).await;

    let stored = f.store.field_by_id(status.id).await.unwrap().unwrap();
    assert_eq!(stored, status);
    assert_eq!(
        serde_json::to_value(&stored.field_type).unwrap(),
        serde_json::to_value(&status_type).unwrap()
    );
    assert_eq!(
        f.store.list_fields(table.id).await.unwrap(),
        [estimate, title, status.clone()]
    );
    assert_eq!(f.store.count_fields(table.id).await.unwrap(), 3);
    assert_audit(
        &f.last_audit(project.id).await,
        project.id,
        &ada,
        f.now(),
        "field.created",
        (
            "field",
            f.store.list_fields(table.id).await.unwrap()[1]
                .id
                .to_string(),
        ),
        None,
        state(&f.store.list_fields(table.id).await.unwrap()[1]),
    );
    assert_eq!(
        f.store.field_by_id(FieldId::new(f.now())).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn field_names_are_unique_per_table_case_insensitively() {
    let f = Fixture::new().await;
    let (ada, _, workspace) = f.desk().await;
    let table = f.table(&workspace, &ada, "Tasks").await;
    let other = f.table(&workspace, &ada, "Other").await;
    let title = f.field(&table, &ada, "Straße", FieldType::Text, 0).await;
    let notes = f.field(&table, &ada, "Notes", FieldType::LongText, 1).await;

    let twin = TableField {
        id: FieldId::new(f.now()),
        name: field_name("STRASSE"),
        ..title.clone()
    };
    // Full Unicode lowercase is not case folding: "STRASSE" is another name.
    f.store
        .create_field(&twin, &f.audit_ctx(&ada))
        .await
        .unwrap();
    let twin = TableField {
        id: FieldId::new(f.now()),
        name: field_name("STRAßE"),
        ..title.clone()
    };
    let err = f.store.create_field(&twin, &f.audit_ctx(&ada)).await;
    assert!(
        matches!(err, Err(StoreError::Conflict("table_fields.name"))),
        "{err:?}"
    );
    let rename = FieldChanges {
        name: Some(field_name("notes")),
        ..FieldChanges::default()
    };
    let err = f
        .store
        .update_field(title.id, &rename, &f.audit_ctx(&ada))
        .await;
    assert!(
        matches!(err, Err(StoreError::Conflict("table_fields.name"))),
        "{err:?}"
    );
    // Renaming a field to its own name in another case is no conflict.
    let recase = FieldChanges {
        name: Some(field_name("NOTES")),
        ..FieldChanges::default()
    };
    let renamed = f
        .store
        .update_field(notes.id, &recase, &f.audit_ctx(&ada))
        .await
        .unwrap();
    assert_eq!(renamed.name, field_name("NOTES"));

    f.field(&other, &ada, "Straße", FieldType::Text, 0).await;
    let orphan = TableField {
        id: FieldId::new(f.now()),
        table_id: TableId::new(f.now()),
        ..title
    };
    let err = f.store.create_field(&orphan, &f.audit_ctx(&ada)).await;
    assert!(matches!(err, Err(StoreError::NotFound)), "{err:?}");
}

#[tokio::test]
async fn updating_a_field_changes_only_the_parts_given_and_is_audited() {
    let f = Fixture::new().await;
    let (ada, project, workspace) = f.desk().await;
    let table = f.table(&workspace, &ada, "Tasks").await;
    let estimate = f.field(&table, &ada, "Estimate", number(0), 0).await;
    f.tick();

    let changes = FieldChanges {
        name: None,
        field_type: Some(number(3)),
        indexed: Some(true),
        position: Some(7),
        ..FieldChanges::default()
    };
    let updated = f
        .store
        .update_field(estimate.id, &changes, &f.audit_ctx(&ada))
        .await
        .unwrap();

    let expected = TableField {
        field_type: number(3),
        indexed: true,
        position: 7,
        updated_at: f.now(),
        ..estimate.clone()
    };
    assert_eq!(updated, expected);
    assert_eq!(
        f.store.field_by_id(estimate.id).await.unwrap(),
        Some(expected.clone())
    );
    assert_audit(
        &f.last_audit(project.id).await,
        project.id,
        &ada,
        f.now(),
        "field.updated",
        ("field", estimate.id.to_string()),
        state(&estimate),
        state(&expected),
    );
    let missing = f
        .store
        .update_field(FieldId::new(f.now()), &changes, &f.audit_ctx(&ada))
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
}

#[tokio::test]
async fn deleting_a_primary_field_clears_it_from_its_table() {
    let f = Fixture::new().await;
    let (ada, project, workspace) = f.desk().await;
    let table = f.table(&workspace, &ada, "Tasks").await;
    let title = f.field(&table, &ada, "Title", FieldType::Text, 0).await;
    let notes = f.field(&table, &ada, "Notes", FieldType::LongText, 1).await;
    let changes = TableChanges {
        primary_field_id: Some(Some(title.id)),
        ..TableChanges::default()
    };
    let with_primary = f
        .store
        .update_table(table.id, &changes, &f.audit_ctx(&ada))
        .await
        .unwrap();
    f.tick();

    f.store
        .delete_field(notes.id, &f.audit_ctx(&ada))
        .await
        .unwrap();
    assert_audit(
        &f.last_audit(project.id).await,
        project.id,
        &ada,
        f.now(),
        "field.deleted",
        ("field", notes.id.to_string()),
        state(&notes),
        None,
    );
    f.store
        .delete_field(title.id, &f.audit_ctx(&ada))
        .await
        .unwrap();

    let log = f.audit_log(project.id).await;
    let [.., deleted, cleared] = log.as_slice() else {
        panic!("two audit rows expected")
    };
    assert_eq!(deleted.action, "field.deleted");
    let after = LiveTable {
        primary_field_id: None,
        updated_at: f.now(),
        ..with_primary.clone()
    };
    assert_audit(
        cleared,
        project.id,
        &ada,
        f.now(),
        "table.updated",
        ("table", table.id.to_string()),
        state(&with_primary),
        state(&after),
    );
    assert_eq!(f.store.table_by_id(table.id).await.unwrap(), Some(after));
    assert_eq!(f.store.list_fields(table.id).await.unwrap(), []);
    let again = f.store.delete_field(title.id, &f.audit_ctx(&ada)).await;
    assert!(matches!(again, Err(StoreError::NotFound)), "{again:?}");
}
