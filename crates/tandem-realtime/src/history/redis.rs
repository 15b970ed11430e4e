//! History in Redis, for scale-out: per channel a counter (`…:seq`) and a stream
//! (`…:log`) whose entry ids are the seqs themselves (`{seq}-0`), so replay is a range
//! read. Both keys expire after the retention age of the channel's last event.

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use redis::aio::ConnectionManager;
use redis::{Script, Value};

use super::{FrameTemplate, History, Recorded, Replay, Retention, replay};

/// Every channel's recent events, in Redis, shared by all nodes.
pub struct RedisHistory {
    redis: ConnectionManager,
    prefix: String,
    retention: Retention,
    append: Script,
}

impl std::fmt::Debug for RedisHistory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisHistory")
            .field("prefix", &self.prefix)
            .field("retention", &self.retention)
            .finish_non_exhaustive()
    }
}

impl RedisHistory {
    pub fn new(redis: ConnectionManager, prefix: &str, retention: Retention) -> Self {
        // Assigning the seq and storing the frame in one script is what keeps two nodes
        // appending to one channel from ever storing seqs out of order. The trim is exact
        // (`MAXLEN n`, not `~`): both backends keep exactly the newest n, at the cost of
        // removing one entry per append.
        let append = Script::new(
            r"
            local seq = redis.call('INCR', KEYS[1])
            local frame = ARGV[3] .. seq .. ARGV[4]
            redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[1], seq .. '-0', 'at', ARGV[2], 'frame', frame)
            redis.call('PEXPIRE', KEYS[1], ARGV[5])
            redis.call('PEXPIRE', KEYS[2], ARGV[5])
            return seq
            ",
        );
        Self {
            redis,
            prefix: prefix.to_owned(),
            retention,
            append,
        }
    }

    fn keys(&self, channel: &str) -> (String, String) {
        let base = format!("{}:history:{channel}", self.prefix);
        (format!("{base}:seq"), format!("{base}:log"))
    }

    fn max_age_ms(&self) -> i64 {
        i64::try_from(self.retention.max_age.as_millis()).unwrap_or(i64::MAX)
    }
}

#[async_trait]
impl History for RedisHistory {
    async fn append(
        &self,
        channel: &str,
        at: DateTime<Utc>,
        frame: &FrameTemplate,
    ) -> anyhow::Result<Recorded> {
        let (seq_key, log_key) = self.keys(channel);
        let seq: u64 = self
            .append
            .key(seq_key)
            .key(log_key)
            .arg(self.retention.events)
            .arg(at.timestamp_millis())
            .arg(frame.head.as_ref())
            .arg(frame.tail.as_ref())
            .arg(self.max_age_ms())
            .invoke_async(&mut self.redis.clone())
            .await?;
        Ok(Recorded {
            seq,
            frame: frame.render(seq),
        })
    }

    async fn since(&self, channel: &str, since: u64, now: DateTime<Utc>) -> anyhow::Result<Replay> {
        let (seq_key, log_key) = self.keys(channel);
        let oldest_ms = now.timestamp_millis() - self.max_age_ms();
        let (last_seq, entries): (Option<u64>, Vec<(String, Vec<(String, Value)>)>) = redis::pipe()
            .get(&seq_key)
            .cmd("XRANGE")
            .arg(&log_key)
            .arg(format!("{since}-0"))
            .arg("+")
            .query_async(&mut self.redis.clone())
            .await?;
        let mut kept = Vec::with_capacity(entries.len());
        for (id, fields) in entries {
            let seq: u64 = id
                .split_once('-')
                .and_then(|(seq, _)| seq.parse().ok())
                .ok_or_else(|| anyhow::anyhow!("malformed history id {id:?}"))?;
            let (mut at, mut frame) = (None, None);
            for (name, value) in fields {
                match (name.as_str(), value) {
                    ("at", value) => at = redis::from_redis_value::<i64>(&value).ok(),
                    ("frame", Value::BulkString(bytes)) => frame = Some(Bytes::from(bytes)),
                    _ => {}
                }
            }
            let (Some(at), Some(frame)) = (at, frame) else {
                anyhow::bail!("history entry {id:?} lacks its time or frame");
            };
            if at >= oldest_ms {
                kept.push(Recorded { seq, frame });
            }
        }
        Ok(replay(last_seq.unwrap_or(0), kept, since))
    }
}
