//! Reading rows by query: the explicit stories (system fields, trash, ASCII-only case
//! folding, counting) here, queries meeting a changed schema in `schema_changes`, the
//! time limit in `time_limit`, and the differential test against the reference
//! evaluator in `differential` (its random cases in `random`).

mod differential;
mod random;
mod schema_changes;
mod time_limit;

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use tandem_domain::{FieldId, RowId, TableId, User, Workspace};
use tandem_store::testing::backend_under_test;
use tandem_store::{CountMode, LiveTable, NewRow, RowPage, StoredRow, TableField};
use tandem_tables::bind::{BoundQuery, FieldDef, Schema, bind};
use tandem_tables::eval::{Page, Row, evaluate};
use tandem_tables::field::{CellValue, FieldType};
use tandem_tables::query::{Query, parse_query_string};
use uuid::Uuid;

use crate::Fixture;
use crate::rows::cell;

/// Long enough for any query of these tests that is not meant to run out of time.
const TIMEOUT: Duration = Duration::from_secs(30);

impl Fixture {
    /// A table named `name` in `workspace` with a field per `(name, type)`, by `by`.
    async fn typed_table(
        &self,
        workspace: &Workspace,
        by: &User,
        name: &str,
        types: &[(&str, FieldType)],
    ) -> (LiveTable, Vec<TableField>) {
        let table = self.table(workspace, by, name).await;
        let mut fields = Vec::new();
        for (position, (field, field_type)) in (0..).zip(types) {
            fields.push(
                self.field(&table, by, field, field_type.clone(), position)
                    .await,
            );
        }
        (table, fields)
    }

    /// Inserts rows, each its id and its cells as the API's JSON by field index, by `by`.
    async fn insert_json(
        &self,
        table: &LiveTable,
        fields: &[TableField],
        by: &User,
        rows: &[(RowId, Vec<(usize, Value)>)],
    ) -> Vec<StoredRow> {
        let rows: Vec<NewRow> = rows
            .iter()
            .map(|(id, cells)| NewRow {
                id: *id,
                cells: cells
                    .iter()
                    .map(|(i, value)| cell(&fields[*i], value.clone()))
                    .collect(),
            })
            .collect();
        self.insert(table, fields, &rows, by).await
    }

    /// One page of the live rows `query` (the URL grammar) selects.
    async fn page(&self, table: TableId, fields: &[TableField], query: &str) -> RowPage {
        let bound = bind(&schema(fields), &parse_query_string(query).unwrap()).unwrap();
        self.store
            .query_rows(table, fields, &bound, TIMEOUT)
            .await
            .unwrap()
    }
}

fn schema(fields: &[TableField]) -> Schema {
    Schema::new(fields.iter().map(TableField::def).collect())
}

/// A row id that sorts apart from insertion order.
fn row_id(n: u128) -> RowId {
    RowId(Uuid::from_u128(
        (n + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835),
    ))
}

/// A field's value in a stored row: a system field's from its column.
fn cell_of(field: &FieldDef, row: &StoredRow) -> CellValue {
    match field.field_type {
        FieldType::Autonumber => CellValue::Integer(row.autonumber),
        FieldType::CreatedAt => CellValue::Datetime(row.created_at),
        FieldType::UpdatedAt => CellValue::Datetime(row.updated_at),
        FieldType::CreatedBy => CellValue::User(row.created_by.0),
        FieldType::UpdatedBy => CellValue::User(row.updated_by.0),
        _ => row
            .cells
            .get(&FieldId(field.id))
            .cloned()
            .unwrap_or(CellValue::Null),
    }
}

/// A stored row as the reference evaluator takes it, with every field's value.
fn reference_row(fields: &[TableField], row: &StoredRow) -> Row {
    Row {
        id: row.id.0,
        cells: fields
            .iter()
            .map(|f| (f.id.0, cell_of(&f.def(), row)))
            .collect(),
    }
}

/// A page as the reference evaluator shapes it: the selected fields' values per row.
fn as_reference(page: &RowPage, query: &BoundQuery) -> Page {
    Page {
        rows: page
            .rows
            .iter()
            .map(|row| Row {
                id: row.id.0,
                cells: query
                    .select
                    .iter()
                    .map(|f| (f.id, cell_of(f, row)))
                    .collect::<BTreeMap<_, _>>(),
            })
            .collect(),
        next_cursor: page.next_cursor.clone(),
    }
}

fn autonumbers(page: &RowPage) -> Vec<i64> {
    page.rows.iter().map(|r| r.autonumber).collect()
}

#[tokio::test]
async fn system_fields_are_selected_sorted_and_paged_from_their_columns() {
    let f = Fixture::new().await;
    let (ada, _, workspace) = f.desk().await;
    let bob = f.user("bob@example.com").await;
    let (table, fields) = f
        .typed_table(
            &workspace,
            &ada,
            "Tasks",
            &[
                ("Title", FieldType::Text),
                ("No", FieldType::Autonumber),
                ("Created", FieldType::CreatedAt),
                ("Creator", FieldType::CreatedBy),
            ],
        )
        .await;
    let mut stored = Vec::new();
    for n in 0..5 {
        // Rows 1 and 2 share a creation time, so the autonumber breaks the tie.
        if n != 2 {
            f.tick();
        }
        let by = if n % 2 == 0 { &ada } else { &bob };
        let title = (0, json!(format!("Task {n}")));
        stored.extend(
            f.insert_json(&table, &fields, by, &[(row_id(n), vec![title])])
                .await,
        );
    }

    let query = "select=No,Creator&order=Created.desc,No&limit=2";
    let mut pages = vec![f.page(table.id, &fields, query).await];
    while let Some(cursor) = pages.last().unwrap().next_cursor.clone() {
        let next = format!("{query}&cursor={}", cursor.encode());
        pages.push(f.page(table.id, &fields, &next).await);
    }

    let numbers: Vec<Vec<i64>> = pages.iter().map(autonumbers).collect();
    let n = |i: usize| stored[i].autonumber;
    assert_eq!(numbers, [vec![n(4), n(3)], vec![n(1), n(2)], vec![n(0)]]);
    assert!(
        pages
            .iter()
            .flat_map(|p| &p.rows)
            .all(|r| r.cells.is_empty()),
        "system fields are the row's columns, never cells"
    );
    let mut newest = stored[4].clone();
    newest.cells.clear();
    assert_eq!(pages[0].rows[0], newest);
    let reference: Vec<Row> = stored.iter().map(|r| reference_row(&fields, r)).collect();
    let bound = bind(&schema(&fields), &parse_query_string(query).unwrap()).unwrap();
    assert_eq!(
        as_reference(&pages[0], &bound),
        evaluate(&bound, &reference)
    );
}

#[tokio::test]
async fn trashed_rows_neither_match_nor_count() {
    let f = Fixture::new().await;
    let (ada, _, workspace) = f.desk().await;
    let (table, fields) = f
        .typed_table(&workspace, &ada, "Tasks", &[("Title", FieldType::Text)])
        .await;
    let rows: Vec<_> = (0..4)
        .map(|n| (row_id(n), vec![(0, json!("same"))]))
        .collect();
    f.insert_json(&table, &fields, &ada, &rows).await;
    f.store
        .trash_rows(
            table.id,
            &fields,
            &[row_id(1), row_id(2)],
            &f.audit_ctx(&ada),
        )
        .await
        .unwrap();

    let page = f.page(table.id, &fields, "Title=eq.same&limit=10").await;
    let mut ids: Vec<RowId> = page.rows.iter().map(|r| r.id).collect();
    ids.sort();
    let mut live = vec![row_id(0), row_id(3)];
    live.sort();
    assert_eq!(ids, live);
    for mode in [CountMode::Exact, CountMode::Estimated] {
        let counted = f
            .store
            .count_rows(table.id, &fields, None, mode, TIMEOUT)
            .await
            .unwrap();
        assert_eq!(counted, 2, "{mode:?} before any statistics");
    }
}

#[tokio::test]
async fn ilike_folds_ascii_letters_only_and_like_folds_nothing() {
    let f = Fixture::new().await;
    let (ada, _, workspace) = f.desk().await;
    let (table, fields) = f
        .typed_table(&workspace, &ada, "Names", &[("Name", FieldType::Text)])
        .await;
    let names = ["Émile", "émile", "EMILE", "emile", "e_mile", "E%MILE"];
    let rows: Vec<_> = (0..)
        .zip(names)
        .map(|(n, name)| (row_id(n), vec![(0, json!(name))]))
        .collect();
    f.insert_json(&table, &fields, &ada, &rows).await;

    let matching = async |query: &str| -> Vec<String> {
        let page = f
            .page(table.id, &fields, &format!("{query}&order=Name&limit=10"))
            .await;
        let name = fields[0].id;
        page.rows
            .iter()
            .map(|r| match &r.cells[&name] {
                CellValue::Text(s) => s.clone(),
                other => panic!("{other:?}"),
            })
            .collect()
    };
    assert_eq!(matching("Name=ilike.é*").await, ["émile"]);
    assert_eq!(matching("Name=ilike.EMILE").await, ["EMILE", "emile"]);
    assert_eq!(matching("Name=like.E*").await, ["E%MILE", "EMILE"]);
    assert_eq!(matching("Name=like.e_*").await, ["e_mile"]);
    assert_eq!(matching("Name=ilike.*%*").await, ["E%MILE"]);
}

#[tokio::test]
async fn counting_is_exact_unless_postgres_keeps_statistics_for_an_unfiltered_count() {
    let f = Fixture::new().await;
    let (ada, _, workspace) = f.desk().await;
    let (table, fields) = f
        .typed_table(&workspace, &ada, "Tasks", &[("Done", FieldType::Boolean)])
        .await;
    let rows: Vec<_> = (0..6)
        .map(|n| (row_id(n), vec![(0, json!(n % 3 == 0))]))
        .collect();
    f.insert_json(&table, &fields, &ada, &rows).await;
    f.store
        .trash_rows(table.id, &fields, &[row_id(1)], &f.audit_ctx(&ada))
        .await
        .unwrap();
    let done = bind(
        &schema(&fields),
        &parse_query_string("Done=is.true").unwrap(),
    )
    .unwrap();
    let count = async |filter, mode| {
        f.store
            .count_rows(table.id, &fields, filter, mode, TIMEOUT)
            .await
            .unwrap()
    };

    assert_eq!(count(None, CountMode::Exact).await, 5);
    assert_eq!(count(done.filter.as_ref(), CountMode::Exact).await, 2);
    assert_eq!(
        count(None, CountMode::Estimated).await,
        5,
        "no statistics yet"
    );

    let analyze = format!("ANALYZE tr_{}", table.id.0.simple());
    f.db.execute(&analyze).await.unwrap();
    // PostgreSQL's statistics count every row of the row table, trashed ones too;
    // SQLite has none a count could use, and counts.
    let estimated = if backend_under_test() == "postgres" {
        6
    } else {
        5
    };
    assert_eq!(count(None, CountMode::Estimated).await, estimated);
    assert_eq!(
        count(done.filter.as_ref(), CountMode::Estimated).await,
        2,
        "a filtered count is always exact"
    );
}
