//! Tandem's realtime layer: the channels clients subscribe to, and the `Bus` that carries
//! events between the nodes of a deployment (in process when embedded, Redis pub/sub
//! when scaled out).

pub mod bus;
mod channel;

pub use bus::{Bus, Envelope, MemoryBus, RedisBus};
pub use channel::{Channel, ChannelError};
