//! A live table's rows through the real server: every field type written, read, filtered
//! and sorted; bulk writes all or none; cells of one row edited at once by two people;
//! `If-Match`; the trash; roles; and the request helpers the other row tests share.
//! Queries and exports are in `table_row_reads`, history and events in
//! `table_row_events`.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, assert_problem, json_body, spawn_app};
use crate::tables_helpers::{create_field, create_table};
use crate::tenancy_helpers::{Cast, Scene, created};

/// A table with one field of every type, in a scene with every role.
pub struct Sheet {
    pub cast: Cast,
    pub table: String,
}

impl Sheet {
    pub async fn new(app: &TestApp) -> Self {
        let cast = Cast::new(app).await;
        let scene = Scene::new(app, &cast).await;
        let table = app
            .table_with(&scene.workspace, &cast.owner, &every_type())
            .await;
        Self { cast, table }
    }

    pub fn rows(&self) -> String {
        format!("/api/v1/tables/{}/rows", self.table)
    }
}

/// One field of every type, named after its type.
pub fn every_type() -> Vec<Value> {
    let options = json!([
        {"id": "todo", "name": "To do"},
        {"id": "done", "name": "Done"},
        {"id": "blocked", "name": "Blocked"}
    ]);
    vec![
        json!({"name": "Title", "type": "text"}),
        json!({"name": "Notes", "type": "long_text"}),
        json!({"name": "Price", "type": "number", "precision": 2}),
        json!({"name": "Paid", "type": "boolean"}),
        json!({"name": "Due", "type": "date"}),
        json!({"name": "At", "type": "datetime"}),
        json!({"name": "Status", "type": "single_select", "options": options}),
        json!({"name": "Tags", "type": "multi_select", "options": options}),
        json!({"name": "Owner", "type": "user"}),
        json!({"name": "Email", "type": "email"}),
        json!({"name": "Site", "type": "url"}),
        json!({"name": "Data", "type": "json"}),
        json!({"name": "No", "type": "autonumber"}),
        json!({"name": "Created", "type": "created_at"}),
        json!({"name": "Changed", "type": "updated_at"}),
        json!({"name": "Author", "type": "created_by"}),
        json!({"name": "Editor", "type": "updated_by"}),
    ]
}

impl TestApp {
    /// A table named "Tasks" with these fields; its id.
    pub async fn table_with(&self, workspace: &str, by: &TestUser, fields: &[Value]) -> String {
        let token = &by.access_token;
        let table = create_table(self, token, workspace, "Tasks").await;
        let id = table["id"].as_str().unwrap().to_owned();
        for field in fields {
            create_field(self, token, &id, field.clone()).await;
        }
        id
    }

    /// `method path` as `by`, answering the status and the JSON body (`null` if none).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        by: &TestUser,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let response = self.send(method, path, &by.access_token, body).await;
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// The ids of a page of rows read with `query`.
    pub async fn row_ids(&self, rows: &str, query: &str, by: &TestUser) -> Vec<String> {
        let (status, page) = self
            .call(Method::GET, &format!("{rows}?{query}"), by, None)
            .await;
        assert_eq!(status, StatusCode::OK, "{query}: {page}");
        ids(&page["items"])
    }
}

pub fn ids(items: &Value) -> Vec<String> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

fn full_row(owner: &TestUser) -> Value {
    json!({
        "Title": "Ünïcödé ☕ tea",
        "Notes": "line one\nline two",
        "Price": 12.345,
        "Paid": true,
        "Due": "2026-12-24",
        "At": "2026-12-07T10:11:12.5+01:00",
        "Status": "Done",
        "Tags": ["todo", "Blocked"],
        "Owner": owner.id,
        "Email": " ada@example.com ",
        "Site": "https://example.com/a?b=c",
        "Data": {"nested": [1, 2, {"deep": null}]},
    })
}

#[tokio::test]
async fn every_field_type_is_written_and_read_back_in_its_canonical_form() {
    let app = spawn_app().await;
    let sheet = Sheet::new(&app).await;
    let owner = &sheet.cast.owner;
    let (status, row) = app
        .call(
            Method::POST,
            &sheet.rows(),
            owner,
            Some(json!({"fields": full_row(owner)})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{row}");
    let f = &row["fields"];
    assert_eq!(f["Title"], "Ünïcödé ☕ tea");
    assert_eq!(f["Notes"], "line one\nline two");
    assert_eq!(f["Price"], 12.35);
    assert_eq!(f["Paid"], true);
    assert_eq!(f["Due"], "2026-12-24");
    assert_eq!(f["At"], "2026-12-07T09:11:12.500000Z");
    assert_eq!(f["Status"], "done");
    assert_eq!(f["Tags"], json!(["todo", "blocked"]));
    assert_eq!(f["Owner"], owner.id.as_str());
    assert_eq!(f["Email"], "ada@example.com");
    assert_eq!(f["Data"], json!({"nested": [1, 2, {"deep": null}]}));
    assert_eq!(f["No"], 1);
    assert_eq!(f["Author"], owner.id.as_str());
    assert_eq!(f["Editor"], owner.id.as_str());
    assert_eq!(f["Created"], f["Changed"]);
    assert_eq!(row["version"], 1);

    let id = row["id"].as_str().unwrap();
    let (status, read) = app
        .call(
            Method::GET,
            &format!("{}/{id}", sheet.rows()),
            &sheet.cast.viewer,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read["fields"], row["fields"]);

    // Every type filters on its own value and sorts.
    let owner_filter = format!("Owner=eq.{}", owner.id);
    for filter in [
        "Title=eq.Ünïcödé ☕ tea",
        "Title=ilike.*TEA",
        "Price=gte.12.35",
        "Paid=is.true",
        "Due=lt.2027-01-01",
        "At=gt.2026-12-07T09:00:00Z",
        "Status=eq.done",
        "Tags=eq.blocked",
        owner_filter.as_str(),
        "Email=like.*example.com",
        "No=eq.1",
        "Data=not.is.null",
    ] {
        let query = utf8_query(filter);
        assert_eq!(
            app.row_ids(&sheet.rows(), &query, owner).await,
            vec![id.to_owned()],
            "{filter}"
        );
    }
    for filter in ["Notes=is.null", "Title=like.*TEA", "Price=lt.12.35"] {
        let query = utf8_query(filter);
        assert!(
            app.row_ids(&sheet.rows(), &query, owner).await.is_empty(),
            "{filter}"
        );
    }
    for field in [
        "Title", "Price", "Paid", "Due", "At", "Status", "Owner", "No", "Created",
    ] {
        let query = format!("order={field}.desc.nullsfirst");
        assert_eq!(
            app.row_ids(&sheet.rows(), &query, owner).await,
            vec![id.to_owned()]
        );
    }
}

/// Percent-encodes what a browser would in a query value.
fn utf8_query(raw: &str) -> String {
    raw.split('&')
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap();
            format!("{}={}", encode(k), encode(v))
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'*' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn a_bulk_write_with_one_bad_row_writes_nothing_and_names_the_cell() {
    let app = spawn_app().await;
    let sheet = Sheet::new(&app).await;
    let owner = &sheet.cast.owner;
    let body = json!({"rows": [
        {"fields": {"Title": "one", "Price": 1}},
        {"fields": {"Title": "two", "Price": "two", "Nope": 1}},
        {"fields": {"Title": "three", "No": 9}},
    ]});
    let response = app
        .send(Method::POST, &sheet.rows(), &owner.access_token, Some(body))
        .await;
    let problem = assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let errors: Vec<(String, String)> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().into(),
                e["code"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        errors,
        vec![
            ("rows[1].fields.Nope".into(), "unknown_field".into()),
            ("rows[1].fields.Price".into(), "wrong_type".into()),
            ("rows[2].fields.No".into(), "read_only_field".into()),
        ]
    );
    assert!(app.row_ids(&sheet.rows(), "", owner).await.is_empty());

    let too_many: Vec<Value> = (0..1001).map(|_| json!({"fields": {}})).collect();
    let response = app
        .send(
            Method::POST,
            &sheet.rows(),
            &owner.access_token,
            Some(json!({"rows": too_many})),
        )
        .await;
    assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "too_many_rows").await;

    let stranger = app.new_user().await;
    let response = app
        .send(
            Method::POST,
            &sheet.rows(),
            &owner.access_token,
            Some(json!({"fields": {"Owner": stranger.id}})),
        )
        .await;
    let problem = assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["code"], "not_a_member");
}

pub async fn one_row(app: &TestApp, sheet: &Sheet, fields: Value) -> Value {
    created(
        app.send(
            Method::POST,
            &sheet.rows(),
            &sheet.cast.editor.access_token,
            Some(json!({"fields": fields})),
        )
        .await,
    )
    .await
}

#[tokio::test]
async fn two_people_editing_different_cells_of_one_row_both_keep_their_edit() {
    let app = spawn_app().await;
    let sheet = Sheet::new(&app).await;
    let row = one_row(&app, &sheet, json!({"Title": "a", "Price": 1})).await;
    let path = format!("{}/{}", sheet.rows(), row["id"].as_str().unwrap());
    for round in 0..10 {
        let (a, b) = tokio::join!(
            app.call(
                Method::PATCH,
                &path,
                &sheet.cast.editor,
                Some(json!({"fields": {"Title": format!("t{round}")}}))
            ),
            app.call(
                Method::PATCH,
                &path,
                &sheet.cast.owner,
                Some(json!({"fields": {"Price": round}}))
            ),
        );
        assert_eq!((a.0, b.0), (StatusCode::OK, StatusCode::OK), "{a:?} {b:?}");
        let (_, now) = app.call(Method::GET, &path, &sheet.cast.viewer, None).await;
        assert_eq!(now["fields"]["Title"], format!("t{round}"));
        assert_eq!(now["fields"]["Price"].as_f64(), Some(f64::from(round)));
    }
}

#[tokio::test]
async fn if_match_writes_only_over_the_version_named() {
    let app = spawn_app().await;
    let sheet = Sheet::new(&app).await;
    let row = one_row(&app, &sheet, json!({"Title": "a"})).await;
    let path = format!("{}/{}", sheet.rows(), row["id"].as_str().unwrap());
    let read = app
        .send(Method::GET, &path, &sheet.cast.editor.access_token, None)
        .await;
    assert_eq!(read.headers()["etag"], "W/\"1\"");
    let patch = |version: &'static str| {
        app.client
            .patch(app.url(&path))
            .bearer_auth(&sheet.cast.editor.access_token)
            .header("if-match", version)
            .json(&json!({"fields": {"Title": "b"}}))
            .send()
    };
    let ok = patch("\"1\"").await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(json_body(ok).await["version"], 2);
    let stale = patch("\"1\"").await.unwrap();
    assert_problem(
        stale,
        StatusCode::PRECONDITION_FAILED,
        "precondition_failed",
    )
    .await;
    let bad = patch("yesterday").await.unwrap();
    assert_problem(bad, StatusCode::BAD_REQUEST, "invalid_if_match").await;
    // Writing a cell its own value changes nothing, so the version stays.
    let (_, same) = app
        .call(
            Method::PATCH,
            &path,
            &sheet.cast.editor,
            Some(json!({"fields": {"Title": "b"}})),
        )
        .await;
    assert_eq!(same["version"], 2);
}

#[tokio::test]
async fn trashed_rows_leave_every_read_and_come_back_on_restore() {
    let app = spawn_app().await;
    let sheet = Sheet::new(&app).await;
    let a = one_row(&app, &sheet, json!({"Title": "a"})).await;
    let b = one_row(&app, &sheet, json!({"Title": "b"})).await;
    let (a, b) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    let editor = &sheet.cast.editor;
    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("{}/{a}", sheet.rows()),
            editor,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.row_ids(&sheet.rows(), "", editor).await,
        vec![b.to_owned()]
    );
    let (status, _) = app
        .call(Method::GET, &format!("{}/{a}", sheet.rows()), editor, None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, trash) = app
        .call(
            Method::GET,
            &format!("/api/v1/tables/{}/trash", sheet.table),
            editor,
            None,
        )
        .await;
    assert_eq!(ids(&trash["items"]), vec![a.to_owned()]);
    assert!(trash["items"][0]["deleted_at"].is_string());
    // Trashing a trashed row is a missing row; restoring brings it back, whole.
    let response = app
        .send(
            Method::DELETE,
            &format!("{}/{a}", sheet.rows()),
            &editor.access_token,
            None,
        )
        .await;
    assert_problem(response, StatusCode::NOT_FOUND, "row_not_found").await;
    let (status, restored) = app
        .call(
            Method::POST,
            &format!("{}/restore", sheet.rows()),
            editor,
            Some(json!({"ids": [a]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{restored}");
    assert_eq!(restored["items"][0]["fields"]["Title"], "a");
    let mut both = app.row_ids(&sheet.rows(), "", editor).await;
    both.sort();
    let mut expect = vec![a.to_owned(), b.to_owned()];
    expect.sort();
    assert_eq!(both, expect);
    // A bulk trash is all or none.
    let missing = uuid::Uuid::now_v7().to_string();
    let response = app
        .send(
            Method::POST,
            &format!("{}/trash", sheet.rows()),
            &editor.access_token,
            Some(json!({"ids": [a, missing]})),
        )
        .await;
    assert_problem(response, StatusCode::NOT_FOUND, "row_not_found").await;
    assert_eq!(app.row_ids(&sheet.rows(), "", editor).await.len(), 2);
}

#[tokio::test]
async fn viewers_read_rows_editors_write_them_outsiders_see_nothing() {
    let app = spawn_app().await;
    let sheet = Sheet::new(&app).await;
    let row = one_row(&app, &sheet, json!({"Title": "a"})).await;
    let path = format!("{}/{}", sheet.rows(), row["id"].as_str().unwrap());
    let viewer = &sheet.cast.viewer;
    assert_eq!(
        app.call(Method::GET, &path, viewer, None).await.0,
        StatusCode::OK
    );
    for (method, path, body) in [
        (Method::POST, sheet.rows(), Some(json!({"fields": {}}))),
        (
            Method::PATCH,
            path.clone(),
            Some(json!({"fields": {"Title": "x"}})),
        ),
        (Method::DELETE, path.clone(), None),
    ] {
        let response = app.send(method, &path, &viewer.access_token, body).await;
        assert_problem(response, StatusCode::FORBIDDEN, "forbidden").await;
    }
    let outsider = &sheet.cast.outsider;
    assert_eq!(
        app.call(Method::GET, &path, outsider, None).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.call(Method::GET, &sheet.rows(), outsider, None).await.0,
        StatusCode::NOT_FOUND
    );
}
