//! The caller's account: `GET/PATCH /me` and `POST /password`.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{PASSWORD, TestUser, assert_problem, invalid_fields, json_body, spawn_app};

#[tokio::test]
async fn me_returns_the_callers_account() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let body = json_body(app.get_authed("/api/v1/auth/me", &user.access_token).await).await;
    assert_eq!(body["id"], user.id);
    assert_eq!(body["email"], user.email);
    assert_eq!(body["name"], "Test User");
    assert!(body.get("password_hash").is_none());
}

#[tokio::test]
async fn renaming_updates_the_name_and_the_update_time() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    app.clock.advance(chrono::Duration::seconds(5));
    let response = app
        .client
        .patch(app.url("/api/v1/auth/me"))
        .bearer_auth(&user.access_token)
        .json(&json!({"name": "  Ada King  "}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = json_body(response).await;
    assert_eq!(body["name"], "Ada King");
    assert_ne!(body["updated_at"], body["created_at"]);
    let me = json_body(app.get_authed("/api/v1/auth/me", &user.access_token).await).await;
    assert_eq!(me["name"], "Ada King");
}

#[tokio::test]
async fn an_empty_name_is_rejected() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let response = app
        .client
        .patch(app.url("/api/v1/auth/me"))
        .bearer_auth(&user.access_token)
        .json(&json!({"name": " "}))
        .send()
        .await
        .unwrap();
    assert_eq!(invalid_fields(response).await, ["name"]);
}

#[tokio::test]
async fn changing_the_password_revokes_every_other_session() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let laptop = TestUser::from_auth(&json_body(app.login(&user.email, PASSWORD).await).await);
    // Warm the laptop's cached session state; the change must still cut it off.
    assert_eq!(
        app.get_authed("/api/v1/auth/me", &laptop.access_token)
            .await
            .status(),
        StatusCode::OK
    );

    let body = json!({"current_password": PASSWORD, "new_password": "a brand new secret 2"});
    let response = app
        .post_authed("/api/v1/auth/password", &user.access_token, Some(&body))
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    let me = app
        .get_authed("/api/v1/auth/me", &laptop.access_token)
        .await;
    assert_problem(me, StatusCode::UNAUTHORIZED, "session_revoked").await;
    assert_problem(
        app.refresh(&laptop.refresh_token).await,
        StatusCode::UNAUTHORIZED,
        "session_revoked",
    )
    .await;
    assert_eq!(
        app.get_authed("/api/v1/auth/me", &user.access_token)
            .await
            .status(),
        StatusCode::OK
    );

    assert_problem(
        app.login(&user.email, PASSWORD).await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    assert_eq!(
        app.login(&user.email, "a brand new secret 2")
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_current_password_must_be_right() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let body =
        json!({"current_password": "wrong password 9", "new_password": "a brand new secret 2"});
    let response = app
        .post_authed("/api/v1/auth/password", &user.access_token, Some(&body))
        .await;
    assert_eq!(invalid_fields(response).await, ["current_password"]);
    assert_eq!(
        app.login(&user.email, PASSWORD).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_new_password_must_be_strong() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let body = json!({"current_password": PASSWORD, "new_password": "weak"});
    let response = app
        .post_authed("/api/v1/auth/password", &user.access_token, Some(&body))
        .await;
    assert_eq!(invalid_fields(response).await, ["new_password"]);
}
