//! The integrity check against the exact hostile update of the review, and against yrs
//! itself on real editing sessions with updates lost on the way.

use proptest::prelude::*;
use yrs::updates::decoder::Decode;
use yrs::{Doc, GetString, Options, ReadTxn, StateVector, Text, Transact, Update};

use super::*;

/// Client 424242's struct "abc" at clock 12, with no clocks 0 to 11 anywhere.
const FORGED: &str = "0101b2f2190c040107636f6e74656e740361626300";

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

fn check(update: &[u8], known: &mut StateVector) -> Result<(), Unintegrable> {
    UpdateShape::read(update)?.integrate_into(known)
}

#[test]
fn a_struct_past_its_clients_clock_is_refused() {
    let mut known = StateVector::default();
    let refused = check(&hex(FORGED), &mut known).unwrap_err();
    assert_eq!(
        refused,
        Unintegrable::Gap {
            client: 424242,
            clock: 12,
            known: 0
        }
    );
    assert!(known.is_empty(), "a refused update adds nothing");
}

#[test]
fn yrs_alone_would_show_what_yjs_keeps_pending() {
    // The reason for the check: yrs integrates the forged struct behind a placeholder.
    let doc = Doc::new();
    let text = doc.get_or_insert_text("content");
    doc.transact_mut()
        .apply_update(Update::decode_v1(&hex(FORGED)).unwrap())
        .unwrap();
    assert_eq!(text.get_string(&doc.transact()), "abc");
}

#[test]
fn a_reference_to_an_unknown_item_is_refused_and_one_to_the_same_update_is_not() {
    let ada = doc_of(1);
    let text = ada.get_or_insert_text("content");
    text.insert(&mut ada.transact_mut(), 0, "hello");
    let first = ada
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    let bob = doc_of(2);
    bob.transact_mut()
        .apply_update(Update::decode_v1(&first).unwrap())
        .unwrap();
    let before = bob.transact().state_vector();
    bob.get_or_insert_text("content")
        .insert(&mut bob.transact_mut(), 2, "XY");
    let second = bob.transact().encode_state_as_update_v1(&before);

    let mut known = StateVector::default();
    let refused = check(&second, &mut known).unwrap_err();
    assert!(
        matches!(
            refused,
            Unintegrable::MissingReference {
                client: 2,
                missing_client: 1,
                ..
            }
        ),
        "{refused:?}"
    );
    // Ada's text and Bob's insert in one update integrate: Bob's waits on Ada's.
    let both = yrs::merge_updates_v1([&first[..], &second[..]]).unwrap();
    check(&both, &mut known).unwrap();
    assert_eq!(known.get(&ClientID::new(1)), 5);
    assert_eq!(known.get(&ClientID::new(2)), 2);
}

#[test]
fn deleting_an_unknown_item_is_refused() {
    let ada = doc_of(1);
    let text = ada.get_or_insert_text("content");
    text.insert(&mut ada.transact_mut(), 0, "hello");
    let inserted = ada.transact().state_vector();
    text.remove_range(&mut ada.transact_mut(), 0, 2);
    let deletion = ada.transact().encode_state_as_update_v1(&inserted);
    let refused = check(&deletion, &mut StateVector::default()).unwrap_err();
    assert!(
        matches!(refused, Unintegrable::UnknownDeletion { client: 1, .. }),
        "{refused:?}"
    );
    let mut known = StateVector::default();
    known.set_max(ClientID::new(1), 5);
    check(&deletion, &mut known).unwrap();
}

#[test]
fn bytes_that_are_not_an_update_are_malformed() {
    assert!(matches!(
        check(&[0xff, 0xff, 0xff], &mut StateVector::default()),
        Err(Unintegrable::Malformed(_))
    ));
}

fn doc_of(client: u64) -> Doc {
    Doc::with_options(Options {
        client_id: ClientID::new(client),
        ..Options::default()
    })
}

/// One step of an editing session among three clients.
#[derive(Debug, Clone)]
enum Step {
    Insert {
        client: usize,
        at: u8,
        text: String,
    },
    Delete {
        client: usize,
        at: u8,
        len: u8,
    },
    /// `client` receives everything `from` has.
    Sync {
        client: usize,
        from: usize,
    },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0..3usize, any::<u8>(), "[a-z]{1,4}")
            .prop_map(|(client, at, text)| Step::Insert { client, at, text }),
        1 => (0..3usize, any::<u8>(), 1..4u8)
            .prop_map(|(client, at, len)| Step::Delete { client, at, len }),
        2 => (0..3usize, 0..3usize).prop_map(|(client, from)| Step::Sync { client, from }),
    ]
}

/// Plays a session; each local edit's update (what the editing client would send).
fn session(steps: &[Step]) -> Vec<Vec<u8>> {
    let docs: Vec<Doc> = (1..=3).map(doc_of).collect();
    let mut updates = Vec::new();
    for step in steps {
        match step {
            Step::Insert { client, at, text } => {
                let doc = &docs[*client];
                let content = doc.get_or_insert_text("content");
                let before = doc.transact().state_vector();
                let mut txn = doc.transact_mut();
                let at = u32::from(*at) % (content.len(&txn) + 1);
                content.insert(&mut txn, at, text);
                drop(txn);
                updates.push(doc.transact().encode_state_as_update_v1(&before));
            }
            Step::Delete { client, at, len } => {
                let doc = &docs[*client];
                let content = doc.get_or_insert_text("content");
                let size = content.len(&doc.transact());
                if size == 0 {
                    continue;
                }
                let at = u32::from(*at) % size;
                let len = u32::from(*len).min(size - at);
                let before = doc.transact().state_vector();
                content.remove_range(&mut doc.transact_mut(), at, len);
                updates.push(doc.transact().encode_state_as_update_v1(&before));
            }
            Step::Sync { client, from } => {
                let have = docs[*client].transact().state_vector();
                let missing = docs[*from].transact().encode_state_as_update_v1(&have);
                docs[*client]
                    .transact_mut()
                    .apply_update(Update::decode_v1(&missing).unwrap())
                    .unwrap();
            }
        }
    }
    updates
}

/// What Yjs does with `update` on `server`: integrate it whole, or keep part of it
/// pending. yrs keeps pending what waits on a missing item; a struct that starts past its
/// client's clock it would integrate, where Yjs keeps it pending.
fn yjs_integrates(server: &Doc, update: &[u8]) -> bool {
    let decoded = Update::decode_v1(update).unwrap();
    let known = server.transact().state_vector();
    let starts_past = decoded
        .state_vector_lower()
        .iter()
        .any(|(client, clock)| *clock > known.get(client));
    let trial = Doc::new();
    let state = server
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    let mut txn = trial.transact_mut();
    txn.apply_update(Update::decode_v1(&state).unwrap())
        .unwrap();
    txn.apply_update(decoded).unwrap();
    !starts_past && !txn.has_missing_updates()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// A server that receives every update in order accepts them all.
    #[test]
    fn every_update_of_a_session_delivered_in_order_integrates(steps in prop::collection::vec(step(), 1..40)) {
        let updates = session(&steps);
        let server = Doc::new();
        for update in &updates {
            let mut known = server.transact().state_vector();
            prop_assert_eq!(check(update, &mut known), Ok(()));
            server.transact_mut().apply_update(Update::decode_v1(update).unwrap()).unwrap();
            prop_assert_eq!(known, server.transact().state_vector());
        }
    }

    /// With updates lost on the way, the check refuses exactly what Yjs would not
    /// integrate whole, and the server's text is what a Yjs client shows.
    #[test]
    fn with_updates_lost_the_check_agrees_with_yjs(
        steps in prop::collection::vec(step(), 1..40),
        lost in prop::collection::vec(any::<bool>(), 40),
    ) {
        let updates = session(&steps);
        let server = Doc::new();
        for (update, lost) in updates.iter().zip(lost.iter().cycle()) {
            if *lost {
                continue;
            }
            let mut known = server.transact().state_vector();
            let accepted = check(update, &mut known).is_ok();
            prop_assert_eq!(accepted, yjs_integrates(&server, update));
            if accepted {
                server.transact_mut().apply_update(Update::decode_v1(update).unwrap()).unwrap();
                prop_assert!(!server.transact().has_missing_updates());
                prop_assert_eq!(known, server.transact().state_vector());
            }
        }
        let content = server.get_or_insert_text("content");
        let _ = content.get_string(&server.transact());
    }
}
