//! Several nodes on one database: nothing is sticky, any node serves any client.

use reqwest::StatusCode;

use crate::helpers::{TestApp, TestUser, assert_problem, json_body, spawn_app, spawn_app_with};

/// A second node sharing `first`'s database, Redis namespace and signing secret.
pub async fn second_node(first: &TestApp) -> TestApp {
    let database_url = first.settings.database_url.clone();
    let redis_prefix = first.settings.redis_prefix.clone();
    spawn_app_with(move |s| {
        s.database_url = database_url;
        s.redis_prefix = redis_prefix;
    })
    .await
}

#[tokio::test]
async fn any_node_accepts_the_tokens_another_node_issued() {
    let a = spawn_app().await;
    let b = second_node(&a).await;
    let user = a.new_user().await;

    let me = b.get_authed("/api/v1/auth/me", &user.access_token).await;
    assert_eq!(json_body(me).await["id"], user.id);

    let next = TestUser::from_auth(&json_body(b.refresh(&user.refresh_token).await).await);
    let me = a.get_authed("/api/v1/auth/me", &next.access_token).await;
    assert_eq!(me.status(), StatusCode::OK);
    // The token rotated on B is spent for A too.
    assert_problem(
        a.refresh(&user.refresh_token).await,
        StatusCode::UNAUTHORIZED,
        "refresh_token_reused",
    )
    .await;
}

#[tokio::test]
async fn a_session_logged_out_on_one_node_is_refused_by_another() {
    let a = spawn_app().await;
    let b = second_node(&a).await;
    let user = a.new_user().await;
    let response = a
        .post_authed("/api/v1/auth/logout", &user.access_token, None)
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    let me = b.get_authed("/api/v1/auth/me", &user.access_token).await;
    assert_problem(me, StatusCode::UNAUTHORIZED, "session_revoked").await;
    assert_problem(
        b.refresh(&user.refresh_token).await,
        StatusCode::UNAUTHORIZED,
        "session_revoked",
    )
    .await;
}

#[tokio::test]
async fn a_client_hears_changes_made_on_another_node_and_moves_there_without_loss() {
    use serde_json::json;

    use crate::socket::Auth;

    let a = spawn_app().await;
    // Nodes share realtime through Redis; the embedded mode is a single node, where the
    // same journey runs against that one node.
    let second = match a.settings.redis_url {
        Some(_) => Some(second_node(&a).await),
        None => None,
    };
    let b = second.as_ref().unwrap_or(&a);
    let owner = a.new_user().await;
    let project = crate::tenancy_helpers::created(
        a.send(
            reqwest::Method::POST,
            "/api/v1/projects",
            &owner.access_token,
            Some(json!({"name": "P"})),
        )
        .await,
    )
    .await;
    let channel = format!("project:{}", project["id"].as_str().unwrap());
    let path = format!("/api/v1/projects/{}", project["id"].as_str().unwrap());
    let rename = |name: &str| Some(json!({"name": name}));

    let mut on_a = a.socket(Auth::Header(&owner.access_token)).await;
    on_a.request(json!({"type": "subscribe", "channel": channel}), "s")
        .await;
    b.send(
        reqwest::Method::PATCH,
        &path,
        &owner.access_token,
        rename("From B"),
    )
    .await;
    let heard = on_a.event_named("project.updated").await;
    assert_eq!(heard["data"]["name"], "From B");
    let seen = heard["seq"].as_u64().unwrap();
    drop(on_a);

    a.send(
        reqwest::Method::PATCH,
        &path,
        &owner.access_token,
        rename("Missed on A"),
    )
    .await;
    let mut on_b = b.socket(Auth::Header(&owner.access_token)).await;
    on_b.request(
        json!({"type": "subscribe", "channel": channel, "since": seen}),
        "r",
    )
    .await;
    let missed = on_b.recv().await;
    assert_eq!(
        (missed["data"]["name"].as_str(), missed["seq"].as_u64()),
        (Some("Missed on A"), Some(seen + 1))
    );
    a.send(
        reqwest::Method::PATCH,
        &path,
        &owner.access_token,
        rename("Live from A"),
    )
    .await;
    let live = on_b.recv().await;
    assert_eq!(
        (live["data"]["name"].as_str(), live["seq"].as_u64()),
        (Some("Live from A"), Some(seen + 2))
    );
}
