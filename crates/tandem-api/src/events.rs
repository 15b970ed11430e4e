//! The in-process publisher of domain events. Handlers publish after the store has
//! committed, so nobody hears of a change that rolled back; the realtime gateway
//! subscribes here to fan events out to clients.

use tandem_domain::{DomainEvent, UserId};
use tokio::sync::broadcast;

/// A committed change and who made it.
#[derive(Debug, Clone, PartialEq)]
pub struct Published {
    /// Who made the change; `None` for the server's own (a job worker, the reaper).
    pub actor: Option<UserId>,
    pub event: DomainEvent,
}

/// Fans domain events out to every subscriber in this process.
#[derive(Debug, Clone)]
pub struct EventPublisher(broadcast::Sender<Published>);

impl EventPublisher {
    /// Events a slow subscriber may fall behind by before it misses some (it is told,
    /// via `RecvError::Lagged`, and resynchronises); bounded so it cannot grow memory.
    const CAPACITY: usize = 1024;

    pub fn new() -> Self {
        Self(broadcast::channel(Self::CAPACITY).0)
    }

    /// Publishes a committed change. Having no subscriber is normal, not an error.
    pub fn publish(&self, actor: UserId, event: DomainEvent) {
        self.publish_by(Some(actor), event);
    }

    /// Publishes a committed change that someone, or the server itself, made.
    pub fn publish_by(&self, actor: Option<UserId>, event: DomainEvent) {
        let _ = self.0.send(Published { actor, event });
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Published> {
        self.0.subscribe()
    }
}

impl Default for EventPublisher {
    fn default() -> Self {
        Self::new()
    }
}
