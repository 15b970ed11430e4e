//! `chat-list`: the time `GET /projects/{id}/rooms` (every room, with the caller's unread
//! and mention counts) takes for a member of `rooms` rooms once the store holds `messages`
//! messages. The target is 20 ms at p99 for 500 rooms and a million messages, on SQLite
//! and on PostgreSQL. The fixture's user and one other editor join every room; the
//! seeding is timed too (see the `seed` module). `samples` sequential requests are timed
//! after a few to warm up, and every answer is checked room by room against the counts
//! the seeding logged: a wrong count fails the run.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use serde_json::{Value, json};

use super::Member;
use super::seed::{self, Seeded};
use crate::fixture::Fixture;
use crate::stats::{latency_ms, round3};

/// Requests made, and checked, before the timed ones.
const WARM_UP: usize = 5;

#[derive(Debug, Clone, Copy)]
pub struct ListOptions {
    pub rooms: usize,
    /// Messages stored before timing.
    pub messages: usize,
    /// List requests timed.
    pub samples: usize,
    /// Seeding posts in flight.
    pub concurrency: usize,
}

pub async fn list(fixture: &Fixture, options: ListOptions) -> anyhow::Result<Value> {
    anyhow::ensure!(
        options.rooms >= 1 && options.samples >= 1,
        "`chat-list` needs at least one room and one sample"
    );
    let members = super::members(fixture, 1).await?;
    let rooms = super::rooms(fixture, options.rooms, options.concurrency).await?;
    super::join_all(fixture, &members, &rooms, options.concurrency).await?;
    let fresh = super::keep_fresh(fixture, &members);
    let result = measure(fixture, &members, &rooms, options).await;
    fresh.abort();
    result
}

async fn measure(
    fixture: &Fixture,
    members: &[Arc<Member>],
    rooms: &[String],
    options: ListOptions,
) -> anyhow::Result<Value> {
    let ListOptions {
        messages,
        samples,
        concurrency,
        ..
    } = options;
    let Seeded {
        mut logs,
        seconds,
        retries,
    } = seed::seed(fixture, members, rooms, messages, concurrency).await?;
    let own = &members[0];
    let marked = seed::mark_some_read(fixture, own, rooms, &mut logs).await?;
    let expected: HashMap<&str, (u64, u64)> = rooms
        .iter()
        .map(String::as_str)
        .zip(logs.iter().map(|log| (log.unread(), log.mentioned())))
        .collect();

    let url = format!("{}/api/v1/projects/{}/rooms", fixture.base, fixture.project);
    let mut times = Vec::with_capacity(samples);
    let mut response_bytes = 0;
    for n in 0..WARM_UP + samples {
        let started = Instant::now();
        let response = fixture
            .client
            .get(&url)
            .bearer_auth(own.token())
            .send()
            .await?;
        let status = response.status();
        let body = response.bytes().await?;
        let took = started.elapsed();
        anyhow::ensure!(
            status.is_success(),
            "GET {url}: {status}: {}",
            String::from_utf8_lossy(&body)
        );
        check(&body, &expected).with_context(|| format!("list request {n}"))?;
        if n >= WARM_UP {
            times.push(took);
        }
        response_bytes = body.len();
    }
    let (unread, mentions) = expected
        .values()
        .fold((0, 0), |(u, m), (unread, mentioned)| {
            (u + unread, m + mentioned)
        });
    Ok(json!({
        "scenario": "chat-list",
        "rooms": rooms.len(),
        "stored_messages": messages,
        "samples": samples,
        "list_ms": latency_ms(&mut times),
        "response_bytes": response_bytes,
        "unread_total": unread,
        "mention_total": mentions,
        "rooms_marked_read": marked,
        "seed": {
            "posters": concurrency,
            "seconds": round3(seconds),
            "messages_per_s": round3(messages as f64 / seconds.max(1e-9)),
            "retries": retries,
        },
    }))
}

/// Checks a room list against the expected `(unread, mentions)` of every room.
fn check(body: &[u8], expected: &HashMap<&str, (u64, u64)>) -> anyhow::Result<()> {
    let listed: Vec<Value> = serde_json::from_slice(body)?;
    let ids: HashSet<&str> = listed
        .iter()
        .filter_map(|room| room["id"].as_str())
        .collect();
    anyhow::ensure!(
        listed.len() == expected.len() && ids.len() == expected.len(),
        "{} rooms listed ({} distinct), expected {}",
        listed.len(),
        ids.len(),
        expected.len()
    );
    for room in &listed {
        let id = room["id"].as_str().context("a room without an id")?;
        let &(unread, mentions) = expected
            .get(id)
            .with_context(|| format!("room {id} is not one of this run's"))?;
        let counts = (
            room["unread_count"].as_u64(),
            room["mention_count"].as_u64(),
        );
        anyhow::ensure!(
            counts == (Some(unread), Some(mentions)),
            "room {id}: (unread, mentions) {counts:?}, expected ({unread}, {mentions})"
        );
    }
    Ok(())
}
