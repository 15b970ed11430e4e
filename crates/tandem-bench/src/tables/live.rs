//! A cell edit reaching the table's subscribers: `subscribers` sockets on `table:{id}`,
//! one row's cell patched over REST `edits` times, one at a time; each sample is the
//! time from sending the PATCH to the last subscriber's `row.updated`.

use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use super::Sheet;
use crate::fixture::Fixture;
use crate::sockets::{self, Socket};

pub async fn cell_edits(
    fixture: &Fixture,
    sheet: &Sheet,
    subscribers: usize,
    edits: usize,
) -> anyhow::Result<Vec<Duration>> {
    let channel = format!("table:{}", sheet.id);
    let mut sockets: Vec<Socket> = Vec::with_capacity(subscribers);
    for _ in 0..subscribers {
        let mut socket = sockets::open(&fixture.socket_url(), None).await?;
        sockets::subscribe(&mut socket, &channel).await?;
        sockets.push(socket);
    }
    let row = super::seed::post(
        fixture,
        &format!("/api/v1/tables/{}/rows", sheet.id),
        &json!({"fields": {"Title": "edited"}}),
    )
    .await?;
    let row_id = row["id"].as_str().unwrap_or_default().to_owned();
    let path = format!("{}/api/v1/tables/{}/rows/{row_id}", fixture.base, sheet.id);
    let mut samples = Vec::with_capacity(edits);
    for edit in 0..edits {
        let sent = Instant::now();
        let patch = fixture
            .client
            .patch(&path)
            .bearer_auth(&fixture.token)
            .json(&json!({"fields": {"Score": edit}}))
            .send();
        let waits = sockets.iter_mut().map(|socket| updated(socket, &row_id));
        let (answer, arrivals) = tokio::join!(patch, futures::future::join_all(waits));
        answer?.error_for_status()?;
        for arrival in arrivals {
            arrival?;
        }
        samples.push(sent.elapsed());
    }
    Ok(samples)
}

/// Reads `socket` until a `row.updated` naming `row` arrives.
async fn updated(socket: &mut Socket, row: &str) -> anyhow::Result<()> {
    let deadline = Duration::from_secs(10);
    loop {
        let message = tokio::time::timeout(deadline, socket.next())
            .await?
            .ok_or_else(|| anyhow::anyhow!("the socket closed"))??;
        if let Message::Text(text) = message {
            let frame: Value = serde_json::from_str(text.as_str())?;
            if frame["event"] == "row.updated"
                && frame["data"]["rows"]
                    .as_array()
                    .is_some_and(|rows| rows.iter().any(|r| r["id"] == row))
            {
                return Ok(());
            }
        }
    }
}
