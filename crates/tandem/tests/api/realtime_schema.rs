//! The published JSON Schema of the realtime protocol describes what the real server
//! sends and accepts.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::spawn_app;
use crate::socket::{Auth, Socket};
use crate::tenancy_helpers::{Cast, Scene};

/// Receives frames until one of each of `kinds` has arrived (an `event` frame counts by
/// its name), checking each against the schema.
async fn recv_valid_until(socket: &mut Socket, validator: &jsonschema::Validator, kinds: &[&str]) {
    let mut missing = kinds.to_vec();
    while !missing.is_empty() {
        let frame = socket.recv_any().await;
        let errors: Vec<String> = validator
            .iter_errors(&frame)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{frame} breaks the schema: {errors:?}");
        missing.retain(|kind| frame["type"] != *kind && frame["event"] != *kind);
    }
}

#[tokio::test]
async fn the_schema_is_served_and_every_frame_of_a_session_matches_it() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/api/realtime/schema.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "application/schema+json"
    );
    let schema: Value = response.json().await.unwrap();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");

    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let channel = format!("workspace:{}", scene.workspace);
    let client_frames = [
        json!({"type": "subscribe", "channel": channel, "meta": {"file": "a.rs"}, "ref": "1"}),
        json!({"type": "subscribe", "channel": "planet:x", "ref": "2"}),
        json!({"type": "publish", "channel": channel, "event": "cursor", "data": {"line": 3}}),
        json!({"type": "presence_update", "channel": channel, "meta": {"file": "b.rs"}}),
        json!({"type": "ping", "ref": "3"}),
    ];
    for frame in &client_frames {
        assert!(validator.is_valid(frame), "{frame}");
    }

    let mut watcher = app.socket(Auth::Header(&cast.owner.access_token)).await;
    watcher.send(client_frames[0].clone()).await;
    recv_valid_until(&mut watcher, &validator, &["presence_state"]).await;

    let mut editor = app.socket(Auth::Header(&cast.editor.access_token)).await;
    for frame in &client_frames {
        editor.send(frame.clone()).await;
    }
    // ack, presence_state, error (unknown channel kind), ack (the ping, sent last)
    recv_valid_until(&mut editor, &validator, &["presence_state", "error"]).await;
    recv_valid_until(&mut editor, &validator, &["ack"]).await;
    // the cursor and the editor's arrival (its join and meta change may be coalesced)
    recv_valid_until(&mut watcher, &validator, &["cursor", "presence_diff"]).await;

    let rename = format!("/api/v1/workspaces/{}", scene.workspace);
    let owner = &cast.owner.access_token;
    let renamed = app
        .send(Method::PATCH, &rename, owner, Some(json!({"name": "R"})))
        .await;
    assert_eq!(renamed.status(), StatusCode::OK);
    recv_valid_until(&mut watcher, &validator, &["workspace.updated"]).await;
}
