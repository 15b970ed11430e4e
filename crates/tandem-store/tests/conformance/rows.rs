//! Rows: every field type written and read back, the system fields the store sets,
//! bulk inserts that are all or nothing, and the failures a write of rows can meet.
//! Updates are in `row_updates`, the trash and history in `row_trash`, the row
//! tables' DDL in `row_ddl`.

use serde_json::{Value, json};
use tandem_domain::{FieldId, RowId, TableId, User};
use tandem_store::{LiveTable, NewRow, RowWriteError, StoreError, StoredRow, TableField};
use tandem_tables::field::{CellValue, FieldType, Limits, MAX_NUMBER, validate};

use crate::Fixture;
use crate::tables::number;

/// A field type from its JSON form.
pub fn field_type(value: Value) -> FieldType {
    serde_json::from_value(value).unwrap()
}

/// A single or multi select with the options `todo` ("To do") and `done` ("Done").
pub fn select(multi: bool) -> FieldType {
    let tag = if multi {
        "multi_select"
    } else {
        "single_select"
    };
    field_type(json!({
        "type": tag,
        "options": [{ "id": "todo", "name": "To do" }, { "id": "done", "name": "Done" }]
    }))
}

/// A cell of `field` holding `value`, validated as the API validates a write.
pub fn cell(field: &TableField, value: Value) -> (FieldId, CellValue) {
    let valid = validate(&field.field_type, value, &Limits::default()).unwrap();
    (field.id, valid)
}

/// Every stored field type, and every system one, by name.
pub fn every_type() -> Vec<(&'static str, FieldType)> {
    vec![
        ("Title", FieldType::Text),
        ("Notes", FieldType::LongText),
        ("Estimate", number(2)),
        ("Done", FieldType::Boolean),
        ("Due", FieldType::Date),
        ("Starts", FieldType::Datetime),
        ("Status", select(false)),
        ("Tags", select(true)),
        ("Owner", FieldType::User),
        ("Email", FieldType::Email),
        ("Link", FieldType::Url),
        ("Data", FieldType::Json),
        ("No", FieldType::Autonumber),
        ("Created", FieldType::CreatedAt),
        ("Updated", FieldType::UpdatedAt),
        ("Creator", FieldType::CreatedBy),
        ("Editor", FieldType::UpdatedBy),
    ]
}

impl Fixture {
    /// A table in a fresh desk with a field of each of `types`.
    pub async fn table_with(
        &self,
        types: Vec<(&'static str, FieldType)>,
    ) -> (User, LiveTable, Vec<TableField>) {
        let (ada, _, workspace) = self.desk().await;
        let table = self.table(&workspace, &ada, "Tasks").await;
        let mut fields = Vec::new();
        for (position, (name, field_type)) in (0..).zip(types) {
            fields.push(self.field(&table, &ada, name, field_type, position).await);
        }
        (ada, table, fields)
    }

    /// A new row with a fresh id and `cells`.
    pub fn new_row(&self, cells: Vec<(FieldId, CellValue)>) -> NewRow {
        self.tick();
        NewRow {
            id: RowId::new(self.now()),
            cells,
        }
    }

    /// Inserts `rows` as `by`, which must succeed.
    pub async fn insert(
        &self,
        table: &LiveTable,
        fields: &[TableField],
        rows: &[NewRow],
        by: &User,
    ) -> Vec<StoredRow> {
        self.store
            .insert_rows(table.id, fields, rows, &self.audit_ctx(by))
            .await
            .unwrap()
    }

    /// The row `id` of `table`, live or trashed.
    pub async fn row(
        &self,
        table: &LiveTable,
        fields: &[TableField],
        id: RowId,
    ) -> Option<StoredRow> {
        self.store
            .row_by_id(table.id, fields, id, true)
            .await
            .unwrap()
    }
}

/// The cells of `row` as the API would return them, by field name.
fn api_cells(row: &StoredRow, fields: &[TableField]) -> Value {
    let object = fields
        .iter()
        .filter_map(|f| {
            row.cells
                .get(&f.id)
                .map(|c| (f.name.as_str().to_owned(), c.to_json()))
        })
        .collect();
    Value::Object(object)
}

#[tokio::test]
async fn every_field_type_is_written_and_read_back() {
    let f = Fixture::new().await;
    let (ada, table, fields) = f.table_with(every_type()).await;
    let full = json!({
        "Title": "Grüße, 世界 🌍 \"quoted\" 'single' \\ back",
        "Notes": "line one\nline two\ttabbed",
        "Estimate": MAX_NUMBER,
        "Done": true,
        "Due": "2026-02-28",
        "Starts": "2026-03-01T09:30:00.123456Z",
        "Status": "done",
        "Tags": ["done", "todo"],
        "Owner": ada.id.to_string(),
        "Email": "ada@example.com",
        "Link": "https://example.com/a?b=c#d",
        "Data": { "nested": [1, 2.5, "three", null, { "deep": true }], "ü": -0.001 }
    });
    let low = json!({
        "Title": "x",
        "Estimate": -MAX_NUMBER,
        "Done": false,
        "Due": "0001-01-01",
        "Starts": "1970-01-01T00:00:00.000000Z",
        "Tags": ["todo"],
        "Data": "just a string"
    });
    let mut rows = Vec::new();
    for values in [&full, &low, &json!({})] {
        let cells = fields
            .iter()
            .filter_map(|field| {
                values
                    .get(field.name.as_str())
                    .map(|v| cell(field, v.clone()))
            })
            .collect();
        rows.push(f.new_row(cells));
    }

    let inserted = f.insert(&table, &fields, &rows, &ada).await;

    for (row, expected) in inserted.iter().zip([&full, &low, &json!({})]) {
        let read = f.row(&table, &fields, row.id).await.unwrap();
        assert_eq!(&read, row, "a row reads back as inserted");
        let mut want = expected.clone();
        for field in fields.iter().filter(|f| !f.field_type.is_read_only()) {
            want.as_object_mut()
                .unwrap()
                .entry(field.name.as_str())
                .or_insert(Value::Null);
        }
        assert_eq!(api_cells(&read, &fields), want);
        assert_eq!(
            read.cells.len(),
            12,
            "one cell per stored field, none for system fields"
        );
    }
}

#[tokio::test]
async fn the_store_sets_the_system_fields() {
    let f = Fixture::new().await;
    let (ada, table, fields) = f.table_with(every_type()).await;
    let rows = [f.new_row(vec![]), f.new_row(vec![]), f.new_row(vec![])];
    f.tick();

    let inserted = f.insert(&table, &fields, &rows, &ada).await;

    let numbers: Vec<i64> = inserted.iter().map(|r| r.autonumber).collect();
    assert_eq!(numbers, [1, 2, 3]);
    for (row, new) in inserted.iter().zip(&rows) {
        assert_eq!(row.id, new.id);
        assert_eq!(row.version, 1);
        assert_eq!((row.created_at, row.updated_at), (f.now(), f.now()));
        assert_eq!((row.created_by, row.updated_by), (ada.id, ada.id));
        assert_eq!(row.deleted_at, None);
    }
    // Numbers are never reused, and keep counting in the next insert.
    let more = f.insert(&table, &fields, &[f.new_row(vec![])], &ada).await;
    assert_eq!(more[0].autonumber, 4);
}

#[tokio::test]
async fn a_bulk_insert_is_all_or_nothing() {
    let f = Fixture::new().await;
    let (ada, table, fields) = f.table_with(vec![("Title", FieldType::Text)]).await;
    let existing = f
        .insert(
            &table,
            &fields,
            &[f.new_row(vec![cell(&fields[0], json!("first"))])],
            &ada,
        )
        .await;
    let mut rows: Vec<NewRow> = (0..1_500)
        .map(|n| f.new_row(vec![cell(&fields[0], json!(format!("row {n}")))]))
        .collect();
    rows[1_200].id = existing[0].id;

    let err = f
        .store
        .insert_rows(table.id, &fields, &rows, &f.audit_ctx(&ada))
        .await;

    assert!(
        matches!(
            err,
            Err(RowWriteError::Store(StoreError::Conflict("rows.id")))
        ),
        "{err:?}"
    );
    assert_eq!(f.row(&table, &fields, rows[0].id).await, None);
    assert_eq!(f.row(&table, &fields, rows[1_499].id).await, None);
    let twice = [rows[0].clone(), rows[0].clone()];
    let err = f
        .store
        .insert_rows(table.id, &fields, &twice, &f.audit_ctx(&ada))
        .await;
    assert!(
        matches!(
            err,
            Err(RowWriteError::Store(StoreError::Conflict("rows.id")))
        ),
        "{err:?}"
    );
    // A failed insert may use up numbers (PostgreSQL's sequences never roll back), so
    // later rows are only promised larger ones.
    rows.truncate(1_200);
    let inserted = f.insert(&table, &fields, &rows, &ada).await;
    assert_eq!(inserted.len(), 1_200);
    assert!(
        inserted
            .windows(2)
            .all(|w| w[0].autonumber < w[1].autonumber)
    );
    let last = f.row(&table, &fields, rows[1_199].id).await.unwrap();
    assert_eq!(
        last.cells[&fields[0].id],
        CellValue::Text("row 1199".into())
    );
}

#[tokio::test]
async fn wide_inserts_are_split_under_the_parameter_limit() {
    let f = Fixture::new().await;
    let types = (0..120)
        .map(|_| ("Wide", FieldType::Text))
        .collect::<Vec<_>>();
    let (ada, _, workspace) = f.desk().await;
    let table = f.table(&workspace, &ada, "Wide").await;
    let mut fields = Vec::new();
    for (n, (_, field_type)) in types.into_iter().enumerate() {
        let name = format!("Column {n}");
        fields.push(f.field(&table, &ada, &name, field_type, 0).await);
    }
    let rows: Vec<NewRow> = (0..700)
        .map(|n| {
            let cells = fields
                .iter()
                .map(|field| cell(field, json!(format!("{n}"))))
                .collect();
            f.new_row(cells)
        })
        .collect();

    let inserted = f.insert(&table, &fields, &rows, &ada).await;

    assert_eq!(inserted.len(), 700);
    let read = f.row(&table, &fields, rows[699].id).await.unwrap();
    assert_eq!(read, inserted[699]);
    assert_eq!(read.cells[&fields[119].id], CellValue::Text("699".into()));
}

#[tokio::test]
async fn writes_to_a_missing_table_or_a_foreign_field_fail() {
    let f = Fixture::new().await;
    let (ada, table, fields) = f.table_with(every_type()).await;
    let row = f.new_row(vec![cell(&fields[0], json!("x"))]);

    let missing = TableId::new(f.now());
    let err = f
        .store
        .insert_rows(
            missing,
            &fields,
            std::slice::from_ref(&row),
            &f.audit_ctx(&ada),
        )
        .await;
    assert!(
        matches!(err, Err(RowWriteError::Store(StoreError::NotFound))),
        "{err:?}"
    );
    let err = f.store.row_by_id(missing, &fields, row.id, false).await;
    assert!(matches!(err, Err(StoreError::NotFound)), "{err:?}");

    let stranger = FieldId::new(f.now());
    let foreign = NewRow {
        cells: vec![(stranger, CellValue::Text("x".into()))],
        ..row.clone()
    };
    let err = f
        .store
        .insert_rows(table.id, &fields, &[foreign], &f.audit_ctx(&ada))
        .await;
    assert!(
        matches!(err, Err(RowWriteError::Store(StoreError::Other(_)))),
        "{err:?}"
    );
    let created_at = fields
        .iter()
        .find(|f| f.field_type == FieldType::CreatedAt)
        .unwrap();
    let system = NewRow {
        cells: vec![(created_at.id, CellValue::Datetime(f.now()))],
        ..row.clone()
    };
    let err = f
        .store
        .insert_rows(table.id, &fields, &[system], &f.audit_ctx(&ada))
        .await;
    assert!(
        matches!(err, Err(RowWriteError::Store(StoreError::Other(_)))),
        "{err:?}"
    );
    assert_eq!(f.row(&table, &fields, row.id).await, None);
}
