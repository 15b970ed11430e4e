//! `yjs-paste`: what a server still holds after its clients each sent one large message.
//! Every client has a document of its own, pastes `--paste-kib` of text into it and takes
//! the paste out again (undo), so the document is small again; what stays is memory the
//! server kept for reading the paste.

use std::time::Duration;

use serde_json::{Value, json};

use super::peer::{Peer, YSocket};
use super::{Process, Writer, fresh_name};
use crate::sockets;
use crate::stats::round3;

#[derive(Debug, Clone, Copy)]
pub struct PasteOptions {
    pub connections: usize,
    pub kib: usize,
    pub sources: usize,
}

/// Opens `connections` documents with one client each, measures, lets every client paste
/// and undo in turn (each waits for the server to answer a sync step 1 sent after both
/// edits, so the server has read them), and measures again once the server's memory
/// has settled.
pub async fn paste(peer: &Peer, server: Process, options: PasteOptions) -> anyhow::Result<Value> {
    let PasteOptions {
        connections,
        kib,
        sources,
    } = options;
    let mut clients = Vec::with_capacity(connections);
    for c in 0..connections {
        let address = peer.document(&fresh_name(&format!("paste{c}"))).await?;
        let mut socket = YSocket::join(&address, sockets::source(c, sources)).await?;
        let mut writer = Writer::new();
        socket
            .send_update(&writer.append("a line before the paste\n"))
            .await?;
        clients.push((socket, writer));
    }
    // The server stores what it was sent after it has answered, and an allocator may
    // return freed memory over seconds: wait until the server's memory stops changing
    // (five readings a second apart within 1% of each other), 40 s at most.
    let settle = || async {
        let mut readings = Vec::new();
        for _ in 0..40 {
            readings.push((server.rss_bytes().await?, server.anonymous_bytes().await?));
            let recent = &readings[readings.len().saturating_sub(5)..];
            let low = recent.iter().map(|r| r.0).min().unwrap_or(0);
            let high = recent.iter().map(|r| r.0).max().unwrap_or(0);
            if recent.len() == 5 && (high - low) * 100 <= low {
                break;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        anyhow::Ok(*readings.last().expect("one reading at least"))
    };
    let before = settle().await?;
    let text = "p".repeat(kib * 1024);
    for (socket, writer) in &mut clients {
        socket.send_update(&writer.append(&text)).await?;
        socket.send_update(&writer.truncate(24)).await?;
        socket.send(&[0, 0, 1, 0]).await?;
        socket.synced().await?;
    }
    let after = settle().await?;
    drop(clients);
    let kib_each = |from: u64, to: u64| {
        round3(to.saturating_sub(from) as f64 / 1024.0 / connections.max(1) as f64)
    };
    Ok(json!({
        "scenario": "yjs-paste",
        "peer": format!("{:?}", peer.kind),
        "connections": connections,
        "paste_kib": kib,
        "rss_before_mib": round3(before.0 as f64 / 1048576.0),
        "rss_after_mib": round3(after.0 as f64 / 1048576.0),
        "kib_held_per_client": kib_each(before.0, after.0),
        "kib_held_per_client_anonymous": kib_each(before.1, after.1),
    }))
}
