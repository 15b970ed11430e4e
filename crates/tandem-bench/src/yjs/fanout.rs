//! `yjs-fanout` (one writer, N observers of one document: propagation latency) and
//! `yjs-throughput` (D documents, each with a writer and an observer, writing as fast as
//! the server relays: sustained updates per second).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};
use tokio::sync::Notify;

use super::peer::{Peer, Received, YSender, YSocket};
use super::{Process, Writer, fresh_name, stamps};
use crate::pace::Pace;
use crate::sockets;
use crate::stats::{self, round3};

#[derive(Debug, Clone, Copy)]
pub struct FanoutOptions {
    pub observers: usize,
    pub messages: usize,
    /// Updates per second from the writer; 0 sends them as fast as the socket takes.
    pub rate: u32,
    pub sources: usize,
}

pub async fn fanout(peer: &Peer, server: Process, options: FanoutOptions) -> anyhow::Result<Value> {
    let FanoutOptions {
        observers,
        messages,
        rate,
        sources,
    } = options;
    let address = peer.document(&fresh_name("fanout")).await?;
    let epoch = Instant::now();
    // Stamps count from `epoch`; kernel receive times are wall-clock.
    let epoch_wall = SystemTime::now();
    let mut readers = Vec::with_capacity(observers);
    for i in 0..observers {
        let mut socket = YSocket::join(&address, sockets::source(i, sources)).await?;
        readers.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(messages);
            let mut arrivals = Vec::with_capacity(messages);
            while latencies.len() < messages {
                let Ok((kind, message)) = socket.recv().await else {
                    break;
                };
                if kind != Received::Update {
                    continue;
                }
                let now = epoch.elapsed();
                let arrived = socket
                    .arrival()
                    .and_then(|at| at.duration_since(epoch_wall).ok());
                for sent in stamps(&message).map(Duration::from_micros) {
                    latencies.push(now.saturating_sub(sent));
                    if let Some(arrived) = arrived {
                        arrivals.push(arrived.saturating_sub(sent));
                    }
                }
            }
            (latencies, arrivals)
        }));
    }
    let mut writer_socket = YSocket::join(&address, None).await?.into_sender();
    let mut writer = Writer::new();
    let cpu_before = server.cpu_seconds().await;
    let writing = Instant::now();
    send_paced(&mut writer_socket, &mut writer, epoch, messages, rate).await?;
    let mut latencies = Vec::with_capacity(observers * messages);
    let mut arrivals = Vec::with_capacity(observers * messages);
    for reader in readers {
        if let Ok(Ok((read, arrived))) = tokio::time::timeout(Duration::from_secs(60), reader).await
        {
            latencies.extend(read);
            arrivals.extend(arrived);
        }
    }
    let elapsed = writing.elapsed().as_secs_f64();
    let server_cores_busy = match (cpu_before, server.cpu_seconds().await) {
        (Some(before), Some(after)) => Some(round3((after - before) / elapsed)),
        _ => None,
    };
    Ok(json!({
        "scenario": "yjs-fanout",
        "peer": format!("{:?}", peer.kind),
        "observers": observers,
        "messages": messages,
        "rate": rate,
        "deliveries": latencies.len(),
        "expected_deliveries": observers * messages,
        "deliveries_per_s": (latencies.len() as f64 / elapsed).round(),
        // Send to the observer's read, and send to the kernel's receipt at the observer
        // (the bench's reading delay left out; see docs/BENCHMARKS.md).
        "latency_ms": stats::latency_ms(&mut latencies),
        "arrival_ms": stats::latency_ms(&mut arrivals),
        "arrival_samples": arrivals.len(),
        "server_cores_busy": server_cores_busy,
    }))
}

/// Sends `messages` stamped updates, `rate` per second (0: as fast as the socket takes
/// them).
pub(super) async fn send_paced(
    socket: &mut YSender,
    writer: &mut Writer,
    epoch: Instant,
    messages: usize,
    rate: u32,
) -> anyhow::Result<()> {
    let mut pace = Pace::new(rate);
    let mut sent = 0;
    while sent < messages {
        let due = pace.due(messages).await;
        while sent < due {
            socket.send_update(&writer.append_stamp(epoch)).await?;
            sent += 1;
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Copy)]
pub struct ThroughputOptions {
    pub documents: usize,
    pub duration: Duration,
    /// Updates a writer may have sent that its observer has not yet received.
    pub window: u64,
}

pub async fn throughput(
    peer: &Peer,
    server: Process,
    options: ThroughputOptions,
) -> anyhow::Result<Value> {
    let ThroughputOptions {
        documents,
        duration,
        window,
    } = options;
    let epoch = Instant::now();
    let mut pairs = Vec::with_capacity(documents);
    for d in 0..documents {
        let address = peer.document(&fresh_name(&format!("tp{d}"))).await?;
        let observer = YSocket::join(&address, None).await?;
        let writer = YSocket::join(&address, None).await?;
        pairs.push((writer.into_sender(), observer));
    }
    let cpu_before = server.cpu_seconds().await;
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::with_capacity(documents);
    for (mut socket, mut observer) in pairs {
        let seen = Arc::new(AtomicU64::new(0));
        let arrived = Arc::new(Notify::new());
        let (counter, signal) = (seen.clone(), arrived.clone());
        let observing = tokio::spawn(async move {
            let mut latencies = Vec::new();
            while let Ok((kind, message)) = observer.recv().await {
                if kind == Received::Update {
                    let now = epoch.elapsed().as_micros() as u64;
                    for sent in stamps(&message) {
                        latencies.push(now.saturating_sub(sent));
                        counter.fetch_add(1, Ordering::Relaxed);
                    }
                    signal.notify_one();
                }
            }
            latencies
        });
        tasks.push(tokio::spawn(async move {
            let mut writer = Writer::new();
            let mut sent = 0u64;
            while Instant::now() < deadline {
                if sent.saturating_sub(seen.load(Ordering::Relaxed)) >= window {
                    let _ = tokio::time::timeout_at(deadline.into(), arrived.notified()).await;
                    continue;
                }
                let update = writer.append_stamp(epoch);
                if socket.send_update(&update).await.is_err() {
                    break;
                }
                sent += 1;
            }
            // Let the last updates arrive, then stop the observer.
            tokio::time::sleep(Duration::from_millis(500)).await;
            observing.abort();
            (sent, seen.load(Ordering::Relaxed), observing)
        }));
    }
    let mut sent = 0;
    let mut delivered = 0;
    for task in tasks {
        let (s, d, _) = task.await?;
        sent += s;
        delivered += d;
    }
    let elapsed = duration.as_secs_f64();
    let server_cores_busy = match (cpu_before, server.cpu_seconds().await) {
        (Some(before), Some(after)) => {
            Some(round3((after - before) / started.elapsed().as_secs_f64()))
        }
        _ => None,
    };
    Ok(json!({
        "scenario": "yjs-throughput",
        "peer": format!("{:?}", peer.kind),
        "documents": documents,
        "window": window,
        "seconds": elapsed,
        "updates_sent": sent,
        "updates_delivered": delivered,
        "updates_per_s": (delivered as f64 / elapsed).round(),
        "server_cores_busy": server_cores_busy,
    }))
}
