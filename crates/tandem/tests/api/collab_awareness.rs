//! Awareness is bound to the socket that introduced it: another user's socket can neither
//! overwrite nor remove it, on one node or across two; states over the size limit reach
//! nobody; the holder's disconnect removes its state for everyone.

use serde_json::json;

use crate::files::create_file;
use crate::helpers::{TestApp, spawn_app};
use crate::node_restart::shared_env;
use crate::scale_out::second_node;
use crate::tenancy_helpers::{Cast, Scene};
use crate::yclient::YClient;

const OWNER: &str = r#"{"user":{"name":"Owner"},"cursor":3}"#;
const SPOOFED: &str = r#"{"user":{"name":"SPOOFED"}}"#;
const VIEWER: &str = r#"{"user":{"name":"Viewer"}}"#;

/// The cast and a file the editor created.
async fn file(app: &TestApp) -> (Cast, String) {
    let cast = Cast::new(app).await;
    let scene = Scene::new(app, &cast).await;
    let token = &cast.editor.access_token;
    let created = create_file(app, &scene, token, json!({"path": "aware.txt"})).await;
    (cast, created["id"].as_str().unwrap().to_owned())
}

/// Whether a client has seen `client`'s state as `json`.
fn sees(client: &YClient, id: u64, json: &str) -> bool {
    client.awareness.get(&id).and_then(Option::as_deref) == Some(json)
}

#[tokio::test]
async fn a_viewer_can_neither_overwrite_nor_remove_the_owners_awareness() {
    let app = spawn_app().await;
    let (cast, id) = file(&app).await;
    let id = id.as_str();
    let mut owner = YClient::synced(&app.address, id, &cast.owner.access_token).await;
    let mut watcher = YClient::synced(&app.address, id, &cast.editor.access_token).await;
    let mut viewer = YClient::synced(&app.address, id, &cast.viewer.access_token).await;
    owner.set_awareness(OWNER).await;
    let owner_id = owner.client_id();
    viewer
        .pump_until(|p| p.awareness.get(&owner_id).is_some_and(Option::is_some))
        .await;

    // A higher clock, then a removal, for the owner's id; then the viewer's own state,
    // which viewers may share. The socket's messages are relayed in order, so once the
    // others have the viewer's state they have whatever the forgeries caused.
    viewer.announce(owner_id, 100, SPOOFED).await;
    viewer.announce(owner_id, 101, "null").await;
    viewer.set_awareness(VIEWER).await;
    let viewer_id = viewer.client_id();
    for client in [&mut watcher, &mut owner] {
        client
            .pump_until(|p| p.awareness.get(&viewer_id).is_some_and(Option::is_some))
            .await;
    }
    assert!(sees(&watcher, owner_id, OWNER), "{:?}", watcher.awareness);
    assert!(
        !owner.awareness.contains_key(&owner_id),
        "the owner was told nothing about itself"
    );
    let mut late = YClient::synced(&app.address, id, &cast.admin.access_token).await;
    late.pump_until(|p| p.awareness.get(&viewer_id).is_some_and(Option::is_some))
        .await;
    assert!(sees(&late, owner_id, OWNER), "{:?}", late.awareness);

    // The owner's own disconnect does remove it.
    drop(owner);
    watcher
        .pump_until(|p| p.awareness.get(&owner_id).is_some_and(Option::is_none))
        .await;
    assert!(sees(&watcher, viewer_id, VIEWER));
}

#[tokio::test]
async fn an_awareness_state_over_the_limit_reaches_nobody_and_the_socket_stays_open() {
    let app = spawn_app().await;
    let (cast, id) = file(&app).await;
    let id = id.as_str();
    let mut editor = YClient::synced(&app.address, id, &cast.editor.access_token).await;
    let mut watcher = YClient::synced(&app.address, id, &cast.viewer.access_token).await;
    let small = r#"{"user":{"name":"Ed"}}"#;
    editor.set_awareness(small).await;
    let editor_id = editor.client_id();
    watcher
        .pump_until(|p| p.awareness.contains_key(&editor_id))
        .await;

    // A megabyte, then a state for a second id of the editor's as a marker: messages
    // are relayed in order, so the marker comes after the large state if it came at all.
    let huge = format!(
        r#"{{"user":{{"name":"Ed"}},"blob":"{}"}}"#,
        "x".repeat(1 << 20)
    );
    editor.announce(editor_id, 2, &huge).await;
    editor
        .announce(editor_id + 1, 1, r#"{"marker":true}"#)
        .await;
    watcher
        .pump_until(|p| p.awareness.contains_key(&(editor_id + 1)))
        .await;
    assert!(
        sees(&watcher, editor_id, small),
        "the large state was relayed"
    );

    // The socket is still open: the editor's next state goes through.
    editor
        .announce(editor_id, 3, r#"{"user":{"name":"Ed"},"cursor":1}"#)
        .await;
    watcher
        .pump_until(|p| {
            p.awareness
                .get(&editor_id)
                .is_some_and(|s| s.as_deref().is_some_and(|s| s.contains("cursor")))
        })
        .await;
}

#[tokio::test]
async fn a_viewer_on_another_node_cannot_overwrite_the_owners_awareness() {
    let a = spawn_app().await;
    if shared_env(&a).is_none() {
        // One node only without Redis: the scale-out run covers this.
        return;
    }
    let b = second_node(&a).await;
    let (cast, id) = file(&a).await;
    let id = id.as_str();
    let mut owner = YClient::synced(&a.address, id, &cast.owner.access_token).await;
    owner.set_awareness(OWNER).await;
    let owner_id = owner.client_id();
    let mut on_a = YClient::synced(&a.address, id, &cast.editor.access_token).await;
    on_a.pump_until(|p| p.awareness.contains_key(&owner_id))
        .await;

    // Node b opens the document after the owner spoke: it asks a for the states held
    // there, so a client joining b sees the owner at once and b knows who holds the id.
    let mut viewer = YClient::synced(&b.address, id, &cast.viewer.access_token).await;
    let mut on_b = YClient::synced(&b.address, id, &cast.admin.access_token).await;
    for client in [&mut viewer, &mut on_b] {
        client
            .pump_until(|p| p.awareness.get(&owner_id).is_some_and(Option::is_some))
            .await;
    }
    viewer.announce(owner_id, 100, SPOOFED).await;
    viewer.announce(owner_id, 101, "null").await;
    viewer.set_awareness(VIEWER).await;
    let viewer_id = viewer.client_id();
    for client in [&mut on_a, &mut on_b, &mut owner] {
        client
            .pump_until(|p| p.awareness.get(&viewer_id).is_some_and(Option::is_some))
            .await;
    }
    assert!(sees(&on_a, owner_id, OWNER), "{:?}", on_a.awareness);
    assert!(sees(&on_b, owner_id, OWNER), "{:?}", on_b.awareness);
    assert!(!owner.awareness.contains_key(&owner_id));

    drop(owner);
    on_b.pump_until(|p| p.awareness.get(&owner_id).is_some_and(Option::is_none))
        .await;
}
