//! The write path's merging: a peer's updates merge into one that applies as their

//! sequence, large ones stay apart, and one that does not decode is stored alone.
use tandem_domain::FileId;
use uuid::Uuid;
use yrs::updates::decoder::Decode;
use yrs::{Doc, GetString, Text, Transact, Update};

use super::merge::merge;
use super::*;

fn pending(file: FileId, peer: PeerId, update: Vec<u8>) -> Pending {
    Pending {
        file,
        document: None,
        peer,
        bytes: update.len() as u64,
        admitted: false,
        decoded: Update::decode_v1(&update).ok(),
        update,
        reply: oneshot::channel().0,
    }
}

fn typed(doc: &Doc, at: u32, chunk: &str) -> Vec<u8> {
    let text = doc.get_or_insert_text("content");
    let mut txn = doc.transact_mut();
    text.insert(&mut txn, at, chunk);
    txn.encode_update_v1()
}

fn text_after(updates: &[&[u8]]) -> String {
    let doc = Doc::new();
    for update in updates {
        doc.transact_mut()
            .apply_update(Update::decode_v1(update).unwrap())
            .unwrap();
    }
    let text = doc.get_or_insert_text("content");
    text.get_string(&doc.transact())
}

#[test]
fn a_peers_small_updates_merge_into_one_that_applies_as_the_sequence() {
    let (file, other_file) = (FileId(Uuid::now_v7()), FileId(Uuid::now_v7()));
    let (ada, bob) = (Doc::new(), Doc::new());
    let mut batch = vec![
        pending(file, 1, typed(&ada, 0, "he")),
        pending(file, 2, typed(&bob, 0, "x")),
        pending(file, 1, typed(&ada, 2, "ll")),
        pending(other_file, 1, typed(&Doc::new(), 0, "elsewhere")),
        pending(file, 1, typed(&ada, 4, "o")),
    ];
    let sequence: Vec<Vec<u8>> = batch.iter().map(|p| p.update.clone()).collect();
    let groups = merge(&mut batch);
    let shape: Vec<(FileId, PeerId, Vec<usize>)> = groups
        .iter()
        .map(|g| (g.file, g.peer, g.members.clone()))
        .collect();
    assert_eq!(
        shape,
        vec![
            (file, 1, vec![0, 2, 4]),
            (file, 2, vec![1]),
            (other_file, 1, vec![3]),
        ]
    );
    let merged: Vec<&[u8]> = groups
        .iter()
        .filter(|g| g.file == file)
        .map(|g| &g.update[..])
        .collect();
    let one_by_one: Vec<&[u8]> = [0, 1, 2, 4].iter().map(|&i| &sequence[i][..]).collect();
    assert_eq!(text_after(&merged), text_after(&one_by_one));
    assert_eq!(text_after(&merged).len(), "hello".len() + 1);
}

#[test]
fn large_updates_are_not_merged() {
    let file = FileId(Uuid::now_v7());
    let ada = Doc::new();
    let big = "y".repeat(48 * 1024);
    let mut batch = vec![
        pending(file, 1, typed(&ada, 0, &big)),
        pending(file, 1, typed(&ada, 0, &big)),
        pending(file, 1, typed(&ada, 0, "a")),
        pending(file, 1, typed(&ada, 0, "b")),
    ];
    let groups = merge(&mut batch);
    let members: Vec<Vec<usize>> = groups.iter().map(|g| g.members.clone()).collect();
    assert_eq!(members, vec![vec![0], vec![1, 2, 3]]);
}

#[test]
fn an_update_that_does_not_decode_is_stored_alone() {
    let file = FileId(Uuid::now_v7());
    let ada = Doc::new();
    let mut batch = vec![
        pending(file, 1, typed(&ada, 0, "a")),
        pending(file, 1, vec![0xff, 0xff, 0xff]),
    ];
    let groups = merge(&mut batch);
    let members: Vec<Vec<usize>> = groups.iter().map(|g| g.members.clone()).collect();
    assert_eq!(members, vec![vec![0], vec![1]]);
}
