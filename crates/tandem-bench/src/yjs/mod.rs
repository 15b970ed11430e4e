//! The `yjs-*` scenarios: y-websocket protocol load against Tandem or a peer server
//! (`--peer y-websocket|hocuspocus --peer-url ws://… --peer-pid N`), so the same run
//! measures them side by side. Writers are yrs documents producing real Yjs updates;
//! each update carries its send time in the inserted text, which observers find in the
//! relayed bytes without decoding them.

mod deferred;
mod fanout;
mod paste;
mod peer;
mod storm;

use std::time::Instant;

use anyhow::Context;
use yrs::{Doc, Text, Transact};

pub use deferred::fanout_deferred;
pub use fanout::{FanoutOptions, ThroughputOptions, fanout, throughput};
pub use paste::{PasteOptions, paste};
pub use peer::{Kind, Peer};
pub use storm::{JoinOptions, MemoryOptions, join_storm, memory};

/// The server's process, for its CPU and memory.
#[derive(Debug, Clone, Copy)]
pub struct Process(pub Option<u32>);

impl Process {
    pub async fn cpu_seconds(self) -> Option<f64> {
        crate::target::cpu_of(self.0?).await
    }

    pub async fn rss_bytes(self) -> anyhow::Result<u64> {
        crate::target::rss_of(self.pid()?).await
    }

    /// Resident memory that is the process's own (heap, stacks; `RssAnon`), without
    /// the pages of its program and libraries, which are shared and come in as code
    /// first runs.
    pub async fn anonymous_bytes(self) -> anyhow::Result<u64> {
        crate::target::status_kib(self.pid()?, "RssAnon:")
            .await
            .map(|kib| kib * 1024)
    }

    fn pid(self) -> anyhow::Result<u32> {
        self.0.context("the server's pid is unknown (--peer-pid)")
    }
}

/// A yrs document that writes the file's text and encodes each edit as an update.
pub struct Writer {
    doc: Doc,
}

impl Writer {
    pub fn new() -> Self {
        Self { doc: Doc::new() }
    }

    /// Appends `chunk` to the text; returns the update.
    pub fn append(&mut self, chunk: &str) -> Vec<u8> {
        let text = self.doc.get_or_insert_text("content");
        let mut txn = self.doc.transact_mut();
        let end = text.len(&txn);
        text.insert(&mut txn, end, chunk);
        txn.encode_update_v1()
    }

    /// Removes the text from `index` on; returns the update.
    pub fn truncate(&mut self, index: u32) -> Vec<u8> {
        let text = self.doc.get_or_insert_text("content");
        let mut txn = self.doc.transact_mut();
        let end = text.len(&txn);
        text.remove_range(&mut txn, index, end.saturating_sub(index));
        txn.encode_update_v1()
    }

    /// Appends a marker carrying the time since `epoch`; returns the update.
    pub fn append_stamp(&mut self, epoch: Instant) -> Vec<u8> {
        let micros = epoch.elapsed().as_micros();
        self.append(&format!("\u{2}{micros}\u{3}"))
    }
}

/// The send times (microseconds since the epoch) of every marker in `message`.
pub fn stamps(message: &[u8]) -> impl Iterator<Item = u64> + '_ {
    message.split(|&b| b == 2).skip(1).filter_map(|rest| {
        let end = rest.iter().position(|&b| b == 3)?;
        std::str::from_utf8(&rest[..end]).ok()?.parse().ok()
    })
}

/// A document name no earlier run used (the peers keep documents in memory).
pub fn fresh_name(label: &str) -> String {
    format!("bench-{label}-{}", uuid::Uuid::now_v7().simple())
}

#[cfg(test)]
mod tests {
    use yrs::updates::decoder::Decode;
    use yrs::{GetString, ReadTxn, StateVector, Update};

    use super::*;

    #[test]
    fn stamps_are_found_in_the_update_bytes() {
        let epoch = Instant::now();
        let mut writer = Writer::new();
        let first = writer.append_stamp(epoch);
        let found: Vec<u64> = stamps(&first).collect();
        assert_eq!(found.len(), 1);
        writer.append("plain");
        let second = writer.append(&format!("\u{2}{}\u{3}", 42));
        assert_eq!(stamps(&second).collect::<Vec<_>>(), vec![42]);
        // They are ordinary Yjs updates.
        let doc = Doc::new();
        let whole = writer
            .doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        doc.transact_mut()
            .apply_update(Update::decode_v1(&whole).unwrap())
            .unwrap();
        let text = doc.get_or_insert_text("content");
        assert!(
            text.get_string(&doc.transact())
                .ends_with("plain\u{2}42\u{3}")
        );
    }
}
