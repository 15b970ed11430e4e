//! Tandem's HTTP API: one axum router per resource, the extractors that carry the
//! cross-cutting rules, the one problem+json error mapping, rate limits, metrics, and
//! the OpenAPI document with a self-hosted Swagger UI.

pub mod auth;
mod chat;
pub mod error;
pub mod events;
pub mod extract;
mod files;
pub mod http;
pub mod jobs;
mod projects;
pub mod ratelimit;
pub mod realtime;
mod state;
pub mod tables;

pub use http::{ApiDoc, router};
pub use state::{ApiConfig, App, AppState, JobsSetup, Services};
