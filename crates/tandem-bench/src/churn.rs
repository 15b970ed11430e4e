//! The `churn` scenario: sockets that connect, subscribe and leave, over and over.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::connections::server_connections;
use crate::fixture::Fixture;
use crate::sockets;
use crate::stats::{latency_ms, round3};

pub async fn run(
    fixture: &Fixture,
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<Value> {
    let url = fixture.socket_url();
    let channel = fixture.workspace_channel();
    let before = server_connections(fixture).await;
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency.max(1))
        .map(|_| {
            let (url, channel) = (url.clone(), channel.clone());
            tokio::spawn(async move {
                let mut cycles = Vec::new();
                let mut errors = 0usize;
                while started.elapsed() < duration {
                    let cycle = Instant::now();
                    let result = async {
                        let mut socket = sockets::open(&url, None).await?;
                        sockets::subscribe(&mut socket, &channel).await?;
                        socket.close(None).await?;
                        anyhow::Ok(())
                    }
                    .await;
                    match result {
                        Ok(()) => cycles.push(cycle.elapsed()),
                        Err(_) => errors += 1,
                    }
                }
                (cycles, errors)
            })
        })
        .collect();
    let mut cycles = Vec::new();
    let mut errors = 0;
    for worker in workers {
        let (mine, failed) = worker.await?;
        cycles.extend(mine);
        errors += failed;
    }
    let elapsed = started.elapsed().as_secs_f64();
    // Every socket closed: the server's count must come back to where it was.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = server_connections(fixture).await;
    Ok(json!({
        "scenario": "churn",
        "concurrency": concurrency,
        "cycles": cycles.len(),
        "errors": errors,
        "cycles_per_s": round3(cycles.len() as f64 / elapsed),
        "cycle_ms": latency_ms(&mut cycles),
        "server_connections_before": before,
        "server_connections_after": after,
    }))
}
