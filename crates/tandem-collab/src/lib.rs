//! Tandem's collaborative documents: each file's text is a Yjs document (yrs) that stock
//! `y-websocket` clients edit together. This crate owns the sync and awareness protocols,
//! the documents loaded on a node, their persistence (every update stored before it is
//! relayed; compaction into snapshots), history (versions, restore), and their traffic
//! between nodes.

mod awareness;
mod chunks;
mod collab;
mod commit;
mod document;
mod integrity;
mod maintenance;
pub mod message;
mod reader;
mod seqs;
pub mod text;
mod versions;
mod writer;

pub use collab::{Collab, CollabConfig, CollabError, topic};
pub use commit::Submitted;
pub use document::{Document, PeerId};
pub use integrity::Unintegrable;
pub use message::CloseCode;
pub use reader::{Incoming, PeerReader, ReadError};
pub use writer::{Frame, PeerWriter};
