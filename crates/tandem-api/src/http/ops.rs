//! Operations endpoints: `/healthz` (liveness), `/readyz` (dependencies), `/metrics`.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiResult;
use crate::extract::ApiJson;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
}

/// Liveness and readiness.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`, `ready` or `not_ready`.
    pub status: &'static str,
    /// Each dependency: `ok`, `not_configured`, or what failed.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub checks: BTreeMap<&'static str, String>,
}

/// Liveness: the process is up and serving.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "Alive", body = Health)))]
pub async fn healthz() -> ApiJson<Health> {
    ApiJson(Health {
        status: "ok",
        checks: BTreeMap::new(),
    })
}

/// Readiness: the database (and Redis, when configured) answer.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Ready to serve", body = Health),
        (status = 503, description = "A dependency is down", body = Health),
    ))]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, ApiJson<Health>) {
    let mut checks = BTreeMap::new();
    let database = match state.store.ping().await {
        Ok(()) => "ok".to_owned(),
        Err(error) => {
            tracing::warn!(error = %error, "readiness: database check failed");
            "unreachable".to_owned()
        }
    };
    checks.insert("database", database);
    let redis = match &state.redis {
        None => "not_configured".to_owned(),
        Some(redis) => {
            let pong: redis::RedisResult<String> =
                redis::cmd("PING").query_async(&mut redis.clone()).await;
            match pong {
                Ok(_) => "ok".to_owned(),
                Err(error) => {
                    tracing::warn!(error = %error, "readiness: redis check failed");
                    "unreachable".to_owned()
                }
            }
        }
    };
    checks.insert("redis", redis);
    let ready = checks.values().all(|v| v == "ok" || v == "not_configured");
    // Reported, not required: without isolation the server still serves everything but
    // code execution, which it refuses.
    let isolation = state.sandbox.isolation();
    checks.insert(
        "sandbox",
        match &isolation.detail {
            Some(detail) => format!("{} ({detail})", isolation.level()),
            None => isolation.level().to_owned(),
        },
    );
    let (status, word) = if ready {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not_ready")
    };
    (
        status,
        ApiJson(Health {
            status: word,
            checks,
        }),
    )
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> ApiResult<impl IntoResponse> {
    let now = state.clock.now();
    match state.store.queue_stats(now).await {
        Ok(stats) => state.metrics.record_queue(&stats, now),
        Err(error) => tracing::warn!(error = %error, "metrics: reading queue statistics failed"),
    }
    let text = state.metrics.render()?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    ))
}
