//! Revoked sessions end on every node: a node that had the session cached refuses its
//! access token as soon as the revocation reaches it on the bus, not when its cache entry
//! expires. Embedded (no Redis, so no shared bus), the same journey runs on one node.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp, TestUser, assert_problem, json_body, spawn_app};
use crate::scale_out::second_node;

const ME: &str = "/api/v1/auth/me";

/// Far inside the session cache's 10 s lifetime: a node that only forgot the session
/// when its entry expired would still answer 200 when this runs out.
const PROPAGATION: Duration = Duration::from_secs(3);

/// A second node when the deployment can have one (Redis carries the bus), else none.
async fn other_node(a: &TestApp) -> Option<TestApp> {
    match a.settings.redis_url {
        Some(_) => Some(second_node(a).await),
        None => None,
    }
}

/// Asks `node` for the caller's account until the token is refused; the revocation
/// travels between nodes asynchronously, but must arrive well before `PROPAGATION`.
async fn refused_soon(node: &TestApp, token: &str) -> reqwest::Response {
    let start = Instant::now();
    loop {
        let response = node.get_authed(ME, token).await;
        if response.status() != StatusCode::OK {
            return response;
        }
        assert!(
            start.elapsed() < PROPAGATION,
            "the revoked session was still accepted {PROPAGATION:?} later"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn assert_accepted(node: &TestApp, token: &str) {
    assert_eq!(node.get_authed(ME, token).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_logout_on_one_node_is_refused_at_once_by_a_node_that_had_the_session_cached() {
    let a = spawn_app().await;
    let second = other_node(&a).await;
    let b = second.as_ref().unwrap_or(&a);
    let user = a.new_user().await;
    // B checks the session once, and so caches it as live.
    assert_accepted(b, &user.access_token).await;

    let logout = a
        .post_authed("/api/v1/auth/logout", &user.access_token, None)
        .await;
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);

    let refused = refused_soon(b, &user.access_token).await;
    assert_problem(refused, StatusCode::UNAUTHORIZED, "session_revoked").await;
}

#[tokio::test]
async fn a_password_change_on_one_node_ends_the_other_sessions_on_every_node() {
    let a = spawn_app().await;
    let second = other_node(&a).await;
    let b = second.as_ref().unwrap_or(&a);
    let user = a.new_user().await;
    let phone = TestUser::from_auth(&json_body(b.login(&user.email, PASSWORD).await).await);
    assert_accepted(b, &phone.access_token).await;
    assert_accepted(b, &user.access_token).await;

    let changed = a
        .post_authed(
            "/api/v1/auth/password",
            &user.access_token,
            Some(&json!({"current_password": PASSWORD, "new_password": "another horse 2"})),
        )
        .await;
    assert_eq!(changed.status(), StatusCode::NO_CONTENT);

    let refused = refused_soon(b, &phone.access_token).await;
    assert_problem(refused, StatusCode::UNAUTHORIZED, "session_revoked").await;
    // The session that changed the password lives on, on both nodes.
    assert_accepted(b, &user.access_token).await;
    assert_accepted(&a, &user.access_token).await;
}
