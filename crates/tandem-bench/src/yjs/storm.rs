//! `yjs-memory` (server memory per open document and per connection) and `yjs-join`
//! (a join storm: many clients opening one large document at once).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::peer::{Peer, Received, YSocket};
use super::{Process, Writer, fresh_name, stamps};
use crate::sockets;
use crate::stats::{latency_ms, round3};

#[derive(Debug, Clone, Copy)]
pub struct MemoryOptions {
    pub documents: usize,
    pub connections: usize,
    pub sources: usize,
}

/// Opens `documents` documents with one client each (which writes 1 KiB), then one more
/// document with `connections` clients; reports the server's memory growth per document
/// (from before the first is opened; their files already exist) and per connection.
///
/// Each figure comes twice: from the resident set (`kib_per_...`) and from its
/// anonymous part alone (`..._anonymous`, the process's own heap and stacks). The first
/// documents also bring in the pages of the program's code that serve them, a megabyte
/// or two that is shared and paid once, which the anonymous figure leaves out. Each is
/// also given for the second half alone (`..._second_half`): what one more document or
/// connection costs once the first half has paid for what grows only once (database
/// connections and their caches, the allocator's first pools).
pub async fn memory(peer: &Peer, server: Process, options: MemoryOptions) -> anyhow::Result<Value> {
    let MemoryOptions {
        documents,
        connections,
        sources,
    } = options;
    let settle = || async {
        tokio::time::sleep(Duration::from_secs(2)).await;
        Reading::take(server).await
    };
    // The files exist before the baseline (for Tandem, a REST call and a database row
    // each; the peers make a document when a client first names it): what is measured is
    // opening and editing them.
    let mut addresses = Vec::with_capacity(documents);
    for d in 0..documents {
        addresses.push(peer.document(&fresh_name(&format!("mem{d}"))).await?);
    }
    let baseline = settle().await?;
    let mut held = Vec::with_capacity(documents + connections);
    let line = "x".repeat(1023) + "\n";
    let half = documents / 2;
    let mut documents_half = baseline;
    for (d, address) in addresses.iter().enumerate() {
        if d == half {
            documents_half = settle().await?;
        }
        let mut socket = YSocket::join(address, sockets::source(d, sources)).await?;
        socket.send_update(&Writer::new().append(&line)).await?;
        held.push(socket.into_sender());
    }
    let with_documents = settle().await?;

    let address = peer.document(&fresh_name("mem-shared")).await?;
    let mut first = YSocket::join(&address, None).await?;
    first.send_update(&Writer::new().append(&line)).await?;
    held.push(first.into_sender());
    let with_shared = settle().await?;
    let mut connections_half = with_shared;
    for c in 0..connections {
        if c == connections / 2 {
            connections_half = settle().await?;
        }
        let socket = YSocket::join(&address, sockets::source(documents + c, sources)).await?;
        held.push(socket.into_sender());
    }
    let with_connections = settle().await?;
    drop(held);
    let second_half = documents - half;
    let connections_second_half = connections - connections / 2;
    Ok(json!({
        "scenario": "yjs-memory",
        "peer": format!("{:?}", peer.kind),
        "documents": documents,
        "connections": connections,
        "baseline_rss_mib": round3(baseline.rss as f64 / 1048576.0),
        "rss_with_documents_mib": round3(with_documents.rss as f64 / 1048576.0),
        "kib_per_document": baseline.kib_each(&with_documents, documents, false),
        "kib_per_document_second_half":
            documents_half.kib_each(&with_documents, second_half, false),
        "kib_per_document_anonymous": baseline.kib_each(&with_documents, documents, true),
        "kib_per_document_anonymous_second_half":
            documents_half.kib_each(&with_documents, second_half, true),
        "kib_per_connection": with_shared.kib_each(&with_connections, connections, false),
        "kib_per_connection_second_half":
            connections_half.kib_each(&with_connections, connections_second_half, false),
        "kib_per_connection_anonymous":
            with_shared.kib_each(&with_connections, connections, true),
    }))
}

/// The server's resident memory at one moment: all of it, and its anonymous part.
#[derive(Debug, Clone, Copy)]
struct Reading {
    rss: u64,
    anonymous: u64,
}

impl Reading {
    async fn take(server: Process) -> anyhow::Result<Self> {
        Ok(Self {
            rss: server.rss_bytes().await?,
            anonymous: server.anonymous_bytes().await?,
        })
    }

    /// KiB of growth from `self` to `later`, per one of `count`.
    fn kib_each(&self, later: &Reading, count: usize, anonymous: bool) -> f64 {
        let (from, to) = if anonymous {
            (self.anonymous, later.anonymous)
        } else {
            (self.rss, later.rss)
        };
        round3(to.saturating_sub(from) as f64 / 1024.0 / count.max(1) as f64)
    }
}

#[derive(Debug, Clone, Copy)]
pub struct JoinOptions {
    pub clients: usize,
    pub megabytes: usize,
    pub sources: usize,
}

/// Writes a document of `megabytes` MiB in 64 KiB updates, then opens `clients` sockets
/// on it at once; each measures from connecting to having the whole document.
pub async fn join_storm(
    peer: &Peer,
    server: Process,
    options: JoinOptions,
) -> anyhow::Result<Value> {
    let JoinOptions {
        clients,
        megabytes,
        sources,
    } = options;
    let address = peer.document(&fresh_name("join")).await?;
    // The observer stays for the whole run: the peers drop a document nobody has open.
    let mut observer = YSocket::join(&address, None).await?;
    let mut writer_socket = YSocket::join(&address, None).await?.into_sender();
    let mut writer = Writer::new();
    let updates = megabytes * 16;
    // Each piece ends with a stamp, so the observer counts pieces whether a server relays
    // them one by one or merged.
    let piece = "y".repeat(64 * 1024 - 32);
    let writing = Instant::now();
    // Write while the observer reads: a server slow to take 20 MiB must not see the
    // observer go silent (Hocuspocus closes a client that misses its pings for 30 s).
    let write = tokio::spawn(async move {
        for i in 0..updates {
            let update = writer.append(&format!("{piece}\u{2}{i}\u{3}"));
            writer_socket.send_update(&update).await?;
        }
        anyhow::Ok(writer_socket)
    });
    let mut relayed = 0;
    while relayed < updates {
        let (kind, message) = observer.recv().await?;
        if kind == Received::Update {
            relayed += stamps(&message).count();
        }
    }
    let write_seconds = writing.elapsed().as_secs_f64();
    drop(write.await??);
    let observer = observer.into_sender();

    let rss_before = server.rss_bytes().await.ok();
    let cpu_before = server.cpu_seconds().await;
    let storm = Instant::now();
    let joins: Vec<_> = (0..clients)
        .map(|i| {
            let address = address.clone();
            tokio::spawn(async move {
                let started = Instant::now();
                let _socket = YSocket::join(&address, sockets::source(i, sources)).await?;
                anyhow::Ok(started.elapsed())
            })
        })
        .collect();
    let mut times = Vec::with_capacity(clients);
    let mut failed = 0;
    let mut first_error = None;
    for join in joins {
        match tokio::time::timeout(Duration::from_secs(300), join).await {
            Ok(Ok(Ok(time))) => times.push(time),
            outcome => {
                failed += 1;
                first_error.get_or_insert_with(|| match outcome {
                    Ok(Ok(Err(error))) => format!("{error:#}"),
                    Ok(Err(error)) => format!("task: {error}"),
                    _ => "timed out after 300 s".to_owned(),
                });
            }
        }
    }
    let storm_seconds = storm.elapsed().as_secs_f64();
    let server_cpu_seconds = match (cpu_before, server.cpu_seconds().await) {
        (Some(before), Some(after)) => Some(round3(after - before)),
        _ => None,
    };
    let rss_after = server.rss_bytes().await.ok();
    drop(observer);
    Ok(json!({
        "scenario": "yjs-join",
        "peer": format!("{:?}", peer.kind),
        "clients": clients,
        "document_mib": megabytes,
        "write_seconds": round3(write_seconds),
        "joined": times.len(),
        "failed": failed,
        "first_error": first_error,
        "join_ms": latency_ms(&mut times),
        "storm_seconds": round3(storm_seconds),
        "server_cpu_seconds": server_cpu_seconds,
        "server_rss_mib": {
            "before": rss_before.map(|b| round3(b as f64 / 1048576.0)),
            "after": rss_after.map(|b| round3(b as f64 / 1048576.0)),
        },
    }))
}
