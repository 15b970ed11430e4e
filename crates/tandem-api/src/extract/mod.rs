//! Extractors that carry the cross-cutting rules, so handlers read like the use case.

mod auth;
mod client;
mod json;
mod pagination;
mod path;
mod project;

pub use auth::AuthUser;
pub use client::ClientInfo;
pub use json::ApiJson;
pub use pagination::{Page, Pagination};
pub use path::PathParams;
pub use project::{Actor, ProjectAccess, WorkspaceAccess, project_not_found};
