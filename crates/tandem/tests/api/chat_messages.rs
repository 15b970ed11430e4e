//! Chat messages over HTTP: idempotent posting, history pages (thousands of messages from
//! concurrent writers, both ways), edits and tombstones, unread and mention counts with
//! read markers that only move forward, and per-user rate limits.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::chat::find;
use crate::helpers::{assert_problem, json_body, spawn_app};
use crate::tenancy_helpers::{Cast, Scene};

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
