//! Queries meeting a schema that changed: a field read by its new type once it has
//! changed (on PostgreSQL, through statements the pooled connections cached before), a
//! select option deleted, a query bound to fields that have since changed, and a table
//! that no longer exists.

use serde_json::{Value, json};
use tandem_domain::RowId;
use tandem_store::{CountMode, FieldChanges, RowPage, StoreError};
use tandem_tables::bind::bind;
use tandem_tables::field::FieldType;
use tandem_tables::query::parse_query_string;

use super::{TIMEOUT, row_id, schema};
use crate::Fixture;
use crate::rows::{field_type, select};
use crate::tables::number;

#[tokio::test]
async fn a_query_bound_to_fields_that_have_changed_is_refused() {
    let f = Fixture::new().await;
    let (ada, _, workspace) = f.desk().await;
    let (table, fields) = f
        .typed_table(&workspace, &ada, "Tasks", &[("Title", FieldType::Text)])
        .await;
    let mut stale = fields.clone();
    stale[0].field_type = FieldType::Boolean;
    let query = bind(
        &schema(&stale),
        &parse_query_string("Title=is.true&limit=5").unwrap(),
    )
    .unwrap();

    let err = f.store.query_rows(table.id, &fields, &query, TIMEOUT).await;

    assert!(matches!(err, Err(StoreError::Other(_))), "{err:?}");
}

#[tokio::test]
async fn a_query_of_a_table_that_does_not_exist_is_not_found() {
    let f = Fixture::new().await;
    let (ada, _, workspace) = f.desk().await;
    let (table, fields) = f
        .typed_table(&workspace, &ada, "Tasks", &[("Title", FieldType::Text)])
        .await;
    f.store
        .delete_table(table.id, &f.audit_ctx(&ada))
        .await
        .unwrap();
    let query = bind(&schema(&fields), &parse_query_string("limit=5").unwrap()).unwrap();

    let page = f.store.query_rows(table.id, &fields, &query, TIMEOUT).await;
    let counted = f
        .store
        .count_rows(table.id, &fields, None, CountMode::Estimated, TIMEOUT)
        .await;

    assert!(matches!(page, Err(StoreError::NotFound)), "{page:?}");
    assert!(matches!(counted, Err(StoreError::NotFound)), "{counted:?}");
}

#[tokio::test]
async fn queries_read_a_field_by_its_new_type_once_it_has_changed() {
    let f = Fixture::new().await;
    let (ada, _, workspace) = f.desk().await;
    let (table, fields) = f
        .typed_table(
            &workspace,
            &ada,
            "Scores",
            &[("Score", number(1)), ("Title", FieldType::Text)],
        )
        .await;
    let rows: Vec<_> = (0..4)
        .map(|n| (row_id(n), vec![(0, json!(n)), (1, json!("t"))]))
        .collect();
    f.insert_json(&table, &fields, &ada, &rows).await;
    let score = fields[0].id;
    let scores = |page: &RowPage| -> Vec<Value> {
        page.rows
            .iter()
            .map(|r| r.cells[&score].to_json())
            .collect()
    };
    // Several times over, so that the pooled connections cache the statements.
    for _ in 0..4 {
        let page = f
            .page(
                table.id,
                &fields,
                "select=Score&order=Score.desc&Score=gt.1&limit=5",
            )
            .await;
        assert_eq!(scores(&page), [json!(3.0), json!(2.0)]);
        let empty = f
            .page(table.id, &fields, "select=Title&Score=is.null&limit=5")
            .await;
        assert!(empty.rows.is_empty());
    }

    let changes = FieldChanges {
        field_type: Some(FieldType::Text),
        ..FieldChanges::default()
    };
    f.store
        .update_field(score, &changes, &f.audit_ctx(&ada))
        .await
        .unwrap();
    let fields = f.store.list_fields(table.id).await.unwrap();

    for _ in 0..4 {
        let page = f
            .page(
                table.id,
                &fields,
                "select=Score&order=Score.desc&Score=gt.1&limit=5",
            )
            .await;
        // As text now: "1.0" sorts after "1".
        assert_eq!(scores(&page), [json!("3.0"), json!("2.0"), json!("1.0")]);
        let empty = f
            .page(table.id, &fields, "select=Title&Score=is.null&limit=5")
            .await;
        assert!(empty.rows.is_empty());
    }
}

#[tokio::test]
async fn a_deleted_select_option_no_longer_matches_and_leaves_a_cell_of_none_empty() {
    let f = Fixture::new().await;
    let (ada, _, workspace) = f.desk().await;
    let (table, fields) = f
        .typed_table(&workspace, &ada, "Tasks", &[("Tags", select(true))])
        .await;
    let tags = [json!(["done"]), json!(["todo"]), json!(["todo", "done"])];
    let rows: Vec<_> = (0..)
        .zip(tags)
        .map(|(n, tags)| (row_id(n), vec![(0, tags)]))
        .collect();
    f.insert_json(&table, &fields, &ada, &rows).await;

    let only_todo = field_type(json!({
        "type": "multi_select",
        "options": [{ "id": "todo", "name": "To do" }]
    }));
    let changes = FieldChanges {
        field_type: Some(only_todo),
        ..FieldChanges::default()
    };
    f.store
        .update_field(fields[0].id, &changes, &f.audit_ctx(&ada))
        .await
        .unwrap();
    let fields = f.store.list_fields(table.id).await.unwrap();
    let ids = |page: RowPage| -> Vec<RowId> { page.rows.iter().map(|r| r.id).collect() };

    let holding_none = f.page(table.id, &fields, "Tags=neq.todo&limit=5").await;
    let empty = f.page(table.id, &fields, "Tags=is.null&limit=5").await;

    assert_eq!(
        ids(holding_none),
        [],
        "the emptied cell is unknown, not `none`"
    );
    assert_eq!(ids(empty), [row_id(0)]);
}
