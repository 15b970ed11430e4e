//! Chat rooms over HTTP: who may create, see, join and post in them (per project role and
//! room visibility), archiving and deleting, validation; and the request helpers the
//! other chat tests share. Messages are in `chat_messages`.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, assert_problem, error_fields, json_body, spawn_app};
use crate::tenancy_helpers::{Cast, Scene, created};

impl TestApp {
    pub async fn room(&self, project: &str, by: &TestUser, body: Value) -> Value {
        created(
            self.send(
                Method::POST,
                &format!("/api/v1/projects/{project}/rooms"),
                &by.access_token,
                Some(body),
            )
            .await,
        )
        .await
    }

    /// A public room "general" created by `by`; its id.
    pub async fn general_room(&self, project: &str, by: &TestUser) -> String {
        let body = json!({"name": "general", "visibility": "public"});
        let room = self.room(project, by, body).await;
        room["id"].as_str().unwrap().to_owned()
    }

    /// `user` joins the (public) room.
    pub async fn join_room(&self, room: &str, user: &TestUser) {
        let path = format!("/api/v1/rooms/{room}/join");
        let response = self
            .send(Method::POST, &path, &user.access_token, Some(json!({})))
            .await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }

    pub async fn say(&self, room: &str, by: &TestUser, body: Value) -> (StatusCode, Value) {
        let response = self
            .send(
                Method::POST,
                &format!("/api/v1/rooms/{room}/messages"),
                &by.access_token,
                Some(body),
            )
            .await;
        let status = response.status();
        (status, json_body(response).await)
    }

    pub async fn seqs(&self, room: &str, query: &str, user: &TestUser) -> Vec<u64> {
        let path = format!("/api/v1/rooms/{room}/messages{query}");
        let body = json_body(
            self.send(Method::GET, &path, &user.access_token, None)
                .await,
        )
        .await;
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["seq"].as_u64().unwrap())
            .collect()
    }

    pub async fn read_to(&self, room: &str, user: &TestUser, seq: u64) -> Value {
        let path = format!("/api/v1/rooms/{room}/read");
        json_body(
            self.send(
                Method::POST,
                &path,
                &user.access_token,
                Some(json!({"seq": seq})),
            )
            .await,
        )
        .await
    }

    pub async fn rooms_of(&self, project: &str, user: &TestUser) -> Vec<Value> {
        let response = self
            .send(
                Method::GET,
                &format!("/api/v1/projects/{project}/rooms"),
                &user.access_token,
                None,
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        json_body(response).await.as_array().unwrap().clone()
    }
}

pub fn find<'a>(rooms: &'a [Value], id: &Value) -> Option<&'a Value> {
    rooms.iter().find(|r| r["id"] == *id)
}

#[tokio::test]
async fn rooms_follow_project_roles_and_private_rooms_stay_hidden() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let path = format!("/api/v1/projects/{}/rooms", scene.project);
    let body = json!({"name": "general", "visibility": "public"});
    let viewer = app
        .send(
            Method::POST,
            &path,
            &cast.viewer.access_token,
            Some(body.clone()),
        )
        .await;
    assert_problem(viewer, StatusCode::FORBIDDEN, "forbidden").await;
    let outsider = app
        .send(
            Method::POST,
            &path,
            &cast.outsider.access_token,
            Some(body.clone()),
        )
        .await;
    assert_problem(outsider, StatusCode::NOT_FOUND, "not_found").await;

    let public = app.room(&scene.project, &cast.editor, body).await;
    let private = app
        .room(
            &scene.project,
            &cast.admin,
            json!({"name": "staff", "visibility": "private", "topic": "pay"}),
        )
        .await;
    assert_eq!(
        (public["joined"].as_bool(), public["created_by"].as_str()),
        (Some(true), Some(cast.editor.id.as_str()))
    );

    let editor_sees = app.rooms_of(&scene.project, &cast.editor).await;
    assert!(find(&editor_sees, &public["id"]).is_some());
    assert!(
        find(&editor_sees, &private["id"]).is_none(),
        "private rooms are invisible to non-members"
    );
    let private_path = format!("/api/v1/rooms/{}", private["id"].as_str().unwrap());
    for user in [&cast.editor, &cast.viewer, &cast.outsider] {
        let seen = app
            .send(Method::GET, &private_path, &user.access_token, None)
            .await;
        assert_problem(seen, StatusCode::NOT_FOUND, "not_found").await;
    }
    let join_private = app
        .send(
            Method::POST,
            &format!("{private_path}/join"),
            &cast.editor.access_token,
            None,
        )
        .await;
    assert_problem(join_private, StatusCode::NOT_FOUND, "not_found").await;

    // A viewer joins the public room and reads, but may not post until the room allows it.
    let room = public["id"].as_str().unwrap();
    let joined = json_body(
        app.send(
            Method::POST,
            &format!("/api/v1/rooms/{room}/join"),
            &cast.viewer.access_token,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(joined["joined"], true);
    let (status, refused) = app.say(room, &cast.viewer, json!({"body": "hi"})).await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    let not_manager = app
        .send(
            Method::PATCH,
            &format!("/api/v1/rooms/{room}"),
            &cast.viewer.access_token,
            Some(json!({"viewers_can_post": true})),
        )
        .await;
    assert_problem(not_manager, StatusCode::FORBIDDEN, "forbidden").await;
    let opened = app
        .send(
            Method::PATCH,
            &format!("/api/v1/rooms/{room}"),
            &cast.editor.access_token,
            Some(json!({"viewers_can_post": true})),
        )
        .await;
    assert_eq!(opened.status(), StatusCode::OK);
    let (status, _) = app.say(room, &cast.viewer, json!({"body": "hi"})).await;
    assert_eq!(status, StatusCode::CREATED);

    // Archived rooms are read-only; an admin may delete any room.
    app.send(
        Method::PATCH,
        &format!("/api/v1/rooms/{room}"),
        &cast.admin.access_token,
        Some(json!({"archived": true})),
    )
    .await;
    let (status, archived) = app
        .say(room, &cast.editor, json!({"body": "anyone?"}))
        .await;
    assert_eq!(
        (status, archived["code"].as_str()),
        (StatusCode::CONFLICT, Some("room_archived"))
    );
    let deleted = app
        .send(
            Method::DELETE,
            &format!("/api/v1/rooms/{room}"),
            &cast.admin.access_token,
            None,
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let gone = app
        .send(
            Method::GET,
            &format!("/api/v1/rooms/{room}"),
            &cast.admin.access_token,
            None,
        )
        .await;
    assert_problem(gone, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn bad_rooms_and_messages_are_refused_with_their_fields() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let path = format!("/api/v1/projects/{}/rooms", scene.project);
    let bad = app
        .send(
            Method::POST,
            &path,
            &cast.editor.access_token,
            Some(json!({"name": " ", "visibility": "secret", "topic": "x".repeat(501)})),
        )
        .await;
    let problem = assert_problem(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(error_fields(&problem), ["name", "topic", "visibility"]);
    let room = app
        .room(
            &scene.project,
            &cast.editor,
            json!({"name": "general", "visibility": "public"}),
        )
        .await;
    let id = room["id"].as_str().unwrap();
    for (body, field) in [
        (json!({"body": "   "}), "body"),
        (json!({"body": "x".repeat(16 * 1024 + 1)}), "body"),
        (json!({"body": "ok", "client_id": "has space"}), "client_id"),
        (
            json!({"body": "ok", "reply_to": "0190d5b3-0000-7000-8000-000000000000"}),
            "reply_to",
        ),
    ] {
        let (status, problem) = app.say(id, &cast.editor, body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert!(
            error_fields(&problem).contains(&field.to_owned()),
            "{problem}"
        );
    }
}
