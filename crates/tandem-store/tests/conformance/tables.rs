//! Live tables: created, found, counted, listed in stable pages, updated and deleted
//! (with their fields, and with their workspace), names unique per workspace
//! case-insensitively, each change audited. Field tests are in `table_fields`.

use serde_json::json;
use tandem_domain::{Description, FieldId, TableId, User, Workspace};
use tandem_store::{LiveTable, StoreError, TableChanges, TableField};
use tandem_tables::field::{FieldName, FieldType};

use crate::{Fixture, assert_audit, state};

pub fn field_name(raw: &str) -> FieldName {
    FieldName::parse(raw).unwrap()
}

pub fn number(precision: u8) -> FieldType {
    serde_json::from_value(json!({ "type": "number", "precision": precision })).unwrap()
}

impl Fixture {
    /// A table named `name` in `workspace`, created by `by`.
    pub async fn table(&self, workspace: &Workspace, by: &User, name: &str) -> LiveTable {
        self.tick();
        let now = self.now();
        let table = LiveTable {
            id: TableId::new(now),
            workspace_id: workspace.id,
            name: field_name(name),
            description: Description::parse("Tasks under test").unwrap(),
            primary_field_id: None,
            created_by: by.id,
            created_at: now,
            updated_at: now,
        };
        self.store
            .create_table(&table, &self.audit_ctx(by))
            .await
            .unwrap();
        table
    }

    /// A field named `name` of type `field_type` at `position` in `table`, by `by`.
    pub async fn field(
        &self,
        table: &LiveTable,
        by: &User,
        name: &str,
        field_type: FieldType,
        position: i64,
    ) -> TableField {
        self.tick();
        let now = self.now();
        let field = TableField {
            id: FieldId::new(now),
            table_id: table.id,
            name: field_name(name),
            field_type,
            position,
            indexed: false,
            created_at: now,
            updated_at: now,
        };
        self.store
            .create_field(&field, &self.audit_ctx(by))
            .await
            .unwrap();
        field
    }
}

#[tokio::test]
async fn a_created_table_can_be_found_counted_and_is_audited() {
    let f = Fixture::new().await;
    let (ada, project, workspace) = f.desk().await;

    let table = f.table(&workspace, &ada, "Tasks").await;

    assert_eq!(
        f.store.table_by_id(table.id).await.unwrap(),
        Some(table.clone())
    );
    assert_eq!(f.store.count_tables(workspace.id).await.unwrap(), 1);
    assert_audit(
        &f.last_audit(project.id).await,
        project.id,
        &ada,
        f.now(),
        "table.created",
        ("table", table.id.to_string()),
        None,
        state(&table),
    );
    let missing = TableId::new(f.now());
    assert_eq!(f.store.table_by_id(missing).await.unwrap(), None);
}

#[tokio::test]
async fn a_table_in_a_missing_workspace_is_not_found() {
    let f = Fixture::new().await;
    let (ada, _, workspace) = f.desk().await;
    let table = f.table(&workspace, &ada, "Tasks").await;
    let orphan = LiveTable {
        id: TableId::new(f.now()),
        workspace_id: tandem_domain::WorkspaceId::new(f.now()),
        ..table
    };

    let err = f.store.create_table(&orphan, &f.audit_ctx(&ada)).await;

    assert!(matches!(err, Err(StoreError::NotFound)), "{err:?}");
}

#[tokio::test]
async fn table_names_are_unique_per_workspace_case_insensitively() {
    let f = Fixture::new().await;
    let (ada, project, workspace) = f.desk().await;
    let other = f.workspace(&project, &ada, "Other").await;
    let tasks = f.table(&workspace, &ada, "Tasks").await;
    let notes = f.table(&workspace, &ada, "Notes").await;

    let twin = LiveTable {
        id: TableId::new(f.now()),
        name: field_name("TASKS"),
        ..tasks.clone()
    };
    let err = f.store.create_table(&twin, &f.audit_ctx(&ada)).await;
    assert!(
        matches!(err, Err(StoreError::Conflict("live_tables.name"))),
        "{err:?}"
    );
    let rename = TableChanges {
        name: Some(field_name("tasks")),
        ..TableChanges::default()
    };
    let err = f
        .store
        .update_table(notes.id, &rename, &f.audit_ctx(&ada))
        .await;
    assert!(
        matches!(err, Err(StoreError::Conflict("live_tables.name"))),
        "{err:?}"
    );

    // Another workspace may use the name.
    f.table(&other, &ada, "Tasks").await;
    assert_eq!(f.store.count_tables(workspace.id).await.unwrap(), 2);
}

#[tokio::test]
async fn updating_a_table_changes_only_the_parts_given_and_is_audited() {
    let f = Fixture::new().await;
    let (ada, project, workspace) = f.desk().await;
    let table = f.table(&workspace, &ada, "Tasks").await;
    let title = f.field(&table, &ada, "Title", FieldType::Text, 0).await;
    f.tick();

    let changes = TableChanges {
        name: Some(field_name("Chores")),
        description: None,
        primary_field_id: Some(Some(title.id)),
    };
    let updated = f
        .store
        .update_table(table.id, &changes, &f.audit_ctx(&ada))
        .await
        .unwrap();

    let expected = LiveTable {
        name: field_name("Chores"),
        primary_field_id: Some(title.id),
        updated_at: f.now(),
        ..table.clone()
    };
    assert_eq!(updated, expected);
    assert_eq!(
        f.store.table_by_id(table.id).await.unwrap(),
        Some(expected.clone())
    );
    assert_audit(
        &f.last_audit(project.id).await,
        project.id,
        &ada,
        f.now(),
        "table.updated",
        ("table", table.id.to_string()),
        state(&table),
        state(&expected),
    );

    // Clearing the primary field, and a field of another table is refused.
    let other = f.table(&workspace, &ada, "Other").await;
    let foreign = f.field(&other, &ada, "Title", FieldType::Text, 0).await;
    let changes = TableChanges {
        primary_field_id: Some(Some(foreign.id)),
        ..TableChanges::default()
    };
    let err = f
        .store
        .update_table(table.id, &changes, &f.audit_ctx(&ada))
        .await;
    assert!(matches!(err, Err(StoreError::NotFound)), "{err:?}");
    let changes = TableChanges {
        primary_field_id: Some(None),
        ..TableChanges::default()
    };
    let cleared = f
        .store
        .update_table(table.id, &changes, &f.audit_ctx(&ada))
        .await
        .unwrap();
    assert_eq!(
        (cleared.primary_field_id, cleared.name),
        (None, field_name("Chores"))
    );
    let missing = f
        .store
        .update_table(TableId::new(f.now()), &changes, &f.audit_ctx(&ada))
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
}

#[tokio::test]
async fn tables_list_by_id_in_stable_pages() {
    let f = Fixture::new().await;
    let (ada, project, workspace) = f.desk().await;
    let other = f.workspace(&project, &ada, "Other").await;
    let mut made = Vec::new();
    for n in 0..5 {
        made.push(f.table(&workspace, &ada, &format!("Table {n}")).await);
        f.table(&other, &ada, &format!("Table {n}")).await;
    }

    let mut pages = Vec::new();
    let mut after = None;
    loop {
        let page = f.store.list_tables(workspace.id, after, 2).await.unwrap();
        if page.is_empty() {
            break;
        }
        after = page.last().map(|t| t.id);
        pages.push(page);
    }

    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 1]);
    assert_eq!(pages.concat(), made);
    assert_eq!(
        f.store.list_tables(workspace.id, None, 100).await.unwrap(),
        made
    );
}

#[tokio::test]
async fn deleting_a_table_deletes_its_fields_and_is_audited() {
    let f = Fixture::new().await;
    let (ada, project, workspace) = f.desk().await;
    let table = f.table(&workspace, &ada, "Tasks").await;
    let kept = f.table(&workspace, &ada, "Kept").await;
    let title = f.field(&table, &ada, "Title", FieldType::Text, 0).await;
    let kept_field = f.field(&kept, &ada, "Title", FieldType::Text, 0).await;

    f.store
        .delete_table(table.id, &f.audit_ctx(&ada))
        .await
        .unwrap();

    assert_audit(
        &f.last_audit(project.id).await,
        project.id,
        &ada,
        f.now(),
        "table.deleted",
        ("table", table.id.to_string()),
        state(&table),
        None,
    );
    assert_eq!(f.store.table_by_id(table.id).await.unwrap(), None);
    assert_eq!(f.store.field_by_id(title.id).await.unwrap(), None);
    assert_eq!(f.store.count_fields(table.id).await.unwrap(), 0);
    assert_eq!(
        f.store.list_tables(workspace.id, None, 10).await.unwrap(),
        [kept]
    );
    assert_eq!(f.db.count_rows("table_fields").await, 1);
    assert_eq!(
        f.store.field_by_id(kept_field.id).await.unwrap(),
        Some(kept_field)
    );
    let again = f.store.delete_table(table.id, &f.audit_ctx(&ada)).await;
    assert!(matches!(again, Err(StoreError::NotFound)), "{again:?}");
}

#[tokio::test]
async fn deleting_a_workspace_deletes_its_tables_and_fields() {
    let f = Fixture::new().await;
    let (ada, project, workspace) = f.desk().await;
    let other = f.workspace(&project, &ada, "Other").await;
    let table = f.table(&workspace, &ada, "Tasks").await;
    f.field(&table, &ada, "Title", FieldType::Text, 0).await;
    let kept = f.table(&other, &ada, "Tasks").await;

    f.store
        .delete_workspace(workspace.id, &f.audit_ctx(&ada))
        .await
        .unwrap();

    assert_eq!(f.store.table_by_id(table.id).await.unwrap(), None);
    assert_eq!(f.store.count_tables(workspace.id).await.unwrap(), 0);
    assert_eq!(f.db.count_rows("live_tables").await, 1);
    assert_eq!(f.db.count_rows("table_fields").await, 0);
    assert_eq!(f.store.table_by_id(kept.id).await.unwrap(), Some(kept));
}
