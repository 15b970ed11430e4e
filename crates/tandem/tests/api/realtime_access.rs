//! Access changes reach live sockets: a removed member is unsubscribed, a promoted one may
//! publish at once, and a revoked session's sockets are closed with 4403.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::helpers::{PASSWORD, TestUser, json_body, spawn_app_with};
use crate::socket::Auth;
use crate::tenancy_helpers::{Cast, Scene};

fn quick_auth(s: &mut tandem::Settings) {
    s.realtime_auth_timeout = Duration::from_millis(300);
}

#[tokio::test]
async fn a_removed_member_is_unsubscribed_from_the_projects_channels() {
    let app = spawn_app_with(quick_auth).await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let project = format!("project:{}", scene.project);
    let workspace = format!("workspace:{}", scene.workspace);
    let own = format!("user:{}", cast.victim.id);
    let mut socket = app.socket(Auth::Header(&cast.victim.access_token)).await;
    for channel in [&project, &workspace, &own] {
        socket
            .request(json!({"type": "subscribe", "channel": channel}), "s")
            .await;
    }
    let path = format!(
        "/api/v1/projects/{}/members/{}",
        scene.project, cast.victim.id
    );
    app.send(Method::DELETE, &path, &cast.owner.access_token, None)
        .await;

    let mut unsubscribed = Vec::new();
    while unsubscribed.len() < 2 {
        let frame = socket.recv().await;
        if frame["type"] == "unsubscribed" {
            assert_eq!(frame["reason"], "membership_removed");
            unsubscribed.push(frame["channel"].as_str().unwrap().to_owned());
        }
    }
    unsubscribed.sort();
    let mut expected = vec![project.clone(), workspace];
    expected.sort();
    assert_eq!(unsubscribed, expected, "the user's own channel stays");

    // No more of the project's events reach the socket.
    let rename = format!("/api/v1/projects/{}", scene.project);
    app.send(
        Method::PATCH,
        &rename,
        &cast.owner.access_token,
        Some(json!({"name": "Secret"})),
    )
    .await;
    loop {
        let frame = tokio::time::timeout(Duration::from_millis(300), socket.recv()).await;
        match frame {
            Err(_) => break,
            Ok(frame) => assert_ne!(frame["channel"], project, "{frame}"),
        }
    }
}

#[tokio::test]
async fn a_promoted_viewer_may_publish_at_once() {
    let app = spawn_app_with(quick_auth).await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let channel = format!("workspace:{}", scene.workspace);
    let mut socket = app.socket(Auth::Header(&cast.viewer.access_token)).await;
    socket
        .request(json!({"type": "subscribe", "channel": channel}), "s")
        .await;
    let cursor = json!({"type": "publish", "channel": channel, "event": "cursor"});
    assert_eq!(
        socket.request(cursor.clone(), "before").await["code"],
        "forbidden"
    );

    let path = format!(
        "/api/v1/projects/{}/members/{}",
        scene.project, cast.viewer.id
    );
    app.send(
        Method::PATCH,
        &path,
        &cast.owner.access_token,
        Some(json!({"role": "editor"})),
    )
    .await;
    // The change reaches the socket asynchronously; it is allowed within moments.
    let mut answer = json!(null);
    for attempt in 0..50 {
        answer = socket
            .request(cursor.clone(), &format!("after-{attempt}"))
            .await;
        if answer["type"] == "ack" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(answer["type"], "ack", "{answer}");
}

#[tokio::test]
async fn logging_out_closes_the_sessions_sockets_with_4403() {
    let app = spawn_app_with(quick_auth).await;
    let user = app.new_user().await;
    let mut socket = app.socket(Auth::Header(&user.access_token)).await;
    socket.request(json!({"type": "ping"}), "p").await;
    app.post_authed("/api/v1/auth/logout", &user.access_token, None)
        .await;
    assert_eq!(socket.close_code().await, 4403);
}

#[tokio::test]
async fn a_password_change_closes_the_other_sessions_sockets_only() {
    let app = spawn_app_with(quick_auth).await;
    let user = app.new_user().await;
    let laptop = TestUser::from_auth(&json_body(app.login(&user.email, PASSWORD).await).await);
    let mut here = app.socket(Auth::Header(&user.access_token)).await;
    let mut there = app.socket(Auth::Header(&laptop.access_token)).await;
    here.request(json!({"type": "ping"}), "p").await;
    there.request(json!({"type": "ping"}), "p").await;
    let body = json!({"current_password": PASSWORD, "new_password": "a brand new secret 2"});
    app.post_authed("/api/v1/auth/password", &user.access_token, Some(&body))
        .await;
    assert_eq!(there.close_code().await, 4403);
    assert_eq!(
        here.request(json!({"type": "ping"}), "still").await["type"],
        "ack"
    );
}
