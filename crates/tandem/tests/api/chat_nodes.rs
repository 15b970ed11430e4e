//! Chat across nodes sharing PostgreSQL and Redis: posts, typing lists and lost access
//! reach sockets on the other node. Embedded, the same journey runs on one node.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::chat_realtime::{id, publish, send, subscribed};
use crate::helpers::spawn_app;
use crate::scale_out::second_node;
use crate::tenancy_helpers::{Cast, Scene};

#[tokio::test]
async fn posts_typing_and_lost_access_cross_nodes() {
    let a = spawn_app().await;
    let second = match a.settings.redis_url {
        Some(_) => Some(second_node(&a).await),
        None => None,
    };
    let b = second.as_ref().unwrap_or(&a);
    let cast = Cast::new(&a).await;
    let scene = Scene::new(&a, &cast).await;
    let room = a
        .room(
            &scene.project,
            &cast.admin,
            json!({"name": "staff", "visibility": "private"}),
        )
        .await;
    let room = id(&room).to_owned();
    let invite = format!("/api/v1/rooms/{room}/invites");
    let invite = send(&a, Method::POST, &invite, &cast.admin, json!({})).await;
    let accept = json!({"token": invite["token"]});
    send(
        b,
        Method::POST,
        "/api/v1/rooms/invites/accept",
        &cast.editor,
        accept,
    )
    .await;

    let (mut on_a, _) = subscribed(&a, &cast.admin, &room).await;
    let (mut on_b, answer) = subscribed(b, &cast.editor, &room).await;
    assert_eq!(answer["type"], "ack");

    let ack = publish(&mut on_b, &room, "message", json!({"body": "from b"})).await;
    let heard = on_a.event_named("message.created").await;
    assert_eq!(heard["data"]["id"], ack["data"]["id"]);

    publish(&mut on_a, &room, "typing", json!({"typing": true})).await;
    let typing = on_b.event_named("typing").await;
    assert_eq!(typing["data"]["user_ids"], json!([cast.admin.id]));
    // Each node expires typists by its own clock.
    for node in [&a, b] {
        node.clock.advance(chrono::Duration::seconds(7));
    }
    assert_eq!(
        on_b.event_named("typing").await["data"]["user_ids"],
        json!([])
    );

    // Removed on node A, the editor's socket on node B loses the room.
    let member = format!("/api/v1/rooms/{room}/members/{}", cast.editor.id);
    let removed = a
        .send(Method::DELETE, &member, &cast.admin.access_token, None)
        .await;
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    let ended = loop {
        let frame = on_b.recv().await;
        if frame["type"] == "unsubscribed" {
            break frame;
        }
    };
    assert_eq!(ended["reason"], "access_revoked");
}
