//! SIGTERM while clients edit: the server closes their sockets with 1001, stores what
//! they sent, compacts, takes the automatic version of the session that ends, and exits;
//! after a restart every update a client saw relayed (stored before it is relayed) is
//! there, and so is the session-end version.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::cli::{serve, terminate};
use crate::yclient::YClient;

async fn post(client: &reqwest::Client, url: String, token: Option<&str>, body: Value) -> Value {
    let mut request = client.post(url).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("the server answers");
    assert!(response.status().is_success(), "{}", response.status());
    response.json().await.expect("a JSON body")
}

async fn get(client: &reqwest::Client, url: String, token: &str) -> Value {
    let response = client
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .expect("the server answers");
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("a JSON body")
}

#[tokio::test]
async fn sigterm_while_clients_edit_keeps_every_relayed_update_and_takes_the_session_version() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, address) = serve(dir.path(), &[]).await;
    let client = reqwest::Client::new();
    let account = post(
        &client,
        format!("{address}/api/v1/auth/register"),
        None,
        json!({"email": "ada@example.com", "password": "correct horse battery", "name": "Ada"}),
    )
    .await;
    let token = account["access_token"].as_str().unwrap().to_owned();
    let project = post(
        &client,
        format!("{address}/api/v1/projects"),
        Some(&token),
        json!({"name": "Shutdown"}),
    )
    .await;
    let workspace = post(
        &client,
        format!(
            "{address}/api/v1/projects/{}/workspaces",
            project["id"].as_str().unwrap()
        ),
        Some(&token),
        json!({"name": "Edits"}),
    )
    .await;
    let file = post(
        &client,
        format!(
            "{address}/api/v1/workspaces/{}/files",
            workspace["id"].as_str().unwrap()
        ),
        Some(&token),
        json!({"path": "draft.txt"}),
    )
    .await;
    let id = file["id"].as_str().unwrap().to_owned();

    let mut typist = YClient::synced(&address, &id, &token).await;
    let mut watcher = YClient::synced(&address, &id, &token).await;
    let mut typed = String::new();
    for i in 0..300u32 {
        let key = char::from(b'a' + (i % 26) as u8);
        typist.insert(i, &key.to_string()).await;
        typed.push(key);
        if i == 200 {
            watcher.until_text(&typed).await;
        }
    }
    // Mid-burst: some keystrokes are still on their way to storage.
    terminate(&child);
    assert_eq!(watcher.close_code().await, 1001);
    let relayed = watcher.text();
    assert!(
        relayed.len() > 200,
        "the watcher saw {} keystrokes",
        relayed.len()
    );
    let status = tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .expect("the server exits within 60 s of SIGTERM")
        .unwrap();
    assert!(status.success(), "{status}");

    let (mut child, address) = serve(dir.path(), &[]).await;
    let login = post(
        &client,
        format!("{address}/api/v1/auth/login"),
        None,
        json!({"email": "ada@example.com", "password": "correct horse battery"}),
    )
    .await;
    let token = login["access_token"].as_str().unwrap();
    let stored = get(&client, format!("{address}/api/v1/files/{id}"), token).await;
    let stored = stored["content"].as_str().unwrap().to_owned();
    assert!(
        stored.starts_with(&relayed) && typed.starts_with(&stored),
        "stored {} of {} keystrokes, {} were relayed",
        stored.len(),
        typed.len(),
        relayed.len()
    );
    let versions = get(
        &client,
        format!("{address}/api/v1/files/{id}/versions"),
        token,
    )
    .await;
    let automatic: Vec<&Value> = versions["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["kind"] == "auto")
        .collect();
    assert_eq!(automatic.len(), 1, "the session-end version: {versions}");
    let version = get(
        &client,
        format!(
            "{address}/api/v1/files/{id}/versions/{}",
            automatic[0]["id"].as_str().unwrap()
        ),
        token,
    )
    .await;
    assert_eq!(version["content"], stored.as_str());
    terminate(&child);
    let _ = child.wait().await;
}
