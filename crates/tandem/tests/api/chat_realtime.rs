//! Chat over the realtime socket: room channels carry messages, edits, deletions,
//! reactions, read markers, joins and leaves to those who may read the room; members post
//! with `publish`; private rooms stay closed to others, and leaving one (or its deletion)
//! ends the subscription; an offline member catches up with `since`. The socket's other
//! room actions, typing and presence are in `chat_socket`.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, json_body, spawn_app};
use crate::socket::{Auth, Socket};
use crate::tenancy_helpers::{Cast, Scene};

pub async fn subscribed(app: &TestApp, user: &TestUser, room: &str) -> (Socket, Value) {
    let mut socket = app.socket(Auth::Query(&user.access_token)).await;
    let answer = socket
        .request(
            json!({"type": "subscribe", "channel": format!("room:{room}")}),
            "s",
        )
        .await;
    (socket, answer)
}

pub async fn publish(socket: &mut Socket, room: &str, event: &str, data: Value) -> Value {
    socket
        .request(
            json!({"type": "publish", "channel": format!("room:{room}"), "event": event, "data": data}),
            "p",
        )
        .await
}

pub async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    user: &TestUser,
    body: Value,
) -> Value {
    let response = app.send(method, path, &user.access_token, Some(body)).await;
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    if response.status() == StatusCode::NO_CONTENT {
        return Value::Null;
    }
    json_body(response).await
}

pub fn id(value: &Value) -> &str {
    value["id"].as_str().unwrap()
}

#[tokio::test]
async fn room_events_reach_readers_and_members_post_over_the_socket() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let room = app.general_room(&scene.project, &cast.editor).await;
    app.join_room(&room, &cast.admin).await;

    let (mut admin, answer) = subscribed(&app, &cast.admin, &room).await;
    assert_eq!(answer["type"], "ack");
    let (mut viewer, answer) = subscribed(&app, &cast.viewer, &room).await;
    assert_eq!(answer["type"], "ack", "project viewers read public rooms");
    let (_, refused) = subscribed(&app, &cast.outsider, &room).await;
    assert_eq!(
        (&refused["type"], &refused["code"]),
        (&json!("error"), &json!("not_found"))
    );

    // A post over REST reaches every reader.
    let (status, posted) = app.say(&room, &cast.editor, json!({"body": "hello"})).await;
    assert_eq!(status, StatusCode::CREATED);
    for socket in [&mut admin, &mut viewer] {
        let event = socket.event_named("message.created").await;
        assert_eq!(event["channel"], format!("room:{room}"));
        assert_eq!(event["actor"], cast.editor.id.as_str());
        assert_eq!(event["data"]["id"], posted["id"]);
        assert_eq!(
            (&event["data"]["body"], &event["data"]["seq"]),
            (&json!("hello"), &json!(1))
        );
        assert!(event["seq"].as_u64().is_some(), "a durable event");
    }

    // A post over the socket is acknowledged with the message, and is idempotent.
    let data = json!({"body": format!("ping @{}", cast.editor.email), "client_id": "c-1"});
    let ack = publish(&mut admin, &room, "message", data.clone()).await;
    assert_eq!(ack["type"], "ack", "{ack}");
    assert_eq!(ack["data"]["seq"], 2);
    assert_eq!(ack["data"]["mentions"], json!([cast.editor.id]));
    let event = viewer.event_named("message.created").await;
    assert_eq!(event["data"]["id"], ack["data"]["id"]);
    let again = publish(&mut admin, &room, "message", data).await;
    assert_eq!(
        again["data"]["id"], ack["data"]["id"],
        "the same client_id is one message"
    );
    let rooms = app.rooms_of(&scene.project, &cast.editor).await;
    assert_eq!(rooms[0]["mention_count"], 1);

    // Viewers read but do not post, and malformed posts say what is wrong.
    let refused = publish(&mut viewer, &room, "message", json!({"body": "hi"})).await;
    assert_eq!(
        (&refused["type"], &refused["code"]),
        (&json!("error"), &json!("forbidden"))
    );
    let malformed = publish(&mut admin, &room, "message", json!({"text": "hi"})).await;
    assert_eq!(malformed["code"], "invalid_data");
    let empty = publish(&mut admin, &room, "message", json!({"body": ""})).await;
    assert_eq!(empty["code"], "validation_failed");
    let unknown = publish(&mut admin, &room, "cursor", json!({})).await;
    assert_eq!(unknown["code"], "invalid_event");

    // Edits, reactions, deletions, read markers and joins follow.
    let message = format!("/api/v1/messages/{}", ack["data"]["id"].as_str().unwrap());
    send(
        &app,
        Method::PATCH,
        &message,
        &cast.admin,
        json!({"body": "pong"}),
    )
    .await;
    let edited = viewer.event_named("message.updated").await;
    assert_eq!(
        (&edited["data"]["body"], &edited["data"]["seq"]),
        (&json!("pong"), &json!(2))
    );
    assert!(edited["data"]["edited_at"].is_string());
    let reactions = format!("{message}/reactions");
    send(
        &app,
        Method::POST,
        &reactions,
        &cast.editor,
        json!({"emoji": "👍"}),
    )
    .await;
    let reacted = viewer.event_named("reaction.changed").await;
    assert_eq!(reacted["data"]["added"], true);
    assert_eq!(reacted["data"]["emoji"], "👍");
    assert_eq!(
        reacted["data"]["reactions"],
        json!([{"emoji": "👍", "users": [cast.editor.id]}])
    );
    app.read_to(&room, &cast.editor, 2).await;
    let read = viewer.event_named("room.read").await;
    assert_eq!(
        read["data"],
        json!({"room_id": room, "user_id": cast.editor.id, "seq": 2})
    );
    app.read_to(&room, &cast.editor, 1).await;
    send(&app, Method::DELETE, &message, &cast.admin, json!(null)).await;
    let deleted = viewer.event_named("message.deleted").await;
    assert_eq!(
        (&deleted["data"]["body"], &deleted["data"]["seq"]),
        (&json!(""), &json!(2))
    );
    assert!(deleted["data"]["deleted_at"].is_string());
    let events: Vec<Value> = vec![edited, reacted, read, deleted];
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "moving the marker back is no event: {seqs:?}"
    );

    app.join_room(&room, &cast.viewer).await;
    let joined = admin.event_named("member.joined").await;
    assert_eq!(joined["data"]["user_id"], cast.viewer.id.as_str());
    send(
        &app,
        Method::POST,
        &format!("/api/v1/rooms/{room}/leave"),
        &cast.viewer,
        json!({}),
    )
    .await;
    let left = admin.event_named("member.left").await;
    assert_eq!(left["data"]["user_id"], cast.viewer.id.as_str());

    // Nothing of a room leaks onto its project's channel.
    let mut project = app.socket(Auth::Query(&cast.owner.access_token)).await;
    let channel = format!("project:{}", scene.project);
    project
        .request(json!({"type": "subscribe", "channel": channel}), "s")
        .await;
    app.say(&room, &cast.editor, json!({"body": "only in the room"}))
        .await;
    project.silent_for(300).await;
}

#[tokio::test]
async fn private_rooms_are_for_their_members_and_losing_access_ends_the_subscription() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let room = app
        .room(
            &scene.project,
            &cast.admin,
            json!({"name": "staff", "visibility": "private"}),
        )
        .await;
    let room = id(&room).to_owned();
    let (_, refused) = subscribed(&app, &cast.editor, &room).await;
    assert_eq!(
        refused["code"], "not_found",
        "a private room does not exist to others"
    );

    let (mut admin, _) = subscribed(&app, &cast.admin, &room).await;
    let invite = send(
        &app,
        Method::POST,
        &format!("/api/v1/rooms/{room}/invites"),
        &cast.admin,
        json!({}),
    )
    .await;
    let accept = json!({"token": invite["token"]});
    send(
        &app,
        Method::POST,
        "/api/v1/rooms/invites/accept",
        &cast.editor,
        accept,
    )
    .await;
    let joined = admin.event_named("member.joined").await;
    assert_eq!(joined["data"]["user_id"], cast.editor.id.as_str());
    let (mut editor, answer) = subscribed(&app, &cast.editor, &room).await;
    assert_eq!(answer["type"], "ack");

    // Removed from the room: the socket is told, and hears nothing more.
    let member = format!("/api/v1/rooms/{room}/members/{}", cast.editor.id);
    let response = app
        .send(Method::DELETE, &member, &cast.admin.access_token, None)
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let ended = loop {
        let frame = editor.recv().await;
        if frame["type"] == "unsubscribed" {
            break frame;
        }
    };
    assert_eq!(
        ended,
        json!({"type": "unsubscribed", "channel": format!("room:{room}"), "reason": "access_revoked"})
    );
    assert_eq!(
        admin.event_named("member.left").await["data"]["user_id"],
        cast.editor.id.as_str()
    );
    app.say(&room, &cast.admin, json!({"body": "after you left"}))
        .await;
    admin.event_named("message.created").await;
    editor.silent_for(300).await;

    // A public room made private drops the readers who are not members.
    let public = app
        .room(
            &scene.project,
            &cast.admin,
            json!({"name": "open", "visibility": "public"}),
        )
        .await;
    let public = id(&public).to_owned();
    let (mut reader, _) = subscribed(&app, &cast.viewer, &public).await;
    let (mut creator, _) = subscribed(&app, &cast.admin, &public).await;
    let path = format!("/api/v1/rooms/{public}");
    send(
        &app,
        Method::PATCH,
        &path,
        &cast.admin,
        json!({"visibility": "private"}),
    )
    .await;
    assert_eq!(
        reader.event_named("room.updated").await["data"]["visibility"],
        "private"
    );
    let frame = reader.recv().await;
    assert_eq!(
        (&frame["type"], &frame["reason"]),
        (&json!("unsubscribed"), &json!("access_revoked"))
    );
    creator.event_named("room.updated").await;

    // Deleting a room tells its readers and ends their subscriptions.
    let response = app
        .send(Method::DELETE, &path, &cast.admin.access_token, None)
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        creator.event_named("room.deleted").await["data"]["id"],
        public.as_str()
    );
    let frame = creator.recv().await;
    assert_eq!(
        (&frame["type"], &frame["reason"]),
        (&json!("unsubscribed"), &json!("access_revoked"))
    );
}

#[tokio::test]
async fn an_offline_member_catches_up_with_since() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let room = app.general_room(&scene.project, &cast.editor).await;
    let (mut reader, _) = subscribed(&app, &cast.viewer, &room).await;
    app.say(&room, &cast.editor, json!({"body": "first"})).await;
    let seen = reader.event_named("message.created").await["seq"]
        .as_u64()
        .unwrap();
    drop(reader);

    let mut ids = Vec::new();
    for body in ["second", "third", "fourth"] {
        let (_, message) = app.say(&room, &cast.editor, json!({"body": body})).await;
        ids.push(message["id"].clone());
    }
    let edit = format!("/api/v1/messages/{}", ids[0].as_str().unwrap());
    send(
        &app,
        Method::PATCH,
        &edit,
        &cast.editor,
        json!({"body": "2nd"}),
    )
    .await;

    let mut back = app.socket(Auth::Query(&cast.viewer.access_token)).await;
    let channel = format!("room:{room}");
    let answer = back
        .request(
            json!({"type": "subscribe", "channel": channel, "since": seen}),
            "s",
        )
        .await;
    assert_eq!(answer["type"], "ack");
    let mut missed = Vec::new();
    for _ in 0..4 {
        let frame = back.recv().await;
        missed.push((
            frame["seq"].as_u64().unwrap(),
            frame["event"].clone(),
            frame["data"]["body"].clone(),
        ));
    }
    assert_eq!(
        missed,
        [
            (seen + 1, json!("message.created"), json!("second")),
            (seen + 2, json!("message.created"), json!("third")),
            (seen + 3, json!("message.created"), json!("fourth")),
            (seen + 4, json!("message.updated"), json!("2nd")),
        ]
    );
}
