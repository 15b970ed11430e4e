//! Tandem's realtime layer: the channels clients subscribe to, and the `Bus` that carries
//! events between the nodes of a deployment (in process when embedded, Redis pub/sub
//! when scaled out), and the per-channel history that lets a reconnecting client catch up.

pub mod bus;
mod channel;
pub mod history;
pub mod hub;
mod outbox;
pub mod protocol;

pub use bus::{Bus, Envelope, MemoryBus, RedisBus};
pub use channel::{Channel, ChannelError};
pub use history::{
    FrameTemplate, History, MemoryHistory, Recorded, RedisHistory, Replay, Retention,
};
pub use hub::{ConnectionId, Hub, Subscription};
pub use outbox::{Outbox, OutboxReceiver, outbox};
