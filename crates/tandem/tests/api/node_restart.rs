//! A node crashes and comes back: its clients reconnect with `since` and receive every
//! durable event they missed exactly once, in order, then live ones. The history lives in
//! Redis, so this is the scale-out mode; embedded, the history dies with the process and a
//! reconnecting client is sent `resync` (checked in `realtime`).

use reqwest::Method;
use secrecy::ExposeSecret;
use serde_json::json;

use crate::cli::serve;
use crate::helpers::{TestApp, spawn_app};
use crate::socket::Socket;
use crate::tenancy_helpers::{Cast, Scene};

/// What a `tandem serve` child needs to join `app`'s deployment.
pub fn shared_env(app: &TestApp) -> Option<Vec<(&'static str, String)>> {
    let redis_url = app.settings.redis_url.as_ref()?;
    let secret = app.settings.signing_secret.as_ref()?;
    Some(vec![
        (
            "TANDEM_DATABASE_URL",
            app.settings
                .database_url
                .as_ref()?
                .expose_secret()
                .to_owned(),
        ),
        ("TANDEM_REDIS_URL", redis_url.expose_secret().to_owned()),
        ("TANDEM_REDIS_PREFIX", app.settings.redis_prefix.clone()),
        ("TANDEM_SIGNING_SECRET", secret.expose_secret().to_owned()),
    ])
}

#[tokio::test]
async fn after_a_node_is_killed_and_restarted_since_delivers_every_missed_event_once() {
    let other = spawn_app().await;
    let Some(env) = shared_env(&other) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (mut node, address) = serve(dir.path(), &env).await;
    let cast = Cast::new(&other).await;
    let scene = Scene::new(&other, &cast).await;
    let channel = format!("project:{}", scene.project);
    let project = format!("/api/v1/projects/{}", scene.project);
    let owner = &cast.owner.access_token;
    let rename = |name: &str| json!({"name": name});

    let mut socket = Socket::open(&address, &cast.admin.access_token).await;
    socket
        .request(json!({"type": "subscribe", "channel": channel}), "s")
        .await;
    other
        .send(Method::PATCH, &project, owner, Some(rename("Before")))
        .await;
    let seen = socket.event_named("project.updated").await["seq"]
        .as_u64()
        .unwrap();

    // SIGKILL: the node dies with its socket; changes go on through the other node.
    node.start_kill().unwrap();
    node.wait().await.unwrap();
    drop(socket);
    for name in ["One", "Two", "Three"] {
        other
            .send(Method::PATCH, &project, owner, Some(rename(name)))
            .await;
    }

    let (_restarted, address) = serve(dir.path(), &env).await;
    let mut socket = Socket::open(&address, &cast.admin.access_token).await;
    let ack = socket
        .request(
            json!({"type": "subscribe", "channel": channel, "since": seen}),
            "r",
        )
        .await;
    assert_eq!(ack["type"], "ack", "{ack}");
    for (offset, name) in (1..).zip(["One", "Two", "Three"]) {
        let event = socket.recv().await;
        assert_eq!(
            (event["data"]["name"].as_str(), event["seq"].as_u64()),
            (Some(name), Some(seen + offset)),
            "{event}"
        );
    }
    other
        .send(Method::PATCH, &project, owner, Some(rename("Live")))
        .await;
    let live = socket.recv().await;
    assert_eq!(
        (live["data"]["name"].as_str(), live["seq"].as_u64()),
        (Some("Live"), Some(seen + 4)),
        "{live}"
    );
    socket.silent_for(300).await;
}
