//! `POST /api/v1/auth/register`.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{PASSWORD, assert_problem, invalid_fields, json_body, spawn_app};

#[tokio::test]
async fn registering_returns_the_account_and_a_token_pair() {
    let app = spawn_app().await;
    let response = app.register("Ada.Lovelace@Example.COM").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body = json_body(response).await;
    assert_eq!(body["user"]["email"], "ada.lovelace@example.com");
    assert_eq!(body["user"]["name"], "Test User");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    let id = body["user"]["id"].as_str().unwrap();
    assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version_num(), 7);
    assert_eq!(body["access_token"].as_str().unwrap().split('.').count(), 3);
    assert!(body["refresh_token"].as_str().unwrap().len() >= 43);
    assert!(body["user"].get("password_hash").is_none());
}

#[tokio::test]
async fn the_new_access_token_works_at_once() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let response = app.get_authed("/api/v1/auth/me", &user.access_token).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(json_body(response).await["id"], user.id);
}

#[tokio::test]
async fn an_email_can_hold_only_one_account_whatever_its_case() {
    let app = spawn_app().await;
    assert_eq!(
        app.register("grace@example.com").await.status(),
        StatusCode::CREATED
    );
    let again = app.register("  GRACE@example.com ").await;
    assert_problem(again, StatusCode::CONFLICT, "email_taken").await;
}

#[tokio::test]
async fn a_short_password_is_rejected_with_a_field_error() {
    let app = spawn_app().await;
    let response = app
        .post_json(
            "/api/v1/auth/register",
            &json!({"email": "a@example.com", "password": "Short1!", "name": "A"}),
        )
        .await;
    assert_eq!(invalid_fields(response).await, ["password"]);
}

#[tokio::test]
async fn a_password_of_one_character_class_is_rejected() {
    let app = spawn_app().await;
    for password in ["abcdefghijkl", "123456789012"] {
        let response = app
            .post_json(
                "/api/v1/auth/register",
                &json!({"email": "a@example.com", "password": password, "name": "A"}),
            )
            .await;
        assert_eq!(invalid_fields(response).await, ["password"], "{password}");
    }
}

#[tokio::test]
async fn every_invalid_field_is_reported_at_once() {
    let app = spawn_app().await;
    let response = app
        .post_json(
            "/api/v1/auth/register",
            &json!({"email": "not-an-email", "password": "short", "name": "   "}),
        )
        .await;
    assert_eq!(
        invalid_fields(response).await,
        ["email", "name", "password"]
    );
}

#[tokio::test]
async fn a_missing_field_is_a_validation_failure() {
    let app = spawn_app().await;
    let response = app
        .post_json(
            "/api/v1/auth/register",
            &json!({"email": "a@example.com", "password": PASSWORD}),
        )
        .await;
    let problem = assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert!(problem["detail"].as_str().unwrap().contains("name"));
}

#[tokio::test]
async fn a_rejected_registration_stores_nothing() {
    let app = spawn_app().await;
    let weak = app
        .post_json(
            "/api/v1/auth/register",
            &json!({"email": "b@example.com", "password": "weakweakweak", "name": "B"}),
        )
        .await;
    assert_eq!(weak.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.register("b@example.com").await.status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn unknown_fields_are_rejected_not_ignored() {
    let app = spawn_app().await;
    let response = app
        .post_json(
            "/api/v1/auth/register",
            &json!({"email": "a@example.com", "password": PASSWORD, "name": "A", "role": "admin"}),
        )
        .await;
    let problem = assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert!(
        problem["detail"].as_str().unwrap().contains("role"),
        "{problem}"
    );
}
