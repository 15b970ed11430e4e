//! `tandem-bench`: load and latency benchmarks against a real tandem server, started in
//! this process (default), spawned from a binary (`--spawn`), or already running
//! (`--url`). Each run prints one line of JSON.
//!
//! Scenarios:
//! - `auth`: median latency of each auth path, and the timing ratio of an unknown email
//!   to a wrong password.
//! - `connections`: N authenticated idle sockets, over several loopback source addresses;
//!   server RSS per connection.
//! - `fanout`: S subscribers on one workspace channel, a publisher sending M cursor events
//!   as a burst or at `--rate`; deliveries per second and delivery latency.
//! - `churn`: connect, subscribe, disconnect in a loop at a fixed concurrency.
//! - `rest`: `GET /auth/me` and `GET /projects` at a fixed concurrency.
//! - `jobs`: no-op jobs end to end (`--count`, `--concurrency` submitters, `--workers`);
//!   jobs per second and enqueue-to-start latency.
//! - `loopback-floor`: this machine's own cost of a fan-out, without a server: one small
//!   write to each of `--observers` loopback sockets per round (`--messages` rounds).
//! - `sandbox`: the time the code sandbox adds to Python's `print(1)` (`--samples`).
//! - `chat`: `--members` on one realtime socket each, in `--rooms` rooms; messages posted
//!   over REST for `--duration` (at `--rate`, or as fast as `--concurrency` posters go);
//!   deliveries per second and post-to-delivery latency.
//! - `chat-list`: the room list with unread and mention counts for a member of `--rooms`
//!   rooms once `--messages` messages are stored (seeded over REST, timed); `--samples`
//!   requests' latency, every answer's counts checked.
//! - `tables`: a live table of `--rows` rows × 20 fields: bulk insert, a paste, indexed and
//!   unindexed queries, a wide page, adding a field, a cell edit reaching `--subscribers`
//!   sockets, and a streamed CSV export with the server's memory; see the `tables` module.
//! - `yjs-fanout`, `yjs-throughput`, `yjs-memory`, `yjs-join`, `yjs-paste`: the
//!   y-websocket protocol against Tandem or, with `--peer`, the y-websocket reference
//!   server or Hocuspocus (started by `bench/peers/run`); see the `yjs` module.

mod arrival;
mod auth;
mod chat;
mod churn;
mod connections;
mod fanout;
mod fixture;
mod floor;
mod jobs;
mod pace;
mod rest;
mod sockets;
mod stats;
mod tables;
mod target;
mod yjs;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use serde_json::Value;

use crate::fixture::Fixture;
use crate::target::{Target, TargetArgs};

#[derive(Debug, Parser)]
#[command(about = "Benchmarks for the tandem server")]
struct Args {
    /// What to measure.
    #[arg(value_enum, default_value = "auth")]
    scenario: Scenario,
    /// Measure the server already running at this URL (e.g. http://127.0.0.1:8080).
    #[arg(long, conflicts_with = "spawn")]
    url: Option<String>,
    /// Start this tandem binary as the server, in its own process.
    #[arg(long)]
    spawn: Option<PathBuf>,
    /// Database for a server this run starts (default: SQLite in a temporary folder).
    #[arg(long)]
    database_url: Option<String>,
    /// Redis for a server this run starts (default: none, the in-process bus).
    #[arg(long)]
    redis_url: Option<String>,
    /// `auth`: requests per measured path; `sandbox`: runs; `chat-list`: list requests
    /// timed.
    #[arg(long, default_value_t = 50)]
    samples: usize,
    /// `connections`: sockets to open.
    #[arg(long, default_value_t = 10_000)]
    count: usize,
    /// `connections`, `fanout`: loopback source addresses (127.0.0.2, …) to spread sockets
    /// over; each gives about 28,000 ports. 0 lets the kernel pick.
    #[arg(long, default_value_t = 0)]
    sources: usize,
    /// `connections`: seconds to hold the sockets open once all are up.
    #[arg(long, default_value_t = 0)]
    hold: u64,
    /// `connections`, `churn`, `rest`: work in flight at once; `chat`: posts in flight;
    /// `chat-list`: seeding posts in flight.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// `churn`, `rest`, `chat`: seconds to run.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// `fanout`: subscribed sockets.
    #[arg(long, default_value_t = 200)]
    subscribers: usize,
    /// `fanout`: events published; `chat-list`: messages stored before timing.
    #[arg(long, default_value_t = 500)]
    messages: usize,
    /// `fanout`, `yjs-fanout`: events per second; `chat`: posts per second in all (0: as
    /// fast as possible).
    #[arg(long, default_value_t = 0)]
    rate: u32,
    /// `chat`, `chat-list`: rooms in the project, at most 1,000 (default: 20 for `chat`,
    /// 500 for `chat-list`).
    #[arg(long)]
    rooms: Option<usize>,
    /// `chat`: project members, the fixture's user included; each joins every room and
    /// holds one socket.
    #[arg(long, default_value_t = 10)]
    members: usize,
    /// `jobs`: jobs the server runs at once (its `jobs_concurrency`).
    #[arg(long, default_value_t = 32)]
    workers: usize,
    /// `yjs-*`: the server to drive: this run's Tandem, or a peer at `--peer-url`.
    #[arg(long, value_enum, default_value = "tandem")]
    peer: yjs::Kind,
    /// `yjs-*` with a peer: its WebSocket URL (e.g. ws://127.0.0.1:1234).
    #[arg(long)]
    peer_url: Option<String>,
    /// `yjs-*` with a peer, or with a Tandem at `--url`: its process id, for its memory
    /// and CPU.
    #[arg(long)]
    peer_pid: Option<u32>,
    /// `yjs-fanout`: clients observing the document.
    #[arg(long, default_value_t = 100)]
    observers: usize,
    /// `yjs-fanout`: the observers read nothing while this many updates go out, then read
    /// them with the kernel's receive times (the bench's reading kept off the cores while
    /// the server delivers); repeated until `--messages`. Use 1: frames that wait in the
    /// kernel together are merged there and carry the newest one's time.
    #[arg(long)]
    read_after: Option<usize>,
    /// `loopback-floor`: the time between rounds (default 20). `yjs-fanout --read-after`:
    /// the time the server gets to deliver a round before the observers read (default 200).
    /// A receiver that was sent nothing for longer than its connection's retransmission
    /// timeout (200 ms at least) acknowledges the next segment at once instead of delaying
    /// the ACK, and on loopback the sender's write carries that ACK's cost: compare the
    /// two scenarios at gaps on the same side of that line.
    #[arg(long)]
    pause_ms: Option<u64>,
    /// `yjs-throughput`, `yjs-memory`: documents open at once.
    #[arg(long, default_value_t = 100)]
    documents: usize,
    /// `yjs-memory`: clients on one shared document; `yjs-paste`: clients, each on a
    /// document of its own.
    #[arg(long, default_value_t = 1000)]
    connections: usize,
    /// `yjs-throughput`: updates a writer may be ahead of its observer.
    #[arg(long, default_value_t = 32)]
    window: u64,
    /// `yjs-join`: clients opening the document at once.
    #[arg(long, default_value_t = 150)]
    clients: usize,
    /// `yjs-paste`: how much each client pastes, in KiB.
    #[arg(long, default_value_t = 1024)]
    paste_kib: usize,
    /// `tables`: rows in the big table.
    #[arg(long, default_value_t = 1_000_000)]
    rows: usize,
    /// `yjs-join`: the document's size in MiB.
    #[arg(long, default_value_t = 20)]
    megabytes: usize,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Scenario {
    Auth,
    Connections,
    Fanout,
    Churn,
    Rest,
    Jobs,
    Sandbox,
    Chat,
    ChatList,
    Tables,
    YjsFanout,
    YjsThroughput,
    YjsMemory,
    YjsJoin,
    YjsPaste,
    LoopbackFloor,
}

impl Scenario {
    fn is_yjs(self) -> bool {
        matches!(
            self,
            Self::YjsFanout
                | Self::YjsThroughput
                | Self::YjsMemory
                | Self::YjsJoin
                | Self::YjsPaste
        )
    }
}

fn main() -> anyhow::Result<()> {
    // A server started in this process runs code through this binary, re-run as the
    // sandbox's supervisor before any thread exists.
    if std::env::args_os()
        .nth(1)
        .is_some_and(|arg| arg == "__sandbox-init")
    {
        tandem_sandbox::init_main();
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(bench())
}

async fn bench() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Scenario::Sandbox = args.scenario {
        println!("{}", jobs::sandbox(args.spawn.clone(), args.samples).await?);
        return Ok(());
    }
    if let Scenario::LoopbackFloor = args.scenario {
        rlimit::increase_nofile_limit(u64::MAX)?;
        let (observers, rounds) = (args.observers, args.messages);
        let pause = Duration::from_millis(args.pause_ms.unwrap_or(20));
        let summary =
            tokio::task::spawn_blocking(move || floor::run(observers, rounds, pause)).await??;
        println!("{summary}");
        return Ok(());
    }
    // Every socket is a descriptor; take all the process may have.
    rlimit::increase_nofile_limit(u64::MAX)?;
    if args.scenario.is_yjs() && args.peer != yjs::Kind::Tandem {
        let peer = yjs::Peer {
            kind: args.peer,
            url: args
                .peer_url
                .clone()
                .context("--peer needs --peer-url (see bench/peers/run)")?,
            fixture: None,
        };
        let summary = run_yjs(&args, &peer, yjs::Process(args.peer_pid)).await?;
        println!("{summary}");
        return Ok(());
    }
    let target = Target::start(&TargetArgs {
        url: args.url.clone(),
        spawn: args.spawn.clone(),
        database_url: args.database_url.clone(),
        redis_url: args.redis_url.clone(),
        jobs_concurrency: args.workers,
    })
    .await?;
    let fixture = Fixture::create(&target.base).await?;
    let duration = Duration::from_secs(args.duration);
    let summary = match args.scenario {
        Scenario::Auth => auth::run(&fixture, args.samples).await,
        Scenario::Connections => {
            let options = connections::Options {
                count: args.count,
                sources: args.sources,
                concurrency: args.concurrency,
                hold: Duration::from_secs(args.hold),
            };
            connections::run(&target, &fixture, options).await
        }
        Scenario::Fanout => {
            let options = fanout::Options {
                subscribers: args.subscribers,
                messages: args.messages,
                rate: args.rate,
                sources: args.sources,
            };
            fanout::run(&target, &fixture, options).await
        }
        Scenario::Churn => churn::run(&fixture, args.concurrency, duration).await,
        Scenario::Rest => rest::run(&fixture, args.concurrency, duration).await,
        Scenario::Jobs => {
            let options = jobs::Options {
                count: args.count,
                concurrency: args.concurrency,
            };
            jobs::run(&fixture, options).await
        }
        Scenario::Chat => {
            let options = chat::LiveOptions {
                rooms: args.rooms.unwrap_or(20),
                members: args.members,
                rate: args.rate,
                duration,
                concurrency: args.concurrency,
            };
            chat::live(&target, &fixture, options).await
        }
        Scenario::ChatList => {
            let options = chat::ListOptions {
                rooms: args.rooms.unwrap_or(500),
                messages: args.messages,
                samples: args.samples,
                concurrency: args.concurrency,
            };
            chat::list(&fixture, options).await
        }
        Scenario::Tables => {
            let options = tables::Options {
                rows: args.rows,
                concurrency: args.concurrency,
                samples: args.samples,
                subscribers: args.subscribers,
            };
            tables::run(&target, &fixture, options).await
        }
        _ => {
            let peer = yjs::Peer {
                kind: yjs::Kind::Tandem,
                url: target.base.clone(),
                fixture: Some(fixture.clone()),
            };
            let pid = target.pid().or(args.peer_pid);
            run_yjs(&args, &peer, yjs::Process(pid)).await
        }
    };
    target.stop().await;
    println!("{}", summary?);
    Ok(())
}

async fn run_yjs(args: &Args, peer: &yjs::Peer, server: yjs::Process) -> anyhow::Result<Value> {
    match args.scenario {
        Scenario::YjsFanout => {
            let options = yjs::FanoutOptions {
                observers: args.observers,
                messages: args.messages,
                rate: args.rate,
                sources: args.sources,
            };
            match args.read_after {
                Some(round) => {
                    let settle = Duration::from_millis(args.pause_ms.unwrap_or(200));
                    yjs::fanout_deferred(peer, server, options, round, settle).await
                }
                None => yjs::fanout(peer, server, options).await,
            }
        }
        Scenario::YjsThroughput => {
            let options = yjs::ThroughputOptions {
                documents: args.documents,
                duration: Duration::from_secs(args.duration),
                window: args.window,
            };
            yjs::throughput(peer, server, options).await
        }
        Scenario::YjsMemory => {
            let options = yjs::MemoryOptions {
                documents: args.documents,
                connections: args.connections,
                sources: args.sources,
            };
            yjs::memory(peer, server, options).await
        }
        Scenario::YjsJoin => {
            let options = yjs::JoinOptions {
                clients: args.clients,
                megabytes: args.megabytes,
                sources: args.sources,
            };
            yjs::join_storm(peer, server, options).await
        }
        Scenario::YjsPaste => {
            let options = yjs::PasteOptions {
                connections: args.connections,
                kib: args.paste_kib,
                sources: args.sources,
            };
            yjs::paste(peer, server, options).await
        }
        _ => anyhow::bail!("not a yjs scenario"),
    }
}
