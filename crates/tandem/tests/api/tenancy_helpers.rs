//! Helpers for the tenancy tests: projects with a cast of members in every role.

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, json_body};

/// One user per role, plus people to act on.
pub struct Cast {
    pub owner: TestUser,
    pub admin: TestUser,
    pub editor: TestUser,
    pub viewer: TestUser,
    pub outsider: TestUser,
    /// A viewer whom the others promote, remove or make owner.
    pub victim: TestUser,
    /// A registered user who is in no project, to be added.
    pub extra: TestUser,
}

impl Cast {
    pub async fn new(app: &TestApp) -> Self {
        Self {
            owner: app.new_user().await,
            admin: app.new_user().await,
            editor: app.new_user().await,
            viewer: app.new_user().await,
            outsider: app.new_user().await,
            victim: app.new_user().await,
            extra: app.new_user().await,
        }
    }

    /// The actors of the matrix, most powerful first, with their names.
    pub fn actors(&self) -> [(&'static str, &TestUser); 5] {
        [
            ("owner", &self.owner),
            ("admin", &self.admin),
            ("editor", &self.editor),
            ("viewer", &self.viewer),
            ("outsider", &self.outsider),
        ]
    }
}

/// A fresh project of `cast.owner` with every role filled, a workspace and an invitation.
pub struct Scene {
    pub project: String,
    pub workspace: String,
    pub invitation: String,
}

impl Scene {
    pub async fn new(app: &TestApp, cast: &Cast) -> Self {
        let owner = &cast.owner.access_token;
        let project = created(
            app.send(
                Method::POST,
                "/api/v1/projects",
                owner,
                Some(json!({"name": "Apollo"})),
            )
            .await,
        )
        .await;
        let project = project["id"].as_str().unwrap().to_owned();
        let members = format!("/api/v1/projects/{project}/members");
        for (user, role) in [
            (&cast.admin, "admin"),
            (&cast.editor, "editor"),
            (&cast.viewer, "viewer"),
            (&cast.victim, "viewer"),
        ] {
            created(
                app.send(
                    Method::POST,
                    &members,
                    owner,
                    Some(json!({"email": user.email, "role": role})),
                )
                .await,
            )
            .await;
        }
        let workspace = created(
            app.send(
                Method::POST,
                &format!("/api/v1/projects/{project}/workspaces"),
                owner,
                Some(json!({"name": "Design"})),
            )
            .await,
        )
        .await;
        let invitation = created(
            app.send(
                Method::POST,
                &format!("/api/v1/projects/{project}/invitations"),
                owner,
                Some(json!({"role": "viewer"})),
            )
            .await,
        )
        .await;
        Self {
            project,
            workspace: workspace["id"].as_str().unwrap().to_owned(),
            invitation: invitation["invitation"]["id"].as_str().unwrap().to_owned(),
        }
    }

    /// `template` with `{project}`, `{workspace}`, `{invitation}`, `{victim}` filled in.
    pub fn path(&self, template: &str, cast: &Cast) -> String {
        template
            .replace("{project}", &self.project)
            .replace("{workspace}", &self.workspace)
            .replace("{invitation}", &self.invitation)
            .replace("{victim}", &cast.victim.id)
    }
}

/// The body of a 201, or a panic naming what came back instead.
pub async fn created(response: Response) -> Value {
    let status = response.status();
    let body = json_body(response).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

impl TestApp {
    /// Sends `method path` with a bearer token and an optional JSON body.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> Response {
        let mut request = self
            .client
            .request(method, self.url(path))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("request sent")
    }
}
