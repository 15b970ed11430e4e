//! What every scenario starts from: a fresh account with a project and a workspace.

use anyhow::Context;
use serde_json::{Value, json};

pub const PASSWORD: &str = "correct horse 1";

/// A registered user, its project and workspace, on one server.
#[derive(Debug, Clone)]
pub struct Fixture {
    pub base: String,
    pub client: reqwest::Client,
    pub email: String,
    pub token: String,
    pub refresh_token: String,
    pub project: String,
    pub workspace: String,
}

impl Fixture {
    /// Registers `bench-<random>@example.com` (so runs against one server never collide)
    /// and creates a project with one workspace.
    pub async fn create(base: &str) -> anyhow::Result<Self> {
        let client = reqwest::Client::new();
        let email = format!("bench-{}@example.com", uuid::Uuid::now_v7().simple());
        let registered: Value = client
            .post(format!("{base}/api/v1/auth/register"))
            .json(&json!({"email": email, "password": PASSWORD, "name": "Bench"}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let token = text(&registered, "access_token")?;
        let refresh_token = text(&registered, "refresh_token")?;
        let post = |path: String, body: Value| {
            let (client, token) = (client.clone(), token.clone());
            async move {
                let value: Value = client
                    .post(path)
                    .bearer_auth(token)
                    .json(&body)
                    .send()
                    .await?
                    .error_for_status()?
                    .json()
                    .await?;
                anyhow::Ok(value)
            }
        };
        let project = post(format!("{base}/api/v1/projects"), json!({"name": "Bench"})).await?;
        let project = text(&project, "id")?;
        let workspace = post(
            format!("{base}/api/v1/projects/{project}/workspaces"),
            json!({"name": "W"}),
        )
        .await?;
        Ok(Self {
            base: base.to_owned(),
            client,
            email,
            token,
            refresh_token,
            project,
            workspace: text(&workspace, "id")?,
        })
    }

    pub fn workspace_channel(&self) -> String {
        format!("workspace:{}", self.workspace)
    }

    /// The socket URL, authenticated by `?token=`.
    pub fn socket_url(&self) -> String {
        self.socket_url_for(&self.token)
    }

    /// The socket URL for whoever holds `token`.
    pub fn socket_url_for(&self, token: &str) -> String {
        format!(
            "{}/api/v1/realtime?token={token}",
            self.base.replace("http://", "ws://"),
        )
    }
}

/// The string `field` of `value`.
pub fn text(value: &Value, field: &str) -> anyhow::Result<String> {
    Ok(value[field]
        .as_str()
        .with_context(|| format!("no {field} in {value}"))?
        .to_owned())
}
