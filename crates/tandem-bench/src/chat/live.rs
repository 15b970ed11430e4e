//! `chat`: M members in R public rooms, each member on one realtime socket subscribed to
//! every room. Posters send messages over REST for `duration` (each by a random member in
//! a random room, `rate` a second in total or as fast as `concurrency` posters go); every
//! post is expected as `message.created` on every member's socket, its author's included.
//! Reports deliveries per second, post-to-delivery latency and what went missing.
//!
//! Each post's `client_id` carries its send time (`<index>-<µs since the run began>`), so
//! a socket reader matches a delivery to its post without sharing state with the posters.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use super::{Member, mix};
use crate::fixture::Fixture;
use crate::sockets::{self, Socket};
use crate::stats::{latency_ms, round3};
use crate::target::Target;

/// How long to wait, once posting stops, for deliveries still on their way.
const DRAIN: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy)]
pub struct LiveOptions {
    pub rooms: usize,
    /// Members in all, the fixture's user included.
    pub members: usize,
    /// Posts per second in total; 0 posts as fast as the posters go.
    pub rate: u32,
    pub duration: Duration,
    /// Posts in flight at most.
    pub concurrency: usize,
}

/// Counters the socket readers share with the run.
#[derive(Debug, Default)]
struct Tally {
    delivered: AtomicUsize,
    /// When the newest delivery arrived, in µs since the run began.
    last_delivery: AtomicU64,
}

pub async fn live(
    target: &Target,
    fixture: &Fixture,
    options: LiveOptions,
) -> anyhow::Result<Value> {
    anyhow::ensure!(
        options.members >= 1 && options.rooms >= 1,
        "`chat` needs at least one member and one room"
    );
    let members = super::members(fixture, options.members - 1).await?;
    let rooms = super::rooms(fixture, options.rooms, options.concurrency).await?;
    super::join_all(fixture, &members, &rooms, options.concurrency).await?;
    let fresh = super::keep_fresh(fixture, &members);
    let result = measure(target, fixture, &members, &rooms, options).await;
    fresh.abort();
    result
}

async fn measure(
    target: &Target,
    fixture: &Fixture,
    members: &[Arc<Member>],
    rooms: &[String],
    options: LiveOptions,
) -> anyhow::Result<Value> {
    let channels: Vec<String> = rooms.iter().map(|room| format!("room:{room}")).collect();
    let epoch = Instant::now();
    let tally = Arc::new(Tally::default());
    let (stop, stopped) = watch::channel(false);
    let mut readers = Vec::with_capacity(members.len());
    for member in members {
        let mut socket = sockets::open(&fixture.socket_url_for(&member.token()), None).await?;
        subscribe_all(&mut socket, &channels).await?;
        readers.push(tokio::spawn(read(
            socket,
            epoch,
            tally.clone(),
            stopped.clone(),
        )));
    }

    let cpu_before = target.cpu_seconds().await;
    let cpu_from = Instant::now();
    let posting = post_all(fixture, members, rooms, options, epoch).await?;
    let expected = posting.posted * members.len();
    let deadline = Instant::now() + DRAIN;
    while tally.delivered.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let span = Duration::from_micros(
        tally
            .last_delivery
            .load(Ordering::Relaxed)
            .saturating_sub(posting.first_sent),
    );
    let server_cpu = match (cpu_before, target.cpu_seconds().await) {
        (Some(before), Some(after)) => {
            Some(round3((after - before) / cpu_from.elapsed().as_secs_f64()))
        }
        _ => None,
    };
    // RSS of a server in this process would count the clients too.
    let rss = if target.in_process() {
        None
    } else {
        target.rss_bytes().await.ok()
    };
    stop.send(true)?;

    let (mut latencies, mut duplicates, mut closed) = (Vec::new(), 0, Vec::new());
    for reader in readers {
        let reading = reader.await?;
        latencies.extend(reading.latencies);
        duplicates += reading.duplicates;
        closed.extend(reading.closed);
    }
    let delivered = latencies.len();
    let mut post_ms = posting.latencies;
    Ok(json!({
        "scenario": "chat",
        "rooms": rooms.len(),
        "members": members.len(),
        "rate": options.rate,
        "posters": options.concurrency,
        "posted": posting.posted,
        "post_errors": posting.errors,
        "first_post_error": posting.first_error,
        "posts_per_s": round3(posting.posted as f64 / posting.seconds),
        "post_ms": latency_ms(&mut post_ms),
        "expected_deliveries": expected,
        "delivered": delivered,
        "missing": expected.saturating_sub(delivered),
        "duplicates": duplicates,
        "sockets_closed": closed,
        "deliveries_per_s": round3(delivered as f64 / span.as_secs_f64().max(1e-9)).round(),
        "post_to_delivery_ms": latency_ms(&mut latencies),
        // Cores the server kept busy while posting and delivering (of this machine's).
        "server_cores_busy": server_cpu,
        "server_rss_mib": rss.map(|bytes| round3(bytes as f64 / 1048576.0)),
    }))
}

/// Subscribes to every channel at once (refs `s0`, `s1`, …) and waits for every ack; an
/// `error` answer fails the run with the server's frame.
async fn subscribe_all(socket: &mut Socket, channels: &[String]) -> anyhow::Result<()> {
    for (n, channel) in channels.iter().enumerate() {
        let frame = json!({"type": "subscribe", "channel": channel, "ref": format!("s{n}")});
        socket.feed(Message::text(frame.to_string())).await?;
    }
    socket.flush().await?;
    let mut waiting: HashSet<usize> = (0..channels.len()).collect();
    while !waiting.is_empty() {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .with_context(|| format!("{} subscriptions unanswered for 10 s", waiting.len()))?
            .context("the socket closed while subscribing")??;
        let Message::Text(text) = message else {
            continue;
        };
        let answer: Value = serde_json::from_str(text.as_str())?;
        let Some(n) = answer["ref"]
            .as_str()
            .and_then(|r| r.strip_prefix('s'))
            .and_then(|n| n.parse().ok())
        else {
            continue;
        };
        if waiting.remove(&n) {
            anyhow::ensure!(
                answer["type"] == "ack",
                "subscribing to {} was refused: {answer}",
                channels[n]
            );
        }
    }
    Ok(())
}

/// What the posters did.
#[derive(Debug)]
struct Posting {
    posted: usize,
    errors: usize,
    first_error: Option<String>,
    /// When posting began, in µs since the run began.
    first_sent: u64,
    /// From the first post to the last answer.
    seconds: f64,
    /// Each successful post's round trip.
    latencies: Vec<Duration>,
}

async fn post_all(
    fixture: &Fixture,
    members: &[Arc<Member>],
    rooms: &[String],
    options: LiveOptions,
    epoch: Instant,
) -> anyhow::Result<Posting> {
    let started = Instant::now();
    let first_sent = micros_since(epoch);
    let next = Arc::new(AtomicU64::new(0));
    let posters: Vec<_> = (0..options.concurrency.max(1))
        .map(|_| {
            let (fixture, members, rooms) = (fixture.clone(), members.to_vec(), rooms.to_vec());
            let next = next.clone();
            tokio::spawn(async move {
                let (mut latencies, mut errors, mut first_error) = (Vec::new(), 0, None);
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if options.rate > 0 {
                        // The i-th post's slot on the schedule; late posters go at once.
                        let due = Duration::from_secs_f64(i as f64 / f64::from(options.rate));
                        if due >= options.duration {
                            break;
                        }
                        tokio::time::sleep_until((started + due).into()).await;
                    } else if started.elapsed() >= options.duration {
                        break;
                    }
                    let pick = mix(i);
                    let member = &members[(pick % members.len() as u64) as usize];
                    let room = &rooms[((pick >> 32) % rooms.len() as u64) as usize];
                    let client_id = format!("{i}-{}", micros_since(epoch));
                    let body = json!({"body": format!("message {i}"), "client_id": client_id});
                    let path = format!("/rooms/{room}/messages");
                    let sent = Instant::now();
                    match super::post(&fixture, &member.token(), &path, &body).await {
                        Ok(_) => latencies.push(sent.elapsed()),
                        Err(error) => {
                            errors += 1;
                            first_error.get_or_insert_with(|| format!("{error:#}"));
                        }
                    }
                }
                (latencies, errors, first_error)
            })
        })
        .collect();
    let (mut latencies, mut errors, mut first_error) = (Vec::new(), 0, None);
    for poster in posters {
        let (mine, failed, error) = poster.await?;
        latencies.extend(mine);
        errors += failed;
        first_error = first_error.or(error);
    }
    Ok(Posting {
        posted: latencies.len(),
        errors,
        first_error,
        first_sent,
        seconds: started.elapsed().as_secs_f64().max(1e-9),
        latencies,
    })
}

/// What one socket received.
#[derive(Debug, Default)]
struct Reading {
    /// Post-to-delivery time of each distinct post delivered.
    latencies: Vec<Duration>,
    /// Posts delivered more than once.
    duplicates: usize,
    /// Why the socket ended before the run did.
    closed: Option<String>,
}

/// Reads `message.created` events until told to stop, timing each against the send time
/// in its `client_id`; every other frame is ignored.
async fn read(
    mut socket: Socket,
    epoch: Instant,
    tally: Arc<Tally>,
    mut stop: watch::Receiver<bool>,
) -> Reading {
    let mut reading = Reading::default();
    let mut seen = HashSet::new();
    loop {
        // Both are cancel-safe: a frame is never half-read when the stop wins.
        let message = tokio::select! {
            _ = stop.changed() => break,
            message = socket.next() => message,
        };
        let text = match message {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(frame))) => {
                reading.closed = Some(format!("closed by the server: {frame:?}"));
                break;
            }
            Some(Ok(_)) => continue,
            Some(Err(error)) => {
                reading.closed = Some(error.to_string());
                break;
            }
            None => {
                reading.closed = Some("the socket ended".to_owned());
                break;
            }
        };
        let Some((index, sent)) = created(text.as_str()) else {
            continue;
        };
        let now = micros_since(epoch);
        if !seen.insert(index) {
            reading.duplicates += 1;
            continue;
        }
        reading
            .latencies
            .push(Duration::from_micros(now.saturating_sub(sent)));
        tally.delivered.fetch_add(1, Ordering::Relaxed);
        tally.last_delivery.fetch_max(now, Ordering::Relaxed);
    }
    reading
}

/// The post index and send time of a `message.created` event; `None` for any other frame.
fn created(frame: &str) -> Option<(u64, u64)> {
    // Most frames are something else: skip them before parsing.
    if !frame.contains("message.created") {
        return None;
    }
    let frame: Value = serde_json::from_str(frame).ok()?;
    if frame["type"] != "event" || frame["event"] != "message.created" {
        return None;
    }
    let (index, sent) = frame["data"]["client_id"].as_str()?.split_once('-')?;
    Some((index.parse().ok()?, sent.parse().ok()?))
}

fn micros_since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_delivery_is_matched_by_the_client_id_of_its_post() {
        let frame = r#"{"type":"event","channel":"room:r","seq":4,"event":"message.created","data":{"id":"m","seq":4,"body":"message 7","client_id":"7-1234"},"actor":"u","ts":"t"}"#;
        assert_eq!(super::created(frame), Some((7, 1234)));
        let read = frame.replace("message.created", "room.read");
        assert_eq!(super::created(&read), None);
        assert_eq!(super::created(r#"{"type":"ack","ref":"s0"}"#), None);
    }
}
