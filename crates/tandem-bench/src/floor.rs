//! `loopback-floor`: what this machine itself charges for a fan-out, with no server in
//! the way. One 32-byte write to each of `--observers` loopback TCP sockets per round, by
//! one thread and then by two, with the receiving sockets set up as `yjs-fanout`'s
//! observers are (stamping arrivals, reading nothing, in no one's epoll set). Each
//! round's time is how long the last write took to return; on loopback a write returns
//! once the receiver's kernel has queued the data. A server's fan-out to as many sockets
//! cannot beat this on the same machine.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use nix::sys::socket::{setsockopt, sockopt::ReceiveTimestampns};
use serde_json::{Value, json};

use crate::stats;

/// The size of a small Yjs update frame (a keystroke with its WebSocket header).
const FRAME: [u8; 32] = [0x82; 32];
pub fn run(observers: usize, rounds: usize, pause: Duration) -> anyhow::Result<Value> {
    anyhow::ensure!(observers > 0 && rounds > 0, "needs observers and rounds");
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let address = listener.local_addr()?;
    let mut receivers = Vec::with_capacity(observers);
    let mut senders = Vec::with_capacity(observers);
    for _ in 0..observers {
        let receiver = TcpStream::connect(address)?;
        setsockopt(&receiver, ReceiveTimestampns, &true)?;
        let (sender, _) = listener.accept()?;
        sender.set_nodelay(true)?;
        receivers.push(receiver);
        senders.push(sender);
    }
    // Each round leaves 32 bytes in every receiver; a socket's buffer holds thousands.
    let mut results = Vec::new();
    for threads in [1, 2] {
        let mut times = rounds_with(&mut senders, threads, rounds, pause)?;
        results.push(json!({"threads": threads, "round_ms": stats::latency_ms(&mut times)}));
    }
    drop(receivers);
    Ok(json!({
        "scenario": "loopback-floor",
        "observers": observers,
        "rounds": rounds,
        "pause_ms": pause.as_millis(),
        "frame_bytes": FRAME.len(),
        "results": results,
    }))
}

/// `rounds` rounds of one write to every sender, split over `threads` threads.
fn rounds_with(
    senders: &mut [TcpStream],
    threads: usize,
    rounds: usize,
    pause: Duration,
) -> anyhow::Result<Vec<Duration>> {
    let share = senders.len().div_ceil(threads);
    let mut times = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let started = Instant::now();
        std::thread::scope(|scope| {
            let writers: Vec<_> = senders
                .chunks_mut(share)
                .map(|chunk| {
                    scope.spawn(move || chunk.iter_mut().try_for_each(|s| s.write_all(&FRAME)))
                })
                .collect();
            writers
                .into_iter()
                .try_for_each(|writer| writer.join().expect("a writer thread panicked"))
        })?;
        times.push(started.elapsed());
        std::thread::sleep(pause);
    }
    Ok(times)
}
