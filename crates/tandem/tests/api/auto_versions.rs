//! Automatic versions: a file being edited gets a version at once, then at most one per
//! `auto_version_every` (10 minutes) of the server's clock, each holding the text of its
//! moment.

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

/// Polls until the file has `count` automatic versions; returns them, newest first.
async fn until_automatic(app: &TestApp, id: &str, token: &str, count: usize) -> Vec<Value> {
    for _ in 0..150 {
        let found = automatic(app, id, token).await;
        if found.len() >= count {
            return found;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the file never had {count} automatic versions");
}

#[tokio::test]
async fn editing_takes_automatic_versions_at_most_every_ten_minutes() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let token = &cast.editor.access_token;
    let created = create_file(&app, &scene, token, json!({"path": "auto.txt"})).await;
    let id = created["id"].as_str().unwrap();
    let mut editor = YClient::synced(&app.address, id, token).await;

    editor.insert(0, "one").await;
    let first = until_automatic(&app, id, token, 1).await;
    // More editing within ten minutes takes no second version.
    editor.insert(3, " two").await;
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert_eq!(automatic(&app, id, token).await.len(), 1);

    app.clock.advance(chrono::Duration::seconds(601));
    editor.insert(7, " three").await;
    let both = until_automatic(&app, id, token, 2).await;
    assert_eq!(both.len(), 2);
    let text_of = |version: &Value| {
        let path = format!(
            "/api/v1/files/{id}/versions/{}",
            version["id"].as_str().unwrap()
        );
        let app = &app;
        async move {
            json_body(app.send(Method::GET, &path, token, None).await).await["content"].clone()
        }
    };
    assert!(first[0]["name"].is_null());
    assert_eq!(text_of(&both[0]).await, "one two three");
    assert_ne!(text_of(&both[1]).await, "one two three");

    // A file nobody edits takes none, however much time passes.
    app.clock.advance(chrono::Duration::seconds(3600));
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let renewed = json_body(app.refresh(&cast.owner.refresh_token).await).await;
    let token = renewed["access_token"].as_str().unwrap();
    assert_eq!(automatic(&app, id, token).await.len(), 2);
}
