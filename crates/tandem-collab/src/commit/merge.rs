//! Merging a batch's updates: the updates one peer sent one document while the previous
//! batch committed become one Yjs update, stored as one row, applied once and relayed as
//! one frame.

use std::collections::HashMap;

use bytes::Bytes;
use tandem_domain::FileId;
use yrs::Update;
use yrs::updates::encoder::Encode;

use super::Pending;
use crate::document::PeerId;

/// The most bytes of updates merged into one.
const MAX_MERGED_BYTES: u64 = 64 * 1024;

/// The updates one peer sent one document in a batch, merged into one.
pub(super) struct Group {
    pub(super) file: FileId,
    pub(super) peer: PeerId,
    /// Indexes into the batch.
    pub(super) members: Vec<usize>,
    pub(super) update: Bytes,
    /// `update` decoded, if it came decoded or was merged from decoded updates.
    pub(super) decoded: Option<Update>,
}

/// Groups a batch by document and peer, merging each group's updates (Yjs updates merge
/// into one that applies exactly as the sequence would). Only small updates are merged,
/// and only up to [`MAX_MERGED_BYTES`]: a merged update's inserted text becomes one Yjs
/// struct, and large structs would defeat sending big initial states in pieces. A group
/// that does not merge (an update that does not decode) is split back into its updates.
pub(super) fn merge(batch: &mut [Pending]) -> Vec<Group> {
    let mut open: HashMap<(FileId, PeerId), usize> = HashMap::new();
    let mut groups: Vec<Group> = Vec::new();
    let mut sizes: Vec<u64> = Vec::new();
    for (i, pending) in batch.iter().enumerate() {
        let key = (pending.file, pending.peer);
        let joins = open
            .get(&key)
            .copied()
            .filter(|&at| sizes[at] + pending.bytes <= MAX_MERGED_BYTES);
        let at = joins.unwrap_or_else(|| {
            groups.push(Group {
                file: pending.file,
                peer: pending.peer,
                members: Vec::new(),
                update: Bytes::new(),
                decoded: None,
            });
            sizes.push(0);
            open.insert(key, groups.len() - 1);
            groups.len() - 1
        });
        groups[at].members.push(i);
        sizes[at] += pending.bytes;
    }
    let mut merged = Vec::with_capacity(groups.len());
    for mut group in groups {
        if let [only] = group.members[..] {
            group.update = Bytes::from(std::mem::take(&mut batch[only].update));
            group.decoded = batch[only].decoded.take();
            merged.push(group);
            continue;
        }
        // Decoded updates merge without decoding them again.
        let decoded: Option<Vec<Update>> = group
            .members
            .iter()
            .map(|&i| batch[i].decoded.take())
            .collect();
        if let Some(decoded) = decoded {
            let update = Update::merge_updates(decoded);
            group.update = Bytes::from(update.encode_v1());
            group.decoded = Some(update);
            merged.push(group);
            continue;
        }
        match yrs::merge_updates_v1(group.members.iter().map(|&i| &batch[i].update)) {
            Ok(update) => {
                group.update = Bytes::from(update);
                merged.push(group);
            }
            Err(_) => merged.extend(group.members.iter().map(|&i| Group {
                file: group.file,
                peer: group.peer,
                members: vec![i],
                update: Bytes::from(std::mem::take(&mut batch[i].update)),
                decoded: None,
            })),
        }
    }
    merged
}
