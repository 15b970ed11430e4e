//! The `fanout` scenario: one channel, many subscribers, one publisher, either as a burst
//! or paced at a fixed rate.

use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::fixture::Fixture;
use crate::pace::Pace;
use crate::sockets;
use crate::stats::round3;
use crate::target::Target;

#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub subscribers: usize,
    pub messages: usize,
    /// Events per second from the publisher; 0 sends them as fast as the socket takes.
    pub rate: u32,
    /// Loopback source addresses for the subscribers.
    pub sources: usize,
}

pub async fn run(target: &Target, fixture: &Fixture, options: Options) -> anyhow::Result<Value> {
    let Options {
        subscribers,
        messages,
        rate,
        sources,
    } = options;
    let url = fixture.socket_url();
    let channel = fixture.workspace_channel();
    let started = Instant::now();
    let mut readers = Vec::with_capacity(subscribers);
    for i in 0..subscribers {
        let mut socket = sockets::open(&url, sockets::source(i, sources)).await?;
        sockets::subscribe(&mut socket, &channel).await?;
        readers.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(messages);
            while latencies.len() < messages {
                let Some(Ok(Message::Text(text))) = socket.next().await else {
                    break;
                };
                if let Some(sent) = sent_at(text.as_str()) {
                    let now = u64::try_from(started.elapsed().as_micros())?;
                    latencies.push(now.saturating_sub(sent));
                }
            }
            anyhow::Ok(latencies)
        }));
    }

    let mut publisher = sockets::open(&url, None).await?;
    sockets::subscribe(&mut publisher, &channel).await?;
    let cpu_before = target.cpu_seconds().await;
    let publishing = Instant::now();
    let mut pace = Pace::new(rate);
    let mut sent = 0;
    while sent < messages {
        let due = pace.due(messages).await;
        while sent < due {
            let t = u64::try_from(started.elapsed().as_micros())?;
            let frame = json!({"type": "publish", "channel": channel, "event": "cursor", "data": {"t": t, "i": sent}});
            publisher.feed(Message::text(frame.to_string())).await?;
            sent += 1;
        }
        publisher.flush().await?;
    }
    let mut latencies = Vec::with_capacity(subscribers * messages);
    for reader in readers {
        latencies.extend(tokio::time::timeout(Duration::from_secs(120), reader).await???);
    }
    let elapsed = publishing.elapsed().as_secs_f64();
    let server_cpu = match (cpu_before, target.cpu_seconds().await) {
        (Some(before), Some(after)) => Some(round3((after - before) / elapsed)),
        _ => None,
    };
    latencies.sort_unstable();
    let pick = |q: f64| {
        let at = ((latencies.len().saturating_sub(1)) as f64 * q) as usize;
        latencies.get(at).map_or(0.0, |&us| us as f64 / 1e3)
    };
    Ok(json!({
        "scenario": "fanout",
        "subscribers": subscribers,
        "messages": messages,
        "rate": rate,
        "deliveries": latencies.len(),
        "expected_deliveries": subscribers * messages,
        "deliveries_per_s": round3(latencies.len() as f64 / elapsed).round(),
        "latency_ms": {"p50": pick(0.50), "p99": pick(0.99), "max": pick(1.0)},
        // Cores the server kept busy while publishing (of this machine's cores).
        "server_cores_busy": server_cpu,
    }))
}

/// The publisher's send time in a cursor frame, found without parsing the whole frame:
/// a thousand subscribers parsing every frame as JSON would take the cores the server
/// needs.
fn sent_at(frame: &str) -> Option<u64> {
    let (_, rest) = frame.split_once(r#""t":"#)?;
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_send_time_is_read_from_a_cursor_frame() {
        let frame = r#"{"type":"event","channel":"workspace:w","event":"cursor","data":{"i":3,"t":1234},"actor":"u","ts":"x"}"#;
        assert_eq!(super::sent_at(frame), Some(1234));
        assert_eq!(super::sent_at(r#"{"type":"ack"}"#), None);
    }
}
