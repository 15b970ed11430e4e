//! One channel's presence as one node knows it: the entries, indexed by user, and the
//! members that changed since the last diff went out.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use tandem_domain::UserId;
use tokio::sync::watch;

use super::{EntryKey, Member, PresenceEntry, sort};

/// A change to one entry.
#[derive(Debug, Clone)]
pub(crate) enum Change {
    Put(PresenceEntry),
    Remove(EntryKey),
}

/// The entries of one channel, by user, and the owner of each entry.
#[derive(Debug, Default)]
pub(crate) struct Entries {
    by_user: HashMap<UserId, BTreeMap<EntryKey, PresenceEntry>>,
    owners: HashMap<EntryKey, UserId>,
}

impl Entries {
    /// The users whose member this change may alter.
    fn affected(&self, change: &Change) -> Vec<UserId> {
        match change {
            Change::Put(entry) => {
                let mut users = vec![entry.user_id];
                users.extend(
                    self.owners
                        .get(&entry.key())
                        .filter(|u| **u != entry.user_id),
                );
                users
            }
            Change::Remove(key) => self.owners.get(key).copied().into_iter().collect(),
        }
    }

    fn apply(&mut self, change: Change) {
        match change {
            Change::Put(entry) => {
                let key = entry.key();
                self.remove(&key);
                self.owners.insert(key.clone(), entry.user_id);
                self.by_user
                    .entry(entry.user_id)
                    .or_default()
                    .insert(key, entry);
            }
            Change::Remove(key) => self.remove(&key),
        }
    }

    fn remove(&mut self, key: &EntryKey) {
        let Some(user) = self.owners.remove(key) else {
            return;
        };
        if let Some(entries) = self.by_user.get_mut(&user) {
            entries.remove(key);
            if entries.is_empty() {
                self.by_user.remove(&user);
            }
        }
    }

    pub(crate) fn member(&self, user: UserId) -> Option<Member> {
        Member::of(self.by_user.get(&user)?.values())
    }

    pub(crate) fn members(&self) -> Vec<Member> {
        let mut members: Vec<Member> = self
            .by_user
            .values()
            .filter_map(|entries| Member::of(entries.values()))
            .collect();
        sort(&mut members);
        members
    }

    /// Every entry held by `node`.
    pub(crate) fn of_node(&self, node: &str) -> Vec<PresenceEntry> {
        self.by_user
            .values()
            .flat_map(BTreeMap::values)
            .filter(|entry| &*entry.node == node)
            .cloned()
            .collect()
    }

    fn users(&self) -> impl Iterator<Item = UserId> + '_ {
        self.by_user.keys().copied()
    }
}

/// One channel watched by this node's clients.
#[derive(Debug)]
pub(crate) struct Replica {
    /// How many of this node's connections are present here.
    pub(crate) local: usize,
    /// True once the first load from the roster is in.
    pub(crate) ready: watch::Sender<bool>,
    /// While a load from the roster is in flight, the changes that arrived meanwhile,
    /// to be applied again on top of what it returns.
    pub(crate) loading: Option<Vec<Change>>,
    entries: Entries,
    /// Each member changed since the last diff, as it was then.
    baseline: HashMap<UserId, Option<Member>>,
}

impl Replica {
    /// A replica about to be loaded for its first local connection.
    pub(crate) fn new() -> Self {
        Self {
            local: 0,
            ready: watch::Sender::new(false),
            loading: Some(Vec::new()),
            entries: Entries::default(),
            baseline: HashMap::new(),
        }
    }

    pub(crate) fn entries(&self) -> &Entries {
        &self.entries
    }

    /// Applies a change, remembering how the members it touches looked before.
    pub(crate) fn change(&mut self, change: Change) {
        for user in self.entries.affected(&change) {
            let before = self.entries.member(user);
            self.baseline.entry(user).or_insert(before);
        }
        if let Some(pending) = &mut self.loading {
            pending.push(change.clone());
        }
        self.entries.apply(change);
    }

    /// Ends a load: the roster's entries of other nodes, this node's own entries as held
    /// in memory (they are authoritative), then the changes that arrived meanwhile.
    /// Returns the users who were members and no longer are: their entries vanished
    /// from the roster (a silent node's entries expired there before this node noticed
    /// the silence), and nobody else will report them as departed.
    pub(crate) fn reload(&mut self, loaded: Vec<PresenceEntry>, node: &Arc<str>) -> Vec<UserId> {
        let pending = self.loading.take().unwrap_or_default();
        let mut fresh = Entries::default();
        for entry in loaded.into_iter().filter(|e| e.node != *node) {
            fresh.apply(Change::Put(entry));
        }
        for entry in self.entries.of_node(node) {
            fresh.apply(Change::Put(entry));
        }
        for change in pending {
            fresh.apply(change);
        }
        let users: Vec<UserId> = self.entries.users().chain(fresh.users()).collect();
        let mut departed = Vec::new();
        for user in users {
            let (before, after) = (self.entries.member(user), fresh.member(user));
            if before.is_some() && after.is_none() && !departed.contains(&user) {
                departed.push(user);
            }
            if before != after {
                self.baseline.entry(user).or_insert(before);
            }
        }
        self.entries = fresh;
        departed
    }

    /// The net change since the last diff: members who joined or changed, members who
    /// left. Empty when every change cancelled out.
    pub(crate) fn diff(&mut self) -> (Vec<Member>, Vec<Member>) {
        let (mut joins, mut leaves) = (Vec::new(), Vec::new());
        for (user, before) in std::mem::take(&mut self.baseline) {
            let after = self.entries.member(user);
            match (before, after) {
                (before, Some(after)) if before.as_ref() != Some(&after) => joins.push(after),
                (Some(before), None) => leaves.push(before),
                _ => {}
            }
        }
        sort(&mut joins);
        sort(&mut leaves);
        (joins, leaves)
    }

    pub(crate) fn has_changes(&self) -> bool {
        !self.baseline.is_empty()
    }

    /// What a connection of `user` subscribing now is shown: the members as the
    /// channel's subscribers were told at the last diff, with `user` as they are now.
    /// The next diff is relative to the last one, so it is then right for the newcomer
    /// too: a member who joined and left in between is neither shown nor left behind.
    pub(crate) fn members_as_told(&self, user: UserId) -> Vec<Member> {
        let pending = |u: &UserId| *u != user && self.baseline.contains_key(u);
        let mut members: Vec<Member> = self
            .entries
            .members()
            .into_iter()
            .filter(|m| !pending(&m.user_id))
            .collect();
        members.extend(
            self.baseline
                .iter()
                .filter(|(u, _)| pending(u))
                .filter_map(|(_, before)| before.clone()),
        );
        sort(&mut members);
        members
    }

    /// Forgets the changes since the last diff: for a replica just loaded, whose
    /// subscribers are all about to be shown its members in full.
    pub(crate) fn settle(&mut self) {
        self.baseline.clear();
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use serde_json::Value;

    use super::*;

    fn entry(node: &str, connection: u64, user: UserId) -> PresenceEntry {
        PresenceEntry {
            node: node.into(),
            connection,
            user_id: user,
            name: "Ada".into(),
            since: Utc::now(),
            meta: Value::Null,
            updated: Utc::now(),
        }
    }

    #[test]
    fn a_reload_reports_members_whose_entries_vanished_from_the_roster() {
        let here: Arc<str> = "a".into();
        let (ada, bob) = (UserId::new(Utc::now()), UserId::new(Utc::now()));
        let mut replica = Replica::new();
        let first = vec![entry("b", 1, ada), entry("b", 2, bob), entry("c", 3, bob)];
        assert!(
            replica.reload(first, &here).is_empty(),
            "a first load departs nobody"
        );
        replica.diff();
        // Node b's entries expired: Ada is gone; Bob is still here through node c.
        let departed = replica.reload(vec![entry("c", 3, bob)], &here);
        assert_eq!(departed, [ada]);
        let (_, leaves) = replica.diff();
        assert_eq!(leaves.iter().map(|m| m.user_id).collect::<Vec<_>>(), [ada]);
    }

    #[test]
    fn a_newcomer_is_shown_what_the_next_diff_is_relative_to() {
        let users = [(); 3].map(|()| UserId::new(Utc::now()));
        let [ada, bob, cat] = users;
        let ids = |members: &[Member]| members.iter().map(|m| m.user_id).collect::<Vec<_>>();
        let mut replica = Replica::new();
        replica.change(Change::Put(entry("a", 1, ada)));
        replica.diff();
        // Bob joins; before the next diff Cat subscribes, then Bob leaves.
        replica.change(Change::Put(entry("a", 2, bob)));
        replica.change(Change::Put(entry("a", 3, cat)));
        let shown = replica.members_as_told(cat);
        assert_eq!(
            ids(&shown),
            [ada, cat],
            "Bob is not shown before his join's diff"
        );
        replica.change(Change::Remove(("a".into(), 2)));
        let (joins, leaves) = replica.diff();
        assert_eq!((ids(&joins), ids(&leaves)), (vec![cat], vec![]));
        // Ada leaves before the next diff and Bob subscribes: he is shown her, and told.
        replica.change(Change::Remove(("a".into(), 1)));
        replica.change(Change::Put(entry("a", 4, bob)));
        assert_eq!(ids(&replica.members_as_told(bob)), [ada, cat, bob]);
        let (joins, leaves) = replica.diff();
        assert_eq!((ids(&joins), ids(&leaves)), (vec![bob], vec![ada]));
    }
}
