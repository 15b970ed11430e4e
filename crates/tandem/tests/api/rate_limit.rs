//! The per-client allowance shared by register, login and refresh: `RateLimit-*` headers,
//! 429 with `Retry-After`, routes outside it, and (with Redis) one allowance per cluster.

use reqwest::{Response, StatusCode};
use serde_json::json;

use crate::helpers::{PASSWORD, REDIS_URL_ENV, TestApp, assert_problem, spawn_app_with};

const LIMIT: u32 = 3;

fn header(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().expect("an ASCII header").to_owned())
}

fn number(response: &Response, name: &str) -> u64 {
    header(response, name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .parse()
        .unwrap_or_else(|_| panic!("{name} is not a whole number"))
}

async fn spawn_limited_app() -> TestApp {
    spawn_app_with(|s| s.auth_rate_limit_per_minute = LIMIT).await
}

async fn wrong_login(app: &TestApp) -> Response {
    app.login("nobody@example.com", "wrong password 1").await
}

/// Uses up the allowance with failed logins, checking each answer on the way.
async fn exhaust(app: &TestApp) {
    for expected_remaining in (0..LIMIT).rev() {
        let response = wrong_login(app).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            number(&response, "ratelimit-remaining"),
            u64::from(expected_remaining)
        );
    }
}

/// Asserts a 429 `rate_limited` problem with sensible `Retry-After` and `RateLimit-*`.
async fn assert_rate_limited(response: Response) {
    let retry_after = number(&response, "retry-after");
    assert!((1..=60).contains(&retry_after), "retry-after {retry_after}");
    assert_eq!(number(&response, "ratelimit-limit"), u64::from(LIMIT));
    assert_eq!(number(&response, "ratelimit-remaining"), 0);
    let reset = number(&response, "ratelimit-reset");
    assert!((1..=60).contains(&reset), "ratelimit-reset {reset}");
    let problem = assert_problem(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("retry"),
        "{problem}"
    );
}

#[tokio::test]
async fn login_attempts_count_down_the_allowance_then_get_429_with_retry_after() {
    let app = spawn_limited_app().await;
    for expected_remaining in [2, 1, 0] {
        let response = wrong_login(&app).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(number(&response, "ratelimit-limit"), 3);
        assert_eq!(number(&response, "ratelimit-remaining"), expected_remaining);
        let reset = number(&response, "ratelimit-reset");
        assert!((1..=60).contains(&reset), "ratelimit-reset {reset}");
    }
    assert_rate_limited(wrong_login(&app).await).await;
    // Still refused: a denied request does not buy a fresh allowance.
    assert_rate_limited(wrong_login(&app).await).await;
}

#[tokio::test]
async fn register_login_and_refresh_share_one_allowance() {
    let app = spawn_limited_app().await;
    let registered = app.register("shared@example.com").await;
    assert_eq!(registered.status(), StatusCode::CREATED);
    assert_eq!(number(&registered, "ratelimit-remaining"), 2);
    let refreshed = app.refresh("not-a-real-refresh-token").await;
    assert_eq!(refreshed.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(number(&refreshed, "ratelimit-remaining"), 1);
    let logged_in = app.login("shared@example.com", PASSWORD).await;
    assert_eq!(logged_in.status(), StatusCode::OK);
    assert_eq!(number(&logged_in, "ratelimit-remaining"), 0);

    assert_rate_limited(app.register("another@example.com").await).await;
    assert_rate_limited(app.refresh("not-a-real-refresh-token").await).await;
    assert_rate_limited(app.login("shared@example.com", PASSWORD).await).await;
}

#[tokio::test]
async fn register_is_refused_once_logins_have_used_the_allowance() {
    let app = spawn_limited_app().await;
    exhaust(&app).await;
    assert_rate_limited(app.register("late@example.com").await).await;
    assert_rate_limited(
        app.post_json(
            "/api/v1/auth/register",
            &json!({"email": "late@example.com", "password": PASSWORD, "name": "Late"}),
        )
        .await,
    )
    .await;
}

#[tokio::test]
async fn health_and_authenticated_routes_are_not_rate_limited() {
    let app = spawn_limited_app().await;
    let user = app.new_user().await;
    for _ in 1..LIMIT {
        wrong_login(&app).await;
    }
    assert_rate_limited(wrong_login(&app).await).await;

    for _ in 0..5 {
        let health = app.get("/healthz").await;
        assert_eq!(health.status(), StatusCode::OK);
        assert_eq!(header(&health, "ratelimit-limit"), None);

        let me = app.get_authed("/api/v1/auth/me", &user.access_token).await;
        assert_eq!(me.status(), StatusCode::OK);
        assert_eq!(header(&me, "ratelimit-limit"), None);

        let anonymous = app.get("/api/v1/auth/me").await;
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(header(&anonymous, "ratelimit-limit"), None);
    }
}

/// Two servers configured with the same Redis prefix, as two nodes of one deployment.
async fn spawn_two_nodes() -> (TestApp, TestApp) {
    let prefix = format!("tandem-test-shared-{}", uuid::Uuid::now_v7().simple());
    let node = |prefix: String| {
        spawn_app_with(move |s| {
            s.auth_rate_limit_per_minute = LIMIT;
            s.redis_prefix = prefix;
        })
    };
    (node(prefix.clone()).await, node(prefix).await)
}

#[tokio::test]
async fn nodes_share_one_allowance_through_redis_and_keep_their_own_without_it() {
    let (first, second) = spawn_two_nodes().await;
    let shared = std::env::var(REDIS_URL_ENV).is_ok();
    assert_eq!(first.settings.redis_url.is_some(), shared);

    assert_eq!(number(&wrong_login(&first).await, "ratelimit-remaining"), 2);
    assert_eq!(number(&wrong_login(&first).await, "ratelimit-remaining"), 1);
    let on_second = wrong_login(&second).await;
    assert_eq!(on_second.status(), StatusCode::UNAUTHORIZED);
    if shared {
        // Redis: the second node sees the first node's hits.
        assert_eq!(number(&on_second, "ratelimit-remaining"), 0);
        assert_rate_limited(wrong_login(&first).await).await;
        assert_rate_limited(wrong_login(&second).await).await;
    } else {
        // In memory: each node counts only what it saw.
        assert_eq!(number(&on_second, "ratelimit-remaining"), 2);
        assert_eq!(number(&wrong_login(&first).await, "ratelimit-remaining"), 0);
        assert_rate_limited(wrong_login(&first).await).await;
        let still_allowed = wrong_login(&second).await;
        assert_eq!(still_allowed.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(number(&still_allowed, "ratelimit-remaining"), 1);
    }
}

#[tokio::test]
async fn separate_deployments_on_one_redis_keep_separate_allowances() {
    // spawn_app gives each server its own prefix: one deployment's clients must not use
    // up another's allowance, with or without Redis.
    let first = spawn_limited_app().await;
    let second = spawn_limited_app().await;
    exhaust(&first).await;
    assert_rate_limited(wrong_login(&first).await).await;
    let other = wrong_login(&second).await;
    assert_eq!(other.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(number(&other, "ratelimit-remaining"), 2);
}
