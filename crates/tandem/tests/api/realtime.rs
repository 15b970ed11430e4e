//! The realtime gateway over real WebSockets: authentication and close codes, channel
//! authorisation, durable events after REST changes, replay and resync, ephemeral events,
//! limits and shutdown.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::spawn_app_with;
use crate::socket::Auth;
use crate::tenancy_helpers::{Cast, Scene, created};

fn quick_auth(s: &mut tandem::Settings) {
    s.realtime_auth_timeout = Duration::from_millis(300);
}

#[tokio::test]
async fn a_socket_authenticates_by_header_query_or_first_frame() {
    let app = spawn_app_with(quick_auth).await;
    let user = app.new_user().await;
    for auth in [
        Auth::Header(&user.access_token),
        Auth::Query(&user.access_token),
    ] {
        let mut socket = app.socket(auth).await;
        assert_eq!(
            socket.request(json!({"type": "ping"}), "p").await,
            json!({"type": "ack", "ref": "p"})
        );
    }
    let mut socket = app.socket(Auth::None).await;
    let answer = socket
        .request(json!({"type": "auth", "token": user.access_token}), "a")
        .await;
    assert_eq!(answer, json!({"type": "ack", "ref": "a"}));
    let again = socket
        .request(json!({"type": "auth", "token": user.access_token}), "b")
        .await;
    assert_eq!(again["code"], "already_authenticated");
}

#[tokio::test]
async fn a_socket_without_valid_credentials_is_closed_with_4401() {
    let app = spawn_app_with(quick_auth).await;
    let user = app.new_user().await;
    let mut silent = app.socket(Auth::None).await;
    assert_eq!(silent.close_code().await, 4401, "no auth frame in time");
    let mut forged = app.socket(Auth::Query("not.a.token")).await;
    assert_eq!(forged.close_code().await, 4401);
    let mut wrong_first = app.socket(Auth::None).await;
    wrong_first.send(json!({"type": "ping"})).await;
    assert_eq!(wrong_first.close_code().await, 4401);
    // A logged-out session's token no longer opens a socket.
    app.post_authed("/api/v1/auth/logout", &user.access_token, None)
        .await;
    let mut revoked = app.socket(Auth::Header(&user.access_token)).await;
    assert_eq!(revoked.close_code().await, 4401);
}

#[tokio::test]
async fn subscribing_asks_the_policy_and_errors_keep_the_socket_up() {
    let app = spawn_app_with(quick_auth).await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let project = format!("project:{}", scene.project);
    let workspace = format!("workspace:{}", scene.workspace);
    let mut viewer = app.socket(Auth::Header(&cast.viewer.access_token)).await;
    for channel in [&project, &workspace, &format!("user:{}", cast.viewer.id)] {
        let answer = viewer
            .request(json!({"type": "subscribe", "channel": channel}), "s")
            .await;
        assert_eq!(answer["type"], "ack", "{channel}: {answer}");
    }
    let mut outsider = app.socket(Auth::Header(&cast.outsider.access_token)).await;
    let cases = [
        (project.clone(), "not_found"),
        (workspace.clone(), "not_found"),
        (format!("user:{}", cast.viewer.id), "not_found"),
        ("shelf:1".to_owned(), "unknown_channel"),
        ("project:42".to_owned(), "malformed_channel"),
    ];
    for (channel, code) in cases {
        let answer = outsider
            .request(json!({"type": "subscribe", "channel": channel}), "x")
            .await;
        assert_eq!(
            (answer["type"].as_str(), answer["code"].as_str()),
            (Some("error"), Some(code)),
            "{channel}"
        );
    }
    let bad = outsider.request(json!({"type": "shout"}), "y").await;
    assert_eq!(bad["code"], "invalid_frame");
    assert_eq!(
        outsider.request(json!({"type": "ping"}), "z").await["type"],
        "ack"
    );
}

#[tokio::test]
async fn rest_changes_arrive_as_events_with_increasing_seq() {
    let app = spawn_app_with(quick_auth).await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let mut socket = app.socket(Auth::Header(&cast.viewer.access_token)).await;
    let channel = format!("project:{}", scene.project);
    socket
        .request(json!({"type": "subscribe", "channel": channel}), "s")
        .await;

    let members = format!("/api/v1/projects/{}/members", scene.project);
    let owner = &cast.owner.access_token;
    created(
        app.send(
            Method::POST,
            &members,
            owner,
            Some(json!({"email": cast.extra.email, "role": "viewer"})),
        )
        .await,
    )
    .await;
    let rename = format!("/api/v1/workspaces/{}", scene.workspace);
    app.send(
        Method::PATCH,
        &rename,
        owner,
        Some(json!({"name": "Renamed"})),
    )
    .await;

    let added = socket.event_named("member.added").await;
    assert_eq!(added["channel"], channel);
    assert_eq!(added["actor"], cast.owner.id);
    assert_eq!(added["data"]["member"]["email"], cast.extra.email);
    let renamed = socket.recv().await;
    assert_eq!(renamed["event"], "workspace.updated");
    assert_eq!(renamed["data"]["name"], "Renamed");
    assert_eq!(
        renamed["seq"].as_u64().unwrap(),
        added["seq"].as_u64().unwrap() + 1
    );
}

#[tokio::test]
async fn a_client_resuming_with_since_gets_exactly_what_it_missed_then_live_events() {
    let app = spawn_app_with(quick_auth).await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let channel = format!("project:{}", scene.project);
    let rename = |name: &str| json!({"name": name});
    let project = format!("/api/v1/projects/{}", scene.project);
    let owner = &cast.owner.access_token;

    let mut first = app.socket(Auth::Header(&cast.admin.access_token)).await;
    first
        .request(json!({"type": "subscribe", "channel": channel}), "s")
        .await;
    app.send(Method::PATCH, &project, owner, Some(rename("One")))
        .await;
    let seen = first.event_named("project.updated").await["seq"]
        .as_u64()
        .unwrap();
    drop(first);

    // Missed while away.
    app.send(Method::PATCH, &project, owner, Some(rename("Two")))
        .await;
    app.send(Method::PATCH, &project, owner, Some(rename("Three")))
        .await;

    let mut resumed = app.socket(Auth::Header(&cast.admin.access_token)).await;
    let ack = resumed
        .request(
            json!({"type": "subscribe", "channel": channel, "since": seen}),
            "r",
        )
        .await;
    assert_eq!(ack["type"], "ack");
    let two = resumed.recv().await;
    let three = resumed.recv().await;
    assert_eq!(
        (two["data"]["name"].as_str(), two["seq"].as_u64()),
        (Some("Two"), Some(seen + 1))
    );
    assert_eq!(
        (three["data"]["name"].as_str(), three["seq"].as_u64()),
        (Some("Three"), Some(seen + 2))
    );
    app.send(Method::PATCH, &project, owner, Some(rename("Four")))
        .await;
    let four = resumed.recv().await;
    assert_eq!(
        (four["data"]["name"].as_str(), four["seq"].as_u64()),
        (Some("Four"), Some(seen + 3))
    );
    resumed.silent_for(200).await;

    let mut lost = app.socket(Auth::Header(&cast.admin.access_token)).await;
    lost.request(
        json!({"type": "subscribe", "channel": channel, "since": 10_000}),
        "l",
    )
    .await;
    assert_eq!(
        lost.recv().await,
        json!({"type": "resync", "channel": channel})
    );
}

#[tokio::test]
async fn a_cursor_reaches_the_others_but_not_its_sender_and_viewers_cannot_publish() {
    let app = spawn_app_with(quick_auth).await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let channel = format!("workspace:{}", scene.workspace);
    let subscribe = json!({"type": "subscribe", "channel": channel});
    let mut editor = app.socket(Auth::Header(&cast.editor.access_token)).await;
    let mut viewer = app.socket(Auth::Header(&cast.viewer.access_token)).await;
    editor.request(subscribe.clone(), "s").await;
    viewer.request(subscribe, "s").await;

    let cursor =
        json!({"type": "publish", "channel": channel, "event": "cursor", "data": {"line": 3}});
    assert_eq!(editor.request(cursor.clone(), "c").await["type"], "ack");
    // The scene's own changes (workspace.created…) may still be on their way.
    let seen: Value = viewer.event_named("cursor").await;
    assert_eq!(seen["data"], json!({"line": 3}));
    assert_eq!(seen["actor"], cast.editor.id);
    assert!(seen.get("seq").is_none(), "ephemeral events have no seq");
    editor.no_event_named_for("cursor", 200).await;

    assert_eq!(viewer.request(cursor, "v").await["code"], "forbidden");
    let stored = json!({"type": "publish", "channel": channel, "event": "member.added"});
    assert_eq!(editor.request(stored, "m").await["code"], "invalid_event");
}

#[tokio::test]
async fn publishing_too_fast_is_refused_and_an_oversized_frame_closes_the_socket() {
    let app = spawn_app_with(|s| {
        quick_auth(s);
        s.realtime_publishes_per_second = 2;
        s.realtime_max_frame_bytes = 1024;
    })
    .await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let channel = format!("workspace:{}", scene.workspace);
    let mut editor = app.socket(Auth::Header(&cast.editor.access_token)).await;
    let typing = json!({"type": "publish", "channel": channel, "event": "typing"});
    let answers = [
        editor.request(typing.clone(), "1").await,
        editor.request(typing.clone(), "2").await,
        editor.request(typing, "3").await,
    ];
    assert_eq!(
        answers.map(|a| a["type"].as_str().unwrap().to_owned()),
        ["ack", "ack", "error"]
    );

    editor
        .send_raw(format!(
            "{{\"type\":\"ping\",\"ref\":\"{}\"}}",
            "x".repeat(4096)
        ))
        .await;
    assert_eq!(editor.close_code().await, 1009);
}

#[tokio::test]
async fn shutting_down_closes_sockets_with_going_away() {
    let app = spawn_app_with(quick_auth).await;
    let user = app.new_user().await;
    let mut socket = app.socket(Auth::Header(&user.access_token)).await;
    socket.request(json!({"type": "ping"}), "p").await;
    let stopping = tokio::spawn(app.stop());
    assert_eq!(socket.close_code().await, 1001);
    stopping.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_slow_consumer_is_cut_off_while_a_fast_one_receives_everything() {
    let app = spawn_app_with(|s| {
        quick_auth(s);
        s.realtime_outbox_bytes = 64 * 1024;
        s.realtime_max_frame_bytes = 8 * 1024;
        s.realtime_publishes_per_second = 1_000_000;
    })
    .await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let channel = format!("workspace:{}", scene.workspace);
    let subscribe = json!({"type": "subscribe", "channel": channel});

    let mut slow = app.slow_socket(&cast.viewer.access_token).await;
    slow.request(subscribe.clone(), "s").await;
    let mut fast = app.socket(Auth::Header(&cast.admin.access_token)).await;
    fast.request(subscribe, "s").await;
    let total = 3_000;
    let reader = tokio::spawn(async move {
        let mut received = 0;
        while received < total {
            if fast.recv().await["event"] == "client.load" {
                received += 1;
            }
        }
        received
    });

    let mut publisher = app.socket(Auth::Header(&cast.editor.access_token)).await;
    let blob = "x".repeat(3_000);
    for i in 0..total {
        let frame = json!({"type": "publish", "channel": channel, "event": "client.load", "data": {"i": i, "blob": blob}});
        let answer = publisher.request(frame, &i.to_string()).await;
        assert_eq!(answer["type"], "ack", "{answer}");
    }
    let received = tokio::time::timeout(Duration::from_secs(30), reader)
        .await
        .expect("the fast reader finishes")
        .unwrap();
    assert_eq!(received, total, "the fast subscriber got every event");
    assert!(
        slow.was_cut_off().await,
        "the slow subscriber was disconnected"
    );
}

/// The value of the unlabelled metric `name` in Prometheus text.
fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {name} in {text}"))
        .parse()
        .unwrap()
}

#[tokio::test]
async fn metrics_count_open_sockets_and_the_processs_memory() {
    let app = spawn_app_with(quick_auth).await;
    let cast = Cast::new(&app).await;
    let count = || async {
        let text = app.get("/metrics").await.text().await.unwrap();
        assert!(metric(&text, "process_resident_memory_bytes") > 0.0);
        metric(&text, "tandem_realtime_connections")
    };
    assert_eq!(count().await, 0.0);
    let mut first = app.socket(Auth::Header(&cast.owner.access_token)).await;
    let mut second = app.socket(Auth::Header(&cast.editor.access_token)).await;
    first.request(json!({"type": "ping"}), "p").await;
    second.request(json!({"type": "ping"}), "p").await;
    assert_eq!(count().await, 2.0);
    drop(second);
    // The server notices the close asynchronously.
    for _ in 0..100 {
        if count().await == 1.0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the closed socket is still counted");
}
