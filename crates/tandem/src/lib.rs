//! The tandem server: settings, wiring and startup, shared by the binary and the
//! integration tests.

pub mod cli;
mod http_server;
pub mod process;
mod secret;
pub mod settings;
pub mod startup;
pub mod telemetry;
mod wiring;

pub use settings::{LogFormat, Overrides, Settings};
pub use startup::Application;
