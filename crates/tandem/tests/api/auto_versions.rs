//! Automatic versions: edits get a version once they have waited `auto_version_every`
//! (10 minutes of the server's clock) and when the editing session ends (the document
//! unloads), each holding the text of its moment; none at the first keystroke.

use reqwest::Method;
use serde_json::{Value, json};

use crate::files::create_file;
use crate::helpers::{TestApp, json_body, spawn_app};
use crate::tenancy_helpers::{Cast, Scene};
use crate::yclient::YClient;

async fn automatic(app: &TestApp, id: &str, token: &str) -> Vec<Value> {
    let page = json_body(
        app.send(
            Method::GET,
            &format!("/api/v1/files/{id}/versions"),
            token,
            None,
        )
        .await,
    )
    .await;
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a page of versions: {page}"))
        .iter()
        .filter(|v| v["kind"] == "auto")
        .cloned()
        .collect()
}

/// Polls until the file has `count` automatic versions (for up to 10 s: a session's end is
/// seen 5 s after its last editor left); returns them, newest first.
async fn until_automatic(app: &TestApp, id: &str, token: &str, count: usize) -> Vec<Value> {
    for _ in 0..500 {
        let found = automatic(app, id, token).await;
        if found.len() >= count {
            return found;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the file never had {count} automatic versions");
}

async fn version_text(app: &TestApp, id: &str, token: &str, version: &Value) -> Value {
    let path = format!(
        "/api/v1/files/{id}/versions/{}",
        version["id"].as_str().unwrap()
    );
    json_body(app.send(Method::GET, &path, token, None).await).await["content"].clone()
}

#[tokio::test]
async fn edits_get_a_version_after_ten_minutes_and_when_the_session_ends() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let token = &cast.editor.access_token;
    let created = create_file(&app, &scene, token, json!({"path": "auto.txt"})).await;
    let id = created["id"].as_str().unwrap();
    let mut editor = YClient::synced(&app.address, id, token).await;
    let settle = || tokio::time::sleep(std::time::Duration::from_millis(600));

    // Editing has just begun: nothing is saved at the first keystroke.
    editor.insert(0, "one").await;
    settle().await;
    assert!(automatic(&app, id, token).await.is_empty());

    // Ten minutes on, the waiting edits are saved.
    app.clock.advance(chrono::Duration::seconds(601));
    let first = until_automatic(&app, id, token, 1).await;
    assert!(first[0]["name"].is_null());
    assert_eq!(version_text(&app, id, token, &first[0]).await, "one");

    // Later edits wait ten minutes from the first of them, not from the last version.
    editor.insert(3, " two").await;
    settle().await;
    assert_eq!(automatic(&app, id, token).await.len(), 1);
    app.clock.advance(chrono::Duration::seconds(601));
    let renewed = json_body(app.refresh(&cast.owner.refresh_token).await).await;
    let token = renewed["access_token"].as_str().unwrap();
    let both = until_automatic(&app, id, token, 2).await;
    assert_eq!(version_text(&app, id, token, &both[0]).await, "one two");

    // The session ends with edits not saved yet: they get a version when it unloads.
    editor.insert(7, " three").await;
    settle().await;
    assert_eq!(automatic(&app, id, token).await.len(), 2);
    drop(editor);
    let all = until_automatic(&app, id, token, 3).await;
    assert_eq!(
        version_text(&app, id, token, &all[0]).await,
        "one two three"
    );

    // A file nobody edits takes none, however much time passes.
    app.clock.advance(chrono::Duration::seconds(3600));
    settle().await;
    let refresh = renewed["refresh_token"].as_str().unwrap();
    let renewed = json_body(app.refresh(refresh).await).await;
    let token = renewed["access_token"].as_str().unwrap();
    assert_eq!(automatic(&app, id, token).await.len(), 3);
}

#[tokio::test]
async fn a_session_without_edits_takes_no_version() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let token = &cast.editor.access_token;
    let created = create_file(
        &app,
        &scene,
        token,
        json!({"path": "quiet.txt", "content": "x"}),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    let editor = YClient::synced(&app.address, id, token).await;
    drop(editor);
    // Past the unload (5 s after the last editor left).
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    assert!(automatic(&app, id, token).await.is_empty());
}
