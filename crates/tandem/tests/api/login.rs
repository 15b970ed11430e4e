//! `POST /api/v1/auth/login`.

use reqwest::StatusCode;

use crate::helpers::{PASSWORD, TestUser, assert_problem, json_body, spawn_app};

#[tokio::test]
async fn logging_in_opens_a_new_session() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let response = app.login(&user.email.to_uppercase(), PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    let second = TestUser::from_auth(&json_body(response).await);
    assert_eq!(second.id, user.id);
    assert_ne!(second.refresh_token, user.refresh_token);

    let sessions = json_body(
        app.get_authed("/api/v1/auth/sessions", &second.access_token)
            .await,
    )
    .await;
    assert_eq!(sessions["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_wrong_password_is_invalid_credentials() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let response = app.login(&user.email, "correct horse 2").await;
    assert_problem(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
}

#[tokio::test]
async fn an_unknown_email_gets_the_same_answer_as_a_wrong_password() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let wrong_password = assert_problem(
        app.login(&user.email, "correct horse 2").await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    let unknown_email = assert_problem(
        app.login("nobody@example.com", PASSWORD).await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    assert_eq!(wrong_password, unknown_email);
    let malformed_email = assert_problem(
        app.login("not an email", PASSWORD).await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    assert_eq!(malformed_email, unknown_email);
}
