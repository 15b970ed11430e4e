//! Presence across nodes sharing PostgreSQL and Redis: members on another node are seen
//! here, and the members of a node killed without warning leave once its heartbeat lapses.
//! The embedded mode is a single node; these journeys need Redis and are checked in CI's
//! scale-out run.

use std::time::Duration;

use reqwest::Method;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::cli::serve;
use crate::helpers::{TestApp, TestUser, json_body, spawn_app_with};
use crate::scale_out::second_node;
use crate::socket::{Auth, Socket};
use crate::tenancy_helpers::{Cast, Scene};

fn quick_heartbeat(s: &mut tandem::Settings) {
    s.presence_heartbeat = Duration::from_millis(200);
    s.presence_ttl = Duration::from_secs(1);
}

/// The next `presence_diff` listing `user` under `field`, within 5 s.
async fn diff_listing(socket: &mut Socket, field: &str, user: &TestUser) -> Value {
    loop {
        let frame = socket.recv_any().await;
        if frame["type"] != "presence_diff" {
            continue;
        }
        let listed = frame[field]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["user_id"] == user.id.as_str());
        if let Some(member) = listed {
            return member.clone();
        }
    }
}

async fn online(app: &TestApp, workspace: &str, user: &TestUser) -> Vec<String> {
    let path = format!("/api/v1/workspaces/{workspace}/presence");
    let body = json_body(app.send(Method::GET, &path, &user.access_token, None).await).await;
    body["online"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["user_id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn members_on_another_node_are_present_here() {
    let a = spawn_app_with(quick_heartbeat).await;
    if a.settings.redis_url.is_none() {
        return;
    }
    let b = second_node(&a).await;
    let cast = Cast::new(&a).await;
    let scene = Scene::new(&a, &cast).await;
    let channel = format!("workspace:{}", scene.workspace);
    let subscribe = json!({"type": "subscribe", "channel": channel, "meta": {"node": "a"}});

    let mut on_a = a.socket(Auth::Header(&cast.owner.access_token)).await;
    on_a.request(subscribe.clone(), "s").await;
    let mut on_b = b.socket(Auth::Header(&cast.editor.access_token)).await;
    on_b.request(subscribe, "s").await;
    let state = loop {
        let frame = on_b.recv_any().await;
        if frame["type"] == "presence_state" {
            break frame;
        }
    };
    let here: Vec<&str> = state["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["user_id"].as_str().unwrap())
        .collect();
    assert!(
        here.contains(&cast.owner.id.as_str()),
        "B's state lists A's member: {state}"
    );
    diff_listing(&mut on_a, "joins", &cast.editor).await;

    // REST on either node lists both, and on a node with no socket there at all.
    for node in [&a, &b] {
        let users = online(node, &scene.workspace, &cast.viewer).await;
        assert!(
            users.contains(&cast.owner.id) && users.contains(&cast.editor.id),
            "{users:?}"
        );
    }
    drop(on_b);
    diff_listing(&mut on_a, "leaves", &cast.editor).await;
}

#[tokio::test]
async fn the_members_of_a_killed_node_leave_once_its_heartbeat_lapses() {
    let a = spawn_app_with(quick_heartbeat).await;
    let Some(redis_url) = a.settings.redis_url.as_ref() else {
        return;
    };
    let database_url = a
        .settings
        .database_url
        .as_ref()
        .unwrap()
        .expose_secret()
        .to_owned();
    let dir = tempfile::tempdir().unwrap();
    let (mut node_b, b_address) = serve(
        dir.path(),
        &[
            ("TANDEM_DATABASE_URL", database_url),
            ("TANDEM_REDIS_URL", redis_url.expose_secret().to_owned()),
            ("TANDEM_REDIS_PREFIX", a.settings.redis_prefix.clone()),
            (
                "TANDEM_SIGNING_SECRET",
                a.settings
                    .signing_secret
                    .as_ref()
                    .unwrap()
                    .expose_secret()
                    .to_owned(),
            ),
            ("TANDEM_PRESENCE_HEARTBEAT", "200ms".into()),
            ("TANDEM_PRESENCE_TTL", "1s".into()),
        ],
    )
    .await;
    let cast = Cast::new(&a).await;
    let scene = Scene::new(&a, &cast).await;
    let channel = format!("workspace:{}", scene.workspace);
    let mut on_a = a.socket(Auth::Header(&cast.owner.access_token)).await;
    on_a.request(json!({"type": "subscribe", "channel": channel}), "s")
        .await;
    let mut on_b = Socket::open(&b_address, &cast.editor.access_token).await;
    on_b.request(json!({"type": "subscribe", "channel": channel}), "s")
        .await;
    diff_listing(&mut on_a, "joins", &cast.editor).await;

    // SIGKILL: no goodbye, no socket closes, only silence.
    node_b.start_kill().unwrap();
    node_b.wait().await.unwrap();
    let left = tokio::time::timeout(
        Duration::from_secs(5),
        diff_listing(&mut on_a, "leaves", &cast.editor),
    )
    .await
    .expect("the killed node's member leaves within the heartbeat TTL and a margin");
    assert_eq!(left["user_id"], cast.editor.id.as_str());
    // The departure is recorded in the store after it is announced; wait for the write.
    let path = format!("/api/v1/workspaces/{}/presence", scene.workspace);
    let mut attempts = 0;
    let (body, seen) = loop {
        let body = json_body(
            a.send(Method::GET, &path, &cast.viewer.access_token, None)
                .await,
        )
        .await;
        let seen: Vec<String> = body["last_seen"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["user_id"].as_str().unwrap().to_owned())
            .collect();
        attempts += 1;
        if !seen.is_empty() || attempts == 50 {
            break (body, seen);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(seen, [cast.editor.id.as_str()], "{body}");
    assert!(
        !online(&a, &scene.workspace, &cast.viewer)
            .await
            .contains(&cast.editor.id)
    );
}
