//! Reading a live table's rows through the real server: query errors pointing at their
//! part, keyset pages walking every row once, opt-in counts, the JSON twin of the URL
//! grammar, and streamed CSV and JSON exports.

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{json_body, spawn_app};
use crate::table_rows::{Sheet, ids};

#[tokio::test]
async fn a_bad_query_answers_400_pointing_at_its_part() {
    let app = spawn_app().await;
    let sheet = Sheet::new(&app).await;
    let viewer = &sheet.cast.viewer;
    let cases = [
        ("Title=eq", "malformed_filter"),
        ("Nope=eq.1", "unknown_field"),
        ("Paid=like.x", "operator_not_allowed"),
        ("order=Tags.asc", "unsortable_field"),
        ("cursor=garbage", "invalid_cursor"),
        ("Price=gt.cheap", "invalid_value"),
    ];
    for (query, code) in cases {
        let response = app
            .send(
                Method::GET,
                &format!("{}?{query}", sheet.rows()),
                &viewer.access_token,
                None,
            )
            .await;
        let status = response.status();
        let problem = json_body(response).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {problem}");
        assert!(
            problem["code"]
                .as_str()
                .unwrap()
                .contains(code.split('_').next().unwrap()),
            "{query}: {problem}"
        );
    }
    let response = app
        .send(
            Method::GET,
            &format!("{}?or=(Title.eq.a,Price.zz.1)", sheet.rows()),
            &viewer.access_token,
            None,
        )
        .await;
    let problem = json_body(response).await;
    assert_eq!(problem["errors"][0]["field"], "or", "{problem}");
}

#[tokio::test]
async fn keyset_pages_walk_every_row_once_in_order_and_counts_are_opt_in() {
    let app = spawn_app().await;
    let sheet = Sheet::new(&app).await;
    let owner = &sheet.cast.owner;
    let rows: Vec<Value> = (0..25)
        .map(|i| json!({"fields": {"Title": format!("r{}", i % 7), "Price": if i % 5 == 0 { Value::Null } else { json!(i) }}}))
        .collect();
    let (status, _) = app
        .call(
            Method::POST,
            &sheet.rows(),
            owner,
            Some(json!({"rows": rows})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let everything = app
        .row_ids(
            &sheet.rows(),
            "order=Title.desc,Price.asc.nullsfirst&limit=1000",
            owner,
        )
        .await;
    assert_eq!(everything.len(), 25);
    let mut walked = Vec::new();
    let mut cursor = String::new();
    loop {
        let (_, page) = app
            .call(
                Method::GET,
                &format!(
                    "{}?order=Title.desc,Price.asc.nullsfirst&limit=4{cursor}",
                    sheet.rows()
                ),
                owner,
                None,
            )
            .await;
        assert!(page.get("count").is_none());
        walked.extend(ids(&page["items"]));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(walked, everything);
    let counted: Response = app
        .client
        .get(app.url(&format!("{}?Price=is.null&limit=1", sheet.rows())))
        .bearer_auth(&owner.access_token)
        .header("prefer", "count=exact")
        .send()
        .await
        .unwrap();
    assert_eq!(counted.headers()["preference-applied"], "count=exact");
    assert_eq!(json_body(counted).await["count"], 5);
}

#[tokio::test]
async fn the_json_query_twin_answers_as_the_url_grammar_does() {
    let app = spawn_app().await;
    let sheet = Sheet::new(&app).await;
    let owner = &sheet.cast.owner;
    let rows: Vec<Value> = (0..6)
        .map(|i| json!({"fields": {"Title": format!("t{i}"), "Price": i}}))
        .collect();
    app.call(
        Method::POST,
        &sheet.rows(),
        owner,
        Some(json!({"rows": rows})),
    )
    .await;
    let by_url = app
        .row_ids(
            &sheet.rows(),
            "or=(Price.lt.2,Title.eq.t5)&order=Price.desc",
            owner,
        )
        .await;
    let body = json!({
        "filter": {"or": [
            {"field": "Price", "op": "lt", "value": 2},
            {"field": "Title", "op": "eq", "value": "t5"}
        ]},
        "order": [{"field": "Price", "direction": "desc"}]
    });
    let (status, page) = app
        .call(
            Method::POST,
            &format!("{}/query", sheet.rows()),
            owner,
            Some(body),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(ids(&page["items"]), by_url);
    assert_eq!(by_url.len(), 3);
}

#[tokio::test]
async fn exports_stream_every_matching_row_as_csv_and_json() {
    let app = spawn_app().await;
    let sheet = Sheet::new(&app).await;
    let owner = &sheet.cast.owner;
    let rows: Vec<Value> = (0..2500)
        .map(|i| json!({"fields": {"Title": format!("line \"{i}\", ok"), "Price": i, "Tags": ["todo", "done"]}}))
        .collect();
    for chunk in rows.chunks(1000) {
        let (status, _) = app
            .call(
                Method::POST,
                &sheet.rows(),
                owner,
                Some(json!({"rows": chunk})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let csv = app
        .send(
            Method::GET,
            &format!(
                "/api/v1/tables/{}/rows.csv?select=Title,Price,Tags&order=Price.asc&Price=gte.10",
                sheet.table
            ),
            &owner.access_token,
            None,
        )
        .await;
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 1 + 2490);
    assert_eq!(lines[0], "Title,Price,Tags");
    assert_eq!(lines[1], "\"line \"\"10\"\", ok\",10.0,\"To do, Done\"");
    let json = app
        .send(
            Method::GET,
            &format!("/api/v1/tables/{}/rows.json?Price=lt.1500", sheet.table),
            &owner.access_token,
            None,
        )
        .await;
    let all: Vec<Value> = serde_json::from_str(&json.text().await.unwrap()).unwrap();
    assert_eq!(all.len(), 1500);
}
