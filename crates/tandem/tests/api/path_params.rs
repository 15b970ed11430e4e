//! Ids in paths: whatever a path segment holds (not an id, not UTF-8 once
//! percent-decoded, a NUL), every route answers 404 `not_found` problem+json naming the
//! thing it could not find, on routes with one path parameter and with several.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::files::create_file;
use crate::helpers::{TestApp, TestUser, assert_problem, spawn_app};
use crate::tenancy_helpers::{Cast, Scene};
use crate::yclient::YClient;

/// Segments that are no id: not a UUID, a UUID one digit short, bytes that are not
/// UTF-8, a truncated UTF-8 sequence, a NUL.
const MALFORMED: [&str; 5] = [
    "not-a-uuid",
    "01900000-0000-7000-8000-00000000000",
    "%ff%fe",
    "%E2%82",
    "%00",
];

/// Asserts `method path` answers 404 `not_found` with `detail`.
async fn assert_not_found(
    app: &TestApp,
    user: &TestUser,
    method: Method,
    path: &str,
    detail: &str,
) {
    // A body that the routes taking one accept, so only the path can be wrong.
    let body = (method == Method::PATCH).then(|| json!({"role": "editor"}));
    let response = app
        .send(method.clone(), path, &user.access_token, body)
        .await;
    let problem = assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(problem["detail"], detail, "{method} {path}");
}

/// A project with a file, a chat room and a job, and the ids routes take.
struct Things {
    cast: Cast,
    ids: Vec<(&'static str, String)>,
}

impl Things {
    async fn new(app: &TestApp) -> Self {
        let cast = Cast::new(app).await;
        let scene = Scene::new(app, &cast).await;
        let owner = &cast.owner;
        let file = create_file(app, &scene, &owner.access_token, json!({"path": "a.md"})).await;
        let room = app.general_room(&scene.project, owner).await;
        let (_, job) = app
            .submit_job(&scene.project, &owner.access_token, json!({"kind": "noop"}))
            .await;
        let id = |value: &Value| value["id"].as_str().unwrap().to_owned();
        let ids = vec![
            ("{project}", scene.project.clone()),
            ("{workspace}", scene.workspace.clone()),
            ("{file}", id(&file)),
            ("{room}", room),
            ("{job}", id(&job)),
            ("{member}", cast.victim.id.clone()),
        ];
        Self { cast, ids }
    }

    fn path(&self, template: &str, bad: &str) -> String {
        let filled = self
            .ids
            .iter()
            .fold(template.to_owned(), |path, (name, id)| {
                path.replace(name, id)
            });
        filled.replace("{bad}", bad)
    }
}

#[tokio::test]
async fn a_malformed_last_id_in_a_route_with_several_is_not_found_naming_it() {
    let app = spawn_app().await;
    let things = Things::new(&app).await;
    // Every route with more than one path parameter, the earlier ones real.
    let routes = [
        (
            Method::GET,
            "/api/v1/files/{file}/versions/{bad}",
            "no such version",
        ),
        (
            Method::POST,
            "/api/v1/files/{file}/versions/{bad}/restore",
            "no such version",
        ),
        (
            Method::PATCH,
            "/api/v1/projects/{project}/members/{bad}",
            "no such member",
        ),
        (
            Method::DELETE,
            "/api/v1/projects/{project}/members/{bad}",
            "no such member",
        ),
        (
            Method::DELETE,
            "/api/v1/projects/{project}/invitations/{bad}",
            "no such open invitation",
        ),
        (
            Method::DELETE,
            "/api/v1/rooms/{room}/members/{bad}",
            "no such member",
        ),
        (
            Method::DELETE,
            "/api/v1/rooms/{room}/invites/{bad}",
            "no such invite",
        ),
        (
            Method::GET,
            "/api/v1/rooms/{room}/messages/{bad}/receipts",
            "no such message",
        ),
        (
            Method::GET,
            "/api/v1/jobs/{job}/artifacts/{bad}",
            "no such artifact",
        ),
    ];
    for (method, template, detail) in routes {
        for bad in MALFORMED {
            let path = things.path(template, bad);
            assert_not_found(&app, &things.cast.owner, method.clone(), &path, detail).await;
        }
    }
}

#[tokio::test]
async fn a_malformed_first_id_is_not_found_whatever_follows() {
    let app = spawn_app().await;
    let things = Things::new(&app).await;
    let routes = [
        (Method::GET, "/api/v1/projects/{bad}", "no such project"),
        (
            Method::PATCH,
            "/api/v1/projects/{bad}/members/{member}",
            "no such project",
        ),
        (Method::GET, "/api/v1/workspaces/{bad}", "no such workspace"),
        (Method::GET, "/api/v1/files/{bad}", "no such file"),
        (
            Method::GET,
            "/api/v1/files/{bad}/versions/{file}",
            "no such file",
        ),
        (Method::GET, "/api/v1/jobs/{bad}", "no such job"),
        (
            Method::GET,
            "/api/v1/jobs/{bad}/artifacts/report.md",
            "no such job",
        ),
        (Method::GET, "/api/v1/rooms/{bad}", "no such room"),
        (
            Method::DELETE,
            "/api/v1/rooms/{bad}/members/{member}",
            "no such room",
        ),
        (Method::DELETE, "/api/v1/messages/{bad}", "no such message"),
        (
            Method::DELETE,
            "/api/v1/auth/sessions/{bad}",
            "no such session",
        ),
    ];
    for (method, template, detail) in routes {
        for bad in MALFORMED {
            let path = things.path(template, bad);
            assert_not_found(&app, &things.cast.owner, method.clone(), &path, detail).await;
        }
    }
}

#[tokio::test]
async fn an_artifact_name_that_cannot_be_one_is_no_such_artifact_for_a_visible_job_only() {
    let app = spawn_app().await;
    let things = Things::new(&app).await;
    let cast = &things.cast;
    for name in [
        "%ff%fe",
        "%00",
        "report%0A.md",
        "nope.txt",
        &"a".repeat(300),
    ] {
        let path = things.path(&format!("/api/v1/jobs/{{job}}/artifacts/{name}"), "");
        assert_not_found(&app, &cast.viewer, Method::GET, &path, "no such artifact").await;
        // Someone who cannot see the job learns nothing about it.
        assert_not_found(&app, &cast.outsider, Method::GET, &path, "no such job").await;
    }
}

#[tokio::test]
async fn an_invitation_token_that_is_not_utf8_is_an_unknown_invitation() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    for token in ["%ff%fe", "%00", "not-a-token"] {
        let response = app
            .send(
                Method::POST,
                &format!("/api/v1/invitations/{token}/accept"),
                &user.access_token,
                None,
            )
            .await;
        assert_problem(response, StatusCode::NOT_FOUND, "invitation_not_found").await;
    }
}

#[tokio::test]
async fn a_collaborative_socket_for_a_malformed_file_id_closes_as_not_found() {
    let app = spawn_app().await;
    let user = app.new_user().await;
    for file in MALFORMED {
        let mut socket = YClient::connect(&app.address, file, &user.access_token).await;
        assert_eq!(socket.close_code().await, 4404, "{file}");
    }
}
