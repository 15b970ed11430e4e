//! The differential test through the real server: random tables (fields of every type,
//! names the URL grammar must quote), random rows written over REST (empty cells,
//! non-ASCII text, ASCII case variants, `%` `_` `\` `*` `,` `"` `(` in text, ties, some
//! trashed) and random queries (filter trees over every operator each type takes,
//! multi-key sorts with either nulls placement, projections, small pages), sent both as
//! a URL (`GET …/rows`) and as JSON (`POST …/rows/query`) and paged through by
//! `next_cursor`, must give exactly the pages `tandem_tables::eval::evaluate` gives over
//! the rows the API reads back, cursors included. The cases are drawn in
//! `table_query_cases`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use proptest::prop_assert_eq;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use reqwest::{Method, StatusCode};
use serde_json::{Map, Value, json};
use tandem_domain::Clock;
use tandem_tables::bind::{FieldDef, Schema, bind};
use tandem_tables::eval::{Page, Row, evaluate};
use tandem_tables::field::{CellValue, FieldName, FieldType, Limits, validate};
use tandem_tables::query::{Cursor, FieldsBy, Query};
use tandem_tables::row::render_cells;
use uuid::Uuid;

use crate::helpers::{TestApp, spawn_app};
use crate::table_query_cases::{Case, Context, any_case, cell_json, field_body, to_query};
use crate::tables_helpers::{create_field, create_table};
use crate::tenancy_helpers::{Cast, Scene};

/// Each case makes a table over REST and pages through three queries both ways; a
/// couple of dozen cases cover the operators and sorts and keep the test to seconds.
const CASES: u32 = 20;

/// One server and one project for every case.
struct Desk {
    app: TestApp,
    cast: Cast,
    scene: Scene,
    tables: AtomicUsize,
    /// Live rows over all cases, and pages read past the first, to show the run compared
    /// more than empty pages.
    rows: AtomicUsize,
    pages: AtomicUsize,
}

#[test]
fn random_queries_over_http_page_exactly_as_the_reference_evaluator() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let desk = runtime.block_on(async {
        let app = spawn_app().await;
        let cast = Cast::new(&app).await;
        let scene = Scene::new(&app, &cast).await;
        Desk {
            app,
            cast,
            scene,
            tables: AtomicUsize::new(0),
            rows: AtomicUsize::new(0),
            pages: AtomicUsize::new(0),
        }
    });
    let config = Config {
        cases: CASES,
        failure_persistence: None,
        // Every shrink step builds a table over HTTP: enough to simplify, not forever.
        max_shrink_iters: 64,
        ..Config::default()
    };
    let outcome =
        TestRunner::new(config).run(&any_case(), |case| runtime.block_on(run_case(&desk, case)));
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
    let (rows, pages) = (desk.rows.into_inner(), desk.pages.into_inner());
    assert!(
        rows > 0 && pages > 0,
        "{rows} rows, {pages} pages after the first"
    );
}

/// The cells a row is written with: every field the server does not set, by name.
fn writable_cells(fields: &[FieldDef], seeds: &[u8], ctx: &Context) -> Map<String, Value> {
    fields
        .iter()
        .zip(seeds)
        .filter(|(f, _)| !f.field_type.is_read_only())
        .map(|(f, seed)| {
            let value = cell_json(&f.field_type, *seed, ctx);
            (f.name.as_str().to_owned(), value)
        })
        .collect()
}

async fn run_case(desk: &Desk, case: Case) -> Result<(), TestCaseError> {
    let app = &desk.app;
    let owner = &desk.cast.owner;
    let n = desk.tables.fetch_add(1, Ordering::Relaxed);
    let name = format!("Case {n}");
    let table = create_table(app, &owner.access_token, &desk.scene.workspace, &name).await;
    let table = table["id"].as_str().unwrap().to_owned();
    let mut fields = Vec::new();
    for index in 0..case.types.len() {
        let body = field_body(&case, index);
        fields.push(field_def(
            &create_field(app, &owner.access_token, &table, body).await,
        ));
    }
    let schema = Schema::new(fields.clone());
    let rows_path = format!("/api/v1/tables/{table}/rows");

    let start = app.clock.now();
    let mut ctx = Context {
        members: [&desk.cast.owner, &desk.cast.admin, &desk.cast.editor]
            .iter()
            .map(|u| u.id.clone())
            .collect(),
        stranger: Uuid::from_u128(1).to_string(),
        instants: (0..6).map(|ms| instant(start, ms)).collect(),
    };
    ctx.instants.push(instant(start, -1));
    let mut trashed = Vec::new();
    for seed in &case.rows {
        if seed.later {
            app.clock.advance(Duration::milliseconds(1));
        }
        let by = if seed.by_editor {
            &desk.cast.editor
        } else {
            owner
        };
        let cells = writable_cells(&fields, &seed.cells, &ctx);
        let (status, row) = app
            .call(Method::POST, &rows_path, by, Some(json!({"fields": cells})))
            .await;
        prop_assert_eq!(status, StatusCode::CREATED, "{}", row);
        if seed.edited {
            app.clock.advance(Duration::milliseconds(1));
            let other = if seed.by_editor {
                owner
            } else {
                &desk.cast.editor
            };
            let again: Vec<u8> = seed.cells.iter().rev().copied().collect();
            let cells = writable_cells(&fields, &again, &ctx);
            let path = format!("{rows_path}/{}", row["id"].as_str().unwrap());
            let (status, body) = app
                .call(Method::PATCH, &path, other, Some(json!({"fields": cells})))
                .await;
            prop_assert_eq!(status, StatusCode::OK, "{}", body);
        }
        if seed.trashed {
            trashed.push(row["id"].clone());
        }
    }
    if !trashed.is_empty() {
        let path = format!("{rows_path}/trash");
        let (status, body) = app
            .call(Method::POST, &path, owner, Some(json!({"ids": trashed})))
            .await;
        prop_assert_eq!(status, StatusCode::NO_CONTENT, "{}", body);
    }

    let (status, all) = app
        .call(Method::GET, &format!("{rows_path}?limit=1000"), owner, None)
        .await;
    prop_assert_eq!(status, StatusCode::OK, "{}", all);
    let live: Vec<Row> = items(&all)
        .iter()
        .map(|item| reference_row(&fields, item))
        .collect();
    prop_assert_eq!(live.len(), case.rows.len() - trashed.len());
    desk.rows.fetch_add(live.len(), Ordering::Relaxed);

    for seed in &case.queries {
        let query = to_query(seed, &fields, &ctx);
        for transport in [Transport::Url, Transport::Json] {
            let pages =
                page_through(app, owner, &rows_path, &schema, &live, &query, transport).await?;
            desk.pages.fetch_add(pages, Ordering::Relaxed);
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Copy)]
enum Transport {
    Url,
    Json,
}

/// Pages through `query` over `transport` from the start to its last page, each page
/// compared with the reference's; how many pages followed the first.
async fn page_through(
    app: &TestApp,
    by: &crate::helpers::TestUser,
    rows_path: &str,
    schema: &Schema,
    live: &[Row],
    query: &Query,
    transport: Transport,
) -> Result<usize, TestCaseError> {
    let written = query.to_query_string();
    let mut query = query.clone();
    for page_number in 0..=live.len() + 1 {
        let bound = bind(schema, &query)
            .map_err(|e| TestCaseError::fail(format!("{written} does not bind: {e}")))?;
        let expected = evaluate(&bound, live);
        let (status, page) = match transport {
            Transport::Url => {
                let path = format!("{rows_path}?{}", query.to_query_string());
                app.call(Method::GET, &path, by, None).await
            }
            Transport::Json => {
                let path = format!("{rows_path}/query");
                app.call(Method::POST, &path, by, Some(query.to_json()))
                    .await
            }
        };
        let context = format!("{transport:?} page {page_number} of {written}");
        prop_assert_eq!(status, StatusCode::OK, "{}: {}", context, page);
        prop_assert_eq!(
            as_json(&page),
            expected_json(&expected, &bound.select),
            "{}",
            context
        );
        match page["next_cursor"].as_str() {
            Some(token) => {
                query.cursor =
                    Some(Cursor::decode(token).map_err(|e| {
                        TestCaseError::fail(format!("{context}: cursor {token}: {e}"))
                    })?);
            }
            None => return Ok(page_number),
        }
    }
    Err(TestCaseError::fail(format!(
        "{transport:?} {written}: paging did not end after {} pages",
        live.len() + 2
    )))
}

/// A field as the API returned it, as binding sees it.
fn field_def(field: &Value) -> FieldDef {
    let mut settings = field.as_object().unwrap().clone();
    for key in [
        "id",
        "table_id",
        "name",
        "indexed",
        "position",
        "read_only",
        "created_at",
        "updated_at",
    ] {
        settings.remove(key);
    }
    FieldDef {
        id: field["id"].as_str().unwrap().parse().unwrap(),
        name: FieldName::parse(field["name"].as_str().unwrap()).unwrap(),
        field_type: serde_json::from_value::<FieldType>(Value::Object(settings))
            .unwrap_or_else(|e| panic!("{field}: {e}")),
    }
}

fn instant(start: DateTime<Utc>, ms: i64) -> String {
    (start + Duration::milliseconds(ms)).to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn items(page: &Value) -> &Vec<Value> {
    page["items"].as_array().expect("a page of items")
}

/// A row as the API read it back, with every field's value as the reference takes it.
fn reference_row(fields: &[FieldDef], item: &Value) -> Row {
    let cells = fields
        .iter()
        .map(|f| {
            let json = item["fields"][f.name.as_str()].clone();
            (f.id, cell_value(&f.field_type, json))
        })
        .collect();
    Row {
        id: item["id"].as_str().unwrap().parse().unwrap(),
        cells,
    }
}

/// A cell the API rendered, back as a typed value: system fields from their canonical
/// text, every other through the same validation a write goes through.
fn cell_value(field_type: &FieldType, json: Value) -> CellValue {
    let text = || json.as_str().unwrap_or_else(|| panic!("{json}"));
    match field_type {
        FieldType::Autonumber => CellValue::Integer(json.as_i64().unwrap()),
        FieldType::CreatedAt | FieldType::UpdatedAt => CellValue::Datetime(text().parse().unwrap()),
        FieldType::CreatedBy | FieldType::UpdatedBy => CellValue::User(text().parse().unwrap()),
        _ => validate(field_type, json.clone(), &Limits::default())
            .unwrap_or_else(|e| panic!("{json} read back is not valid: {e}")),
    }
}

/// What is compared of a page the API answered: each row's id and cells, and the cursor.
fn as_json(page: &Value) -> Value {
    let rows: Vec<Value> = items(page)
        .iter()
        .map(|item| json!({"id": item["id"], "fields": item["fields"]}))
        .collect();
    json!({"rows": rows, "next_cursor": page["next_cursor"]})
}

/// The reference's page in the same shape, cells rendered as the API renders them.
fn expected_json(page: &Page, select: &[FieldDef]) -> Value {
    let rows: Vec<Value> = page
        .rows
        .iter()
        .map(|row| {
            let cells: &BTreeMap<Uuid, CellValue> = &row.cells;
            let fields = render_cells(select, FieldsBy::Name, |f| {
                cells.get(&f.id).map_or(Value::Null, CellValue::to_json)
            });
            json!({"id": row.id.to_string(), "fields": fields})
        })
        .collect();
    let cursor = page.next_cursor.as_ref().map(Cursor::encode);
    json!({"rows": rows, "next_cursor": cursor})
}
