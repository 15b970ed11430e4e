//! The Yjs endpoint with a y-websocket client on yrs: editors converge and REST sees the
//! same text, a REST write merges into live editing, viewers' edits go nowhere, awareness
//! comes and goes with its client, bad credentials and messages close with 44xx codes,
//! and versions restore as live edits.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::files::{create_file, file};
use crate::helpers::{TestApp, assert_problem, json_body, spawn_app};
use crate::tenancy_helpers::{Cast, Scene};
use crate::yclient::YClient;

#[tokio::test]
async fn two_editors_converge_and_rest_reads_the_same_text() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let created = create_file(
        &app,
        &scene,
        &cast.editor.access_token,
        json!({"path": "a.txt", "content": "hello"}),
    )
    .await;
    let id = created["id"].as_str().unwrap();

    let mut ada = YClient::synced(&app.address, id, &cast.editor.access_token).await;
    let mut bob = YClient::synced(&app.address, id, &cast.owner.access_token).await;
    assert_eq!((ada.text(), bob.text()), ("hello".into(), "hello".into()));

    ada.insert(5, " world").await;
    bob.insert(0, ">> ").await;
    ada.until_text(">> hello world").await;
    bob.until_text(">> hello world").await;
    assert_eq!(
        file(&app, id, &cast.viewer.access_token).await["content"],
        ">> hello world"
    );

    // A REST write while both are editing: merged, not clobbered.
    let put = app
        .send(
            Method::PUT,
            &format!("/api/v1/files/{id}/content"),
            &cast.admin.access_token,
            Some(json!({"content": ">> hello brave world"})),
        )
        .await;
    assert_eq!(put.status(), StatusCode::OK);
    ada.until_text(">> hello brave world").await;
    bob.until_text(">> hello brave world").await;
}

#[tokio::test]
async fn a_viewer_syncs_but_its_edits_reach_nobody() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let created = create_file(
        &app,
        &scene,
        &cast.editor.access_token,
        json!({"path": "a.txt", "content": "read me"}),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    let mut editor = YClient::synced(&app.address, id, &cast.editor.access_token).await;
    let mut viewer = YClient::synced(&app.address, id, &cast.viewer.access_token).await;
    assert_eq!(viewer.text(), "read me");

    viewer.insert(0, "VANDAL ").await;
    editor.keeps_text("read me", 500).await;
    assert_eq!(
        file(&app, id, &cast.owner.access_token).await["content"],
        "read me"
    );
    // The viewer still receives the editor's changes.
    editor.insert(7, "!").await;
    viewer.pump_until(|p| p.text.ends_with("read me!")).await;
}

#[tokio::test]
async fn awareness_reaches_the_others_and_leaves_with_its_client() {
    let app = spawn_app().await;
    let (cast, _, id) = editors_file(&app).await;
    let id = id.as_str();
    let mut ada = YClient::synced(&app.address, id, &cast.editor.access_token).await;
    let mut watcher = YClient::synced(&app.address, id, &cast.viewer.access_token).await;

    ada.set_awareness(r#"{"user":{"name":"Ada"},"cursor":3}"#)
        .await;
    let ada_id = ada.client_id();
    watcher
        .pump_until(|p| p.awareness.get(&ada_id).is_some_and(Option::is_some))
        .await;
    assert!(
        watcher.awareness[&ada_id]
            .as_deref()
            .unwrap()
            .contains("Ada")
    );

    // A newcomer is sent every state at once.
    let late = YClient::synced(&app.address, id, &cast.owner.access_token).await;
    let mut late = late;
    late.pump_until(|p| p.awareness.get(&ada_id).is_some_and(Option::is_some))
        .await;

    drop(ada);
    watcher
        .pump_until(|p| p.awareness.get(&ada_id).is_some_and(Option::is_none))
        .await;
}

#[tokio::test]
async fn bad_credentials_strangers_and_garbage_are_closed_with_44xx() {
    let app = spawn_app().await;
    let (cast, _, id) = editors_file(&app).await;
    let id = id.as_str();

    let mut forged = YClient::connect(&app.address, id, "not-a-token").await;
    assert_eq!(forged.close_code().await, 4401);
    let mut stranger = YClient::connect(&app.address, id, &cast.outsider.access_token).await;
    assert_eq!(stranger.close_code().await, 4404);
    let missing = uuid_like();
    let mut nowhere = YClient::connect(&app.address, &missing, &cast.editor.access_token).await;
    assert_eq!(nowhere.close_code().await, 4404);

    let mut garbage = YClient::synced(&app.address, id, &cast.editor.access_token).await;
    garbage.send_raw(vec![0, 2, 5, 1, 2]).await;
    assert_eq!(garbage.close_code().await, 4400);
}

#[tokio::test]
async fn a_request_that_is_not_a_websocket_handshake_is_refused_with_a_problem() {
    let app = spawn_app().await;
    let (cast, _, id) = editors_file(&app).await;
    let url = format!("{}/api/v1/collab/{id}", app.address);
    let token = &cast.editor.access_token;
    let plain = app
        .client
        .get(&url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let wrong_version = app
        .client
        .get(&url)
        .bearer_auth(token)
        .header("Connection", "Upgrade")
        .header("Upgrade", "websocket")
        .header("Sec-WebSocket-Version", "8")
        .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .await
        .unwrap();
    let keyless = app
        .client
        .get(&url)
        .header("Connection", "keep-alive, Upgrade")
        .header("Upgrade", "WebSocket")
        .header("Sec-WebSocket-Version", "13")
        .send()
        .await
        .unwrap();
    for (response, says) in [
        (plain, "Upgrade"),
        (wrong_version, "version 13"),
        (keyless, "Sec-WebSocket-Key"),
    ] {
        let body = assert_problem(response, StatusCode::BAD_REQUEST, "websocket_expected").await;
        assert!(body["detail"].as_str().unwrap().contains(says), "{body}");
    }
}

#[tokio::test]
async fn a_member_removed_while_editing_is_disconnected() {
    let app = spawn_app().await;
    let (cast, scene, id) = editors_file(&app).await;
    let id = id.as_str();
    let mut editor = YClient::synced(&app.address, id, &cast.editor.access_token).await;
    let members = format!(
        "/api/v1/projects/{}/members/{}",
        scene.project, cast.editor.id
    );
    let removed = app
        .send(Method::DELETE, &members, &cast.owner.access_token, None)
        .await;
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    assert_eq!(editor.close_code().await, 4403);
}

#[tokio::test]
async fn a_restored_version_reaches_live_editors_as_an_edit() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let token = &cast.editor.access_token;
    let created = create_file(
        &app,
        &scene,
        token,
        json!({"path": "a.txt", "content": "first draft"}),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    let versions = format!("/api/v1/files/{id}/versions");
    let saved = json_body(
        app.send(
            Method::POST,
            &versions,
            token,
            Some(json!({"name": "Draft 1"})),
        )
        .await,
    )
    .await;
    assert_eq!(
        (saved["kind"].as_str(), saved["name"].as_str()),
        (Some("named"), Some("Draft 1"))
    );
    let version = saved["id"].as_str().unwrap();

    let mut live = YClient::synced(&app.address, id, token).await;
    live.insert(11, ", then more").await;
    stored_text(&app, id, token, "first draft, then more").await;
    let page = json_body(
        app.send(Method::GET, &versions, &cast.viewer.access_token, None)
            .await,
    )
    .await;
    assert!(
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["id"] == version)
    );
    let old = json_body(
        app.send(
            Method::GET,
            &format!("{versions}/{version}"),
            &cast.viewer.access_token,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(old["content"], "first draft");

    let viewer_restore = app
        .send(
            Method::POST,
            &format!("{versions}/{version}/restore"),
            &cast.viewer.access_token,
            None,
        )
        .await;
    assert_eq!(viewer_restore.status(), StatusCode::FORBIDDEN);
    let restored = app
        .send(
            Method::POST,
            &format!("{versions}/{version}/restore"),
            token,
            None,
        )
        .await;
    assert_eq!(json_body(restored).await["content"], "first draft");
    live.until_text("first draft").await;
}

/// Waits until the server has stored `text` for the file (a client's update is stored
/// asynchronously to its send).
async fn stored_text(app: &TestApp, id: &str, token: &str, text: &str) {
    for _ in 0..100 {
        if file(app, id, token).await["content"] == text {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the server never stored {text:?}");
}

fn uuid_like() -> String {
    "01900000-0000-7000-8000-000000000000".to_owned()
}

#[tokio::test]
async fn deleting_a_file_disconnects_its_editors() {
    let app = spawn_app().await;
    let (cast, _, id) = editors_file(&app).await;
    let id = id.as_str();
    let mut editor = YClient::synced(&app.address, id, &cast.editor.access_token).await;
    let deleted = app
        .send(
            Method::DELETE,
            &format!("/api/v1/files/{id}"),
            &cast.owner.access_token,
            None,
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_eq!(editor.close_code().await, 4404);
}

#[tokio::test]
async fn shutting_down_closes_editors_with_going_away() {
    let app = spawn_app().await;
    let (cast, _, id) = editors_file(&app).await;
    let id = id.as_str();
    let mut editor = YClient::synced(&app.address, id, &cast.editor.access_token).await;
    let stopping = tokio::spawn(app.stop());
    assert_eq!(editor.close_code().await, 1001);
    stopping.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_client_sending_too_fast_is_throttled_not_disconnected() {
    let app =
        crate::helpers::spawn_app_with(|settings| settings.collab_updates_per_second = 20).await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let created = create_file(
        &app,
        &scene,
        &cast.editor.access_token,
        json!({"path": "fast.txt"}),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    let mut typist = YClient::synced(&app.address, id, &cast.editor.access_token).await;
    let mut reader = YClient::synced(&app.address, id, &cast.owner.access_token).await;

    // 60 updates at once: a burst of 20 goes through, the other 40 at 20 per second.
    let started = std::time::Instant::now();
    for _ in 0..60 {
        typist.insert(0, "x").await;
    }
    let all = "x".repeat(60);
    reader.until_text(&all).await;
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(1500),
        "60 updates were relayed in {:?}, faster than the limit allows",
        started.elapsed()
    );
    // The typist was never cut off: its next edit still lands.
    typist.insert(0, "y").await;
    reader.until_text(&format!("y{all}")).await;
    stored_text(&app, id, &cast.owner.access_token, &format!("y{all}")).await;
}

/// The cast and scene, and a file `a.txt` an editor created in the scene's workspace.
async fn editors_file(app: &TestApp) -> (Cast, Scene, String) {
    let cast = Cast::new(app).await;
    let scene = Scene::new(app, &cast).await;
    let created = create_file(
        app,
        &scene,
        &cast.editor.access_token,
        json!({"path": "a.txt"}),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    (cast, scene, id)
}
