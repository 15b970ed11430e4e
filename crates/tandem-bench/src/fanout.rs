//! The `fanout` scenario: one channel, many subscribers, one publisher.

use std::time::{Duration, Instant};

use anyhow::Context;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub async fn run(base: &str, subscribers: usize, messages: usize) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let registered: Value = client
        .post(format!("{base}/api/v1/auth/register"))
        .json(&json!({"email": "fanout@example.com", "password": "correct horse 1", "name": "Fanout"}))
        .send()
        .await?
        .json()
        .await?;
    let token = registered["access_token"]
        .as_str()
        .context("no token")?
        .to_owned();
    let post = |path: String, body: Value| {
        let (client, token) = (client.clone(), token.clone());
        async move {
            let value: Value = client
                .post(path)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await?
                .json()
                .await?;
            anyhow::Ok(value)
        }
    };
    let project = post(format!("{base}/api/v1/projects"), json!({"name": "Bench"})).await?;
    let project_id = project["id"].as_str().context("no project")?;
    let workspace = post(
        format!("{base}/api/v1/projects/{project_id}/workspaces"),
        json!({"name": "W"}),
    )
    .await?;
    let channel = format!(
        "workspace:{}",
        workspace["id"].as_str().context("no workspace")?
    );
    let ws_url = format!(
        "{}/api/v1/realtime?token={token}",
        base.replace("http://", "ws://")
    );

    let started = Instant::now();
    let mut readers = Vec::with_capacity(subscribers);
    for _ in 0..subscribers {
        let mut socket = open(&ws_url, &channel).await?;
        readers.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(messages);
            while latencies.len() < messages {
                let Some(Ok(Message::Text(text))) = socket.next().await else {
                    break;
                };
                let frame: Value = serde_json::from_str(text.as_str())?;
                if let Some(sent) = frame["data"]["t"].as_u64() {
                    let now = u64::try_from(started.elapsed().as_micros())?;
                    latencies.push(now.saturating_sub(sent));
                }
            }
            anyhow::Ok(latencies)
        }));
    }

    let mut publisher = open(&ws_url, &channel).await?;
    let publishing = Instant::now();
    for i in 0..messages {
        let t = u64::try_from(started.elapsed().as_micros())?;
        let frame = json!({"type": "publish", "channel": channel, "event": "cursor", "data": {"t": t, "i": i}});
        publisher.send(Message::text(frame.to_string())).await?;
    }
    let mut latencies = Vec::with_capacity(subscribers * messages);
    for reader in readers {
        latencies.extend(tokio::time::timeout(Duration::from_secs(120), reader).await???);
    }
    let elapsed = publishing.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let pick = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q) as usize)
            .copied()
            .unwrap_or(0)
    };
    println!(
        "{}",
        json!({
            "scenario": "fanout",
            "subscribers": subscribers,
            "messages": messages,
            "deliveries": latencies.len(),
            "deliveries_per_s": (latencies.len() as f64 / elapsed).round(),
            "latency_ms": {
                "p50": pick(0.50) as f64 / 1e3,
                "p99": pick(0.99) as f64 / 1e3,
                "max": latencies.last().copied().unwrap_or(0) as f64 / 1e3,
            },
        })
    );
    Ok(())
}

/// An authenticated socket subscribed to `channel`, its `ack` consumed.
async fn open(url: &str, channel: &str) -> anyhow::Result<Socket> {
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await?;
    socket
        .send(Message::text(
            json!({"type": "subscribe", "channel": channel, "ref": "s"}).to_string(),
        ))
        .await?;
    while let Some(message) = socket.next().await {
        if let Message::Text(text) = message? {
            let frame: Value = serde_json::from_str(text.as_str())?;
            if frame["ref"] == "s" {
                anyhow::ensure!(frame["type"] == "ack", "subscribe failed: {frame}");
                return Ok(socket);
            }
        }
    }
    anyhow::bail!("the socket closed before subscribing")
}
