//! Tandem's realtime layer: the channels clients subscribe to, and the `Bus` that carries
//! events between the nodes of a deployment (in process when embedded, Redis pub/sub
//! when scaled out), the per-channel history that lets a reconnecting client catch up,
//! and presence: who is on each channel, on any node.

pub mod bus;
mod channel;
pub mod history;
pub mod hub;
pub mod mailbox;
mod outbox;
pub mod presence;
pub mod protocol;
pub mod schema;

pub use bus::{Bus, Envelope, MemoryBus, RedisBus};
pub use channel::{Channel, ChannelError};
pub use history::{
    FrameTemplate, History, MemoryHistory, Recorded, RedisHistory, Replay, Retention,
};
pub use hub::{ConnectionId, Hub, Subscription};
pub use outbox::{Outbox, OutboxReceiver, outbox};
pub use presence::{
    Departure, Member, MemoryRoster, Presence, PresenceConfig, PresenceEntry, RedisRoster, Roster,
};
