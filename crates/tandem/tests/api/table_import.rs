//! CSV import through the real server: a preview that infers types and writes nothing,
//! an import that creates fields and rows through a `table_import` job with progress and
//! `row.created` events, a table's CSV export imported into a fresh table with the same
//! cells, and the refusals: malformed CSV, refused cells, too large a body, viewers.

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, assert_problem, json_body, spawn_app, spawn_app_with};
use crate::socket::Auth;
use crate::table_rows::Sheet;
use crate::tables_helpers::{create_table, id, read, table};
use crate::tenancy_helpers::{Cast, Scene};

impl TestApp {
    /// `POST /tables/{table}/import{suffix}` with `csv` as a `text/csv` body.
    async fn post_csv(&self, table: &str, suffix: &str, by: &TestUser, csv: &[u8]) -> Response {
        self.client
            .post(self.url(&format!("/api/v1/tables/{table}/import{suffix}")))
            .bearer_auth(&by.access_token)
            .header("content-type", "text/csv")
            .body(csv.to_vec())
            .send()
            .await
            .expect("a response")
    }

    /// Imports `csv`, expecting 202, and waits for the job to finish; the job.
    async fn import(&self, table: &str, by: &TestUser, csv: &[u8]) -> Value {
        let response = self.post_csv(table, "", by, csv).await;
        let status = response.status();
        let job = json_body(response).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{job}");
        assert_eq!(job["kind"], "table_import");
        let id = job["id"].as_str().unwrap().to_owned();
        self.finished_job(&id, &by.access_token).await
    }

    /// The table's rows as CSV text, with the columns `query` selects.
    async fn export(&self, table: &str, by: &TestUser, query: &str) -> String {
        let response = self
            .send(
                Method::GET,
                &format!("/api/v1/tables/{table}/rows.csv{query}"),
                &by.access_token,
                None,
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        response.text().await.unwrap()
    }
}

const SAMPLE: &str = "Title,Price,Paid,Due,Status,Tags,Notes\r\n\
    Tea,4.5,yes,2026-01-02,Doing,\"red, blue\",\"two\nlines\"\r\n\
    Cake,12.25,no,2026-01-03,Done,red,\r\n\
    Pie,3,no,2026-01-04,Doing,blue,x\r\n";

#[tokio::test]
async fn a_preview_infers_each_columns_type_and_writes_nothing() {
    let app = spawn_app().await;
    let (cast, _, table) = table(&app).await;
    let response = app
        .post_csv(&table, "/preview", &cast.editor, SAMPLE.as_bytes())
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let preview = json_body(response).await;
    assert_eq!(preview["rows"], 3);
    let created: Vec<(&str, &str)> = preview["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["column"].as_str().unwrap(),
                c["create"]["type"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        created,
        vec![
            ("Title", "text"),
            ("Price", "number"),
            ("Paid", "boolean"),
            ("Due", "date"),
            ("Status", "single_select"),
            ("Tags", "multi_select"),
            ("Notes", "long_text"),
        ]
    );
    assert_eq!(preview["columns"][1]["create"]["precision"], 2);
    let first = &preview["sample"][0];
    assert_eq!(first["line"], 2);
    assert_eq!(first["fields"]["Price"], 4.5);
    assert_eq!(first["fields"]["Paid"], true);
    assert_eq!(preview["invalid_cells"], 0);
    let fields = read(
        &app,
        &cast.viewer.access_token,
        &format!("/api/v1/tables/{table}/fields"),
    )
    .await;
    assert_eq!(fields["items"], json!([]), "the preview created no field");
    let rows = read(
        &app,
        &cast.viewer.access_token,
        &format!("/api/v1/tables/{table}/rows"),
    )
    .await;
    assert_eq!(rows["items"], json!([]));
}

#[tokio::test]
async fn a_preview_maps_columns_to_existing_fields_and_reports_refused_cells() {
    let app = spawn_app().await;
    let sheet = Sheet::new(&app).await;
    let csv = "title,Price,No,Extra\nTea,cheap,1,x\nCake,2,2,y\n";
    let response = app
        .post_csv(
            &sheet.table,
            "/preview?create_fields=false",
            &sheet.cast.editor,
            csv.as_bytes(),
        )
        .await;
    let preview = json_body(response).await;
    let columns = preview["columns"].as_array().unwrap();
    assert_eq!(columns[0]["field"]["name"], "Title");
    assert_eq!(columns[2]["skipped"], "read_only_field");
    assert_eq!(columns[3]["skipped"], "no_field");
    assert_eq!(preview["invalid_cells"], 1);
    assert_eq!(preview["errors"][0]["field"], "rows[0].Price");
    assert_eq!(preview["errors"][0]["code"], "wrong_type");
    assert_eq!(preview["sample"][0]["errors"][0]["code"], "wrong_type");
    assert_eq!(preview["sample"][1]["fields"]["Price"], 2.0);
    let response = app
        .post_csv(&sheet.table, "", &sheet.cast.editor, csv.as_bytes())
        .await;
    let problem = assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "import_invalid_cells",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "rows[0].Price");
    let rows = read(&app, &sheet.cast.viewer.access_token, &sheet.rows()).await;
    assert_eq!(rows["items"], json!([]), "a refused import writes nothing");
}

#[tokio::test]
async fn an_import_creates_fields_and_rows_in_batches_with_progress_and_row_events() {
    let app = spawn_app().await;
    let (cast, _, table) = table(&app).await;
    let mut socket = app.socket(Auth::Header(&cast.viewer.access_token)).await;
    let ack = socket
        .request(
            json!({"type": "subscribe", "channel": format!("table:{table}")}),
            "s",
        )
        .await;
    assert_eq!(ack["type"], "ack", "{ack}");
    let mut csv = String::from("Name,Score\n");
    for i in 0..2_500 {
        csv.push_str(&format!("row {i},{}\n", i % 97));
    }
    let job = app.import(&table, &cast.editor, csv.as_bytes()).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    // Progress writes are throttled: the last stored report may lag behind the end.
    assert_eq!(job["progress"]["rows_total"], 2500, "{job}");
    assert_eq!(job["result"]["rows_imported"], 2500);
    let mut seen = 0;
    while seen < 2_500 {
        let event = socket.event_named("row.created").await;
        let rows = event["data"]["rows"].as_array().unwrap().len();
        assert!(rows <= 1_000, "one event per batch of at most 1,000");
        seen += rows;
    }
    assert_eq!(seen, 2_500);
    let fields = read(
        &app,
        &cast.viewer.access_token,
        &format!("/api/v1/tables/{table}/fields"),
    )
    .await;
    let types: Vec<&str> = fields["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, vec!["text", "number"]);
    let exported = app.export(&table, &cast.viewer, "").await;
    let lines: Vec<&str> = exported.lines().collect();
    assert_eq!(lines.len(), 2_501);
    // Numbers read back in the API's spelling (`0.0`); the order is the file's.
    assert!(lines[1].starts_with("row 0,0"), "{}", lines[1]);
    assert!(lines[2_500].starts_with("row 2499,74"), "{}", lines[2_500]);
}

#[tokio::test]
async fn an_exported_table_imports_into_a_fresh_table_with_the_same_cells() {
    let app = spawn_app().await;
    let sheet = Sheet::new(&app).await;
    let editor = &sheet.cast.editor;
    let rows = json!({"rows": [
        {"fields": {"Title": "Tea, hot", "Notes": "one\ntwo", "Price": 4.5, "Paid": true,
            "Due": "2026-01-02", "At": "2026-01-02T10:00:00Z", "Status": "todo",
            "Tags": ["todo", "done"], "Email": "a@example.com", "Site": "https://example.com/a",
            "Data": {"a": [1, 2]}}},
        {"fields": {"Title": "Cake \"big\"", "Price": 12.25, "Paid": false, "Status": "done",
            "Tags": ["done"], "Owner": sheet.cast.viewer.id}},
        {"fields": {"Title": "Pie", "Status": "todo", "Tags": ["blocked", "todo"]}},
    ]});
    let (status, made) = app
        .call(Method::POST, &sheet.rows(), editor, Some(rows))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let exported = app.export(&sheet.table, editor, "").await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let fresh = create_table(&app, &cast.owner.access_token, &scene.workspace, "Copy").await;
    let fresh = id(&fresh).to_owned();
    let job = app.import(&fresh, &cast.editor, exported.as_bytes()).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    // Every stored field's cells are the same; the system fields became stored ones
    // (an autonumber a number, which reads `1.0` where the autonumber read `1`).
    let stored = "?select=Title,Notes,Price,Paid,Due,At,Status,Tags,Owner,Email,Site,Data";
    assert_eq!(
        app.export(&fresh, &cast.editor, stored).await,
        app.export(&sheet.table, editor, stored).await
    );
}

#[tokio::test]
async fn malformed_csv_is_refused_with_a_code_naming_the_line() {
    let app = spawn_app().await;
    let (cast, _, table) = table(&app).await;
    for (csv, code) in [
        (&b"A,B\n1,2\n3\n"[..], "csv_ragged_row"),
        (&b"A\nok\n\xff\xfe\n"[..], "csv_invalid_utf8"),
        (&b""[..], "csv_empty"),
        (&b"A,a\n1,2\n"[..], "csv_duplicate_column"),
    ] {
        for suffix in ["", "/preview"] {
            let response = app.post_csv(&table, suffix, &cast.editor, csv).await;
            let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, code).await;
            if code == "csv_ragged_row" {
                assert!(
                    problem["detail"].as_str().unwrap().contains("line 3"),
                    "{problem}"
                );
            }
        }
    }
    let response = app
        .send(
            Method::POST,
            &format!("/api/v1/tables/{table}/import"),
            &cast.editor.access_token,
            Some(json!({})),
        )
        .await;
    assert_problem(
        response,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
}

#[tokio::test]
async fn an_import_larger_than_the_limit_is_refused() {
    let app = spawn_app_with(|s| s.tables_import_max_bytes = 1024).await;
    let (cast, _, table) = table(&app).await;
    let csv = format!("A\n{}", "x\n".repeat(600));
    for suffix in ["", "/preview"] {
        let response = app
            .post_csv(&table, suffix, &cast.editor, csv.as_bytes())
            .await;
        assert_problem(response, StatusCode::PAYLOAD_TOO_LARGE, "import_too_large").await;
    }
}

#[tokio::test]
async fn viewers_may_not_import_or_preview() {
    let app = spawn_app().await;
    let (cast, _, table) = table(&app).await;
    for suffix in ["", "/preview"] {
        let response = app
            .post_csv(&table, suffix, &cast.viewer, SAMPLE.as_bytes())
            .await;
        assert_problem(response, StatusCode::FORBIDDEN, "forbidden").await;
    }
    let response = app
        .post_csv(&table, "", &cast.outsider, SAMPLE.as_bytes())
        .await;
    assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
}
