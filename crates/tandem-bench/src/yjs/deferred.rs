//! `yjs-fanout --read-after N`: fan-out latency with the observers' reading taken out of
//! the measured window. On one machine, 1,500 observers reading as frames arrive use
//! about as much CPU as the server spends sending to them, so the two share the cores and
//! the figure is as much the bench's as the server's. Here the observers read nothing
//! while N updates go out; the kernel queues each frame with its receive time
//! (`SO_TIMESTAMPNS`), and afterwards each observer reads its frames one at a time and
//! takes each one's own time. Between reads the observers' sockets are out of the bench's
//! epoll set, so a frame's arrival wakes nothing here. What remains on the cores during a
//! round is the writer and the server, as with observers on other machines. With more than one update per round
//! the times run late: TCP merges a frame into the one queued before it, and the merged
//! segment carries the newer time.

use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};

use super::fanout::{FanoutOptions, send_paced};
use super::peer::{Peer, Received, YSocket};
use super::{Process, Writer, fresh_name, stamps};
use crate::sockets;
use crate::stats::{self, round3};

/// How long one observer may take to show a round's updates before it counts as missing
/// them.
const READ_LIMIT: Duration = Duration::from_secs(10);

pub async fn fanout_deferred(
    peer: &Peer,
    server: Process,
    options: FanoutOptions,
    round: usize,
    // How long after a round's last update the server gets to deliver it before the
    // observers read.
    settle: Duration,
) -> anyhow::Result<Value> {
    let FanoutOptions {
        observers,
        messages,
        rate,
        sources,
    } = options;
    anyhow::ensure!(
        round > 0,
        "--read-after needs at least one update per round"
    );
    let address = peer.document(&fresh_name("fanout")).await?;
    let epoch = Instant::now();
    let epoch_wall = SystemTime::now();
    let mut sockets = Vec::with_capacity(observers);
    for i in 0..observers {
        let mut socket = YSocket::join(&address, sockets::source(i, sources)).await?;
        socket.park()?;
        sockets.push(socket);
    }
    let mut writer_socket = YSocket::join(&address, None).await?.into_sender();
    let mut writer = Writer::new();
    let mut arrivals = Vec::with_capacity(observers * messages);
    let mut missing = 0usize;
    let mut writing = Duration::ZERO;
    let mut cpu_writing = Some(0.0);
    // Each round's latest arrival: whether the tail is every round or a few slow ones.
    let mut round_max = Vec::new();
    // And its first: whether a slow round started late (before the fan-out) or spread.
    let mut round_min = Vec::new();
    // The time from one round's first update to the next's: what each observer's link is
    // idle for between rounds (see `--pause-ms`).
    let mut gaps = Vec::new();
    let mut last_start: Option<Instant> = None;
    let mut sent = 0;
    while sent < messages {
        let before = arrivals.len();
        let count = round.min(messages - sent);
        let cpu_before = server.cpu_seconds().await;
        let started = Instant::now();
        gaps.extend(last_start.replace(started).map(|last| started - last));
        send_paced(&mut writer_socket, &mut writer, epoch, count, rate).await?;
        writing += started.elapsed();
        tokio::time::sleep(settle).await;
        cpu_writing = match (cpu_writing, cpu_before, server.cpu_seconds().await) {
            (Some(sum), Some(before), Some(after)) => Some(sum + after - before),
            _ => None,
        };
        sent += count;
        for socket in &mut sockets {
            socket.unpark()?;
            let mut seen = 0;
            let reading = tokio::time::timeout(READ_LIMIT, async {
                while seen < count {
                    let (kind, message, arrived) = socket.recv_raw().await?;
                    if kind != Received::Update {
                        continue;
                    }
                    let arrived = arrived.and_then(|at| at.duration_since(epoch_wall).ok());
                    for stamp in stamps(&message).map(Duration::from_micros) {
                        seen += 1;
                        if let Some(arrived) = arrived {
                            arrivals.push(arrived.saturating_sub(stamp));
                        }
                    }
                }
                anyhow::Ok(())
            })
            .await;
            if !matches!(reading, Ok(Ok(()))) {
                missing += count.saturating_sub(seen);
            }
            socket.park()?;
        }
        round_max.push(arrivals[before..].iter().max().copied().unwrap_or_default());
        round_min.push(arrivals[before..].iter().min().copied().unwrap_or_default());
    }
    let busy = cpu_writing
        .map(|cpu| round3(cpu / (writing + settle * rounds(messages, round)).as_secs_f64()));
    Ok(json!({
        "scenario": "yjs-fanout",
        "peer": format!("{:?}", peer.kind),
        "observers": observers,
        "messages": messages,
        "rate": rate,
        "read_after": round,
        "settle_ms": settle.as_millis(),
        "deliveries": arrivals.len(),
        "expected_deliveries": observers * messages,
        "missing": missing,
        // Send to the kernel's receipt at the observer; nothing else was reading.
        "arrival_ms": stats::latency_ms(&mut arrivals),
        "round_first_arrival_ms": stats::latency_ms(&mut round_min),
        "round_last_arrival_ms": stats::latency_ms(&mut round_max),
        "round_gap_ms": stats::latency_ms(&mut gaps),
        "server_cores_busy": busy,
    }))
}

fn rounds(messages: usize, round: usize) -> u32 {
    u32::try_from(messages.div_ceil(round)).unwrap_or(u32::MAX)
}
