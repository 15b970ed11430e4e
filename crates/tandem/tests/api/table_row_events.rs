//! What is recorded and announced of a row's changes: its history (actor, time, per field
//! before and after) and the row events of the `table:{id}` channel, with replay.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::spawn_app;
use crate::table_rows::{Sheet, one_row};

#[tokio::test]
async fn history_lists_each_change_with_its_actor_and_before_and_after() {
    let app = spawn_app().await;
    let sheet = Sheet::new(&app).await;
    let row = one_row(&app, &sheet, json!({"Title": "a", "Price": 1})).await;
    let path = format!("{}/{}", sheet.rows(), row["id"].as_str().unwrap());
    app.call(
        Method::PATCH,
        &path,
        &sheet.cast.owner,
        Some(json!({"fields": {"Title": "b"}})),
    )
    .await;
    app.call(
        Method::PATCH,
        &path,
        &sheet.cast.editor,
        Some(json!({"fields": {"Price": 2, "Title": "b"}})),
    )
    .await;
    app.call(Method::DELETE, &path, &sheet.cast.editor, None)
        .await;
    let (status, history) = app
        .call(
            Method::GET,
            &format!("{path}/history"),
            &sheet.cast.viewer,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{history}");
    let items = history["items"].as_array().unwrap();
    let actions: Vec<&str> = items
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, vec!["trashed", "updated", "updated", "created"]);
    let price = items[1]["changes"].as_object().unwrap();
    assert_eq!(price.len(), 1, "only the price changed: {price:?}");
    let change = price.values().next().unwrap();
    assert_eq!(change["name"], "Price");
    assert_eq!(
        (change["before"].clone(), change["after"].clone()),
        (json!(1.0), json!(2.0))
    );
    assert_eq!(items[1]["actor"], sheet.cast.editor.id.as_str());
    assert_eq!(items[2]["actor"], sheet.cast.owner.id.as_str());
    let title = items[2]["changes"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()
        .clone();
    assert_eq!(title, json!({"name": "Title", "before": "a", "after": "b"}));
    // Paged one entry at a time, the same entries come in the same order.
    let mut paged = Vec::new();
    let mut cursor = String::new();
    loop {
        let (_, page) = app
            .call(
                Method::GET,
                &format!("{path}/history?limit=1{cursor}"),
                &sheet.cast.viewer,
                None,
            )
            .await;
        paged.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["version"].clone()),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(paged, vec![json!(4), json!(3), json!(2), json!(1)]);
}

#[tokio::test]
async fn row_events_reach_the_table_channel_one_per_call_with_only_the_changed_cells() {
    use crate::socket::Auth;
    let app = spawn_app().await;
    let sheet = Sheet::new(&app).await;
    let channel = format!("table:{}", sheet.table);
    let mut socket = app
        .socket(Auth::Header(&sheet.cast.viewer.access_token))
        .await;
    let ack = socket
        .request(json!({"type": "subscribe", "channel": channel}), "s")
        .await;
    assert_eq!(ack["type"], "ack", "{ack}");
    let editor = &sheet.cast.editor;
    let rows: Vec<Value> = (0..3)
        .map(|i| json!({"fields": {"Title": format!("r{i}"), "Price": i}}))
        .collect();
    let (_, made) = app
        .call(
            Method::POST,
            &sheet.rows(),
            editor,
            Some(json!({"rows": rows})),
        )
        .await;
    let created_event = socket.event_named("row.created").await;
    assert_eq!(created_event["data"]["rows"].as_array().unwrap().len(), 3);
    let first = made["items"][0]["id"].as_str().unwrap();
    let path = format!("{}/{first}", sheet.rows());
    app.call(
        Method::PATCH,
        &path,
        editor,
        Some(json!({"fields": {"Price": 7, "Title": "r0"}})),
    )
    .await;
    let updated = socket.event_named("row.updated").await;
    let delta = &updated["data"]["rows"][0];
    assert_eq!(delta["id"], first);
    assert_eq!(delta["version"], 2);
    let cells = delta["fields"].as_object().unwrap();
    assert_eq!(cells.len(), 1, "only the price changed: {cells:?}");
    assert_eq!(cells.values().next().unwrap().as_f64(), Some(7.0));
    // A write that fails publishes nothing; the next event is the trash's.
    let response = app
        .send(
            Method::PATCH,
            &path,
            &editor.access_token,
            Some(json!({"fields": {"Price": "x"}})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    app.call(Method::DELETE, &path, editor, None).await;
    let deleted = socket.event_named("row.deleted").await;
    assert_eq!(deleted["data"]["rows"][0]["version"], 3);
    assert!(deleted["seq"].as_u64().unwrap() > updated["seq"].as_u64().unwrap());

    // A late subscriber replays what it missed with `since`.
    let mut late = app
        .socket(Auth::Header(&sheet.cast.viewer.access_token))
        .await;
    let since = created_event["seq"].as_u64().unwrap();
    late.request(
        json!({"type": "subscribe", "channel": channel, "since": since}),
        "s",
    )
    .await;
    assert_eq!(late.event_named("row.updated").await["seq"], updated["seq"]);
    assert_eq!(late.event_named("row.deleted").await["seq"], deleted["seq"]);

    // Editors show where they are; the event is relayed, never stored.
    let mut other = app.socket(Auth::Header(&editor.access_token)).await;
    other
        .request(json!({"type": "subscribe", "channel": channel}), "s")
        .await;
    let focus = json!({"type": "publish", "channel": channel, "event": "cell.focus", "data": {"row_id": first}});
    let answer = other.request(focus, "f").await;
    assert_eq!(answer["type"], "ack", "{answer}");
    let seen = socket.event_named("cell.focus").await;
    assert!(seen.get("seq").is_none_or(Value::is_null), "{seen}");
    assert_eq!(seen["data"]["row_id"], first);
}
