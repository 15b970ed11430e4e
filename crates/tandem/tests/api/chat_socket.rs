//! Chat actions over the socket besides posting (edit, delete, react, read), the typing
//! list with its expiry, the shared per-user rate limit, and room presence with last seen.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::chat_realtime::{id, publish, subscribed};
use crate::helpers::{json_body, spawn_app, spawn_app_with};
use crate::socket::Auth;
use crate::tenancy_helpers::{Cast, Scene};

#[tokio::test]
async fn typing_lists_change_when_someone_starts_or_stops_and_expire_by_themselves() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let room = app.general_room(&scene.project, &cast.editor).await;
    app.join_room(&room, &cast.admin).await;
    let (mut editor, _) = subscribed(&app, &cast.editor, &room).await;
    let (mut admin, _) = subscribed(&app, &cast.admin, &room).await;
    let (mut viewer, _) = subscribed(&app, &cast.viewer, &room).await;
    let typists = |frame: Value| frame["data"]["user_ids"].clone();

    assert_eq!(
        publish(&mut editor, &room, "typing", json!({"typing": true})).await["type"],
        "ack"
    );
    assert_eq!(
        typists(viewer.event_named("typing").await),
        json!([cast.editor.id])
    );
    publish(&mut admin, &room, "typing", json!(null)).await;
    assert_eq!(
        typists(viewer.event_named("typing").await),
        json!([cast.editor.id, cast.admin.id])
    );
    // Saying it again only renews it: nobody hears about it.
    publish(&mut editor, &room, "typing", json!({})).await;
    viewer.silent_for(300).await;
    // Posting ends the author's typing.
    app.say(&room, &cast.editor, json!({"body": "done"})).await;
    assert_eq!(
        typists(viewer.event_named("typing").await),
        json!([cast.admin.id])
    );
    // Nobody keeps typing for ever: past the time to live the list empties itself.
    app.clock.advance(chrono::Duration::seconds(7));
    assert_eq!(typists(viewer.event_named("typing").await), json!([]));
    // Closing the socket ends its typing at once.
    publish(&mut admin, &room, "typing", json!({"typing": true})).await;
    assert_eq!(
        typists(viewer.event_named("typing").await),
        json!([cast.admin.id])
    );
    drop(admin);
    assert_eq!(typists(viewer.event_named("typing").await), json!([]));

    let refused = publish(&mut viewer, &room, "typing", json!({"typing": true})).await;
    assert_eq!(refused["code"], "forbidden", "who cannot post cannot type");
    let malformed = publish(&mut editor, &room, "typing", json!({"typing": "yes"})).await;
    assert_eq!(malformed["code"], "invalid_data");
}

#[tokio::test]
async fn socket_posts_share_the_users_rate_limit() {
    let app = spawn_app_with(|s| {
        s.chat_messages_per_second = 3;
        s.chat_messages_per_minute = 100;
    })
    .await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let room = app.general_room(&scene.project, &cast.editor).await;
    let (mut editor, _) = subscribed(&app, &cast.editor, &room).await;
    let (status, _) = app
        .say(&room, &cast.editor, json!({"body": "over REST"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    for n in 0..2 {
        let ack = publish(
            &mut editor,
            &room,
            "message",
            json!({"body": format!("{n}")}),
        )
        .await;
        assert_eq!(ack["type"], "ack", "{ack}");
    }
    let limited = publish(
        &mut editor,
        &room,
        "message",
        json!({"body": "one too many"}),
    )
    .await;
    assert_eq!(
        (&limited["type"], &limited["code"]),
        (&json!("error"), &json!("rate_limited"))
    );
    let (status, _) = app
        .say(&room, &cast.editor, json!({"body": "REST too"}))
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn room_presence_shows_who_is_there_and_when_members_were_last_seen() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let room = app.general_room(&scene.project, &cast.editor).await;
    let path = format!("/api/v1/rooms/{room}/presence");
    let (mut editor, _) = subscribed(&app, &cast.editor, &room).await;
    let (mut viewer, _) = subscribed(&app, &cast.viewer, &room).await;
    let state = loop {
        let frame = viewer.recv_any().await;
        if frame["type"] == "presence_state" {
            break frame;
        }
    };
    let online: Vec<&str> = state["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["user_id"].as_str().unwrap())
        .collect();
    assert_eq!(online, [cast.editor.id.as_str(), cast.viewer.id.as_str()]);

    let presence = json_body(
        app.send(Method::GET, &path, &cast.viewer.access_token, None)
            .await,
    )
    .await;
    assert_eq!(presence["online"].as_array().unwrap().len(), 2);
    assert_eq!(presence["last_seen"], json!([]));
    let outsider = app
        .send(Method::GET, &path, &cast.outsider.access_token, None)
        .await;
    assert_eq!(outsider.status(), StatusCode::NOT_FOUND);

    // The editor (a member) leaves: the viewer sees them go, and they are last seen now.
    editor
        .request(
            json!({"type": "unsubscribe", "channel": format!("room:{room}")}),
            "u",
        )
        .await;
    let diff = loop {
        let frame = viewer.recv_any().await;
        if frame["type"] == "presence_diff" && frame["leaves"] != json!([]) {
            break frame;
        }
    };
    assert_eq!(
        diff["leaves"][0]["user_id"],
        cast.editor.id.as_str(),
        "{diff}"
    );
    let seen = loop {
        let presence = json_body(
            app.send(Method::GET, &path, &cast.viewer.access_token, None)
                .await,
        )
        .await;
        if presence["last_seen"]
            .as_array()
            .is_some_and(|s| !s.is_empty())
        {
            break presence;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(seen["last_seen"][0]["user_id"], cast.editor.id.as_str());
    assert_eq!(seen["online"][0]["user_id"], cast.viewer.id.as_str());

    // The viewer never joined the room: their departure is not listed as a member's.
    drop(viewer);
    let mut owner = app.socket(Auth::Query(&cast.owner.access_token)).await;
    owner
        .request(
            json!({"type": "subscribe", "channel": format!("room:{room}")}),
            "s",
        )
        .await;
    let presence = json_body(
        app.send(Method::GET, &path, &cast.owner.access_token, None)
            .await,
    )
    .await;
    let listed: Vec<&str> = presence["last_seen"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["user_id"].as_str().unwrap())
        .collect();
    assert!(!listed.contains(&cast.viewer.id.as_str()), "{presence}");
}

#[tokio::test]
async fn members_edit_delete_react_and_read_over_the_socket() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let room = app.general_room(&scene.project, &cast.editor).await;
    app.join_room(&room, &cast.admin).await;
    let (mut editor, _) = subscribed(&app, &cast.editor, &room).await;
    let (mut admin, _) = subscribed(&app, &cast.admin, &room).await;
    let posted = publish(&mut editor, &room, "message", json!({"body": "draft"})).await;
    let message = posted["data"]["id"].clone();
    admin.event_named("message.created").await;

    let edited = publish(
        &mut editor,
        &room,
        "edit",
        json!({"message_id": message, "body": "final"}),
    )
    .await;
    assert_eq!(
        (&edited["type"], &edited["data"]["body"]),
        (&json!("ack"), &json!("final"))
    );
    assert_eq!(
        admin.event_named("message.updated").await["data"]["body"],
        "final"
    );
    let not_yours = publish(
        &mut admin,
        &room,
        "edit",
        json!({"message_id": message, "body": "mine"}),
    )
    .await;
    assert_eq!(not_yours["code"], "forbidden");

    let reacted = publish(
        &mut admin,
        &room,
        "react",
        json!({"message_id": message, "emoji": "🎉"}),
    )
    .await;
    assert_eq!(reacted["data"]["on"], true, "{reacted}");
    let change = editor.event_named("reaction.changed").await;
    assert_eq!(
        change["data"]["reactions"],
        json!([{"emoji": "🎉", "users": [cast.admin.id]}])
    );

    let read = publish(&mut admin, &room, "read", json!({"seq": 1})).await;
    assert_eq!(
        (&read["data"]["read_seq"], &read["data"]["unread_count"]),
        (&json!(1), &json!(0))
    );
    let seen = editor.event_named("room.read").await;
    assert_eq!(
        (&seen["data"]["user_id"], &seen["data"]["seq"]),
        (&json!(cast.admin.id), &json!(1))
    );

    // A message of another room is not found through this one.
    let other = app
        .room(
            &scene.project,
            &cast.editor,
            json!({"name": "other", "visibility": "public"}),
        )
        .await;
    let (_, elsewhere) = app
        .say(id(&other), &cast.editor, json!({"body": "there"}))
        .await;
    let wrong_room = publish(
        &mut editor,
        &room,
        "delete",
        json!({"message_id": elsewhere["id"]}),
    )
    .await;
    assert_eq!(wrong_room["code"], "not_found");
    let malformed = publish(&mut editor, &room, "react", json!({"message_id": "nope"})).await;
    assert_eq!(malformed["code"], "invalid_data");

    let deleted = publish(&mut admin, &room, "delete", json!({"message_id": message})).await;
    assert_eq!(
        (&deleted["data"]["body"], &deleted["data"]["id"]),
        (&json!(""), &message)
    );
    assert!(editor.event_named("message.deleted").await["data"]["deleted_at"].is_string());
    let response = app
        .send(
            Method::GET,
            &format!("/api/v1/rooms/{room}/messages"),
            &cast.viewer.access_token,
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let page: Value = json_body(response).await;
    assert_eq!(
        page["items"][0]["deleted_at"],
        deleted["data"]["deleted_at"]
    );
}

#[tokio::test]
async fn a_flood_of_room_actions_is_cut_by_the_connections_publish_rate() {
    let app = spawn_app_with(|s| s.realtime_publishes_per_second = 5).await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let room = app.general_room(&scene.project, &cast.editor).await;
    let (mut editor, _) = subscribed(&app, &cast.editor, &room).await;
    let mut codes = Vec::new();
    for _ in 0..20 {
        let answer = publish(&mut editor, &room, "read", json!({"seq": 0})).await;
        codes.push(answer["code"].as_str().unwrap_or("ack").to_owned());
    }
    let limited = codes.iter().filter(|c| *c == "rate_limited").count();
    assert!(limited >= 10, "{codes:?}");
    assert_eq!(codes[0], "ack");
}
