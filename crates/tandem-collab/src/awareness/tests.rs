//! The awareness states and who holds them: clocks as y-protocols orders them, holders
//! on one node and across two.

use uuid::Uuid;

use super::*;

const LIMIT: usize = 1024;

fn update(client: u64, clock: u32, json: &str) -> AwarenessUpdate {
    let entry = AwarenessUpdateEntry {
        clock,
        json: json.into(),
    };
    AwarenessUpdate {
        clients: HashMap::from([(ClientID::new(client), entry)]),
    }
}

/// A socket `peer` of user `user` on `node`, introducing ids at `since`.
fn socket(node: &str, peer: PeerId, user: u128, since: i64) -> Holder {
    Holder {
        node: node.into(),
        holding: Holding {
            peer,
            user: UserId(Uuid::from_u128(user)),
            since,
        },
    }
}

fn states(awareness: &AwarenessStates) -> Vec<(u64, u32, String)> {
    let mut all: Vec<_> = awareness
        .all()
        .clients
        .into_iter()
        .map(|(client, entry)| (client.get(), entry.clock, entry.json.to_string()))
        .collect();
    all.sort();
    all
}

/// Applies `update` from a socket here; the ids it changed, sorted, and the refusals.
fn local(
    awareness: &mut AwarenessStates,
    from: &Holder,
    update: AwarenessUpdate,
) -> (Vec<u64>, Vec<(u64, Refused)>) {
    let (changed, refused) = awareness.apply_local(from, update, LIMIT);
    let mut ids: Vec<u64> = changed.update.clients.keys().map(|c| c.get()).collect();
    ids.sort();
    let refused = refused.into_iter().map(|(c, why)| (c.get(), why)).collect();
    (ids, refused)
}

/// Relays what `changed` holds to another node's states, as the bus does.
fn relay(to: &mut AwarenessStates, from_node: &str, changed: Changed) -> Changed {
    to.apply_remote(&from_node.into(), &changed.holders, changed.update)
}

#[test]
fn newer_clocks_win_and_stale_updates_are_ignored() {
    let mut awareness = AwarenessStates::default();
    let ada = socket("a", 1, 1, 0);
    let bob = socket("a", 2, 2, 0);
    local(&mut awareness, &ada, update(1, 1, r#"{"a":1}"#));
    local(&mut awareness, &ada, update(1, 3, r#"{"a":3}"#));
    let (stale, _) = local(&mut awareness, &ada, update(1, 2, r#"{"a":2}"#));
    assert!(stale.is_empty(), "nothing to relay");
    local(&mut awareness, &bob, update(2, 1, r#"{"b":1}"#));
    assert_eq!(
        states(&awareness),
        vec![(1, 3, r#"{"a":3}"#.into()), (2, 1, r#"{"b":1}"#.into())]
    );
}

#[test]
fn a_removal_at_the_same_clock_removes_and_an_older_state_cannot_return() {
    let mut awareness = AwarenessStates::default();
    let ada = socket("a", 1, 1, 0);
    local(&mut awareness, &ada, update(1, 4, r#"{"a":4}"#));
    local(&mut awareness, &ada, update(1, 4, "null"));
    assert!(states(&awareness).is_empty());
    local(&mut awareness, &ada, update(1, 4, r#"{"a":4}"#));
    assert!(
        states(&awareness).is_empty(),
        "a late copy of the old state"
    );
    local(&mut awareness, &ada, update(1, 5, r#"{"a":5}"#));
    assert_eq!(states(&awareness), vec![(1, 5, r#"{"a":5}"#.into())]);
}

#[test]
fn another_users_socket_can_neither_change_nor_remove_a_state_it_does_not_hold() {
    let mut awareness = AwarenessStates::default();
    let owner = socket("a", 1, 1, 0);
    let viewer = socket("a", 2, 2, 0);
    local(&mut awareness, &owner, update(7, 2, r#"{"name":"Owner"}"#));
    let mut both = update(7, 100, r#"{"name":"SPOOFED"}"#);
    both.clients
        .extend(update(8, 1, r#"{"name":"Viewer"}"#).clients);
    let (changed, refused) = local(&mut awareness, &viewer, both);
    assert_eq!(changed, vec![8], "the viewer's own entry still applies");
    assert_eq!(refused, vec![(7, Refused::NotHolder)]);
    let (_, refused) = local(&mut awareness, &viewer, update(7, 100, "null"));
    assert_eq!(refused, vec![(7, Refused::NotHolder)]);
    assert_eq!(
        states(&awareness),
        vec![
            (7, 2, r#"{"name":"Owner"}"#.into()),
            (8, 1, r#"{"name":"Viewer"}"#.into())
        ]
    );
    // Gone, the owner's id stays bound to the owner: a viewer cannot take it up.
    awareness.remove_socket(&owner.node, owner.holding.peer);
    let (_, refused) = local(&mut awareness, &viewer, update(7, 200, r#"{"x":1}"#));
    assert_eq!(refused, vec![(7, Refused::NotHolder)]);
    let back = socket("a", 3, 1, 1);
    let (changed, _) = local(&mut awareness, &back, update(7, 4, r#"{"name":"Owner"}"#));
    assert_eq!(changed, vec![7], "its user reconnecting takes it up");
}

#[test]
fn a_users_new_socket_takes_over_its_id_from_a_socket_not_yet_noticed_gone() {
    let mut awareness = AwarenessStates::default();
    let before = socket("a", 1, 1, 0);
    let after = socket("a", 2, 1, 5);
    local(&mut awareness, &before, update(7, 3, r#"{"n":1}"#));
    let (changed, _) = local(&mut awareness, &after, update(7, 4, r#"{"n":2}"#));
    assert_eq!(changed, vec![7]);
    // When the old socket is finally noticed gone, the state stays.
    assert!(
        awareness
            .remove_socket(&before.node, before.holding.peer)
            .is_empty()
    );
    assert_eq!(states(&awareness), vec![(7, 4, r#"{"n":2}"#.into())]);
    let removed = awareness.remove_socket(&after.node, after.holding.peer);
    assert_eq!(removed.update.clients[&ClientID::new(7)].clock, 5);
    assert!(states(&awareness).is_empty());
}

#[test]
fn oversize_states_and_ids_past_the_cap_are_dropped_and_the_rest_applies() {
    let mut awareness = AwarenessStates::default();
    let ada = socket("a", 1, 1, 0);
    let big = format!(r#"{{"x":"{}"}}"#, "y".repeat(LIMIT));
    let mut message = update(1, 1, &big);
    message.clients.extend(update(2, 1, "{}").clients);
    let (changed, refused) = local(&mut awareness, &ada, message);
    assert_eq!((changed, refused), (vec![2], vec![(1, Refused::TooLarge)]));
    for client in 3..=10 {
        local(&mut awareness, &ada, update(client, 1, "{}"));
    }
    assert_eq!(
        states(&awareness).len(),
        MAX_CLIENTS_PER_SOCKET,
        "a socket introduces at most {MAX_CLIENTS_PER_SOCKET} ids"
    );
}

#[test]
fn removing_a_socket_bumps_its_clients_clocks_and_other_nodes_follow() {
    let mut here = AwarenessStates::default();
    let mut there = AwarenessStates::default();
    let ada = socket("a", 7, 1, 0);
    let (changed, _) = here.apply_local(&ada, update(7, 2, r#"{"c":1}"#), LIMIT);
    relay(&mut there, "a", changed);
    assert_eq!(states(&there), vec![(7, 2, r#"{"c":1}"#.into())]);
    let removal = here.remove_socket(&ada.node, ada.holding.peer);
    let entry = &removal.update.clients[&ClientID::new(7)];
    assert_eq!((entry.clock, &*entry.json), (3, "null"));
    assert!(states(&here).is_empty());
    relay(&mut there, "a", removal);
    assert!(states(&there).is_empty());
}

#[test]
fn a_socket_on_another_node_cannot_take_an_id_held_here() {
    let mut a = AwarenessStates::default();
    let mut b = AwarenessStates::default();
    let owner = socket("a", 1, 1, 10);
    let (changed, _) = a.apply_local(&owner, update(7, 2, r#"{"name":"Owner"}"#), LIMIT);
    relay(&mut b, "a", changed);
    // Node b knows the holder and refuses its own socket…
    let viewer = socket("b", 1, 2, 20);
    let (changed, refused) = b.apply_local(&viewer, update(7, 9, r#"{"x":1}"#), LIMIT);
    assert!(changed.is_empty());
    assert_eq!(refused, vec![(ClientID::new(7), Refused::NotHolder)]);
    // …and a message naming another holder is refused by a too.
    let forged = Changed {
        update: update(7, 9, "null"),
        holders: HashMap::from([(ClientID::new(7), viewer.holding)]),
    };
    assert!(relay(&mut a, "b", forged).is_empty());
    assert_eq!(states(&a), vec![(7, 2, r#"{"name":"Owner"}"#.into())]);
}

#[test]
fn two_nodes_that_let_two_users_introduce_one_id_agree_on_the_earlier() {
    let mut a = AwarenessStates::default();
    let mut b = AwarenessStates::default();
    let owner = socket("a", 1, 1, 10);
    let usurper = socket("b", 1, 2, 20);
    // Each node takes its own socket's introduction before hearing of the other.
    let (from_a, _) = a.apply_local(&owner, update(7, 2, r#"{"name":"Owner"}"#), LIMIT);
    let (from_b, _) = b.apply_local(&usurper, update(7, 50, r#"{"name":"SPOOFED"}"#), LIMIT);
    assert!(relay(&mut a, "b", from_b).is_empty(), "a keeps the earlier");
    let fixed = relay(&mut b, "a", from_a);
    assert_eq!(fixed.update.clients.len(), 1, "b's peers are told");
    for node in [&a, &b] {
        assert_eq!(states(node), vec![(7, 2, r#"{"name":"Owner"}"#.into())]);
    }
    // The usurper no longer holds it on its own node.
    let (_, refused) = b.apply_local(&usurper, update(7, 51, "null"), LIMIT);
    assert_eq!(refused, vec![(ClientID::new(7), Refused::NotHolder)]);
    assert!(
        b.remove_socket(&usurper.node, usurper.holding.peer)
            .is_empty()
    );
}
