//! Chat over HTTP: who may create, see, join and post in rooms (per project role and
//! room visibility), idempotent posting, history pages, edits and tombstones, and unread
//! and mention counts with read markers that only move forward.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, assert_problem, error_fields, json_body, spawn_app};
use crate::tenancy_helpers::{Cast, Scene, created};

impl TestApp {
    async fn room(&self, project: &str, by: &TestUser, body: Value) -> Value {
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

    async fn say(&self, room: &str, by: &TestUser, body: Value) -> (StatusCode, Value) {
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

    async fn seqs(&self, room: &str, query: &str, user: &TestUser) -> Vec<u64> {
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

    async fn read_to(&self, room: &str, user: &TestUser, seq: u64) -> Value {
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

    async fn rooms_of(&self, project: &str, user: &TestUser) -> Vec<Value> {
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

fn find<'a>(rooms: &'a [Value], id: &Value) -> Option<&'a Value> {
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
async fn unread_and_mention_counts_follow_posts_and_read_markers() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let room = app
        .room(
            &scene.project,
            &cast.owner,
            json!({"name": "general", "visibility": "public"}),
        )
        .await;
    let id = room["id"].as_str().unwrap();
    for user in [&cast.editor, &cast.admin] {
        app.send(
            Method::POST,
            &format!("/api/v1/rooms/{id}/join"),
            &user.access_token,
            None,
        )
        .await;
    }
    app.say(
        id,
        &cast.owner,
        json!({"body": format!("hey @{}", cast.editor.email)}),
    )
    .await;
    app.say(
        id,
        &cast.admin,
        json!({"body": format!("@{} look", cast.editor.id)}),
    )
    .await;
    app.say(id, &cast.editor, json!({"body": "on it"})).await;

    let counts = |rooms: Vec<Value>| {
        let r = find(&rooms, &room["id"]).unwrap().clone();
        (
            r["unread_count"].as_u64().unwrap(),
            r["mention_count"].as_u64().unwrap(),
            r["read_seq"].as_u64().unwrap(),
        )
    };
    assert_eq!(
        counts(app.rooms_of(&scene.project, &cast.editor).await),
        (2, 2, 0)
    );
    assert_eq!(
        counts(app.rooms_of(&scene.project, &cast.owner).await),
        (2, 0, 0)
    );
    // History does not mark anything read.
    app.send(
        Method::GET,
        &format!("/api/v1/rooms/{id}/messages"),
        &cast.editor.access_token,
        None,
    )
    .await;
    assert_eq!(
        counts(app.rooms_of(&scene.project, &cast.editor).await),
        (2, 2, 0)
    );

    let after = app.read_to(id, &cast.editor, 1).await;
    assert_eq!(
        (
            after["read_seq"].as_u64(),
            after["unread_count"].as_u64(),
            after["mention_count"].as_u64()
        ),
        (Some(1), Some(1), Some(1))
    );
    let back = app.read_to(id, &cast.editor, 0).await;
    assert_eq!(back["read_seq"], 1, "a read marker never moves back");
    let all = app.read_to(id, &cast.editor, 3).await;
    assert_eq!(
        (all["unread_count"].as_u64(), all["mention_count"].as_u64()),
        (Some(0), Some(0))
    );
    let outsider = app
        .send(
            Method::POST,
            &format!("/api/v1/rooms/{id}/read"),
            &cast.viewer.access_token,
            Some(json!({"seq": 1})),
        )
        .await;
    assert_problem(outsider, StatusCode::FORBIDDEN, "forbidden").await;
}

#[tokio::test]
async fn messages_are_idempotent_paged_edited_and_tombstoned() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let room = app
        .room(
            &scene.project,
            &cast.editor,
            json!({"name": "general", "visibility": "public"}),
        )
        .await;
    let id = room["id"].as_str().unwrap();
    let (first, posted) = app
        .say(
            id,
            &cast.editor,
            json!({"body": "**hello** <b>raw</b>", "client_id": "c-1"}),
        )
        .await;
    assert_eq!(first, StatusCode::CREATED);
    assert_eq!(
        posted["body"], "**hello** <b>raw</b>",
        "stored as written, never rendered"
    );
    let (again, repeat) = app
        .say(
            id,
            &cast.editor,
            json!({"body": "**hello** <b>raw</b>", "client_id": "c-1"}),
        )
        .await;
    assert_eq!(
        (again, repeat["id"].clone()),
        (StatusCode::OK, posted["id"].clone())
    );
    for n in 2..=30 {
        app.say(id, &cast.editor, json!({"body": format!("m{n}")}))
            .await;
    }
    assert_eq!(app.seqs(id, "?limit=3", &cast.viewer).await, [30, 29, 28]);
    assert_eq!(
        app.seqs(id, "?before=5&limit=10", &cast.viewer).await,
        [4, 3, 2, 1]
    );
    assert_eq!(app.seqs(id, "?after=27", &cast.viewer).await, [28, 29, 30]);
    assert_eq!(
        app.seqs(id, "?around=10&limit=4", &cast.viewer).await,
        [8, 9, 10, 11]
    );
    let both = app
        .send(
            Method::GET,
            &format!("/api/v1/rooms/{id}/messages?before=3&after=1"),
            &cast.viewer.access_token,
            None,
        )
        .await;
    assert_problem(both, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;

    let message = format!("/api/v1/messages/{}", posted["id"].as_str().unwrap());
    let not_author = app
        .send(
            Method::PATCH,
            &message,
            &cast.owner.access_token,
            Some(json!({"body": "mine now"})),
        )
        .await;
    assert_problem(not_author, StatusCode::FORBIDDEN, "forbidden").await;
    let edited = json_body(
        app.send(
            Method::PATCH,
            &message,
            &cast.editor.access_token,
            Some(json!({"body": "hello!"})),
        )
        .await,
    )
    .await;
    assert_eq!(
        (edited["body"].as_str(), edited["seq"].as_u64()),
        (Some("hello!"), Some(1))
    );
    assert!(edited["edited_at"].is_string());
    let by_viewer = app
        .send(Method::DELETE, &message, &cast.viewer.access_token, None)
        .await;
    assert_problem(by_viewer, StatusCode::FORBIDDEN, "forbidden").await;
    let tomb = json_body(
        app.send(Method::DELETE, &message, &cast.admin.access_token, None)
            .await,
    )
    .await;
    assert_eq!(
        (tomb["body"].as_str(), tomb["deleted_at"].is_string()),
        (Some(""), true)
    );
    assert_eq!(
        app.seqs(id, "?before=2", &cast.viewer).await,
        [1],
        "the tombstone keeps its place"
    );
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

#[tokio::test]
async fn a_user_posting_too_fast_is_told_when_to_try_again() {
    let app = crate::helpers::spawn_app_with(|s| {
        s.chat_messages_per_second = 3;
        s.chat_messages_per_minute = 5;
    })
    .await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let room = app
        .room(
            &scene.project,
            &cast.editor,
            json!({"name": "general", "visibility": "public"}),
        )
        .await;
    let id = room["id"].as_str().unwrap();
    let mut statuses = Vec::new();
    for n in 0..4 {
        statuses.push(
            app.say(id, &cast.editor, json!({"body": format!("m{n}")}))
                .await
                .0,
        );
    }
    assert_eq!(statuses[..3], [StatusCode::CREATED; 3]);
    assert_eq!(
        statuses[3],
        StatusCode::TOO_MANY_REQUESTS,
        "the burst is 3 a second"
    );
    let url = app.url(&format!("/api/v1/rooms/{id}/messages"));
    let limited = app
        .client
        .post(&url)
        .bearer_auth(&cast.editor.access_token)
        .json(&json!({"body": "again"}))
        .send()
        .await
        .unwrap();
    assert!(limited.headers().contains_key("retry-after"));
    assert_problem(limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    // Another user has an allowance of their own.
    app.send(
        Method::POST,
        &format!("/api/v1/rooms/{id}/join"),
        &cast.admin.access_token,
        None,
    )
    .await;
    assert_eq!(
        app.say(id, &cast.admin, json!({"body": "hi"})).await.0,
        StatusCode::CREATED
    );
    // After a second the burst is back, but the minute's 5 run out.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let mut later = Vec::new();
    for n in 0..3 {
        later.push(
            app.say(id, &cast.editor, json!({"body": format!("l{n}")}))
                .await
                .0,
        );
    }
    assert_eq!(
        later,
        [
            StatusCode::CREATED,
            StatusCode::CREATED,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
}

#[tokio::test]
async fn thousands_of_messages_page_both_ways_without_gaps_or_repeats() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let room = app
        .room(
            &scene.project,
            &cast.editor,
            json!({"name": "busy", "visibility": "public"}),
        )
        .await;
    let id = room["id"].as_str().unwrap().to_owned();
    for user in [&cast.admin, &cast.owner] {
        app.send(
            Method::POST,
            &format!("/api/v1/rooms/{id}/join"),
            &user.access_token,
            None,
        )
        .await;
    }
    // Three members post at once, 700 messages each.
    let writers = [&cast.editor, &cast.admin, &cast.owner].map(|user| {
        let (app, id) = (&app, id.clone());
        async move {
            for n in 0..700 {
                let (status, _) = app.say(&id, user, json!({"body": format!("{n}")})).await;
                assert_eq!(status, StatusCode::CREATED);
            }
        }
    });
    futures::future::join_all(writers).await;

    let mut backwards = Vec::new();
    let mut query = "?limit=100".to_owned();
    loop {
        let page = app.seqs(&id, &query, &cast.viewer).await;
        let Some(last) = page.last() else { break };
        query = format!("?limit=100&before={last}");
        backwards.extend(page);
    }
    assert_eq!(backwards, (1..=2100).rev().collect::<Vec<u64>>());
    let mut forwards = Vec::new();
    let mut query = "?limit=100&after=0".to_owned();
    loop {
        let page = app.seqs(&id, &query, &cast.viewer).await;
        let Some(last) = page.last() else { break };
        query = format!("?limit=100&after={last}");
        forwards.extend(page);
    }
    assert_eq!(forwards, (1..=2100).collect::<Vec<u64>>());

    // Each member has the others' 1,400 messages unread, none of their own.
    for user in [&cast.editor, &cast.admin, &cast.owner] {
        let rooms = app.rooms_of(&scene.project, user).await;
        let mine = find(&rooms, &room["id"]).unwrap();
        assert_eq!(mine["unread_count"], 1400, "{mine}");
    }
}
