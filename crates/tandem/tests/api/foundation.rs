//! What every request gets, whatever its route: request ids, security headers,
//! problem+json for every failure, body limits, CORS, operations endpoints, metrics and
//! graceful shutdown.

use reqwest::{Response, StatusCode};
use serde_json::json;

use crate::helpers::{
    PASSWORD, REDIS_URL_ENV, TestApp, assert_problem, error_fields, json_body, spawn_app,
    spawn_app_with,
};

fn header(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().expect("an ASCII header").to_owned())
}

fn assert_security_headers(response: &Response) {
    assert_eq!(
        header(response, "x-content-type-options").as_deref(),
        Some("nosniff"),
        "{}",
        response.url()
    );
    assert_eq!(header(response, "x-frame-options").as_deref(), Some("DENY"));
    assert_eq!(
        header(response, "referrer-policy").as_deref(),
        Some("no-referrer")
    );
}

async fn post_raw(app: &TestApp, path: &str, content_type: &str, body: Vec<u8>) -> Response {
    app.client
        .post(app.url(path))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("POST sent")
}

#[tokio::test]
async fn a_request_id_is_generated_when_the_client_sends_none() {
    let app = spawn_app().await;
    let first = app.get("/healthz").await;
    let second = app.get("/healthz").await;
    let first_id = header(&first, "x-request-id").expect("an x-request-id");
    let second_id = header(&second, "x-request-id").expect("an x-request-id");
    let parsed = uuid::Uuid::parse_str(&first_id).expect("a UUID request id");
    assert_eq!(parsed.hyphenated().to_string(), first_id);
    assert_ne!(first_id, second_id, "each request gets its own id");
}

#[tokio::test]
async fn a_request_id_sent_by_the_client_is_echoed() {
    let app = spawn_app().await;
    for path in ["/healthz", "/no/such/route"] {
        let response = app
            .client
            .get(app.url(path))
            .header("x-request-id", "client-chosen-id-42")
            .send()
            .await
            .unwrap();
        assert_eq!(
            header(&response, "x-request-id").as_deref(),
            Some("client-chosen-id-42"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn security_headers_are_set_on_success_and_on_errors() {
    let app = spawn_app().await;
    let ok = app.get("/healthz").await;
    assert_eq!(ok.status(), StatusCode::OK);
    assert_security_headers(&ok);
    let not_found = app.get("/nowhere").await;
    assert_eq!(not_found.status(), StatusCode::NOT_FOUND);
    assert_security_headers(&not_found);
    let unauthenticated = app.get("/api/v1/auth/me").await;
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);
    assert_security_headers(&unauthenticated);
    let bad_body = post_raw(
        &app,
        "/api/v1/auth/login",
        "application/json",
        b"{".to_vec(),
    )
    .await;
    assert_eq!(bad_body.status(), StatusCode::BAD_REQUEST);
    assert_security_headers(&bad_body);
}

#[tokio::test]
async fn an_unknown_route_is_a_not_found_problem() {
    let app = spawn_app().await;
    let response = app.get("/api/v1/no-such-thing").await;
    assert!(header(&response, "x-request-id").is_some());
    let problem = assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("/api/v1/no-such-thing")
    );
}

#[tokio::test]
async fn a_wrong_method_on_a_known_path_is_a_method_not_allowed_problem() {
    let app = spawn_app().await;
    let response = app.get("/api/v1/auth/login").await;
    assert_eq!(header(&response, "allow").as_deref(), Some("POST"));
    assert_problem(
        response,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;
    let response = app.client.delete(app.url("/healthz")).send().await.unwrap();
    assert_problem(
        response,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;
}

#[tokio::test]
async fn malformed_json_is_a_bad_request_problem() {
    let app = spawn_app().await;
    let response = post_raw(
        &app,
        "/api/v1/auth/register",
        "application/json",
        br#"{"email": "a@example.com", "password": "#.to_vec(),
    )
    .await;
    assert_problem(response, StatusCode::BAD_REQUEST, "malformed_json").await;
}

#[tokio::test]
async fn a_body_that_is_not_declared_json_is_an_unsupported_media_type_problem() {
    let app = spawn_app().await;
    let body =
        serde_json::to_vec(&json!({"email": "a@example.com", "password": PASSWORD})).expect("JSON");
    let response = post_raw(&app, "/api/v1/auth/login", "text/plain", body.clone()).await;
    assert_problem(
        response,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
    let response = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_problem(
        response,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_payload_too_large_problem() {
    let app = spawn_app_with(|s| s.body_limit_bytes = 1024).await;
    let body = json!({
        "email": "big@example.com",
        "password": PASSWORD,
        "name": "x".repeat(4096),
    });
    let response = app.post_json("/api/v1/auth/register", &body).await;
    assert_problem(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;

    // Under the limit, the same route works.
    let response = app.register("small@example.com").await;
    assert_eq!(response.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn json_of_the_wrong_shape_is_a_validation_problem_naming_the_field() {
    let app = spawn_app().await;
    let response = app
        .post_json(
            "/api/v1/auth/register",
            &json!({"email": 42, "password": PASSWORD, "name": "Shape"}),
        )
        .await;
    let problem = assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(error_fields(&problem), ["email"], "{problem}");
    let message = problem["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("expected a string"), "{message}");
    assert!(!message.contains("line 1"), "{message}");

    let response = app
        .post_json("/api/v1/auth/login", &json!({"email": "a@example.com"}))
        .await;
    let problem = assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(error_fields(&problem), ["password"], "{problem}");
    assert_eq!(problem["errors"][0]["message"], "is required");

    // A body that is not an object at all names no field, but is still a 422.
    let response = app
        .post_json("/api/v1/auth/login", &json!("a@example.com"))
        .await;
    assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
}

#[tokio::test]
async fn healthz_says_ok() {
    let app = spawn_app().await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header(&response, "content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(json_body(response).await, json!({"status": "ok"}));
}

#[tokio::test]
async fn readyz_reports_the_database_and_redis() {
    let app = spawn_app().await;
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = json_body(response).await;
    assert_eq!(body["status"], "ready", "{body}");
    assert_eq!(body["checks"]["database"], "ok", "{body}");
    let expected_redis = if std::env::var(REDIS_URL_ENV).is_ok() {
        "ok"
    } else {
        "not_configured"
    };
    assert_eq!(body["checks"]["redis"], expected_redis, "{body}");
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_in_prometheus_text() {
    let app = spawn_app().await;
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
    for id in ["a1", "b2", "c3"] {
        assert_eq!(
            app.get(&format!("/raw/path/{id}")).await.status(),
            StatusCode::NOT_FOUND
        );
    }
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = header(&response, "content-type").unwrap();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    assert!(content_type.contains("version=0.0.4"), "{content_type}");
    let text = response.text().await.unwrap();
    assert!(text.contains("# TYPE tandem_http_requests_total counter"));
    assert!(text.contains("# TYPE tandem_http_request_duration_seconds histogram"));
    assert!(
        text.lines()
            .any(|l| l.starts_with("tandem_http_requests_total{")
                && l.contains(r#"method="GET""#)
                && l.contains(r#"route="/healthz""#)
                && l.contains(r#"status="200""#)
                && l.ends_with(" 1")),
        "{text}"
    );
    assert!(
        text.lines().any(
            |l| l.starts_with("tandem_http_request_duration_seconds_bucket{")
                && l.contains(r#"route="/healthz""#)
                && l.contains(r#"le="+Inf""#)
        ),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("tandem_http_requests_total{")
                && l.contains(r#"route="unmatched""#)
                && l.contains(r#"status="404""#)
                && l.ends_with(" 3")),
        "{text}"
    );
    assert!(!text.contains("/raw/path"), "raw paths leak into labels");
}

#[tokio::test]
async fn cors_allows_configured_origins_only() {
    let app = spawn_app_with(|s| s.cors_origins = vec!["https://app.example".into()]).await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/api/v1/auth/login"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };

    let allowed = preflight("https://app.example").await.unwrap();
    assert!(allowed.status().is_success(), "{}", allowed.status());
    assert_eq!(
        header(&allowed, "access-control-allow-origin").as_deref(),
        Some("https://app.example")
    );
    let methods = header(&allowed, "access-control-allow-methods").unwrap();
    assert!(methods.contains("POST"), "{methods}");

    let refused = preflight("https://evil.example").await.unwrap();
    assert_eq!(header(&refused, "access-control-allow-origin"), None);

    // A simple cross-origin request gets the header too, and may read the request id.
    let simple = app
        .client
        .get(app.url("/healthz"))
        .header("origin", "https://app.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        header(&simple, "access-control-allow-origin").as_deref(),
        Some("https://app.example")
    );
    let exposed = header(&simple, "access-control-expose-headers").unwrap();
    assert!(exposed.contains("x-request-id"), "{exposed}");
}

#[tokio::test]
async fn a_stopped_server_shuts_down_cleanly_and_refuses_connections() {
    let app = spawn_app().await;
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
    let url = app.url("/healthz");
    let result = tokio::time::timeout(std::time::Duration::from_secs(15), app.stop())
        .await
        .expect("the server stops within the shutdown timeout");
    result.expect("the server stops without error");
    let error = reqwest::Client::new()
        .get(&url)
        .send()
        .await
        .expect_err("nothing listens any more");
    assert!(error.is_connect(), "{error:?}");
}

#[tokio::test]
async fn a_request_in_flight_at_shutdown_still_gets_its_answer() {
    const GAUGE: &str = r#"tandem_http_requests_in_flight{route="/api/v1/auth/register"} 1"#;
    let app = spawn_app().await;
    for attempt in 0..20 {
        let register = app
            .client
            .post(app.url("/api/v1/auth/register"))
            .json(&serde_json::json!({
                "email": format!("late-{attempt}@example.com"),
                "password": PASSWORD,
                "name": "Late",
            }));
        let in_flight = tokio::spawn(register.send());
        // Wait until the server itself reports the registration inside its handler
        // (it spends tens of milliseconds hashing), then ask it to stop.
        let caught = loop {
            let metrics = app.get("/metrics").await.text().await.unwrap();
            if metrics.contains(GAUGE) {
                break true;
            }
            if in_flight.is_finished() {
                break false;
            }
        };
        if !caught {
            continue;
        }
        let stopped = tokio::spawn(app.stop());
        let response = in_flight
            .await
            .unwrap()
            .expect("the in-flight request is answered");
        assert_eq!(response.status(), StatusCode::CREATED);
        stopped.await.unwrap().expect("the server stops cleanly");
        return;
    }
    panic!("no registration was ever seen in flight");
}
