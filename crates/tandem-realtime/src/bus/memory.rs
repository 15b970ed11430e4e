//! The in-process bus of the embedded mode: one node, so a broadcast channel is the
//! whole deployment.

use async_trait::async_trait;
use tokio::sync::broadcast;

use super::{Bus, CAPACITY, Envelope};

/// A bus inside one process. Clones share it.
#[derive(Debug, Clone)]
pub struct MemoryBus(broadcast::Sender<Envelope>);

impl MemoryBus {
    pub fn new() -> Self {
        Self(broadcast::channel(CAPACITY).0)
    }
}

impl Default for MemoryBus {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl Bus for MemoryBus {
    async fn publish(&self, envelope: Envelope) -> anyhow::Result<()> {
        // No subscriber yet is not an error: nobody is listening to miss it.
        let _ = self.0.send(envelope);
        Ok(())
    }

    fn subscribe(&self) -> broadcast::Receiver<Envelope> {
        self.0.subscribe()
    }
}
