//! Access tokens: expiry, forgery, `alg: none`, malformed headers, lifetimes beyond policy.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Duration;
use jsonwebtoken::{EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{assert_problem, spawn_app, spawn_app_with};

const ME: &str = "/api/v1/auth/me";

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64")).expect("JSON")
}

#[tokio::test]
async fn the_access_token_carries_the_documented_claims() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let claims = claims_of(&user.access_token);
    assert_eq!(claims["sub"], user.id);
    for claim in ["sid", "jti"] {
        assert!(
            uuid::Uuid::parse_str(claims[claim].as_str().unwrap()).is_ok(),
            "{claim}"
        );
    }
    let (iat, exp) = (
        claims["iat"].as_i64().unwrap(),
        claims["exp"].as_i64().unwrap(),
    );
    assert_eq!(exp - iat, 15 * 60);
}

#[tokio::test]
async fn an_expired_access_token_is_token_expired() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    app.clock.advance(Duration::minutes(14));
    assert_eq!(
        app.get_authed(ME, &user.access_token).await.status(),
        StatusCode::OK
    );
    app.clock.advance(Duration::minutes(1));
    let response = app.get_authed(ME, &user.access_token).await;
    assert_problem(response, StatusCode::UNAUTHORIZED, "token_expired").await;
}

#[tokio::test]
async fn the_access_token_lifetime_is_configurable() {
    let app = spawn_app_with(|s| s.access_token_ttl = std::time::Duration::from_secs(30)).await;
    let user = app.new_user().await;
    let claims = claims_of(&user.access_token);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        30
    );
    app.clock.advance(Duration::seconds(31));
    let response = app.get_authed(ME, &user.access_token).await;
    assert_problem(response, StatusCode::UNAUTHORIZED, "token_expired").await;
}

#[tokio::test]
async fn a_token_signed_with_another_key_is_rejected() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let forged = jsonwebtoken::encode(
        &Header::default(),
        &claims_of(&user.access_token),
        &EncodingKey::from_secret(b"an-attacker-secret-that-is-long-enough"),
    )
    .unwrap();
    let response = app.get_authed(ME, &forged).await;
    assert_problem(response, StatusCode::UNAUTHORIZED, "invalid_token").await;
}

#[tokio::test]
async fn a_token_with_a_tampered_payload_is_rejected() {
    let app = spawn_app().await;
    let (alice, bob) = (app.new_user().await, app.new_user().await);
    let mut claims = claims_of(&alice.access_token);
    claims["sub"] = json!(bob.id);
    let parts: Vec<&str> = alice.access_token.split('.').collect();
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    let tampered = format!("{}.{payload}.{}", parts[0], parts[2]);
    let response = app.get_authed(ME, &tampered).await;
    assert_problem(response, StatusCode::UNAUTHORIZED, "invalid_token").await;
}

#[tokio::test]
async fn an_unsigned_alg_none_token_is_rejected() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload =
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims_of(&user.access_token)).unwrap());
    for token in [
        format!("{header}.{payload}."),
        format!("{header}.{payload}"),
    ] {
        let response = app.get_authed(ME, &token).await;
        assert_problem(response, StatusCode::UNAUTHORIZED, "invalid_token").await;
    }
}

#[tokio::test]
async fn a_token_for_another_algorithm_is_rejected() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    // Same key, different HMAC: only the configured algorithm is accepted.
    let other_alg = jsonwebtoken::encode(
        &Header::new(jsonwebtoken::Algorithm::HS512),
        &claims_of(&user.access_token),
        &EncodingKey::from_secret(b"test-signing-secret-with-at-least-32-bytes"),
    )
    .unwrap();
    let response = app.get_authed(ME, &other_alg).await;
    assert_problem(response, StatusCode::UNAUTHORIZED, "invalid_token").await;
}

#[tokio::test]
async fn a_request_without_a_token_is_unauthenticated() {
    let app = spawn_app().await;
    assert_problem(
        app.get(ME).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
}

#[tokio::test]
async fn a_malformed_authorization_header_is_an_invalid_token() {
    let app = spawn_app().await;
    for header in ["Basic dXNlcjpwYXNz", "Bearer", "Bearer not.a.jwt", "token"] {
        let response = app
            .client
            .get(app.url(ME))
            .header("authorization", header)
            .send()
            .await
            .unwrap();
        assert_problem(response, StatusCode::UNAUTHORIZED, "invalid_token").await;
    }
}

/// A token with `claims`, signed with the key the test servers are configured with.
fn signed_with_the_server_key(claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::default(),
        claims,
        &EncodingKey::from_secret(b"test-signing-secret-with-at-least-32-bytes"),
    )
    .unwrap()
}

/// The claims of `token`, moved to be issued `issued_after` seconds after it and to live
/// `lifetime` seconds.
fn reissued(token: &str, issued_after: i64, lifetime: i64) -> Value {
    let mut claims = claims_of(token);
    let iat = claims["iat"].as_i64().unwrap() + issued_after;
    claims["iat"] = json!(iat);
    claims["exp"] = json!(iat + lifetime);
    claims
}

#[tokio::test]
async fn a_well_signed_token_living_longer_than_the_configured_lifetime_is_refused() {
    let app = spawn_app_with(|s| s.access_token_ttl = std::time::Duration::from_secs(300)).await;
    let user = app.new_user().await;
    // Within the policy (and its one-minute leeway) the same key and session are fine.
    for lifetime in [300, 360] {
        let token = signed_with_the_server_key(&reissued(&user.access_token, 0, lifetime));
        let response = app.get_authed(ME, &token).await;
        assert_eq!(response.status(), StatusCode::OK, "lifetime {lifetime}");
    }
    for lifetime in [361, 15 * 60, 30 * 24 * 3600] {
        let token = signed_with_the_server_key(&reissued(&user.access_token, 0, lifetime));
        let response = app.get_authed(ME, &token).await;
        assert_problem(response, StatusCode::UNAUTHORIZED, "invalid_token").await;
    }
}

#[tokio::test]
async fn a_well_signed_token_issued_in_the_future_is_refused_beyond_the_leeway() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    let slightly_ahead = signed_with_the_server_key(&reissued(&user.access_token, 60, 15 * 60));
    let response = app.get_authed(ME, &slightly_ahead).await;
    assert_eq!(response.status(), StatusCode::OK);

    let ahead = signed_with_the_server_key(&reissued(&user.access_token, 61, 15 * 60));
    let response = app.get_authed(ME, &ahead).await;
    assert_problem(response, StatusCode::UNAUTHORIZED, "invalid_token").await;
    // Once the server's clock reaches it, the same token is within the leeway.
    app.clock.advance(Duration::seconds(1));
    assert_eq!(app.get_authed(ME, &ahead).await.status(), StatusCode::OK);
}
