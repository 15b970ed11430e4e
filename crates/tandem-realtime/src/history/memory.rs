//! History in this process's memory, for the embedded mode.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{FrameTemplate, History, Recorded, Replay, Retention, replay};

/// One channel's log.
#[derive(Debug, Default)]
struct Log {
    last_seq: u64,
    events: VecDeque<(DateTime<Utc>, Recorded)>,
}

/// Every channel's recent events, in memory.
#[derive(Debug)]
pub struct MemoryHistory {
    retention: Retention,
    // A std mutex: every critical section is a few pointer moves, never held across an
    // await, and appends must assign seqs in one order.
    channels: Mutex<HashMap<String, Log>>,
}

impl MemoryHistory {
    pub fn new(retention: Retention) -> Self {
        Self {
            retention,
            channels: Mutex::new(HashMap::new()),
        }
    }

    fn oldest_allowed(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now - chrono::Duration::from_std(self.retention.max_age).unwrap_or(chrono::Duration::MAX)
    }
}

#[async_trait]
impl History for MemoryHistory {
    async fn append(
        &self,
        channel: &str,
        at: DateTime<Utc>,
        frame: &FrameTemplate,
    ) -> anyhow::Result<Recorded> {
        let oldest = self.oldest_allowed(at);
        let mut channels = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        let log = channels.entry(channel.to_owned()).or_default();
        log.last_seq += 1;
        let recorded = Recorded {
            seq: log.last_seq,
            frame: frame.render(log.last_seq),
        };
        log.events.push_back((at, recorded.clone()));
        while log.events.len() > self.retention.events
            || log.events.front().is_some_and(|(t, _)| *t < oldest)
        {
            log.events.pop_front();
        }
        Ok(recorded)
    }

    async fn since(&self, channel: &str, since: u64, now: DateTime<Utc>) -> anyhow::Result<Replay> {
        let oldest = self.oldest_allowed(now);
        let channels = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        let Some(log) = channels.get(channel) else {
            return Ok(replay(0, Vec::new(), since));
        };
        let kept = log
            .events
            .iter()
            .filter(|(t, _)| *t >= oldest)
            .map(|(_, e)| e.clone())
            .collect();
        Ok(replay(log.last_seq, kept, since))
    }
}
