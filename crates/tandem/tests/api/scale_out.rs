//! Several nodes on one database: nothing is sticky, any node serves any client.

use reqwest::StatusCode;

use crate::helpers::{TestApp, TestUser, assert_problem, json_body, spawn_app, spawn_app_with};

/// A second node sharing `first`'s database, Redis namespace and signing secret.
async fn second_node(first: &TestApp) -> TestApp {
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
