//! The `table:{id}` channel: schema changes arrive as durable events carrying the REST
//! JSON, in order, replayed with `since`; a table's creation and deletion reach its
//! workspace's channel; only those who may read the table subscribe; editors publish
//! ephemeral events there.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::spawn_app;
use crate::socket::{Auth, Socket};
use crate::tables_helpers::{change, create_field, create_table, id};
use crate::tenancy_helpers::{Cast, Scene, created};

async fn subscribe(socket: &mut Socket, channel: &str, since: Option<u64>) -> Value {
    let mut frame = json!({"type": "subscribe", "channel": channel});
    if let Some(since) = since {
        frame["since"] = json!(since);
    }
    socket.request(frame, "s").await
}

#[tokio::test]
async fn schema_changes_reach_the_tables_channel_in_order_and_replay_with_since() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let editor = &cast.editor.access_token;
    let table = create_table(&app, editor, &scene.workspace, "Tasks").await;
    let channel = format!("table:{}", id(&table));
    let mut viewer = app.socket(Auth::Header(&cast.viewer.access_token)).await;
    assert_eq!(subscribe(&mut viewer, &channel, None).await["type"], "ack");

    let at = format!("/api/v1/tables/{}", id(&table));
    let renamed = change(&app, editor, Method::PATCH, &at, json!({"name": "Todo"})).await;
    let field = create_field(
        &app,
        editor,
        id(&table),
        json!({"name": "Done", "type": "boolean"}),
    )
    .await;
    let field_at = format!("/api/v1/fields/{}", id(&field));
    let moved = change(
        &app,
        editor,
        Method::PATCH,
        &field_at,
        json!({"position": 5}),
    )
    .await;
    app.send(Method::DELETE, &field_at, editor, None).await;

    let mut events = Vec::new();
    for _ in 0..4 {
        events.push(viewer.recv().await);
    }
    let names: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "table.updated",
            "field.created",
            "field.updated",
            "field.deleted"
        ]
    );
    let data: Vec<&Value> = events.iter().map(|e| &e["data"]).collect();
    assert_eq!(
        data,
        [&renamed, &field, &moved, &moved],
        "the REST JSON, the deleted field as it was"
    );
    let first = events[0]["seq"]
        .as_u64()
        .expect("durable events have a seq");
    for (n, event) in events.iter().enumerate() {
        assert_eq!(event["channel"], channel);
        assert_eq!(event["actor"], cast.editor.id);
        assert_eq!(event["seq"].as_u64(), Some(first + n as u64));
    }

    let mut resumed = app.socket(Auth::Header(&cast.admin.access_token)).await;
    assert_eq!(
        subscribe(&mut resumed, &channel, Some(first)).await["type"],
        "ack"
    );
    for expected in &events[1..] {
        let replayed = resumed.recv().await;
        assert_eq!(
            (&replayed["seq"], &replayed["data"]),
            (&expected["seq"], &expected["data"])
        );
    }
    resumed.silent_for(200).await;

    app.send(Method::DELETE, &at, &cast.admin.access_token, None)
        .await;
    let deleted = viewer.event_named("table.deleted").await;
    assert_eq!(deleted["data"], renamed);
    assert_eq!(deleted["seq"].as_u64(), Some(first + 4));
}

#[tokio::test]
async fn a_tables_creation_change_and_deletion_reach_its_workspaces_channel() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let mut viewer = app.socket(Auth::Header(&cast.viewer.access_token)).await;
    let channel = format!("workspace:{}", scene.workspace);
    assert_eq!(subscribe(&mut viewer, &channel, None).await["type"], "ack");

    let editor = &cast.editor.access_token;
    let table = create_table(&app, editor, &scene.workspace, "Tasks").await;
    let event = viewer.event_named("table.created").await;
    assert_eq!(
        (&event["channel"], &event["data"]),
        (&json!(channel), &table)
    );
    let at = format!("/api/v1/tables/{}", id(&table));
    let renamed = change(&app, editor, Method::PATCH, &at, json!({"name": "Todo"})).await;
    assert_eq!(viewer.event_named("table.updated").await["data"], renamed);
    // Field changes stay on the table's own channel.
    create_field(
        &app,
        editor,
        id(&table),
        json!({"name": "Done", "type": "boolean"}),
    )
    .await;
    app.send(Method::DELETE, &at, &cast.owner.access_token, None)
        .await;
    let deleted = viewer.recv().await;
    assert_eq!(
        (&deleted["event"], &deleted["data"]),
        (&json!("table.deleted"), &renamed)
    );
}

#[tokio::test]
async fn only_members_who_may_read_the_tables_project_subscribe_to_its_channel() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let table = create_table(&app, &cast.owner.access_token, &scene.workspace, "Tasks").await;
    let ours = format!("table:{}", id(&table));

    // The outsider's own project, with a table of its own.
    let outsider = &cast.outsider.access_token;
    let project = created(
        app.send(
            Method::POST,
            "/api/v1/projects",
            outsider,
            Some(json!({"name": "Elsewhere"})),
        )
        .await,
    )
    .await;
    let workspace = created(
        app.send(
            Method::POST,
            &format!("/api/v1/projects/{}/workspaces", id(&project)),
            outsider,
            Some(json!({"name": "Theirs"})),
        )
        .await,
    )
    .await;
    let theirs = create_table(&app, outsider, id(&workspace), "Secrets").await;
    let theirs = format!("table:{}", id(&theirs));

    let mut viewer = app.socket(Auth::Header(&cast.viewer.access_token)).await;
    assert_eq!(subscribe(&mut viewer, &ours, None).await["type"], "ack");
    let cases = [
        (theirs.as_str(), "not_found"),
        ("table:01900000-0000-7000-8000-000000000000", "not_found"),
        ("table:42", "malformed_channel"),
    ];
    for (channel, code) in cases {
        let answer = subscribe(&mut viewer, channel, None).await;
        assert_eq!(
            (answer["type"].as_str(), answer["code"].as_str()),
            (Some("error"), Some(code)),
            "{channel}"
        );
    }
    let mut stranger = app.socket(Auth::Header(outsider)).await;
    let answer = subscribe(&mut stranger, &ours, None).await;
    assert_eq!(answer["code"], "not_found");
}

#[tokio::test]
async fn editors_publish_ephemeral_events_on_a_table_and_viewers_may_not() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let table = create_table(&app, &cast.owner.access_token, &scene.workspace, "Tasks").await;
    let channel = format!("table:{}", id(&table));
    let mut editor = app.socket(Auth::Header(&cast.editor.access_token)).await;
    let mut viewer = app.socket(Auth::Header(&cast.viewer.access_token)).await;
    subscribe(&mut editor, &channel, None).await;
    subscribe(&mut viewer, &channel, None).await;

    let cursor = json!({"type": "publish", "channel": channel, "event": "cursor", "data": {"row": 3, "field": "f"}});
    assert_eq!(editor.request(cursor, "c").await["type"], "ack");
    let seen = viewer.recv().await;
    assert_eq!(
        (&seen["event"], &seen["data"]),
        (&json!("cursor"), &json!({"row": 3, "field": "f"}))
    );
    assert_eq!(seen["actor"], cast.editor.id);
    assert!(
        seen.get("seq").is_none_or(Value::is_null),
        "ephemeral events have no seq: {seen}"
    );
    editor.silent_for(200).await;

    let refused = viewer
        .request(
            json!({"type": "publish", "channel": channel, "event": "cursor", "data": {}}),
            "v",
        )
        .await;
    assert_eq!(refused["code"], "forbidden");
}

#[tokio::test]
async fn a_member_removed_from_the_project_is_unsubscribed_from_its_tables() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let owner = &cast.owner.access_token;
    let table = create_table(&app, owner, &scene.workspace, "Tasks").await;
    let channel = format!("table:{}", id(&table));
    let mut victim = app.socket(Auth::Header(&cast.victim.access_token)).await;
    assert_eq!(subscribe(&mut victim, &channel, None).await["type"], "ack");

    let member = format!(
        "/api/v1/projects/{}/members/{}",
        scene.project, cast.victim.id
    );
    app.send(Method::DELETE, &member, owner, None).await;
    let frame = victim.recv().await;
    assert_eq!(
        frame,
        json!({"type": "unsubscribed", "channel": channel, "reason": "membership_removed"})
    );
    let at = format!("/api/v1/tables/{}", id(&table));
    change(&app, owner, Method::PATCH, &at, json!({"name": "Todo"})).await;
    victim.no_event_named_for("table.updated", 300).await;
}
