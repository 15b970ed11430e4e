//! Logout and the caller's sessions: `POST /logout`, `GET /sessions`, `DELETE /sessions/{id}`.

use reqwest::StatusCode;

use crate::helpers::{
    PASSWORD, TestApp, TestUser, assert_problem, invalid_fields, json_body, spawn_app,
};

async fn login_again(app: &TestApp, user: &TestUser) -> TestUser {
    TestUser::from_auth(&json_body(app.login(&user.email, PASSWORD).await).await)
}

async fn delete(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    app.client
        .delete(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn logout_revokes_the_session_at_once() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    // Warm the session cache, so the test proves logout evicts it.
    assert_eq!(
        app.get_authed("/api/v1/auth/me", &user.access_token)
            .await
            .status(),
        StatusCode::OK
    );

    let response = app
        .post_authed("/api/v1/auth/logout", &user.access_token, None)
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    let me = app.get_authed("/api/v1/auth/me", &user.access_token).await;
    assert_problem(me, StatusCode::UNAUTHORIZED, "session_revoked").await;
    let refresh = app.refresh(&user.refresh_token).await;
    assert_problem(refresh, StatusCode::UNAUTHORIZED, "session_revoked").await;
}

#[tokio::test]
async fn logout_leaves_other_sessions_alone() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let laptop = login_again(&app, &user).await;
    app.post_authed("/api/v1/auth/logout", &user.access_token, None)
        .await;
    assert_eq!(
        app.get_authed("/api/v1/auth/me", &laptop.access_token)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn sessions_are_listed_with_client_details_and_the_current_one_marked() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let response = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("user-agent", "tandem-test/1.0")
        .json(&serde_json::json!({"email": user.email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let phone = TestUser::from_auth(&json_body(response).await);

    let page = json_body(
        app.get_authed("/api/v1/auth/sessions", &phone.access_token)
            .await,
    )
    .await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(page["next_cursor"].is_null());
    assert_eq!(items[0]["current"], false);
    assert_eq!(items[1]["current"], true);
    assert_eq!(items[1]["user_agent"], "tandem-test/1.0");
    assert_eq!(items[1]["ip"], "127.0.0.1");
    for item in items {
        for field in ["id", "created_at", "last_used_at"] {
            assert!(item[field].is_string(), "{field}");
        }
    }
}

#[tokio::test]
async fn sessions_page_with_a_cursor() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    for _ in 0..4 {
        login_again(&app, &user).await;
    }
    let mut seen = Vec::new();
    let mut path = "/api/v1/auth/sessions?limit=2".to_owned();
    loop {
        let page = json_body(app.get_authed(&path, &user.access_token).await).await;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|s| s["id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/auth/sessions?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, seen, "oldest first, no repeats");
}

#[tokio::test]
async fn a_bad_limit_or_cursor_is_a_validation_error() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("cursor=%21%21", "cursor"),
    ] {
        let response = app
            .get_authed(
                &format!("/api/v1/auth/sessions?{query}"),
                &user.access_token,
            )
            .await;
        assert_eq!(invalid_fields(response).await, [field]);
    }
    let response = app
        .get_authed("/api/v1/auth/sessions?limit=many", &user.access_token)
        .await;
    assert_problem(response, StatusCode::BAD_REQUEST, "invalid_query").await;
}

#[tokio::test]
async fn revoking_another_session_logs_that_device_out() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let laptop = login_again(&app, &user).await;
    let page = json_body(
        app.get_authed("/api/v1/auth/sessions", &user.access_token)
            .await,
    )
    .await;
    let laptop_id = page["items"][1]["id"].as_str().unwrap().to_owned();

    let response = delete(
        &app,
        &format!("/api/v1/auth/sessions/{laptop_id}"),
        &user.access_token,
    )
    .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let me = app
        .get_authed("/api/v1/auth/me", &laptop.access_token)
        .await;
    assert_problem(me, StatusCode::UNAUTHORIZED, "session_revoked").await;
    assert_eq!(
        app.get_authed("/api/v1/auth/me", &user.access_token)
            .await
            .status(),
        StatusCode::OK
    );

    let again = delete(
        &app,
        &format!("/api/v1/auth/sessions/{laptop_id}"),
        &user.access_token,
    )
    .await;
    assert_problem(again, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn nobody_can_revoke_someone_elses_session() {
    let app = spawn_app().await;
    let (alice, mallory) = (app.new_user().await, app.new_user().await);
    let page = json_body(
        app.get_authed("/api/v1/auth/sessions", &alice.access_token)
            .await,
    )
    .await;
    let alice_session = page["items"][0]["id"].as_str().unwrap().to_owned();

    let response = delete(
        &app,
        &format!("/api/v1/auth/sessions/{alice_session}"),
        &mallory.access_token,
    )
    .await;
    assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(
        app.get_authed("/api/v1/auth/me", &alice.access_token)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_malformed_session_id_is_not_found() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let response = delete(&app, "/api/v1/auth/sessions/not-a-uuid", &user.access_token).await;
    assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
}
