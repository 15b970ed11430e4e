//! The OpenAPI document's frame: info, tags, the bearer scheme. Paths are collected from
//! the routers themselves, so a route cannot exist undocumented.

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::error::Problem;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tandem",
        description = "A self-hosted, real-time collaborative workspace server. Errors are RFC 9457 problem documents with a stable `code`."
    ),
    modifiers(&BearerAuth),
    components(schemas(Problem)),
    tags(
        (name = "auth", description = "Accounts, login sessions and tokens"),
        (name = "projects", description = "Projects: the unit of membership and permission"),
        (name = "members", description = "Who is in a project, with which role"),
        (name = "invitations", description = "Inviting people into a project"),
        (name = "workspaces", description = "Workspaces inside a project"),
        (name = "audit", description = "The audit log of a project"),
        (name = "realtime", description = "The realtime WebSocket (protocol in docs/REALTIME.md)"),
        (name = "files", description = "Files and their collaborative documents (docs/COLLAB.md)"),
        (name = "chat", description = "Chat rooms, messages and read markers"),
        (name = "jobs", description = "Durable background jobs and sandboxed code execution (docs/JOBS.md)"),
        (name = "tables", description = "Live tables and their typed fields (docs/TABLES.md)"),
        (name = "operations", description = "Health, readiness and metrics"),
    )
)]
#[derive(Debug)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// Documents, on every operation, the errors that any operation of its kind can answer:
/// the body errors (400, 413, 415, 422) where there is a JSON body, the query errors (400,
/// 422) where a list is paginated, 401 where a bearer token is required. Handlers
/// document only the errors particular to them.
///
/// Runs on the finished document: the routers' paths are merged in after `ApiDoc`'s own
/// modifiers have run.
pub fn add_common_errors(openapi: &mut utoipa::openapi::OpenApi) {
    for item in openapi.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ];
        for operation in operations.into_iter().flatten() {
            add_operation_errors(operation);
        }
    }
}

fn add_operation_errors(operation: &mut Operation) {
    let mut common = Vec::new();
    if operation.request_body.is_some() {
        common.extend([
            ("400", "`malformed_json`: the body is not JSON"),
            (
                "413",
                "`payload_too_large`: the body is over the size limit",
            ),
            (
                "415",
                "`unsupported_media_type`: the body is not `application/json`",
            ),
            ("422", "`validation_failed`: a field is missing or invalid"),
        ]);
    }
    let paginated = operation
        .parameters
        .iter()
        .flatten()
        .any(|p| p.name == "limit" && p.parameter_in == ParameterIn::Query);
    if paginated {
        common.extend([
            (
                "400",
                "`invalid_query`: a query parameter has the wrong type",
            ),
            (
                "422",
                "`validation_failed`: `limit` out of range or `cursor` not issued by the server",
            ),
        ]);
    }
    if operation.security.is_some() {
        common.push((
            "401",
            "`unauthenticated`, `invalid_token`, `token_expired` or `session_revoked`",
        ));
    }
    for (status, description) in common {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| problem(description));
    }
}

fn problem(description: &str) -> RefOr<Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/problem+json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build(),
    )
}
