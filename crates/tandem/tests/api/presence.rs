//! Presence over the realtime socket and REST: `presence_state` on subscribe, coalesced
//! `presence_diff`s, two tabs as one member, meta updates, last seen, and members on other
//! nodes (including one killed with SIGKILL).

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, assert_problem, json_body, spawn_app};
use crate::socket::{Auth, Socket};
use crate::tenancy_helpers::{Cast, Scene};

impl Socket {
    /// Subscribes to `channel` with `meta`; returns the `presence_state` that follows.
    async fn join(&mut self, channel: &str, meta: Value) -> Value {
        let ack = self
            .request(
                json!({"type": "subscribe", "channel": channel, "meta": meta}),
                "join",
            )
            .await;
        assert_eq!(ack["type"], "ack", "{ack}");
        self.next_of("presence_state").await
    }

    /// The next frame of type `kind`, skipping others.
    async fn next_of(&mut self, kind: &str) -> Value {
        loop {
            let frame = self.recv_any().await;
            if frame["type"] == kind {
                return frame;
            }
        }
    }

    /// The next `presence_diff` that lists `user` under `field`.
    async fn diff_listing(&mut self, field: &str, user: &TestUser) -> Value {
        loop {
            let diff = self.next_of("presence_diff").await;
            if let Some(member) = member(&diff[field], user) {
                return member;
            }
        }
    }
}

/// `user`'s entry in a member list, if any.
fn member(members: &Value, user: &TestUser) -> Option<Value> {
    members
        .as_array()?
        .iter()
        .find(|m| m["user_id"] == user.id.as_str())
        .cloned()
}

async fn presence(app: &TestApp, workspace: &str, user: &TestUser) -> Value {
    let path = format!("/api/v1/workspaces/{workspace}/presence");
    let response = app.send(Method::GET, &path, &user.access_token, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    json_body(response).await
}

#[tokio::test]
async fn subscribers_see_who_is_here_and_who_joins_and_leaves() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let channel = format!("workspace:{}", scene.workspace);

    let mut owner = app.socket(Auth::Header(&cast.owner.access_token)).await;
    let state = owner.join(&channel, json!({"file": "README.md"})).await;
    assert_eq!(state["channel"], channel.as_str());
    let me = member(&state["members"], &cast.owner).expect("the joiner sees itself");
    assert_eq!(me["name"], "Test User");
    assert_eq!(me["connections"], 1);
    assert_eq!(me["meta"], json!({"file": "README.md"}));
    assert!(me["since"].is_string());

    // A viewer may be present too.
    let mut viewer = app.socket(Auth::Header(&cast.viewer.access_token)).await;
    let state = viewer.join(&channel, Value::Null).await;
    assert!(member(&state["members"], &cast.owner).is_some());
    assert!(member(&state["members"], &cast.viewer).is_some());
    let joined = owner.diff_listing("joins", &cast.viewer).await;
    assert_eq!(joined["connections"], 1);

    drop(viewer);
    let left = owner.diff_listing("leaves", &cast.viewer).await;
    assert_eq!(left["user_id"], cast.viewer.id.as_str());
}

#[tokio::test]
async fn two_tabs_are_one_member_and_the_last_to_close_sets_last_seen() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let channel = format!("workspace:{}", scene.workspace);
    let mut watcher = app.socket(Auth::Header(&cast.owner.access_token)).await;
    watcher.join(&channel, Value::Null).await;

    let mut first = app.socket(Auth::Header(&cast.editor.access_token)).await;
    first.join(&channel, json!({"file": "a.rs"})).await;
    let mut second = app.socket(Auth::Header(&cast.editor.access_token)).await;
    let state = second.join(&channel, json!({"file": "b.rs"})).await;
    let editors = state["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["user_id"] == cast.editor.id.as_str())
        .count();
    assert_eq!(editors, 1, "two tabs, one member: {state}");
    let both = member(&state["members"], &cast.editor).unwrap();
    assert_eq!(both["connections"], 2);
    assert_eq!(
        both["meta"],
        json!({"file": "b.rs"}),
        "the latest tab's meta"
    );

    let online = presence(&app, &scene.workspace, &cast.viewer).await;
    let editor = member(&online["online"], &cast.editor).expect("online over REST");
    assert_eq!(editor["connections"], 2);
    assert!(member(&online["last_seen"], &cast.editor).is_none());

    // The watcher sees the second tab arrive (perhaps after a diff for the first alone).
    while watcher.diff_listing("joins", &cast.editor).await["connections"] != 2 {}
    drop(first);
    let one_tab = loop {
        let diff = watcher.next_of("presence_diff").await;
        assert!(
            member(&diff["leaves"], &cast.editor).is_none(),
            "one tab closing is not a leave: {diff}"
        );
        if let Some(editor) = member(&diff["joins"], &cast.editor)
            && editor["connections"] == 1
        {
            break editor;
        }
    };
    assert_eq!(one_tab["meta"], json!({"file": "b.rs"}));

    drop(second);
    watcher.diff_listing("leaves", &cast.editor).await;
    let after = presence(&app, &scene.workspace, &cast.viewer).await;
    assert!(member(&after["online"], &cast.editor).is_none());
    let seen = member(&after["last_seen"], &cast.editor).expect("last seen is recorded");
    assert!(seen["seen_at"].is_string());
    assert_eq!(seen["name"], "Test User");
}

#[tokio::test]
async fn a_presence_update_replaces_the_meta_everyone_sees() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let channel = format!("workspace:{}", scene.workspace);
    let mut watcher = app.socket(Auth::Header(&cast.owner.access_token)).await;
    watcher.join(&channel, Value::Null).await;
    let mut editor = app.socket(Auth::Header(&cast.editor.access_token)).await;
    editor.join(&channel, json!({"file": "a.rs"})).await;

    let update =
        json!({"type": "presence_update", "channel": channel, "meta": {"file": "z.rs", "line": 4}});
    assert_eq!(editor.request(update, "u").await["type"], "ack");
    loop {
        let joined = watcher.diff_listing("joins", &cast.editor).await;
        if joined["meta"] == json!({"file": "z.rs", "line": 4}) {
            break;
        }
    }

    let bad = [
        (
            json!({"type": "presence_update", "channel": channel, "meta": [1, 2]}),
            "invalid_meta",
        ),
        (
            json!({"type": "presence_update", "channel": channel, "meta": {"x": "y".repeat(2000)}}),
            "invalid_meta",
        ),
        (
            json!({"type": "subscribe", "channel": format!("project:{}", scene.project), "meta": "text"}),
            "invalid_meta",
        ),
        (
            json!({"type": "presence_update", "channel": format!("project:{}", scene.project), "meta": {}}),
            "not_subscribed",
        ),
        (
            json!({"type": "presence_update", "channel": format!("user:{}", cast.editor.id), "meta": {}}),
            "not_subscribed",
        ),
    ];
    for (frame, code) in bad {
        let answer = editor.request(frame.clone(), "bad").await;
        assert_eq!(
            (answer["type"].as_str(), answer["code"].as_str()),
            (Some("error"), Some(code)),
            "{frame}"
        );
    }
    // The socket is still up.
    assert_eq!(
        editor.request(json!({"type": "ping"}), "p").await["type"],
        "ack"
    );
}

#[tokio::test]
async fn a_join_storm_arrives_coalesced() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let channel = format!("workspace:{}", scene.workspace);
    let mut watcher = app.socket(Auth::Header(&cast.owner.access_token)).await;
    watcher.join(&channel, Value::Null).await;
    let mut tabs = Vec::new();
    for _ in 0..30 {
        let mut tab = app.socket(Auth::Header(&cast.editor.access_token)).await;
        tab.send(json!({"type": "subscribe", "channel": channel}))
            .await;
        tabs.push(tab);
    }
    let mut diffs = 0;
    loop {
        let joined = watcher.diff_listing("joins", &cast.editor).await;
        diffs += 1;
        if joined["connections"] == 30 {
            break;
        }
    }
    assert!(
        diffs <= 10,
        "30 joins arrived in {diffs} diffs: they should be coalesced"
    );
}

#[tokio::test]
async fn workspace_presence_over_rest_is_for_members_only() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let path = format!("/api/v1/workspaces/{}/presence", scene.workspace);
    let outsider = app
        .send(Method::GET, &path, &cast.outsider.access_token, None)
        .await;
    assert_problem(outsider, StatusCode::NOT_FOUND, "not_found").await;
    let anonymous = app
        .client
        .get(format!("{}{path}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let empty = presence(&app, &scene.workspace, &cast.viewer).await;
    assert_eq!(empty["online"], json!([]));
    assert_eq!(empty["last_seen"], json!([]));
    assert_eq!(empty["workspace_id"], scene.workspace.as_str());
}

#[tokio::test]
async fn a_removed_member_leaves_the_presence_of_the_project() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let channel = format!("workspace:{}", scene.workspace);
    let mut watcher = app.socket(Auth::Header(&cast.owner.access_token)).await;
    watcher.join(&channel, Value::Null).await;
    let mut victim = app.socket(Auth::Header(&cast.victim.access_token)).await;
    victim.join(&channel, Value::Null).await;
    watcher.diff_listing("joins", &cast.victim).await;

    let path = format!(
        "/api/v1/projects/{}/members/{}",
        scene.project, cast.victim.id
    );
    app.send(Method::DELETE, &path, &cast.owner.access_token, None)
        .await;
    watcher.diff_listing("leaves", &cast.victim).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let after = presence(&app, &scene.workspace, &cast.owner).await;
    assert!(member(&after["online"], &cast.victim).is_none());
    assert!(
        member(&after["last_seen"], &cast.victim).is_none(),
        "a former member's last seen is not shown"
    );
}
