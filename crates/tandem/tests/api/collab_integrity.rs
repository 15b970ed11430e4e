//! Yjs updates that cannot integrate whole are refused (4400) before they are stored or
//! relayed, and the updates a client sent before one in the same burst are kept: the
//! stored text stays what every client shows.

use serde_json::json;
use yrs::sync::{Message as YMessage, SyncMessage};
use yrs::updates::encoder::Encode;
use yrs::{Doc, Options, ReadTxn, StateVector, Text, Transact};

use crate::files::{create_file, file};
use crate::helpers::spawn_app_with;
use crate::tenancy_helpers::{Cast, Scene};
use crate::yclient::YClient;

/// Client 424242's "abc" at clock 12, with no clocks 0 to 11 anywhere.
const FORGED: &str = "0101b2f2190c040107636f6e74656e740361626300";

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

fn update_message(update: Vec<u8>) -> Vec<u8> {
    YMessage::Sync(SyncMessage::Update(update)).encode_v1()
}

/// An update from a client that holds text the server never saw: its insert refers to
/// that text, and it deletes some of it.
fn built_on_unseen_text(client: u64, delete: bool) -> Vec<u8> {
    let doc = Doc::with_options(Options {
        client_id: yrs::ClientID::new(client),
        ..Options::default()
    });
    let text = doc.get_or_insert_text("content");
    text.insert(&mut doc.transact_mut(), 0, "unseen");
    let seen = doc.transact().state_vector();
    if delete {
        text.remove_range(&mut doc.transact_mut(), 0, 2);
    } else {
        text.insert(&mut doc.transact_mut(), 3, "!");
    }
    let update = doc.transact().encode_state_as_update_v1(&seen);
    // Only what came after the unseen text: the server lacks its dependency.
    assert_ne!(seen, StateVector::default());
    update
}

#[tokio::test]
async fn an_update_that_cannot_integrate_closes_4400_and_the_burst_before_it_is_kept() {
    let app = spawn_app_with(|s| s.collab_updates_per_second = 100_000).await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let token = &cast.editor.access_token;
    let created = create_file(&app, &scene, token, json!({"path": "forged.txt"})).await;
    let id = created["id"].as_str().unwrap();
    let mut watcher = YClient::synced(&app.address, id, &cast.owner.access_token).await;
    let mut typist = YClient::synced(&app.address, id, token).await;

    // Three keystrokes, each building on the one before, then the forged update, sent
    // back to back so they reach the server's write path together.
    let keys = [
        typist.edit(0, "a"),
        typist.edit(1, "b"),
        typist.edit(2, "c"),
    ];
    for key in keys {
        typist.send_raw(key).await;
    }
    typist.send_raw(update_message(hex(FORGED))).await;
    assert_eq!(typist.close_code().await, 4400);

    watcher.until_text("abc").await;
    watcher.keeps_text("abc", 300).await;
    assert_eq!(file(&app, id, token).await["content"], "abc");
    let fresh = YClient::synced(&app.address, id, token).await;
    assert_eq!(fresh.text(), "abc");
}

#[tokio::test]
async fn an_insert_next_to_unknown_text_and_a_deletion_of_it_are_refused() {
    let app = spawn_app_with(|_| {}).await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let token = &cast.editor.access_token;
    let created = create_file(
        &app,
        &scene,
        token,
        json!({"path": "refs.txt", "content": "base"}),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    let mut watcher = YClient::synced(&app.address, id, &cast.owner.access_token).await;
    let rows = app.database.count_rows("document_updates").await;
    for delete in [false, true] {
        let mut client = YClient::synced(&app.address, id, token).await;
        client
            .send_raw(update_message(built_on_unseen_text(777, delete)))
            .await;
        assert_eq!(client.close_code().await, 4400, "delete: {delete}");
    }
    watcher.keeps_text("base", 300).await;
    assert_eq!(file(&app, id, token).await["content"], "base");
    assert_eq!(app.database.count_rows("document_updates").await, rows);
}
