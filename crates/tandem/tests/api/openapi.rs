//! The OpenAPI 3.1 document: complete, well-formed, and true to the running server.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{TestApp, assert_problem, json_body, spawn_app};

const HTTP_METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Every route the server has, with its methods and whether it needs a bearer token.
const ROUTES: &[(&str, &str, bool)] = &[
    ("/api/v1/auth/register", "post", false),
    ("/api/v1/auth/login", "post", false),
    ("/api/v1/auth/refresh", "post", false),
    ("/api/v1/auth/logout", "post", true),
    ("/api/v1/auth/me", "get", true),
    ("/api/v1/auth/me", "patch", true),
    ("/api/v1/auth/password", "post", true),
    ("/api/v1/auth/sessions", "get", true),
    ("/api/v1/auth/sessions/{id}", "delete", true),
    ("/api/v1/projects", "post", true),
    ("/api/v1/projects", "get", true),
    ("/api/v1/projects/{project_id}", "get", true),
    ("/api/v1/projects/{project_id}", "patch", true),
    ("/api/v1/projects/{project_id}", "delete", true),
    ("/api/v1/projects/{project_id}/members", "get", true),
    ("/api/v1/projects/{project_id}/members", "post", true),
    (
        "/api/v1/projects/{project_id}/members/{user_id}",
        "patch",
        true,
    ),
    (
        "/api/v1/projects/{project_id}/members/{user_id}",
        "delete",
        true,
    ),
    ("/api/v1/projects/{project_id}/members/me", "delete", true),
    ("/api/v1/projects/{project_id}/transfer", "post", true),
    ("/api/v1/projects/{project_id}/invitations", "post", true),
    ("/api/v1/projects/{project_id}/invitations", "get", true),
    (
        "/api/v1/projects/{project_id}/invitations/{invitation_id}",
        "delete",
        true,
    ),
    ("/api/v1/invitations/{token}/accept", "post", true),
    ("/api/v1/projects/{project_id}/workspaces", "post", true),
    ("/api/v1/projects/{project_id}/workspaces", "get", true),
    ("/api/v1/workspaces/{workspace_id}", "get", true),
    ("/api/v1/workspaces/{workspace_id}", "patch", true),
    ("/api/v1/workspaces/{workspace_id}", "delete", true),
    ("/api/v1/projects/{project_id}/audit", "get", true),
    // Authenticated inside the socket (header, `?token=` or an `auth` frame), so it
    // declares no bearer requirement.
    ("/api/v1/realtime", "get", false),
    ("/api/v1/workspaces/{workspace_id}/presence", "get", true),
    ("/api/v1/rooms/{room_id}/presence", "get", true),
    ("/api/v1/workspaces/{workspace_id}/files", "get", true),
    ("/api/v1/workspaces/{workspace_id}/files", "post", true),
    ("/api/v1/files/{file_id}", "get", true),
    ("/api/v1/files/{file_id}", "patch", true),
    ("/api/v1/files/{file_id}", "delete", true),
    ("/api/v1/files/{file_id}/content", "put", true),
    ("/api/v1/files/{file_id}/versions", "get", true),
    ("/api/v1/files/{file_id}/versions", "post", true),
    ("/api/v1/files/{file_id}/versions/{version_id}", "get", true),
    (
        "/api/v1/files/{file_id}/versions/{version_id}/restore",
        "post",
        true,
    ),
    // Authenticated inside the socket, like the realtime one.
    ("/api/v1/collab/{file_id}", "get", false),
    ("/api/v1/projects/{project_id}/jobs", "get", true),
    ("/api/v1/projects/{project_id}/jobs", "post", true),
    ("/api/v1/jobs/{job_id}", "get", true),
    ("/api/v1/jobs/{job_id}/cancel", "post", true),
    ("/api/v1/jobs/{job_id}/retry", "post", true),
    ("/api/v1/jobs/{job_id}/artifacts/{name}", "get", true),
    ("/api/v1/projects/{project_id}/rooms", "get", true),
    ("/api/v1/projects/{project_id}/rooms", "post", true),
    ("/api/v1/rooms/{room_id}", "get", true),
    ("/api/v1/rooms/{room_id}", "patch", true),
    ("/api/v1/rooms/{room_id}", "delete", true),
    ("/api/v1/rooms/{room_id}/join", "post", true),
    ("/api/v1/rooms/{room_id}/leave", "post", true),
    ("/api/v1/rooms/{room_id}/members", "get", true),
    ("/api/v1/rooms/{room_id}/messages", "get", true),
    ("/api/v1/rooms/{room_id}/messages", "post", true),
    ("/api/v1/rooms/{room_id}/read", "post", true),
    ("/api/v1/messages/{message_id}", "patch", true),
    ("/api/v1/messages/{message_id}", "delete", true),
    (
        "/api/v1/rooms/{room_id}/messages/{message_id}/receipts",
        "get",
        true,
    ),
    ("/api/v1/messages/{message_id}/reactions", "post", true),
    ("/api/v1/rooms/{room_id}/invites", "get", true),
    ("/api/v1/rooms/{room_id}/invites", "post", true),
    ("/api/v1/rooms/invites/accept", "post", true),
    (
        "/api/v1/rooms/{room_id}/invites/{invite_id}",
        "delete",
        true,
    ),
    ("/api/v1/rooms/{room_id}/members/{user_id}", "delete", true),
    ("/api/v1/projects/{project_id}/messages/search", "get", true),
    ("/api/v1/workspaces/{workspace_id}/tables", "post", true),
    ("/api/v1/workspaces/{workspace_id}/tables", "get", true),
    ("/api/v1/tables/{table_id}", "get", true),
    ("/api/v1/tables/{table_id}", "patch", true),
    ("/api/v1/tables/{table_id}", "delete", true),
    ("/api/v1/tables/{table_id}/fields", "post", true),
    ("/api/v1/tables/{table_id}/fields", "get", true),
    ("/api/v1/tables/{table_id}/rows", "get", true),
    ("/api/v1/tables/{table_id}/rows", "post", true),
    ("/api/v1/tables/{table_id}/rows", "patch", true),
    ("/api/v1/tables/{table_id}/rows/query", "post", true),
    ("/api/v1/tables/{table_id}/rows/{row_id}", "get", true),
    ("/api/v1/tables/{table_id}/rows/{row_id}", "patch", true),
    ("/api/v1/tables/{table_id}/rows/{row_id}", "delete", true),
    ("/api/v1/tables/{table_id}/rows/trash", "post", true),
    ("/api/v1/tables/{table_id}/rows/restore", "post", true),
    (
        "/api/v1/tables/{table_id}/rows/{row_id}/history",
        "get",
        true,
    ),
    ("/api/v1/tables/{table_id}/trash", "get", true),
    ("/api/v1/tables/{table_id}/rows.csv", "get", true),
    ("/api/v1/tables/{table_id}/rows.json", "get", true),
    ("/api/v1/tables/{table_id}/import", "post", true),
    ("/api/v1/tables/{table_id}/import/preview", "post", true),
    ("/api/v1/fields/{field_id}", "get", true),
    ("/api/v1/fields/{field_id}", "patch", true),
    ("/api/v1/fields/{field_id}", "delete", true),
    ("/healthz", "get", false),
    ("/readyz", "get", false),
    ("/metrics", "get", false),
];

async fn openapi_document(app: &TestApp) -> Value {
    let response = app.get("/api/openapi.json").await;
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    json_body(response).await
}

/// Each operation of the document, as (path, method, operation).
fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut found = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("a path item") {
            if HTTP_METHODS.contains(&method.as_str()) {
                found.push((path.clone(), method.clone(), operation));
            }
        }
    }
    found
}

/// Collects every `$ref` in the document, with the JSON pointer of where it is.
fn collect_refs(value: &Value, at: &str, refs: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                if key == "$ref" {
                    let target = child.as_str().unwrap_or_else(|| panic!("{at}: $ref"));
                    refs.push((at.to_owned(), target.to_owned()));
                } else {
                    let key = key.replace('~', "~0").replace('/', "~1");
                    collect_refs(child, &format!("{at}/{key}"), refs);
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                collect_refs(child, &format!("{at}/{i}"), refs);
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn the_openapi_document_is_version_3_1_with_info() {
    let app = spawn_app().await;
    let doc = openapi_document(&app).await;
    let version = doc["openapi"].as_str().expect("an openapi version");
    assert!(version.starts_with("3.1"), "{version}");
    assert_eq!(doc["info"]["title"], "Tandem");
    assert!(!doc["info"]["version"].as_str().unwrap().is_empty());
}

#[tokio::test]
async fn the_openapi_document_lists_every_route_with_its_methods() {
    let app = spawn_app().await;
    let doc = openapi_document(&app).await;
    let documented: BTreeSet<(String, String)> = operations(&doc)
        .into_iter()
        .map(|(path, method, _)| (path, method))
        .collect();
    let expected: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(path, method, _)| ((*path).to_owned(), (*method).to_owned()))
        .collect();
    assert_eq!(documented, expected);
}

#[tokio::test]
async fn every_documented_operation_answers_on_the_real_server() {
    let app = spawn_app().await;
    let doc = openapi_document(&app).await;
    for (path, method, _) in operations(&doc) {
        let concrete = fill_path_params(&path);
        let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let response = app
            .client
            .request(method.clone(), app.url(&concrete))
            .send()
            .await
            .unwrap();
        assert!(
            ![StatusCode::NOT_FOUND, StatusCode::METHOD_NOT_ALLOWED].contains(&response.status()),
            "{method} {path} is documented but answers {}",
            response.status()
        );
    }
}

#[tokio::test]
async fn operations_are_well_formed() {
    let app = spawn_app().await;
    let doc = openapi_document(&app).await;
    let mut operation_ids = HashSet::new();
    for (path, method, operation) in operations(&doc) {
        let here = format!("{method} {path}");
        let id = operation["operationId"].as_str().unwrap_or_default();
        assert!(!id.is_empty(), "{here}: operationId");
        assert!(
            operation_ids.insert(id.to_owned()),
            "{here}: duplicate {id}"
        );
        assert!(
            operation["tags"].as_array().is_some_and(|t| !t.is_empty()),
            "{here}: tags"
        );

        let responses = operation["responses"].as_object().expect("responses");
        assert!(!responses.is_empty(), "{here}: no responses");
        assert!(
            // 101 is the success of a WebSocket upgrade.
            responses
                .keys()
                .any(|status| status.starts_with('2') || status == "101"),
            "{here}: no success response"
        );
        for (status, response) in responses {
            let code: u16 = status
                .parse()
                .unwrap_or_else(|_| panic!("{here}: {status}"));
            assert!((100..600).contains(&code), "{here}: {status}");
            assert!(
                response["description"].is_string(),
                "{here} {status}: description"
            );
            // Readiness answers 503 with its own report; every other error is a problem.
            if code >= 400 && !(path == "/readyz" && code == 503) {
                assert_eq!(
                    response["content"]["application/problem+json"]["schema"]["$ref"],
                    "#/components/schemas/Problem",
                    "{here} {status}: errors are problems"
                );
            }
        }

        // Path templates and path parameters agree.
        let template_params: BTreeSet<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .collect();
        let declared: BTreeSet<&str> = operation["parameters"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter(|p| p["in"] == "path")
            .map(|p| {
                assert_eq!(p["required"], true, "{here}: path parameters are required");
                p["name"].as_str().unwrap()
            })
            .collect();
        assert_eq!(template_params, declared, "{here}: path parameters");

        // Bodies are JSON (a CSV import's is `text/csv`), and document the errors any
        // body can get.
        if let Some(body) = operation.get("requestBody") {
            let csv = path.ends_with("/import") || path.ends_with("/import/preview");
            let media = if csv { "text/csv" } else { "application/json" };
            assert!(
                body["content"][media]["schema"].is_object(),
                "{here}: {media} body"
            );
            for status in ["400", "413", "415", "422"] {
                assert!(responses.contains_key(status), "{here}: {status}");
            }
        }
    }
}

#[tokio::test]
async fn the_bearer_scheme_is_declared_and_authenticated_operations_require_it() {
    let app = spawn_app().await;
    let doc = openapi_document(&app).await;
    let schemes = doc["components"]["securitySchemes"]
        .as_object()
        .expect("security schemes");
    let bearer = &schemes["bearer"];
    assert_eq!(bearer["type"], "http");
    assert_eq!(bearer["scheme"], "bearer");
    assert_eq!(bearer["bearerFormat"], "JWT");

    let authenticated: BTreeMap<(&str, &str), bool> = ROUTES
        .iter()
        .map(|(path, method, authed)| ((*path, *method), *authed))
        .collect();
    for (path, method, operation) in operations(&doc) {
        let here = format!("{method} {path}");
        let requirements = operation["security"].as_array();
        for requirement in requirements.into_iter().flatten() {
            for scheme in requirement.as_object().expect("a requirement").keys() {
                assert!(schemes.contains_key(scheme), "{here}: unknown {scheme}");
            }
        }
        if authenticated[&(path.as_str(), method.as_str())] {
            assert_eq!(
                operation["security"],
                serde_json::json!([{"bearer": []}]),
                "{here}"
            );
            assert!(
                operation["responses"]["401"].is_object(),
                "{here}: documents 401"
            );
        } else {
            assert!(
                requirements.is_none_or(Vec::is_empty),
                "{here} should be public"
            );
        }
    }
    assert!(doc.get("security").is_none(), "no global requirement");
}

#[tokio::test]
async fn the_problem_schema_describes_real_problem_responses() {
    let app = spawn_app().await;
    let doc = openapi_document(&app).await;
    let schema = &doc["components"]["schemas"]["Problem"];
    assert_eq!(schema["type"], "object");
    let required: BTreeSet<&str> = schema["required"]
        .as_array()
        .expect("required")
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        required,
        BTreeSet::from(["type", "title", "status", "detail", "code"])
    );
    let properties = schema["properties"].as_object().expect("properties");

    let response = app
        .post_json(
            "/api/v1/auth/register",
            &serde_json::json!({"email": "nope", "password": "short", "name": ""}),
        )
        .await;
    let problem = assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    for key in problem.as_object().unwrap().keys() {
        assert!(properties.contains_key(key), "undocumented field {key}");
    }
    let field_error = &properties["errors"]["items"]["$ref"];
    let field_error = doc
        .pointer(field_error.as_str().unwrap().trim_start_matches('#'))
        .expect("the field error schema");
    for error in problem["errors"].as_array().expect("field errors") {
        for key in error.as_object().unwrap().keys() {
            assert!(
                field_error["properties"].get(key).is_some(),
                "undocumented field error key {key}"
            );
        }
    }
}

#[tokio::test]
async fn every_ref_in_the_document_resolves_to_a_component() {
    let app = spawn_app().await;
    let doc = openapi_document(&app).await;
    let mut refs = Vec::new();
    collect_refs(&doc, "", &mut refs);
    assert!(refs.len() > 20, "expected many $refs, found {}", refs.len());
    for (at, target) in &refs {
        let pointer = target
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("{at}: {target} is not local"));
        assert!(
            pointer.starts_with("/components/"),
            "{at}: {target} is not a component"
        );
        let resolved = doc
            .pointer(pointer)
            .unwrap_or_else(|| panic!("{at}: {target} does not resolve"));
        assert!(resolved.is_object(), "{at}: {target} is not an object");
    }
}

/// The path with every `{param}` replaced by a UUID.
fn fill_path_params(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if segment.starts_with('{') && segment.ends_with('}') {
                "01900000-0000-7000-8000-000000000000"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}
