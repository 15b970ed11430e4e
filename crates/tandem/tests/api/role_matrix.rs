//! Who may do what: every project-scoped endpoint, tried by the owner, an admin, an
//! editor, a viewer and a non-member, each on a fresh project, with the exact status.
//!
//! The matrix is data: a new endpoint is one more row.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::spawn_app;
use crate::tenancy_helpers::{Cast, Scene};

struct Row {
    method: Method,
    path: &'static str,
    body: fn(&Cast) -> Option<Value>,
    /// Statuses for owner, admin, editor, viewer, non-member.
    expect: [u16; 5],
}

fn none(_: &Cast) -> Option<Value> {
    None
}

fn rows() -> Vec<Row> {
    use Method as M;
    let row = |method, path, body, expect| Row {
        method,
        path,
        body,
        expect,
    };
    vec![
        row(
            M::GET,
            "/api/v1/projects/{project}",
            none,
            [200, 200, 200, 200, 404],
        ),
        row(
            M::PATCH,
            "/api/v1/projects/{project}",
            |_| Some(json!({"name": "Renamed"})),
            [200, 200, 403, 403, 404],
        ),
        row(
            M::DELETE,
            "/api/v1/projects/{project}",
            none,
            [204, 403, 403, 403, 404],
        ),
        row(
            M::GET,
            "/api/v1/projects/{project}/members",
            none,
            [200, 200, 200, 200, 404],
        ),
        row(
            M::POST,
            "/api/v1/projects/{project}/members",
            |c| Some(json!({"email": c.extra.email, "role": "viewer"})),
            [201, 201, 403, 403, 404],
        ),
        row(
            M::PATCH,
            "/api/v1/projects/{project}/members/{victim}",
            |_| Some(json!({"role": "editor"})),
            [200, 200, 403, 403, 404],
        ),
        row(
            M::DELETE,
            "/api/v1/projects/{project}/members/{victim}",
            none,
            [204, 204, 403, 403, 404],
        ),
        row(
            M::DELETE,
            "/api/v1/projects/{project}/members/me",
            none,
            [409, 204, 204, 204, 404],
        ),
        row(
            M::POST,
            "/api/v1/projects/{project}/transfer",
            |c| Some(json!({"user_id": c.victim.id})),
            [204, 403, 403, 403, 404],
        ),
        row(
            M::POST,
            "/api/v1/projects/{project}/invitations",
            |_| Some(json!({"role": "viewer"})),
            [201, 201, 403, 403, 404],
        ),
        row(
            M::GET,
            "/api/v1/projects/{project}/invitations",
            none,
            [200, 200, 403, 403, 404],
        ),
        row(
            M::DELETE,
            "/api/v1/projects/{project}/invitations/{invitation}",
            none,
            [204, 204, 403, 403, 404],
        ),
        row(
            M::POST,
            "/api/v1/projects/{project}/workspaces",
            |_| Some(json!({"name": "Build"})),
            [201, 201, 201, 403, 404],
        ),
        row(
            M::GET,
            "/api/v1/projects/{project}/workspaces",
            none,
            [200, 200, 200, 200, 404],
        ),
        row(
            M::GET,
            "/api/v1/workspaces/{workspace}",
            none,
            [200, 200, 200, 200, 404],
        ),
        row(
            M::PATCH,
            "/api/v1/workspaces/{workspace}",
            |_| Some(json!({"name": "Renamed"})),
            [200, 200, 200, 403, 404],
        ),
        row(
            M::DELETE,
            "/api/v1/workspaces/{workspace}",
            none,
            [204, 204, 403, 403, 404],
        ),
        row(
            M::GET,
            "/api/v1/projects/{project}/audit",
            none,
            [200, 200, 403, 403, 404],
        ),
    ]
}

#[tokio::test]
async fn every_role_gets_exactly_the_documented_status_on_every_endpoint() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let mut mismatches = Vec::new();
    for row in rows() {
        for ((role, actor), expected) in cast.actors().into_iter().zip(row.expect) {
            let scene = Scene::new(&app, &cast).await;
            let path = scene.path(row.path, &cast);
            let response = app
                .send(
                    row.method.clone(),
                    &path,
                    &actor.access_token,
                    (row.body)(&cast),
                )
                .await;
            let status = response.status().as_u16();
            if status != expected {
                let body = response.text().await.unwrap_or_default();
                mismatches.push(format!(
                    "{role} {} {}: {status}, expected {expected}: {body}",
                    row.method, row.path
                ));
            } else if status >= 400 {
                let content_type = response.headers()["content-type"]
                    .to_str()
                    .unwrap()
                    .to_owned();
                assert_eq!(
                    content_type, "application/problem+json",
                    "{role} {} {}",
                    row.method, row.path
                );
            }
        }
    }
    assert!(mismatches.is_empty(), "\n{}", mismatches.join("\n"));
}

#[tokio::test]
async fn a_forbidden_answer_says_forbidden_and_a_hidden_project_says_not_found() {
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let scene = Scene::new(&app, &cast).await;
    let path = format!("/api/v1/projects/{}", scene.project);
    let forbidden = app
        .send(Method::DELETE, &path, &cast.admin.access_token, None)
        .await;
    crate::helpers::assert_problem(forbidden, reqwest::StatusCode::FORBIDDEN, "forbidden").await;
    let hidden = app
        .send(Method::GET, &path, &cast.outsider.access_token, None)
        .await;
    let missing = app
        .send(
            Method::GET,
            "/api/v1/projects/01900000-0000-7000-8000-000000000000",
            &cast.outsider.access_token,
            None,
        )
        .await;
    let hidden =
        crate::helpers::assert_problem(hidden, reqwest::StatusCode::NOT_FOUND, "not_found").await;
    let missing =
        crate::helpers::assert_problem(missing, reqwest::StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(
        hidden["detail"], missing["detail"],
        "a hidden project looks exactly like a missing one"
    );
}
