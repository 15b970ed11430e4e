//! The scale-out bus: Redis pub/sub on one channel per deployment (`{prefix}:bus`).
//!
//! Every node subscribes once and hands what it hears to its local receivers, which
//! filter by topic. One Redis channel rather than one per topic keeps subscription
//! churn off Redis entirely; every node hears every envelope, which is what fan-out to
//! sockets spread over all nodes needs anyway.

use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use redis::aio::{ConnectionManager, PubSub};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::{Bus, CAPACITY, Envelope};

/// A bus shared by every node that uses the same Redis and prefix.
pub struct RedisBus {
    publisher: ConnectionManager,
    channel: String,
    local: broadcast::Sender<Envelope>,
    /// Stops the subscriber task when the bus is dropped.
    stop: CancellationToken,
}

impl std::fmt::Debug for RedisBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBus")
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

impl RedisBus {
    /// The longest wait between two attempts to re-subscribe after losing Redis.
    const MAX_BACKOFF: Duration = Duration::from_secs(5);

    /// Connects, and returns once this node's subscription is confirmed, so nothing
    /// published after `connect` returns is missed.
    pub async fn connect(url: &str, prefix: &str) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)?;
        let publisher = client.get_connection_manager().await?;
        let channel = format!("{prefix}:bus");
        let pubsub = subscribe(&client, &channel).await?;
        let local = broadcast::channel(CAPACITY).0;
        let stop = CancellationToken::new();
        tokio::spawn(listen(
            client,
            channel.clone(),
            pubsub,
            local.clone(),
            stop.clone(),
        ));
        Ok(Self {
            publisher,
            channel,
            local,
            stop,
        })
    }
}

impl Drop for RedisBus {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

#[async_trait]
impl Bus for RedisBus {
    async fn publish(&self, envelope: Envelope) -> anyhow::Result<()> {
        let _receivers: u64 = redis::cmd("PUBLISH")
            .arg(&self.channel)
            .arg(envelope.encode().as_ref())
            .query_async(&mut self.publisher.clone())
            .await?;
        Ok(())
    }

    fn subscribe(&self) -> broadcast::Receiver<Envelope> {
        self.local.subscribe()
    }
}

async fn subscribe(client: &redis::Client, channel: &str) -> redis::RedisResult<PubSub> {
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(channel).await?;
    Ok(pubsub)
}

/// Forwards what Redis delivers to the local receivers; re-subscribes with backoff when
/// the connection drops, until `stop`.
async fn listen(
    client: redis::Client,
    channel: String,
    mut pubsub: PubSub,
    local: broadcast::Sender<Envelope>,
    stop: CancellationToken,
) {
    loop {
        let mut messages = pubsub.into_on_message();
        loop {
            let message = tokio::select! {
                () = stop.cancelled() => return,
                message = messages.next() => message,
            };
            let Some(message) = message else { break };
            match Envelope::decode(message.get_payload_bytes()) {
                // No local receiver is normal: no socket on this node wants it.
                Some(envelope) => drop(local.send(envelope)),
                None => tracing::warn!(bus.channel = %channel, "ignored a malformed bus message"),
            }
        }
        tracing::warn!(bus.channel = %channel, "lost the Redis subscription; reconnecting");
        let mut backoff = Duration::from_millis(100);
        pubsub = loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(backoff) => {}
            }
            match subscribe(&client, &channel).await {
                Ok(pubsub) => break pubsub,
                Err(error) => {
                    tracing::warn!(error = %error, "Redis subscription failed; retrying");
                    backoff = (backoff * 2).min(RedisBus::MAX_BACKOFF);
                }
            }
        };
        tracing::info!(bus.channel = %channel, "Redis subscription restored");
    }
}
