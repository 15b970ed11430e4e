//! The `Bus`: how an event published on one node reaches the subscribers on every node.
//!
//! Each node has one stream of every envelope published anywhere in the deployment; the
//! connection hub on the node hands each envelope to the sockets subscribed to its topic.
//! Delivery is at most once: what a node misses while its Redis link is down, durable
//! events make good through replay with `since`; ephemeral ones are meant to be lossy.

mod memory;
mod redis;

use std::sync::Arc;

use async_trait::async_trait;
use bytes::{BufMut, Bytes, BytesMut};
use tokio::sync::broadcast;

pub use memory::MemoryBus;
pub use redis::RedisBus;

/// How many envelopes a node's receivers may fall behind before they are told they
/// lagged (`RecvError::Lagged`) and must resynchronise; bounds memory per node.
pub const CAPACITY: usize = 4096;

/// One message on the bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// A channel name (`workspace:{id}`) or an internal topic.
    pub topic: Arc<str>,
    /// The connection that published it (`{node}:{connection}`), so an ephemeral event
    /// skips its sender; `None` for events the server itself publishes.
    pub origin: Option<Arc<str>>,
    /// The durable event's place in its channel; `None` for ephemeral events.
    pub seq: Option<u64>,
    /// The frame as clients will receive it: serialised once, shared by every receiver.
    pub payload: Bytes,
}

impl Envelope {
    pub fn new(topic: impl Into<Arc<str>>, payload: impl Into<Bytes>) -> Self {
        Self {
            topic: topic.into(),
            origin: None,
            seq: None,
            payload: payload.into(),
        }
    }

    /// The wire form between nodes: topic and origin (each a big-endian u16 length and
    /// the bytes), seq (u64, 0 for none: seqs start at 1), payload. Hand-written because
    /// it is four fields and must not cost a JSON round trip per message.
    pub fn encode(&self) -> Bytes {
        let topic = truncated(self.topic.as_bytes());
        let origin = truncated(self.origin.as_deref().unwrap_or_default().as_bytes());
        let mut out =
            BytesMut::with_capacity(2 + topic.len() + 2 + origin.len() + 8 + self.payload.len());
        for field in [topic, origin] {
            out.put_u16(u16::try_from(field.len()).unwrap_or(u16::MAX));
            out.put_slice(field);
        }
        out.put_u64(self.seq.unwrap_or(0));
        out.put_slice(&self.payload);
        out.freeze()
    }

    /// Reads the wire form; `None` for anything that is not one.
    pub fn decode(wire: &[u8]) -> Option<Self> {
        let (topic, rest) = field(wire)?;
        let (origin, rest) = field(rest)?;
        let (seq, payload) = rest.split_first_chunk::<8>()?;
        let seq = u64::from_be_bytes(*seq);
        Some(Self {
            topic: std::str::from_utf8(topic).ok()?.into(),
            origin: (!origin.is_empty())
                .then(|| std::str::from_utf8(origin).ok().map(Into::into))
                .flatten(),
            seq: (seq != 0).then_some(seq),
            payload: Bytes::copy_from_slice(payload),
        })
    }
}

fn truncated(bytes: &[u8]) -> &[u8] {
    &bytes[..bytes.len().min(usize::from(u16::MAX))]
}

/// A u16-length-prefixed field and what follows it.
fn field(wire: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = wire.split_first_chunk::<2>()?;
    let len = usize::from(u16::from_be_bytes(*len));
    (rest.len() >= len).then(|| rest.split_at(len))
}

/// Carries envelopes between the nodes of a deployment.
#[async_trait]
pub trait Bus: Send + Sync + std::fmt::Debug {
    /// Delivers `envelope` to the subscribers of every node, this one included.
    async fn publish(&self, envelope: Envelope) -> anyhow::Result<()>;

    /// Every envelope published from now on, on any node.
    fn subscribe(&self) -> broadcast::Receiver<Envelope>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_envelope_survives_the_wire() {
        let envelope = Envelope::new(
            "workspace:01900000-0000-7000-8000-000000000000",
            &b"{\"x\":1}"[..],
        );
        assert_eq!(Envelope::decode(&envelope.encode()), Some(envelope));
        let empty = Envelope::new("", Bytes::new());
        assert_eq!(Envelope::decode(&empty.encode()), Some(empty));
    }

    #[test]
    fn garbage_is_not_an_envelope() {
        assert_eq!(Envelope::decode(b""), None);
        assert_eq!(Envelope::decode(&[0]), None);
        assert_eq!(
            Envelope::decode(&[0, 9, b'a']),
            None,
            "topic shorter than its length"
        );
        assert_eq!(
            Envelope::decode(&[0, 2, 0xff, 0xfe]),
            None,
            "topic not UTF-8"
        );
    }
}
