//! `spawn_app()` and request helpers shared by every integration test.

use std::sync::Arc;

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use tandem::{Application, LogFormat, Settings};
use tandem_domain::ManualClock;
use tandem_store::testing::TestDatabase;
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The environment variable naming the Redis server for scale-out test runs.
pub const REDIS_URL_ENV: &str = "TANDEM_TEST_REDIS_URL";

/// A password that passes the strength rules.
pub const PASSWORD: &str = "correct horse 1";

/// A running server and a client for it.
pub struct TestApp {
    /// `http://127.0.0.1:{port}`.
    pub address: String,
    pub client: reqwest::Client,
    /// The server's clock: advance it to expire tokens without sleeping.
    pub clock: Arc<ManualClock>,
    /// The settings the server was built with.
    pub settings: Settings,
    /// Domain events the server published, from its start.
    pub events: tokio::sync::broadcast::Receiver<tandem_api::events::Published>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<anyhow::Result<()>>>,
    // Dropped last: the server must be gone before its database is.
    _data_dir: TempDir,
    pub database: TestDatabase,
}

/// A user registered through the API, with their first token pair.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: String,
    pub email: String,
    pub access_token: String,
    pub refresh_token: String,
}

/// Starts a server with test settings: a fresh database, a generous rate limit, a manual clock.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts a server after `configure` has adjusted the test settings.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let database = TestDatabase::create().await;
    let data_dir = tempfile::tempdir().expect("a temporary data dir");
    let mut settings = Settings {
        listen: "127.0.0.1:0".parse().expect("an address"),
        data_dir: data_dir.path().to_owned(),
        database_url: Some(database.url.clone().into()),
        redis_url: std::env::var(REDIS_URL_ENV).ok().map(Into::into),
        redis_prefix: format!("tandem-test-{}", uuid::Uuid::now_v7().simple()),
        signing_secret: Some(
            "test-signing-secret-with-at-least-32-bytes"
                .to_owned()
                .into(),
        ),
        log_format: LogFormat::Pretty,
        auth_rate_limit_per_minute: 1_000,
        // The test binary is not `tandem`: the sandbox supervisor is the real binary.
        sandbox_init: Some(env!("CARGO_BIN_EXE_tandem").into()),
        jobs_poll: std::time::Duration::from_millis(100),
        // Tests post messages quickly; the limit has a test of its own.
        chat_messages_per_second: 10_000,
        chat_messages_per_minute: 100_000,
        ..Settings::default()
    };
    configure(&mut settings);
    let clock = Arc::new(ManualClock::starting_now());
    let app = Application::build_with_clock(&settings, clock.clone())
        .await
        .expect("the server builds");
    let port = app.local_addr().expect("a bound address").port();
    let events = app.events().subscribe();
    let (shutdown, stop) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stop.await;
    }));
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a client"),
        clock,
        settings,
        events,
        shutdown: Some(shutdown),
        server: Some(server),
        _data_dir: data_dir,
        database,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("GET sent")
    }

    pub async fn get_authed(&self, path: &str, token: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("GET sent")
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("POST sent")
    }

    pub async fn post_authed(&self, path: &str, token: &str, body: Option<&Value>) -> Response {
        let mut request = self.client.post(self.url(path)).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.expect("POST sent")
    }

    pub async fn register(&self, email: &str) -> Response {
        self.post_json(
            "/api/v1/auth/register",
            &json!({"email": email, "password": PASSWORD, "name": "Test User"}),
        )
        .await
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.post_json(
            "/api/v1/auth/login",
            &json!({"email": email, "password": password}),
        )
        .await
    }

    pub async fn refresh(&self, refresh_token: &str) -> Response {
        self.post_json(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": refresh_token}),
        )
        .await
    }

    /// Registers a fresh user with a unique email and returns their tokens.
    pub async fn new_user(&self) -> TestUser {
        let email = format!("user-{}@example.com", uuid::Uuid::now_v7().simple());
        let response = self.register(&email).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let body = TestUser::from_auth(&json_body(response).await);
        TestUser { email, ..body }
    }

    /// Stops the server gracefully and waits until it has.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        match self.server.take() {
            Some(server) => server.await?,
            None => Ok(()),
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

impl TestUser {
    /// Reads the user and tokens out of an auth response body.
    pub fn from_auth(body: &Value) -> Self {
        let text = |v: &Value| v.as_str().expect("a string").to_owned();
        Self {
            id: text(&body["user"]["id"]),
            email: text(&body["user"]["email"]),
            access_token: text(&body["access_token"]),
            refresh_token: text(&body["refresh_token"]),
        }
    }
}

/// The body as JSON, whatever the content type.
pub async fn json_body(response: Response) -> Value {
    let bytes = response.bytes().await.expect("a body");
    serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        panic!(
            "body is not JSON ({e}): {}",
            String::from_utf8_lossy(&bytes)
        )
    })
}

/// Asserts a problem+json response with this status and code; returns the body.
pub async fn assert_problem(response: Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(response.status(), status, "status");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body = json_body(response).await;
    assert_eq!(body["code"], code, "problem: {body}");
    assert_eq!(body["status"], status.as_u16());
    assert_eq!(body["type"], format!("urn:tandem:problem:{code}"));
    assert!(body["title"].is_string() && body["detail"].is_string());
    body
}

/// The fields named in a validation problem's `errors`.
pub fn error_fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["field"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Asserts a 422 `validation_failed` problem; returns the fields its `errors` name.
pub async fn invalid_fields(response: Response) -> Vec<String> {
    let problem = assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    error_fields(&problem)
}
