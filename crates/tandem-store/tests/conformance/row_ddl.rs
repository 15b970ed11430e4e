//! The row tables' DDL, checked in the database's catalog: a table's row table and a
//! field's column and index come and go with their metadata, and nothing is left
//! behind when a field, a table, a workspace or a project is deleted.

use serde_json::json;
use tandem_domain::User;
use tandem_store::rows::layout::{field_column, field_index, row_table};
use tandem_store::testing::backend_under_test;
use tandem_store::{FieldChanges, LiveTable, TableField};
use tandem_tables::field::FieldType;

use crate::Fixture;
use crate::rows::{cell, select};

/// The system columns of every row table, sorted as the catalog lists them.
const SYSTEM_COLUMNS: [&str; 9] = [
    "created_at",
    "created_by",
    "deleted_at",
    "deleted_by",
    "id",
    "seq",
    "updated_at",
    "updated_by",
    "version",
];

impl Fixture {
    /// Whether `table`'s row table exists.
    async fn has_row_table(&self, table: &LiveTable) -> bool {
        self.db.tables().await.contains(&row_table(table.id))
    }

    /// `table`'s row table's columns besides the system ones, sorted.
    async fn field_columns(&self, table: &LiveTable) -> Vec<String> {
        let columns = self.db.columns(&row_table(table.id)).await;
        columns
            .into_iter()
            .filter(|c| !SYSTEM_COLUMNS.contains(&c.as_str()))
            .collect()
    }

    async fn row_indexes(&self, table: &LiveTable) -> Vec<String> {
        self.db.indexes(&row_table(table.id)).await
    }

    /// Sets a field's `indexed` flag, as `by`.
    pub async fn set_indexed(&self, field: &TableField, indexed: bool, by: &User) -> TableField {
        let changes = FieldChanges {
            indexed: Some(indexed),
            ..FieldChanges::default()
        };
        self.store
            .update_field(field.id, &changes, &self.audit_ctx(by))
            .await
            .unwrap()
    }
}

fn sorted(mut names: Vec<String>) -> Vec<String> {
    names.sort();
    names
}

#[tokio::test]
async fn a_table_has_a_row_table_and_a_stored_field_a_column() {
    let f = Fixture::new().await;
    let (ada, _, workspace) = f.desk().await;
    let table = f.table(&workspace, &ada, "Tasks").await;

    assert!(f.has_row_table(&table).await);
    assert_eq!(f.db.columns(&row_table(table.id)).await, SYSTEM_COLUMNS);
    assert_eq!(f.row_indexes(&table).await, Vec::<String>::new());

    let title = f.field(&table, &ada, "Title", FieldType::Text, 0).await;
    let created = f
        .field(&table, &ada, "Created", FieldType::CreatedAt, 1)
        .await;
    let number = f.field(&table, &ada, "No", FieldType::Autonumber, 2).await;

    assert_eq!(f.field_columns(&table).await, [field_column(title.id)]);
    assert!(
        !f.field_columns(&table)
            .await
            .contains(&field_column(created.id))
    );
    assert!(
        !f.field_columns(&table)
            .await
            .contains(&field_column(number.id))
    );
}

#[tokio::test]
async fn indexed_fields_have_an_index_that_follows_the_flag() {
    let f = Fixture::new().await;
    let (ada, _, workspace) = f.desk().await;
    let table = f.table(&workspace, &ada, "Tasks").await;
    let title = f.field(&table, &ada, "Title", FieldType::Text, 0).await;
    let tags = f.field(&table, &ada, "Tags", select(true), 1).await;

    let title = f.set_indexed(&title, true, &ada).await;
    f.set_indexed(&tags, true, &ada).await;
    let created = f
        .field(&table, &ada, "Created", FieldType::CreatedAt, 2)
        .await;
    f.set_indexed(&created, true, &ada).await;

    // Multi selects get a GIN index on PostgreSQL and none on SQLite.
    let expected = match backend_under_test() {
        "postgres" => sorted(vec![field_index(title.id), field_index(tags.id)]),
        _ => vec![field_index(title.id)],
    };
    assert_eq!(f.row_indexes(&table).await, expected);

    f.set_indexed(&title, false, &ada).await;
    let expected: Vec<String> = expected
        .into_iter()
        .filter(|i| *i != field_index(title.id))
        .collect();
    assert_eq!(f.row_indexes(&table).await, expected);
}

#[tokio::test]
async fn deleting_a_field_drops_its_column_and_index() {
    let f = Fixture::new().await;
    let (ada, _, workspace) = f.desk().await;
    let table = f.table(&workspace, &ada, "Tasks").await;
    let title = f.field(&table, &ada, "Title", FieldType::Text, 0).await;
    let notes = f.field(&table, &ada, "Notes", FieldType::LongText, 1).await;
    let title = f.set_indexed(&title, true, &ada).await;
    let fields = [title.clone(), notes.clone()];
    let row = f.new_row(vec![cell(&title, json!("a")), cell(&notes, json!("b"))]);
    f.insert(&table, &fields, std::slice::from_ref(&row), &ada)
        .await;

    f.store
        .delete_field(title.id, &f.audit_ctx(&ada))
        .await
        .unwrap();

    assert_eq!(f.field_columns(&table).await, [field_column(notes.id)]);
    assert_eq!(f.row_indexes(&table).await, Vec::<String>::new());
    let read = f
        .row(&table, std::slice::from_ref(&notes), row.id)
        .await
        .unwrap();
    assert_eq!(read.cells.len(), 1);
}

#[tokio::test]
async fn deleting_a_table_workspace_or_project_leaves_no_row_table() {
    let f = Fixture::new().await;
    let (ada, project, workspace) = f.desk().await;
    let doomed = f.table(&workspace, &ada, "Doomed").await;
    let title = f.field(&doomed, &ada, "Title", FieldType::Text, 0).await;
    f.set_indexed(&title, true, &ada).await;
    f.insert(
        &doomed,
        std::slice::from_ref(&title),
        &[f.new_row(vec![cell(&title, json!("x"))])],
        &ada,
    )
    .await;
    let kept = f.table(&workspace, &ada, "Kept").await;

    f.store
        .delete_table(doomed.id, &f.audit_ctx(&ada))
        .await
        .unwrap();
    assert!(!f.has_row_table(&doomed).await);
    assert!(f.has_row_table(&kept).await);

    let other = f.workspace(&project, &ada, "Other").await;
    let elsewhere = f.table(&other, &ada, "Elsewhere").await;
    f.store
        .delete_workspace(workspace.id, &f.audit_ctx(&ada))
        .await
        .unwrap();
    assert!(!f.has_row_table(&kept).await);
    assert!(f.has_row_table(&elsewhere).await);

    let third = f.workspace(&project, &ada, "Third").await;
    let last = f.table(&third, &ada, "Last").await;
    f.store.delete_project(project.id).await.unwrap();
    assert!(!f.has_row_table(&elsewhere).await);
    assert!(!f.has_row_table(&last).await);
    let tables = f.db.tables().await;
    assert!(tables.iter().all(|t| !t.starts_with("tr_")), "{tables:?}");
}
