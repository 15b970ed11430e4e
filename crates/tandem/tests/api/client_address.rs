//! Which client address rate limits and session records see: the socket peer, unless
//! the operator trusts a proxy's `X-Forwarded-For`.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp, json_body, spawn_app_with};

async fn login_from(app: &TestApp, forwarded_for: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/auth/login"))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({"email": "nobody@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_forged_forwarded_for_cannot_dodge_the_rate_limit() {
    let app = spawn_app_with(|s| s.auth_rate_limit_per_minute = 2).await;
    for i in 0..2 {
        let response = login_from(&app, &format!("203.0.113.{i}")).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    // A third "different" address is still the same socket peer.
    let response = login_from(&app, "203.0.113.99").await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_allowance() {
    let app = spawn_app_with(|s| {
        s.auth_rate_limit_per_minute = 2;
        s.trust_forwarded_for = true;
    })
    .await;
    for _ in 0..2 {
        assert_eq!(
            login_from(&app, "203.0.113.7").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        login_from(&app, "203.0.113.7").await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // The proxy appends the real client last; what the client wrote before it is ignored.
    assert_eq!(
        login_from(&app, "203.0.113.7, 198.51.100.4").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn sessions_record_the_forwarded_address_only_when_trusted() {
    for (trusted, expected_ip) in [(false, "127.0.0.1"), (true, "198.51.100.4")] {
        let app = spawn_app_with(|s| s.trust_forwarded_for = trusted).await;
        let response = app
            .client
            .post(app.url("/api/v1/auth/register"))
            .header("x-forwarded-for", "198.51.100.4")
            .json(&json!({"email": "fwd@example.com", "password": PASSWORD, "name": "F"}))
            .send()
            .await
            .unwrap();
        let token = json_body(response).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let sessions = json_body(app.get_authed("/api/v1/auth/sessions", &token).await).await;
        assert_eq!(
            sessions["items"][0]["ip"], expected_ip,
            "trusted = {trusted}"
        );
    }
}
