//! The HTTP surface assembled: routes, documentation, and the layers every request
//! passes through (request id, tracing, metrics, errors, limits, CORS, security headers).

pub mod metrics;
mod openapi;
mod ops;
mod problem;
pub mod stream;

use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::auth;
use crate::state::{ApiConfig, AppState};

pub use openapi::ApiDoc;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole application: every route, the docs, and the middleware stack.
pub fn router(state: AppState) -> Router {
    let (api, mut openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest("/api/v1/auth", auth::router(&state))
        .merge(crate::projects::router())
        .merge(crate::realtime::router())
        .merge(crate::files::router())
        .merge(crate::jobs::router())
        .merge(crate::chat::router())
        .merge(crate::tables::router(&state))
        .merge(ops::router())
        .split_for_parts();
    openapi::add_common_errors(&mut openapi);

    let layers = ServiceBuilder::new()
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::record,
        ))
        .layer(middleware::from_fn(problem::ensure_problem_json))
        .layer(CatchPanicLayer::custom(problem::panic_response))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(cors(&state.config))
        .layer(DefaultBodyLimit::max(state.config.body_limit_bytes));

    Router::new()
        .merge(api)
        .merge(
            SwaggerUi::new("/api/docs")
                .url("/api/openapi.json", openapi)
                // Off, or the UI loads a badge from validator.swagger.io, telling it where
                // the document is: the docs must work offline and call nobody.
                .config(Config::default().validator_url("none")),
        )
        .route(
            "/api/realtime/schema.json",
            axum::routing::get(crate::realtime::schema),
        )
        .fallback(problem::not_found)
        .method_not_allowed_fallback(problem::method_not_allowed)
        .layer(layers)
        .with_state(state)
}

/// One span per request, named by the matched route so traces group by endpoint.
fn request_span(request: &Request) -> tracing::Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    let request_id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    tracing::info_span!(
        "http.request",
        http.method = %request.method(),
        http.route = route,
        request.id = request_id,
        user.id = tracing::field::Empty,
    )
}

fn cors(config: &ApiConfig) -> CorsLayer {
    let origins = if config.cors_origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            config
                .cors_origins
                .iter()
                .filter_map(|origin| HeaderValue::from_str(origin).ok()),
        )
    };
    CorsLayer::new()
        .allow_origin(origins)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers(Any)
        .expose_headers([REQUEST_ID, header::RETRY_AFTER])
        .max_age(Duration::from_secs(600))
}
