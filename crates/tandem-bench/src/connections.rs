//! The `connections` scenario: N authenticated idle sockets, and what each costs the
//! server in resident memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{Value, json};

use crate::fixture::Fixture;
use crate::sockets::{self, Socket};
use crate::stats::round3;
use crate::target::{Target, metric};

#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub count: usize,
    /// Loopback source addresses to spread the sockets over (0: let the kernel pick).
    pub sources: usize,
    /// Sockets being opened at once.
    pub concurrency: usize,
    /// How long to keep the sockets open once all are up (the server pings every 20 s
    /// and closes sockets silent for 60 s, so a hold past a minute shows they stay up).
    pub hold: Duration,
}

pub async fn run(target: &Target, fixture: &Fixture, options: Options) -> anyhow::Result<Value> {
    anyhow::ensure!(
        !target.in_process(),
        "`connections` needs the server in its own process: pass --spawn <tandem binary> or --url"
    );
    let url = fixture.socket_url();
    settle().await;
    let before = target.rss_bytes().await?;

    let dropped = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut opened = Vec::with_capacity(options.count);
    let mut failed = 0usize;
    let mut first_error = None;
    let mut attempts = futures::stream::iter(0..options.count)
        .map(|i| {
            let url = url.clone();
            async move {
                let mut socket = sockets::open(&url, sockets::source(i, options.sources)).await?;
                // An answered ping proves the socket is authenticated and served.
                sockets::request(&mut socket, json!({"type": "ping"}), "p").await?;
                anyhow::Ok(socket)
            }
        })
        .buffer_unordered(options.concurrency.max(1));
    while let Some(attempt) = attempts.next().await {
        match attempt {
            Ok(socket) => opened.push(tokio::spawn(idle(socket, dropped.clone()))),
            Err(error) => {
                failed += 1;
                first_error.get_or_insert_with(|| format!("{error:#}"));
            }
        }
    }
    let open_s = started.elapsed().as_secs_f64();
    settle().await;
    let after = target.rss_bytes().await?;
    let server_count = server_connections(fixture).await;
    tokio::time::sleep(options.hold).await;
    let dropped_during_hold = dropped.load(Ordering::Relaxed);
    let n = opened.len();
    for task in opened {
        task.abort();
    }

    let per_connection = after.saturating_sub(before) as f64 / n.max(1) as f64;
    Ok(json!({
        "scenario": "connections",
        "requested": options.count,
        "opened": n,
        "failed": failed,
        "first_error": first_error,
        "server_counts": server_count,
        "open_s": round3(open_s),
        "opens_per_s": (n as f64 / open_s).round(),
        "server_rss_before_mib": round3(before as f64 / 1048576.0),
        "server_rss_after_mib": round3(after as f64 / 1048576.0),
        "rss_per_connection_kib": round3(per_connection / 1024.0),
        "hold_s": options.hold.as_secs(),
        "dropped_during_hold": dropped_during_hold,
    }))
}

/// Reads (and so answers the server's pings) until the socket ends.
async fn idle(mut socket: Socket, dropped: Arc<AtomicUsize>) {
    while let Some(Ok(_)) = socket.next().await {}
    dropped.fetch_add(1, Ordering::Relaxed);
}

/// Lets the allocator and the kernel's accounting catch up before reading RSS.
async fn settle() {
    tokio::time::sleep(Duration::from_secs(2)).await;
}

/// The server's own count of open sockets, when its /metrics says.
pub async fn server_connections(fixture: &Fixture) -> Option<f64> {
    let text = fixture
        .client
        .get(format!("{}/metrics", fixture.base))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    metric(&text, "tandem_realtime_connections")
}
