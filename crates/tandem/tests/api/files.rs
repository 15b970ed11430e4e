//! Files over REST: the tree, path rules, text writes merged as CRDT edits, moves,
//! deletes, permissions per role, and the events each change sends to the workspace.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, invalid_fields, json_body, spawn_app};
use crate::socket::Auth;
use crate::tenancy_helpers::{Cast, Scene, created};

pub async fn create_file(app: &TestApp, scene: &Scene, token: &str, body: Value) -> Value {
    let path = format!("/api/v1/workspaces/{}/files", scene.workspace);
    created(app.send(Method::POST, &path, token, Some(body)).await).await
}

pub async fn file(app: &TestApp, id: &str, token: &str) -> Value {
    let response = app
        .send(Method::GET, &format!("/api/v1/files/{id}"), token, None)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    json_body(response).await
}

#[tokio::test]
async fn files_are_created_listed_by_path_read_with_their_text_moved_and_deleted() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let token = &cast.editor.access_token;
    let main = create_file(
        &app,
        &scene,
        token,
        json!({"path": "src/main.rs", "content": "fn main() {}\n"}),
    )
    .await;
    assert_eq!(main["path"], "src/main.rs");
    assert_eq!(main["created_by"], cast.editor.id);
    for path in ["README.md", "src/lib.rs", "a.txt"] {
        create_file(&app, &scene, token, json!({"path": path})).await;
    }

    let id = main["id"].as_str().unwrap();
    let read = file(&app, id, &cast.viewer.access_token).await;
    assert_eq!(read["content"], "fn main() {}\n");
    assert_eq!(read["workspace_id"], scene.workspace);

    // Byte order: capitals first.
    let list_path = format!("/api/v1/workspaces/{}/files?limit=3", scene.workspace);
    let page = json_body(app.send(Method::GET, &list_path, token, None).await).await;
    let paths: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["README.md", "a.txt", "src/lib.rs"]);
    let next = format!(
        "{list_path}&cursor={}",
        page["next_cursor"].as_str().unwrap()
    );
    let rest = json_body(app.send(Method::GET, &next, token, None).await).await;
    assert_eq!(rest["items"][0]["path"], "src/main.rs");
    assert_eq!(rest["next_cursor"], Value::Null);

    let moved = app
        .send(
            Method::PATCH,
            &format!("/api/v1/files/{id}"),
            token,
            Some(json!({"path": "bin/app.rs"})),
        )
        .await;
    assert_eq!(json_body(moved).await["path"], "bin/app.rs");
    let taken = app
        .send(
            Method::PATCH,
            &format!("/api/v1/files/{id}"),
            token,
            Some(json!({"path": "a.txt"})),
        )
        .await;
    assert_problem(taken, StatusCode::CONFLICT, "file_path_taken").await;
    let duplicate = app
        .send(
            Method::POST,
            &format!("/api/v1/workspaces/{}/files", scene.workspace),
            token,
            Some(json!({"path": "a.txt"})),
        )
        .await;
    assert_problem(duplicate, StatusCode::CONFLICT, "file_path_taken").await;

    let deleted = app
        .send(Method::DELETE, &format!("/api/v1/files/{id}"), token, None)
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let gone = app
        .send(Method::GET, &format!("/api/v1/files/{id}"), token, None)
        .await;
    assert_problem(gone, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn bad_paths_are_refused_field_by_field() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let path = format!("/api/v1/workspaces/{}/files", scene.workspace);
    let long = "a/".repeat(512) + "b";
    for bad in [
        "",
        "/etc/passwd",
        "../up",
        "a/../b",
        "a//b",
        "a/",
        "./a",
        "a\\b",
        long.as_str(),
    ] {
        let response = app
            .send(
                Method::POST,
                &path,
                &cast.editor.access_token,
                Some(json!({"path": bad})),
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad:?}"
        );
        assert_eq!(invalid_fields(response).await, ["path"], "{bad:?}");
    }
}

#[tokio::test]
async fn each_role_may_do_what_the_policy_says_and_outsiders_see_nothing() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let file = create_file(
        &app,
        &scene,
        &cast.owner.access_token,
        json!({"path": "f.txt", "content": "x"}),
    )
    .await;
    let id = file["id"].as_str().unwrap();
    let files = format!("/api/v1/workspaces/{}/files", scene.workspace);

    for (name, user) in cast.actors() {
        let token = &user.access_token;
        let read = app
            .send(Method::GET, &format!("/api/v1/files/{id}"), token, None)
            .await;
        let write = app
            .send(
                Method::PUT,
                &format!("/api/v1/files/{id}/content"),
                token,
                Some(json!({"content": name})),
            )
            .await;
        let create = app
            .send(
                Method::POST,
                &files,
                token,
                Some(json!({"path": format!("{name}.txt")})),
            )
            .await;
        let (read_status, write_status, create_status) = match name {
            "owner" | "admin" | "editor" => (StatusCode::OK, StatusCode::OK, StatusCode::CREATED),
            "viewer" => (StatusCode::OK, StatusCode::FORBIDDEN, StatusCode::FORBIDDEN),
            _ => (
                StatusCode::NOT_FOUND,
                StatusCode::NOT_FOUND,
                StatusCode::NOT_FOUND,
            ),
        };
        assert_eq!(
            (read.status(), write.status(), create.status()),
            (read_status, write_status, create_status),
            "{name}"
        );
    }
}

#[tokio::test]
async fn writes_send_events_to_the_workspace_channel() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let mut socket = app.socket(Auth::Header(&cast.viewer.access_token)).await;
    let channel = format!("workspace:{}", scene.workspace);
    socket
        .request(json!({"type": "subscribe", "channel": channel}), "s")
        .await;

    let token = &cast.editor.access_token;
    let file = create_file(&app, &scene, token, json!({"path": "notes.md"})).await;
    let id = file["id"].as_str().unwrap();
    let created = socket.event_named("file.created").await;
    assert_eq!(created["channel"], channel);
    assert_eq!(created["data"]["file"]["path"], "notes.md");

    let written = app
        .send(
            Method::PUT,
            &format!("/api/v1/files/{id}/content"),
            token,
            Some(json!({"content": "# Notes"})),
        )
        .await;
    assert_eq!(json_body(written).await["content"], "# Notes");
    let saved = socket.event_named("file.saved").await;
    assert_eq!(saved["data"]["file"]["id"], id);

    app.send(
        Method::PATCH,
        &format!("/api/v1/files/{id}"),
        token,
        Some(json!({"path": "docs/notes.md"})),
    )
    .await;
    let renamed = socket.event_named("file.renamed").await;
    assert_eq!(
        (
            renamed["data"]["from"].as_str(),
            renamed["data"]["file"]["path"].as_str()
        ),
        (Some("notes.md"), Some("docs/notes.md"))
    );

    app.send(Method::DELETE, &format!("/api/v1/files/{id}"), token, None)
        .await;
    let deleted = socket.event_named("file.deleted").await;
    assert_eq!(deleted["data"]["file_id"], id);
    assert!(deleted["seq"].as_u64().unwrap() > created["seq"].as_u64().unwrap());
}
