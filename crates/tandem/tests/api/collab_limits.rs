//! The Yjs endpoint under a fast client: a burst from one typist is stored merged (fewer
//! rows than updates) and still reaches the others whole; the size limits close with 4413,
//! counting the updates still waiting to be stored; keepalives go to the clients that are
//! sent nothing else.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::files::{create_file, file};
use crate::helpers::spawn_app_with;
use crate::tenancy_helpers::{Cast, Scene};
use crate::yclient::YClient;

#[tokio::test]
async fn a_burst_from_one_client_is_stored_merged_and_reaches_the_others_whole() {
    let app = spawn_app_with(|s| s.collab_updates_per_second = 100_000).await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let token = &cast.editor.access_token;
    let created = create_file(&app, &scene, token, json!({"path": "burst.txt"})).await;
    let id = created["id"].as_str().unwrap();
    let mut typist = YClient::synced(&app.address, id, token).await;
    let mut reader = YClient::synced(&app.address, id, &cast.owner.access_token).await;

    let mut typed = String::new();
    for i in 0..150u32 {
        let key = char::from(b'a' + (i % 26) as u8);
        typist.insert(i, &key.to_string()).await;
        typed.push(key);
    }
    reader.until_text(&typed).await;
    assert_eq!(file(&app, id, token).await["content"], typed.as_str());
    let rows = app.database.count_rows("document_updates").await;
    assert!(
        (1..150).contains(&rows),
        "150 updates sent back to back were stored as {rows} rows"
    );
}

#[tokio::test]
async fn an_update_over_the_size_limit_closes_with_4413() {
    let app = spawn_app_with(|s| s.collab_max_update_bytes = 1024).await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let token = &cast.editor.access_token;
    let created = create_file(&app, &scene, token, json!({"path": "big.txt"})).await;
    let id = created["id"].as_str().unwrap();
    let mut typist = YClient::synced(&app.address, id, token).await;
    typist.insert(0, &"x".repeat(2000)).await;
    assert_eq!(typist.close_code().await, 4413);
    assert_eq!(file(&app, id, token).await["content"], "");

    // A frame far over the limit is refused before it is read; still 4413, not a reset.
    let mut paster = YClient::synced(&app.address, id, token).await;
    paster.insert(0, &"x".repeat(64 * 1024)).await;
    assert_eq!(paster.close_code().await, 4413);
    assert_eq!(file(&app, id, token).await["content"], "");
}

#[tokio::test]
async fn updates_waiting_to_be_stored_count_toward_the_document_limit() {
    let app = spawn_app_with(|s| {
        s.collab_max_update_bytes = 2048;
        s.collab_max_document_bytes = 2048;
        s.collab_updates_per_second = 100_000;
    })
    .await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let token = &cast.editor.access_token;
    let created = create_file(&app, &scene, token, json!({"path": "full.txt"})).await;
    let id = created["id"].as_str().unwrap();
    let mut typist = YClient::synced(&app.address, id, token).await;

    // 22 updates of 100 characters in one frame (within the frame limit, update limit plus
    // 1 KiB, and over the document limit): the server takes them all in before the first is stored, so only
    // counting the waiting ones keeps the document in bounds.
    let mut frame = Vec::new();
    for i in 0..22 {
        frame.extend(typist.edit(i * 100, &"y".repeat(100)));
    }
    typist.send_raw(frame).await;
    assert_eq!(typist.close_code().await, 4413);

    // The updates taken before the limit are stored (whole), and no more.
    let mut stored = 0;
    for _ in 0..50 {
        let text = file(&app, id, token).await["content"]
            .as_str()
            .unwrap()
            .to_owned();
        stored = text.len();
        if stored >= 1000 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        (1000..=2048).contains(&stored) && stored % 100 == 0,
        "{stored} characters stored under a 2048-byte limit"
    );

    // A REST write past the limit is refused too.
    let put = app
        .send(
            reqwest::Method::PUT,
            &format!("/api/v1/files/{id}/content"),
            token,
            Some(json!({"content": "z".repeat(4000)})),
        )
        .await;
    assert_eq!(put.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn keepalives_reach_quiet_clients_and_spare_busy_ones() {
    let app = spawn_app_with(|s| s.collab_keepalive = Duration::from_millis(700)).await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let token = &cast.editor.access_token;
    let busy = create_file(&app, &scene, token, json!({"path": "busy.txt"})).await;
    let busy = busy["id"].as_str().unwrap();
    let quiet = create_file(&app, &scene, token, json!({"path": "quiet.txt"})).await;
    let quiet = quiet["id"].as_str().unwrap();
    // The typist sends but is sent nothing (its own edits are not echoed); the watcher is
    // sent each of them; the idle client's file has no traffic at all.
    let mut typist = YClient::synced(&app.address, busy, token).await;
    let mut watcher = YClient::synced(&app.address, busy, &cast.owner.access_token).await;
    let mut idle = YClient::synced(&app.address, quiet, &cast.viewer.access_token).await;

    let (mut typist_got, mut watcher_got, mut idle_got) = (0, 0, 0);
    let mut typed = String::new();
    // About 4.5 s, an edit every 150 ms: several keepalive rounds, each with edits in it.
    for i in 0..30 {
        typist.insert(i, "x").await;
        typed.push('x');
        typist_got += typist.pump_for(50).await.keepalives;
        watcher_got += watcher.pump_for(50).await.keepalives;
        idle_got += idle.pump_for(50).await.keepalives;
    }
    watcher.until_text(&typed).await;
    assert!(idle_got >= 3, "an idle client got {idle_got} keepalives");
    assert!(typist_got >= 3, "a client that only sends got {typist_got}");
    assert_eq!(watcher_got, 0, "a client sent edits all along needs none");
}
