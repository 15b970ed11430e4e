//! Stored messages for `chat-list`, posted through the real path (`POST
//! /rooms/{id}/messages`) round-robin over the rooms: about 97 % by the second member,
//! 3 % by the fixture's user, and 1 % of the second member's mentioning the fixture's
//! user. Then some rooms are marked read part way. The seq each post comes back with
//! tells exactly what the fixture's user has unread, room by room.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::json;

use super::{Member, mix};
use crate::fixture::Fixture;

/// Tries per message. A retry reuses the message's client id, so it never posts twice.
const ATTEMPTS: u32 = 3;

/// What the fixture's user should see in one room.
#[derive(Debug, Default, Clone)]
pub struct RoomLog {
    /// Seqs of the other member's messages: the fixture's own are never unread for it.
    others: Vec<u64>,
    /// Seqs of the other member's messages that mention the fixture's user.
    mentions: Vec<u64>,
    /// The newest seq.
    last: u64,
    /// The fixture's user's read marker.
    read: u64,
}

impl RoomLog {
    pub fn unread(&self) -> u64 {
        self.others.iter().filter(|&&seq| seq > self.read).count() as u64
    }

    pub fn mentioned(&self) -> u64 {
        self.mentions.iter().filter(|&&seq| seq > self.read).count() as u64
    }
}

#[derive(Debug)]
pub struct Seeded {
    /// One log per room, in the order of the rooms.
    pub logs: Vec<RoomLog>,
    pub seconds: f64,
    /// Posts that took more than one try.
    pub retries: usize,
}

/// Who posted one message, as the fixture's user counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Own,
    Other,
    Mention,
}

/// Posts `messages` messages with `concurrency` posters; `members` are the fixture's user
/// and the other member. Progress goes to stderr every tenth of the way.
pub async fn seed(
    fixture: &Fixture,
    members: &[Arc<Member>],
    rooms: &[String],
    messages: usize,
    concurrency: usize,
) -> anyhow::Result<Seeded> {
    let [own, other] = members else {
        anyhow::bail!("seeding needs exactly two members");
    };
    let started = Instant::now();
    let (next, done) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let step = (messages / 10).max(1);
    let posters: Vec<_> = (0..concurrency.max(1))
        .map(|_| {
            let (fixture, rooms) = (fixture.clone(), rooms.to_vec());
            let (own, other) = (own.clone(), other.clone());
            let (next, done) = (next.clone(), done.clone());
            tokio::spawn(async move {
                let (mut posted, mut retries) = (Vec::new(), 0);
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= messages {
                        break;
                    }
                    let room = i % rooms.len();
                    let pick = mix(i as u64);
                    let kind = match (pick % 100, (pick >> 8) % 100) {
                        (0..3, _) => Kind::Own,
                        (_, 0) => Kind::Mention,
                        _ => Kind::Other,
                    };
                    let (author, body) = match kind {
                        Kind::Own => (&own, format!("message {i}")),
                        Kind::Other => (&other, format!("message {i}")),
                        Kind::Mention => (&other, format!("message {i} for @{}", own.email)),
                    };
                    let body = json!({"body": body, "client_id": format!("seed-{i}")});
                    let path = format!("/rooms/{}/messages", rooms[room]);
                    let mut attempt = 1;
                    let message = loop {
                        match super::post(&fixture, &author.token(), &path, &body).await {
                            Ok(message) => break message,
                            Err(error) if attempt >= ATTEMPTS => return Err(error),
                            Err(_) => {
                                tokio::time::sleep(Duration::from_millis(100)).await;
                                attempt += 1;
                            }
                        }
                    };
                    retries += usize::from(attempt > 1);
                    let seq = message["seq"].as_u64().context("a message without a seq")?;
                    posted.push((room, seq, kind));
                    let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                    if n % step == 0 {
                        let seconds = started.elapsed().as_secs_f64();
                        eprintln!(
                            "chat-list: seeded {n} of {messages} messages in {seconds:.0} s ({:.0}/s)",
                            n as f64 / seconds
                        );
                    }
                }
                anyhow::Ok((posted, retries))
            })
        })
        .collect();
    let mut logs = vec![RoomLog::default(); rooms.len()];
    let mut retries = 0;
    for poster in posters {
        let (posted, retried) = poster.await??;
        retries += retried;
        for (room, seq, kind) in posted {
            let log = &mut logs[room];
            log.last = log.last.max(seq);
            if kind != Kind::Own {
                log.others.push(seq);
            }
            if kind == Kind::Mention {
                log.mentions.push(seq);
            }
        }
    }
    Ok(Seeded {
        logs,
        seconds: started.elapsed().as_secs_f64(),
        retries,
    })
}

/// As the fixture's user (`own`), marks every tenth room read half way and every fiftieth
/// read to its end, checking the counts each answer brings back; how many rooms it marked.
pub async fn mark_some_read(
    fixture: &Fixture,
    own: &Member,
    rooms: &[String],
    logs: &mut [RoomLog],
) -> anyhow::Result<usize> {
    let mut marked = 0;
    for (k, (room, log)) in rooms.iter().zip(logs.iter_mut()).enumerate() {
        let seq = match (k % 10, k % 50) {
            (_, 7) => log.last,
            (3, _) => log.last / 2,
            _ => continue,
        };
        let path = format!("/rooms/{room}/read");
        let view = super::post(fixture, &own.token(), &path, &json!({"seq": seq})).await?;
        log.read = seq;
        let counts = (
            view["read_seq"].as_u64(),
            view["unread_count"].as_u64(),
            view["mention_count"].as_u64(),
        );
        let expected = (Some(seq), Some(log.unread()), Some(log.mentioned()));
        anyhow::ensure!(
            counts == expected,
            "room {room} read to {seq}: (read_seq, unread, mentions) {counts:?}, expected {expected:?}"
        );
        marked += 1;
    }
    Ok(marked)
}
