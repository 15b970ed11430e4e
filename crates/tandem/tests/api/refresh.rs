//! `POST /api/v1/auth/refresh`: rotation and reuse detection.

use chrono::Duration;
use reqwest::StatusCode;

use crate::helpers::{TestUser, assert_problem, json_body, spawn_app};

#[tokio::test]
async fn refreshing_rotates_both_tokens() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let response = app.refresh(&user.refresh_token).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = json_body(response).await;
    assert_eq!(body["token_type"], "Bearer");
    let next = TestUser::from_auth(&body);
    assert_eq!(next.id, user.id);
    assert_ne!(next.refresh_token, user.refresh_token);
    let me = app.get_authed("/api/v1/auth/me", &next.access_token).await;
    assert_eq!(me.status(), StatusCode::OK);
    // The chain goes on.
    assert_eq!(
        app.refresh(&next.refresh_token).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_refresh_keeps_the_same_session() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let next = TestUser::from_auth(&json_body(app.refresh(&user.refresh_token).await).await);
    let sessions = json_body(
        app.get_authed("/api/v1/auth/sessions", &next.access_token)
            .await,
    )
    .await;
    let items = sessions["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["current"], true);
}

#[tokio::test]
async fn refresh_token_reuse_revokes_the_session() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let stolen = user.refresh_token.clone();
    let legit = TestUser::from_auth(&json_body(app.refresh(&user.refresh_token).await).await);

    // The thief replays the used token: refused, and the whole session dies.
    assert_problem(
        app.refresh(&stolen).await,
        StatusCode::UNAUTHORIZED,
        "refresh_token_reused",
    )
    .await;

    // Every token descended from that login stops working, at once on this node.
    assert_problem(
        app.refresh(&legit.refresh_token).await,
        StatusCode::UNAUTHORIZED,
        "session_revoked",
    )
    .await;
    for token in [&user.access_token, &legit.access_token] {
        let me = app.get_authed("/api/v1/auth/me", token).await;
        assert_problem(me, StatusCode::UNAUTHORIZED, "session_revoked").await;
    }
}

#[tokio::test]
async fn reuse_revokes_only_the_session_it_belongs_to() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let other = TestUser::from_auth(
        &json_body(app.login(&user.email, crate::helpers::PASSWORD).await).await,
    );
    app.refresh(&user.refresh_token).await;
    assert_eq!(
        app.refresh(&user.refresh_token).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let me = app.get_authed("/api/v1/auth/me", &other.access_token).await;
    assert_eq!(me.status(), StatusCode::OK);
    assert_eq!(
        app.refresh(&other.refresh_token).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_unknown_refresh_token_is_invalid() {
    let app = spawn_app().await;
    let response = app
        .refresh("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        .await;
    assert_problem(response, StatusCode::UNAUTHORIZED, "invalid_refresh_token").await;
    let empty = app.refresh("").await;
    assert_problem(empty, StatusCode::UNAUTHORIZED, "invalid_refresh_token").await;
}

#[tokio::test]
async fn a_refresh_token_expires_after_seven_days() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    app.clock.advance(Duration::days(7) - Duration::seconds(1));
    let fresh = TestUser::from_auth(&json_body(app.refresh(&user.refresh_token).await).await);
    app.clock.advance(Duration::days(7));
    let response = app.refresh(&fresh.refresh_token).await;
    assert_problem(response, StatusCode::UNAUTHORIZED, "refresh_token_expired").await;
}

#[tokio::test]
async fn an_access_token_is_not_a_refresh_token() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let response = app.refresh(&user.access_token).await;
    assert_problem(response, StatusCode::UNAUTHORIZED, "invalid_refresh_token").await;
}

#[tokio::test]
async fn of_concurrent_refreshes_with_one_token_exactly_one_succeeds() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let attempts = (0..8).map(|_| app.refresh(&user.refresh_token));
    let statuses: Vec<StatusCode> = futures::future::join_all(attempts)
        .await
        .iter()
        .map(reqwest::Response::status)
        .collect();
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(ok, 1, "{statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::UNAUTHORIZED)
    );
    // The losers were replays, so the session is gone.
    let me = app.get_authed("/api/v1/auth/me", &user.access_token).await;
    assert_problem(me, StatusCode::UNAUTHORIZED, "session_revoked").await;
}
