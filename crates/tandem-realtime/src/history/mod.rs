//! Per-channel history of durable events: each gets the channel's next `seq`, the last
//! ones are kept (bounded by count and age), and a client that reconnects with `since`
//! gets exactly what it missed, in order, or is told to `resync` over REST.
//!
//! Embedded mode keeps history in memory: one node, and a restart that loses history
//! only costs clients a `resync`. Scale-out keeps it in Redis, so every node assigns from
//! one sequence and any node can replay what another published.

mod memory;
mod redis;

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};

pub use memory::MemoryHistory;
pub use redis::RedisHistory;

/// How much history each channel keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// The most events kept per channel.
    pub events: usize,
    /// The oldest an event may be and still be replayed.
    pub max_age: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            events: 1_000,
            max_age: Duration::from_secs(24 * 60 * 60),
        }
    }
}

/// A frame whose `seq` is filled in when the history assigns it: `head`, then the seq in
/// decimal, then `tail` (e.g. `{"type":"event","seq":` + `42` + `,"event":…}`). A template
/// rather than a callback so that Redis can assign the seq and store the frame in one
/// atomic script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameTemplate {
    pub head: Bytes,
    pub tail: Bytes,
}

impl FrameTemplate {
    pub fn render(&self, seq: u64) -> Bytes {
        let seq = seq.to_string();
        let mut frame = Vec::with_capacity(self.head.len() + seq.len() + self.tail.len());
        frame.extend_from_slice(&self.head);
        frame.extend_from_slice(seq.as_bytes());
        frame.extend_from_slice(&self.tail);
        Bytes::from(frame)
    }
}

/// A kept event: its place in the channel and the frame clients receive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub seq: u64,
    pub frame: Bytes,
}

/// What a reconnecting client gets for `since`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replay {
    /// Every event after `since`, oldest first (possibly none).
    Events(Vec<Recorded>),
    /// Some of what was missed is no longer kept (or `since` is from a history this
    /// deployment no longer has): refetch over REST, then subscribe without `since`.
    Resync,
}

/// The durable-event history of every channel.
#[async_trait]
pub trait History: Send + Sync + std::fmt::Debug {
    /// Records an event on `channel` with the channel's next seq, rendered into `frame`.
    async fn append(
        &self,
        channel: &str,
        at: DateTime<Utc>,
        frame: &FrameTemplate,
    ) -> anyhow::Result<Recorded>;

    /// The events of `channel` after `since`, as of `now`.
    async fn since(&self, channel: &str, since: u64, now: DateTime<Utc>) -> anyhow::Result<Replay>;
}

/// The replay rule both implementations share, given the last seq assigned and the kept
/// events (oldest first, already filtered by age).
pub(crate) fn replay(last_seq: u64, kept: Vec<Recorded>, since: u64) -> Replay {
    if since > last_seq {
        // A seq this history never assigned: it was lost (a restart of the embedded node).
        return Replay::Resync;
    }
    if since == last_seq {
        return Replay::Events(Vec::new());
    }
    match kept.first() {
        // Everything after `since` is still kept when the oldest kept is its successor
        // or older.
        Some(oldest) if oldest.seq <= since + 1 => {
            Replay::Events(kept.into_iter().filter(|e| e.seq > since).collect())
        }
        _ => Replay::Resync,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(seqs: std::ops::RangeInclusive<u64>) -> Vec<Recorded> {
        seqs.map(|seq| Recorded {
            seq,
            frame: Bytes::from(seq.to_string()),
        })
        .collect()
    }

    fn seqs(replay: Replay) -> Option<Vec<u64>> {
        match replay {
            Replay::Events(events) => Some(events.iter().map(|e| e.seq).collect()),
            Replay::Resync => None,
        }
    }

    #[test]
    fn the_missed_events_are_replayed_in_order() {
        assert_eq!(seqs(replay(10, kept(5..=10), 7)), Some(vec![8, 9, 10]));
        assert_eq!(
            seqs(replay(10, kept(5..=10), 4)),
            Some(vec![5, 6, 7, 8, 9, 10])
        );
        assert_eq!(seqs(replay(10, kept(5..=10), 10)), Some(vec![]));
        assert_eq!(seqs(replay(0, Vec::new(), 0)), Some(vec![]));
    }

    #[test]
    fn a_gap_in_what_is_kept_means_resync() {
        assert_eq!(replay(10, kept(5..=10), 3), Replay::Resync, "4 is gone");
        assert_eq!(replay(10, Vec::new(), 2), Replay::Resync, "all aged out");
    }

    #[test]
    fn a_template_renders_its_seq() {
        let template = FrameTemplate {
            head: Bytes::from_static(b"{\"seq\":"),
            tail: Bytes::from_static(b"}"),
        };
        assert_eq!(template.render(42), Bytes::from_static(b"{\"seq\":42}"));
    }

    #[test]
    fn a_seq_from_the_future_means_resync() {
        assert_eq!(replay(3, kept(1..=3), 7), Replay::Resync);
    }
}
