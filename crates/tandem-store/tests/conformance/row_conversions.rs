//! Changing a field's type converts real data: every stored cell, live and trashed,
//! in place when the SQL kind stays and through a new column when it changes, with
//! the dry run (`conversion_loss`) counting exactly the cells the change empties.

use serde_json::{Value, json};
use tandem_domain::{FieldId, User};
use tandem_store::rows::layout::{field_column, field_index, row_table};
use tandem_store::testing::backend_under_test;
use tandem_store::{FieldChanges, LiveTable, StoreError, StoredRow, TableField};
use tandem_tables::field::{FieldType, Limits};

use crate::Fixture;
use crate::rows::{cell, field_type, select};
use crate::tables::number;

impl Fixture {
    /// Changes `field`'s type to `to` as `by`, returning the field as it now is.
    async fn retype(&self, field: &TableField, to: FieldType, by: &User) -> TableField {
        let changes = FieldChanges {
            field_type: Some(to),
            ..FieldChanges::default()
        };
        self.store
            .update_field(field.id, &changes, &self.audit_ctx(by))
            .await
            .unwrap()
    }

    async fn loss(&self, field: &TableField, to: &FieldType) -> u64 {
        self.store
            .conversion_loss(field.id, to, &Limits::default())
            .await
            .unwrap()
    }

    /// Inserts one row per value into a table of the single field `field`.
    async fn fill(
        &self,
        table: &LiveTable,
        field: &TableField,
        values: &[Value],
        by: &User,
    ) -> Vec<StoredRow> {
        let rows: Vec<_> = values
            .iter()
            .map(|v| self.new_row(vec![cell(field, v.clone())]))
            .collect();
        self.insert(table, std::slice::from_ref(field), &rows, by)
            .await
    }

    /// The API JSON of `field`'s cell in each of `rows`, live or trashed.
    async fn cells_of(
        &self,
        table: &LiveTable,
        field: &TableField,
        rows: &[StoredRow],
    ) -> Vec<Value> {
        let mut cells = Vec::new();
        for row in rows {
            let read = self
                .row(table, std::slice::from_ref(field), row.id)
                .await
                .unwrap();
            assert_eq!(
                read.version, row.version,
                "a conversion is no change of the row"
            );
            cells.push(read.cells[&field.id].to_json());
        }
        cells
    }
}

#[tokio::test]
async fn a_new_precision_rounds_every_stored_number_in_place() {
    let f = Fixture::new().await;
    let (ada, table, fields) = f.table_with(vec![("Estimate", number(2))]).await;
    let estimate = &fields[0];
    let values = [
        json!(1.25),
        json!(2.5),
        json!(null),
        json!(-3.75),
        json!(0.49),
    ];
    let rows = f.fill(&table, estimate, &values, &ada).await;
    let mut rows = rows;
    rows[3] = f
        .store
        .trash_rows(table.id, &fields, &[rows[3].id], &f.audit_ctx(&ada))
        .await
        .unwrap()
        .remove(0);

    assert_eq!(f.loss(estimate, &number(0)).await, 0);
    let estimate = f.retype(estimate, number(0), &ada).await;

    let cells = f.cells_of(&table, &estimate, &rows).await;
    assert_eq!(
        cells,
        [json!(1.0), json!(3.0), json!(null), json!(-4.0), json!(0.0)]
    );
}

#[tokio::test]
async fn text_to_number_moves_every_page_of_cells_to_a_new_column() {
    let f = Fixture::new().await;
    let (ada, table, fields) = f.table_with(vec![("Amount", FieldType::Text)]).await;
    let amount = f.set_indexed(&fields[0], true, &ada).await;
    // More rows than one page of the conversion; every third is not a number.
    let values: Vec<Value> = (0..2_345)
        .map(|n| match n % 3 {
            0 => json!(format!("n{n}")),
            _ => json!(format!("{n}.5")),
        })
        .collect();
    let mut rows = f.fill(&table, &amount, &values, &ada).await;
    rows[1] = f
        .store
        .trash_rows(
            table.id,
            std::slice::from_ref(&amount),
            &[rows[1].id],
            &f.audit_ctx(&ada),
        )
        .await
        .unwrap()
        .remove(0);

    let lost = f.loss(&amount, &number(1)).await;
    assert_eq!(lost, 782);
    let amount = f.retype(&amount, number(1), &ada).await;

    let sample = [&rows[0], &rows[1], &rows[2], &rows[2_343], &rows[2_344]].map(Clone::clone);
    let cells = f.cells_of(&table, &amount, &sample).await;
    assert_eq!(
        cells,
        [
            json!(null),
            json!(1.5),
            json!(2.5),
            json!(null),
            json!(2344.5)
        ]
    );
    let mut emptied = 0;
    for row in &rows {
        let read = f
            .row(&table, std::slice::from_ref(&amount), row.id)
            .await
            .unwrap();
        emptied += u64::from(read.cells[&amount.id].is_null());
    }
    assert_eq!(emptied, lost, "the dry run counted what the change emptied");
    let columns = f.db.columns(&row_table(table.id)).await;
    assert!(columns.contains(&field_column(amount.id)));
    assert_eq!(
        columns.len(),
        10,
        "no column of the conversion left: {columns:?}"
    );
    assert_eq!(
        f.db.indexes(&row_table(table.id)).await,
        [field_index(amount.id)]
    );
    assert_eq!(f.loss(&amount, &FieldType::Text).await, 0);

    // To JSON: PostgreSQL indexes it with GIN, SQLite not at all.
    let amount = f.retype(&amount, FieldType::Json, &ada).await;
    let cells = f.cells_of(&table, &amount, &sample[..3]).await;
    assert_eq!(cells, [json!(null), json!(1.5), json!(2.5)]);
    let indexes = f.db.indexes(&row_table(table.id)).await;
    match backend_under_test() {
        "postgres" => assert_eq!(indexes, [field_index(amount.id)]),
        _ => assert!(indexes.is_empty(), "{indexes:?}"),
    }
}

#[tokio::test]
async fn dropped_options_empty_their_cells_and_selects_change_kind() {
    let f = Fixture::new().await;
    let three = field_type(json!({
        "type": "single_select",
        "options": [{ "id": "todo", "name": "To do" }, { "id": "done", "name": "Done" }, { "id": "later", "name": "Later" }]
    }));
    let (ada, table, fields) = f.table_with(vec![("Status", three)]).await;
    let values = [
        json!("todo"),
        json!("later"),
        json!("Done"),
        json!(null),
        json!("later"),
    ];
    let rows = f.fill(&table, &fields[0], &values, &ada).await;

    assert_eq!(f.loss(&fields[0], &select(false)).await, 2);
    let status = f.retype(&fields[0], select(false), &ada).await;
    let cells = f.cells_of(&table, &status, &rows).await;
    assert_eq!(
        cells,
        [
            json!("todo"),
            json!(null),
            json!("done"),
            json!(null),
            json!(null)
        ]
    );

    // Single to multi select: the SQL kind changes from text to JSON.
    assert_eq!(f.loss(&status, &select(true)).await, 0);
    let tags = f.retype(&status, select(true), &ada).await;
    let cells = f.cells_of(&table, &tags, &rows).await;
    assert_eq!(
        cells,
        [
            json!(["todo"]),
            json!(null),
            json!(["done"]),
            json!(null),
            json!(null)
        ]
    );
    let title = f.retype(&tags, FieldType::Text, &ada).await;
    let cells = f.cells_of(&table, &title, &rows[..3]).await;
    assert_eq!(cells, [json!("To do"), json!(null), json!("Done")]);
}

#[tokio::test]
async fn booleans_dates_and_users_convert_across_kinds() {
    let f = Fixture::new().await;
    let types = vec![
        ("Done", FieldType::Boolean),
        ("Due", FieldType::Date),
        ("Owner", FieldType::User),
    ];
    let (ada, table, fields) = f.table_with(types).await;
    let cells = vec![
        cell(&fields[0], json!(true)),
        cell(&fields[1], json!("2026-05-01")),
        cell(&fields[2], json!(ada.id.to_string())),
    ];
    let rows = f.insert(&table, &fields, &[f.new_row(cells)], &ada).await;

    let done = f.retype(&fields[0], FieldType::Text, &ada).await;
    let due = f.retype(&fields[1], FieldType::Datetime, &ada).await;
    let owner = f.retype(&fields[2], FieldType::Text, &ada).await;

    assert_eq!(f.cells_of(&table, &done, &rows).await, [json!("true")]);
    assert_eq!(
        f.cells_of(&table, &due, &rows).await,
        [json!("2026-05-01T00:00:00.000000Z")]
    );
    assert_eq!(
        f.cells_of(&table, &owner, &rows).await,
        [json!(ada.id.to_string())]
    );
    assert_eq!(f.loss(&owner, &FieldType::User).await, 0);
    assert_eq!(f.loss(&done, &number(0)).await, 1);
}

#[tokio::test]
async fn a_change_between_stored_and_system_types_is_refused() {
    let f = Fixture::new().await;
    let types = vec![
        ("Title", FieldType::Text),
        ("Created", FieldType::CreatedAt),
    ];
    let (ada, table, fields) = f.table_with(types).await;
    f.fill(&table, &fields[0], &[json!("kept")], &ada).await;

    for (field, to) in [
        (&fields[0], FieldType::CreatedAt),
        (&fields[1], FieldType::Text),
    ] {
        let changes = FieldChanges {
            field_type: Some(to.clone()),
            ..FieldChanges::default()
        };
        let err = f
            .store
            .update_field(field.id, &changes, &f.audit_ctx(&ada))
            .await;
        assert!(matches!(err, Err(StoreError::Other(_))), "{err:?}");
        assert_eq!(
            f.store.field_by_id(field.id).await.unwrap().as_ref(),
            Some(field)
        );
        let err = f
            .store
            .conversion_loss(field.id, &to, &Limits::default())
            .await;
        assert!(matches!(err, Err(StoreError::Other(_))), "{err:?}");
    }
    assert!(
        f.db.columns(&row_table(table.id))
            .await
            .contains(&field_column(fields[0].id))
    );
    // Between system types nothing is stored, so nothing is refused.
    let updated = f.retype(&fields[1], FieldType::UpdatedAt, &ada).await;
    assert_eq!(updated.field_type, FieldType::UpdatedAt);

    let err = f
        .store
        .conversion_loss(FieldId::new(f.now()), &FieldType::Text, &Limits::default())
        .await;
    assert!(matches!(err, Err(StoreError::NotFound)), "{err:?}");
}
