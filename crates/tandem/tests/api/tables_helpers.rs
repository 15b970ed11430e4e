//! Helpers for the live tables' tests: tables and fields made over REST, requests that
//! expect success, and rows written through the store.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tandem_domain::{AuditContext, Clock, RowId, TableId, UserId};
use tandem_store::NewRow;
use tandem_tables::field::{Limits, validate};

use crate::helpers::{TestApp, json_body};
use crate::tenancy_helpers::{Cast, Scene, created};

/// Creates a table named `name` in `workspace`; its JSON.
pub async fn create_table(app: &TestApp, token: &str, workspace: &str, name: &str) -> Value {
    let path = format!("/api/v1/workspaces/{workspace}/tables");
    created(
        app.send(Method::POST, &path, token, Some(json!({"name": name})))
            .await,
    )
    .await
}

/// Creates a field of `table` from `body`; its JSON.
pub async fn create_field(app: &TestApp, token: &str, table: &str, body: Value) -> Value {
    let path = format!("/api/v1/tables/{table}/fields");
    created(app.send(Method::POST, &path, token, Some(body)).await).await
}

/// `GET path` as `token`, expecting 200; the body.
pub async fn read(app: &TestApp, token: &str, path: &str) -> Value {
    let response = app.send(Method::GET, path, token, None).await;
    let status = response.status();
    let body = json_body(response).await;
    assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
    body
}

/// `method path` with `body` as `token`, expecting 200; the body.
pub async fn change(app: &TestApp, token: &str, method: Method, path: &str, body: Value) -> Value {
    let response = app.send(method.clone(), path, token, Some(body)).await;
    let status = response.status();
    let body = json_body(response).await;
    assert_eq!(status, StatusCode::OK, "{method} {path}: {body}");
    body
}

pub fn id(value: &Value) -> &str {
    value["id"].as_str().expect("an id")
}

/// A fresh scene with a table the owner made; the cast and the table's id.
pub async fn table(app: &TestApp) -> (Cast, Scene, String) {
    let cast = Cast::new(app).await;
    let scene = Scene::new(app, &cast).await;
    let table = create_table(app, &cast.owner.access_token, &scene.workspace, "Tasks").await;
    let id = id(&table).to_owned();
    (cast, scene, id)
}

/// Three options of a select, one without a color.
pub fn options() -> Value {
    json!([
        {"id": "todo", "name": "To do", "color": "gray"},
        {"id": "doing", "name": "Doing", "color": "#3b82f6"},
        {"id": "done", "name": "Done"},
    ])
}

/// Inserts one row per value of `values` into `table`, each with that value in the field
/// `field` (null for an empty cell), through the store itself: rows have no REST routes
/// yet, and type changes need cells to convert.
pub async fn insert_rows(app: &TestApp, actor: &str, table: &str, field: &str, values: &[Value]) {
    let store = app.database.store().await;
    let table = TableId(table.parse().expect("a table id"));
    let fields = store.list_fields(table).await.expect("the fields");
    let target = fields
        .iter()
        .find(|f| f.id.0.to_string() == field)
        .expect("the field is the table's");
    let at = app.clock.now();
    let rows: Vec<NewRow> = values
        .iter()
        .map(|value| {
            let cell = validate(&target.field_type, value.clone(), &Limits::default())
                .unwrap_or_else(|e| panic!("{value} is not a valid cell: {e}"));
            NewRow {
                id: RowId::new(at),
                cells: vec![(target.id, cell)],
            }
        })
        .collect();
    let audit = AuditContext {
        actor: UserId(actor.parse().expect("a user id")),
        request_id: None,
        at,
    };
    store
        .insert_rows(table, &fields, &rows, &audit)
        .await
        .expect("the rows are inserted");
}
