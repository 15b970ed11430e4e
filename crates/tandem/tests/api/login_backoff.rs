//! The per-account login backoff: failures for one email, from any address, lock it out
//! with 429 `rate_limited` and `Retry-After`, for longer at each further failure; a
//! success clears them; an email without an account is treated the same; and (with
//! Redis) every node counts the same failures.

use std::time::Duration;

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use tandem::Settings;
use tandem_domain::Clock;

use crate::helpers::{PASSWORD, TestApp, assert_problem, spawn_app, spawn_app_with};

const WRONG: &str = "wrong horse 9";

fn policy(s: &mut Settings) {
    s.login_max_failures = 3;
    s.login_failure_window = Duration::from_secs(15 * 60);
    s.login_lockout = Duration::from_secs(60);
    s.login_lockout_max = Duration::from_secs(4 * 60);
}

async fn spawn_guarded_app() -> TestApp {
    spawn_app_with(policy).await
}

/// Asserts a 429 `rate_limited` with this `Retry-After`; returns the problem.
async fn assert_locked(response: Response, retry_after: u64) -> Value {
    let header = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(header, Some(retry_after.to_string()), "Retry-After");
    assert_problem(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await
}

async fn fail(app: &TestApp, email: &str, times: usize) {
    for attempt in 1..=times {
        let response = app.login(email, WRONG).await;
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "failure {attempt} of {times} for {email}"
        );
    }
}

fn seconds(n: i64) -> chrono::Duration {
    chrono::Duration::seconds(n)
}

#[tokio::test]
async fn failures_lock_an_account_out_for_longer_each_time_up_to_the_cap() {
    let app = spawn_guarded_app().await;
    let user = app.new_user().await;
    fail(&app, &user.email, 3).await;
    // Locked: even the right password is not checked.
    assert_locked(app.login(&user.email, PASSWORD).await, 60).await;
    app.clock.advance(seconds(45));
    assert_locked(app.login(&user.email, PASSWORD).await, 15).await;

    // Each failure after a lockout doubles the next one: 2, then 4 minutes (the cap).
    for lockout in [120, 240, 240] {
        app.clock.advance(seconds(60));
        fail(&app, &user.email, 1).await;
        assert_locked(app.login(&user.email, WRONG).await, lockout).await;
        app.clock.advance(seconds(lockout as i64 - 60));
    }
}

#[tokio::test]
async fn a_successful_login_clears_the_failures() {
    let app = spawn_guarded_app().await;
    let user = app.new_user().await;
    fail(&app, &user.email, 3).await;
    assert_locked(app.login(&user.email, PASSWORD).await, 60).await;
    app.clock.advance(seconds(60));
    assert_eq!(
        app.login(&user.email, PASSWORD).await.status(),
        StatusCode::OK
    );
    // A fresh start: three failures again before a first, one-minute lockout.
    fail(&app, &user.email, 3).await;
    assert_locked(app.login(&user.email, PASSWORD).await, 60).await;
}

#[tokio::test]
async fn failures_are_forgotten_after_a_quiet_window() {
    let app = spawn_guarded_app().await;
    let user = app.new_user().await;
    fail(&app, &user.email, 2).await;
    app.clock.advance(seconds(15 * 60));
    // Had the first two counted, the second of these would have locked the account.
    fail(&app, &user.email, 3).await;
    assert_locked(app.login(&user.email, PASSWORD).await, 60).await;
}

#[tokio::test]
async fn failures_count_per_account_whatever_the_address_or_spelling() {
    let app = spawn_app_with(|s| {
        policy(s);
        s.trust_forwarded_for = true;
    })
    .await;
    let user = app.new_user().await;
    let spellings = [
        user.email.clone(),
        user.email.to_uppercase(),
        format!("  {}  ", user.email),
    ];
    for (n, email) in spellings.iter().enumerate() {
        let response = app
            .client
            .post(app.url("/api/v1/auth/login"))
            .header("x-forwarded-for", format!("203.0.113.{n}"))
            .json(&json!({"email": email, "password": WRONG}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let from_elsewhere = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("x-forwarded-for", "198.51.100.7")
        .json(&json!({"email": user.email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_locked(from_elsewhere, 60).await;

    // Another account is not held back by this one's lockout.
    let other = app.new_user().await;
    let response = app.login(&other.email, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_email_without_an_account_is_locked_out_exactly_like_one_with() {
    let app = spawn_guarded_app().await;
    let user = app.new_user().await;
    let stranger = "nobody-here@example.com";
    fail(&app, &user.email, 3).await;
    fail(&app, stranger, 3).await;
    let known = assert_locked(app.login(&user.email, PASSWORD).await, 60).await;
    let unknown = assert_locked(app.login(stranger, PASSWORD).await, 60).await;
    assert_eq!(known, unknown);
}

#[tokio::test]
async fn nodes_count_one_accounts_failures_together_through_redis() {
    let a = spawn_guarded_app().await;
    // Embedded, each node counts on its own: the journey then runs on one node.
    let second = match a.settings.redis_url {
        Some(_) => {
            let (database_url, prefix) = (
                a.settings.database_url.clone(),
                a.settings.redis_prefix.clone(),
            );
            Some(
                spawn_app_with(move |s| {
                    policy(s);
                    s.database_url = database_url;
                    s.redis_prefix = prefix;
                })
                .await,
            )
        }
        None => None,
    };
    let b = second.as_ref().unwrap_or(&a);
    // Each server has its own manual clock, started a moment apart: line them up, so
    // both nodes tell the same `Retry-After`.
    a.clock.advance(b.clock.now() - a.clock.now());
    let user = a.new_user().await;
    fail(&a, &user.email, 2).await;
    fail(b, &user.email, 1).await;
    assert_locked(a.login(&user.email, PASSWORD).await, 60).await;
    assert_locked(b.login(&user.email, PASSWORD).await, 60).await;
}

#[tokio::test]
async fn the_default_policy_allows_five_failures() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    fail(&app, &user.email, 5).await;
    assert_locked(app.login(&user.email, PASSWORD).await, 60).await;
}
