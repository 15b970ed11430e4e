//! Chat: who sees which rooms, gap-free seqs (concurrent posts too), idempotent posting
//! by client id, unread and mention counters kept at send time and recounted on read,
//! read markers that only move forward, history pages, edits and tombstones.

use std::collections::HashSet;
use std::sync::Arc;

use tandem_domain::{
    MessageBody, MessageId, Name, NewMessage, Project, Room, RoomId, Topic, User, UserId,
    Visibility,
};
use tandem_store::{HistoryPage, Posted};

use crate::Fixture;

impl Fixture {
    pub async fn room(&self, project: &Project, by: &User, visibility: Visibility) -> Room {
        self.tick();
        let room = Room {
            id: RoomId::new(self.now()),
            project_id: project.id,
            name: Name::parse("general", "name").unwrap(),
            topic: Topic::parse("chatter", "topic").unwrap(),
            visibility,
            viewers_can_post: false,
            created_by: Some(by.id),
            archived_at: None,
            last_seq: 0,
            created_at: self.now(),
            updated_at: self.now(),
        };
        self.store.create_room(&room).await.unwrap();
        room
    }

    fn message(&self, room: &Room, by: &User, body: &str, mentions: &[UserId]) -> NewMessage {
        self.tick();
        NewMessage {
            id: MessageId::new(self.now()),
            room_id: room.id,
            author_id: by.id,
            body: MessageBody::parse(body, "body").unwrap(),
            reply_to: None,
            client_id: None,
            mentions: mentions.to_vec(),
            created_at: self.now(),
        }
    }

    pub async fn post(
        &self,
        room: &Room,
        by: &User,
        body: &str,
        mentions: &[UserId],
    ) -> tandem_domain::Message {
        match self
            .store
            .post_message(&self.message(room, by, body, mentions))
            .await
            .unwrap()
        {
            Posted::Created(message) => message,
            Posted::Existing(_) => panic!("expected a new message"),
        }
    }

    async fn counts(&self, room: &Room, user: &User) -> (u64, u64, u64) {
        let m = self
            .store
            .room_member(room.id, user.id)
            .await
            .unwrap()
            .unwrap();
        (m.read_seq, m.unread_count, m.mention_count)
    }
}

#[tokio::test]
async fn members_see_public_rooms_and_only_their_private_ones() {
    let f = Fixture::new().await;
    let (ada, project, _) = f.desk().await;
    let bob = f.user("bob@example.com").await;
    let public = f.room(&project, &ada, Visibility::Public).await;
    let private = f.room(&project, &ada, Visibility::Private).await;

    let ada_sees = f.store.rooms_for(project.id, ada.id).await.unwrap();
    assert_eq!(
        ada_sees.iter().map(|l| l.room.id).collect::<Vec<_>>(),
        [public.id, private.id]
    );
    assert!(
        ada_sees.iter().all(|l| l.membership.is_some()),
        "the creator is a member"
    );
    let bob_sees = f.store.rooms_for(project.id, bob.id).await.unwrap();
    assert_eq!(bob_sees.len(), 1);
    assert_eq!(
        (bob_sees[0].room.id, bob_sees[0].membership.is_none()),
        (public.id, true)
    );

    f.store
        .join_room(private.id, bob.id, f.now())
        .await
        .unwrap();
    assert_eq!(
        f.store.rooms_for(project.id, bob.id).await.unwrap().len(),
        2
    );
    assert_eq!(f.store.count_rooms(project.id).await.unwrap(), 2);
    assert!(f.store.leave_room(private.id, bob.id).await.unwrap());
    assert!(!f.store.leave_room(private.id, bob.id).await.unwrap());
    assert_eq!(
        f.store.rooms_for(project.id, bob.id).await.unwrap().len(),
        1
    );
}

#[tokio::test]
async fn posts_count_as_unread_for_others_and_reading_moves_only_forward() {
    let f = Fixture::new().await;
    let (ada, project, _) = f.desk().await;
    let bob = f.user("bob@example.com").await;
    let cy = f.user("cy@example.com").await;
    let room = f.room(&project, &ada, Visibility::Public).await;
    f.post(&room, &ada, "before bob came", &[]).await;
    let (joined, new) = f.store.join_room(room.id, bob.id, f.now()).await.unwrap();
    assert!(new);
    assert_eq!(joined.read_seq, 1, "history before joining is not unread");
    assert!(!f.store.join_room(room.id, bob.id, f.now()).await.unwrap().1);
    f.store.join_room(room.id, cy.id, f.now()).await.unwrap();

    let first = f.post(&room, &ada, "hi @bob", &[bob.id]).await;
    assert_eq!(first.seq, 2);
    assert_eq!(first.mentions, [bob.id]);
    f.post(&room, &bob, "hello", &[bob.id]).await; // mentioning yourself is nothing
    f.post(&room, &cy, "yo", &[]).await;
    assert_eq!(f.counts(&room, &bob).await, (1, 2, 1));
    assert_eq!(f.counts(&room, &ada).await, (0, 2, 0));
    assert_eq!(f.counts(&room, &cy).await, (1, 2, 0));

    let read = f
        .store
        .mark_read(room.id, bob.id, 2)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (read.read_seq, read.unread_count, read.mention_count),
        (2, 1, 0)
    );
    let back = f
        .store
        .mark_read(room.id, bob.id, 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back.read_seq, 2, "never backwards");
    let past = f
        .store
        .mark_read(room.id, bob.id, 99)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (past.read_seq, past.unread_count),
        (4, 0),
        "never past the newest"
    );
    assert_eq!(
        f.store
            .mark_read(room.id, UserId::new(f.now()), 1)
            .await
            .unwrap(),
        None
    );

    // A message deleted before cy read it is no longer unread for cy.
    let last = f.post(&room, &ada, "oops @cy", &[cy.id]).await;
    assert_eq!(f.counts(&room, &cy).await, (1, 3, 1));
    let tomb = f
        .store
        .delete_message(last.id, f.now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            tomb.body.as_str(),
            tomb.deleted_at.is_some(),
            tomb.mentions.len()
        ),
        ("", true, 0)
    );
    assert_eq!(f.counts(&room, &cy).await, (1, 2, 0));
    assert_eq!(
        f.store.delete_message(last.id, f.now()).await.unwrap(),
        None,
        "once"
    );
    let reread = f.store.mark_read(room.id, cy.id, 5).await.unwrap().unwrap();
    assert_eq!((reread.unread_count, reread.mention_count), (0, 0));
}

#[tokio::test]
async fn a_client_id_makes_posting_idempotent_even_when_racing() {
    let f = Fixture::new().await;
    let (ada, project, _) = f.desk().await;
    let room = f.room(&project, &ada, Visibility::Public).await;
    let mut message = f.message(&room, &ada, "once", &[]);
    message.client_id = Some("c-1".into());
    let sends = (0..6).map(|n| {
        let store = Arc::clone(&f.store);
        let mut message = message.clone();
        message.id = MessageId(uuid::Uuid::now_v7());
        message.created_at += chrono::Duration::milliseconds(n);
        tokio::spawn(async move { store.post_message(&message).await.unwrap() })
    });
    let mut ids = HashSet::new();
    let mut created = 0;
    for send in sends {
        let posted = send.await.unwrap();
        created += usize::from(matches!(posted, Posted::Created(_)));
        ids.insert(posted.message().id);
    }
    assert_eq!((created, ids.len()), (1, 1));
    let next = f.post(&room, &ada, "next", &[]).await;
    assert_eq!(next.seq, 2, "seqs stay gap-free");
}

#[tokio::test]
async fn concurrent_posts_get_gap_free_seqs() {
    let f = Fixture::new().await;
    let (ada, project, _) = f.desk().await;
    let room = f.room(&project, &ada, Visibility::Public).await;
    let posts = (0..40).map(|_| {
        let store = Arc::clone(&f.store);
        let mut message = f.message(&room, &ada, "x", &[]);
        message.id = MessageId(uuid::Uuid::now_v7());
        tokio::spawn(async move { store.post_message(&message).await.unwrap().message().seq })
    });
    let mut seqs = Vec::new();
    for post in posts {
        seqs.push(post.await.unwrap());
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=40).collect::<Vec<_>>());
}

#[tokio::test]
async fn history_pages_walk_both_ways_without_gaps_or_repeats() {
    let f = Fixture::new().await;
    let (ada, project, _) = f.desk().await;
    let room = f.room(&project, &ada, Visibility::Public).await;
    for n in 1..=25 {
        f.post(&room, &ada, &format!("m{n}"), &[]).await;
    }
    let seqs = |page: Vec<tandem_domain::Message>| page.iter().map(|m| m.seq).collect::<Vec<_>>();
    let latest = f
        .store
        .history(room.id, HistoryPage::Latest, 10)
        .await
        .unwrap();
    assert_eq!(seqs(latest), (16..=25).rev().collect::<Vec<_>>());
    let mut backwards = Vec::new();
    let mut cursor = 26;
    loop {
        let page = f
            .store
            .history(room.id, HistoryPage::Before(cursor), 7)
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        cursor = last.seq;
        backwards.extend(seqs(page));
    }
    assert_eq!(backwards, (1..=25).rev().collect::<Vec<_>>());
    let mut forwards = Vec::new();
    let mut cursor = 0;
    loop {
        let page = f
            .store
            .history(room.id, HistoryPage::After(cursor), 7)
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        cursor = last.seq;
        forwards.extend(seqs(page));
    }
    assert_eq!(forwards, (1..=25).collect::<Vec<_>>());
    let around = f
        .store
        .history(room.id, HistoryPage::Around(10), 6)
        .await
        .unwrap();
    assert_eq!(seqs(around), [7, 8, 9, 10, 11, 12]);
}

#[tokio::test]
async fn an_edit_keeps_its_place_and_time_and_replaces_mentions() {
    let f = Fixture::new().await;
    let (ada, project, _) = f.desk().await;
    let bob = f.user("bob@example.com").await;
    let room = f.room(&project, &ada, Visibility::Public).await;
    let posted = f.post(&room, &ada, "hi @bob", &[bob.id]).await;
    f.tick();
    let edited = f
        .store
        .edit_message(posted.id, "hi all", &[], f.now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((edited.seq, edited.body.as_str()), (posted.seq, "hi all"));
    assert_eq!(edited.edited_at, Some(f.now()));
    assert_eq!(edited.created_at, posted.created_at);
    assert!(edited.mentions.is_empty());
    assert_eq!(
        f.store.message_by_id(posted.id).await.unwrap(),
        Some(edited)
    );
    f.store.delete_message(posted.id, f.now()).await.unwrap();
    assert_eq!(
        f.store
            .edit_message(posted.id, "back", &[], f.now())
            .await
            .unwrap(),
        None
    );
    f.store.delete_room(room.id).await.unwrap();
    assert_eq!(f.store.message_by_id(posted.id).await.unwrap(), None);
}

#[tokio::test]
async fn racing_reads_posts_and_deletes_keep_markers_forward_and_counts_exact() {
    let f = Fixture::new().await;
    let (ada, project, _) = f.desk().await;
    let bob = f.user("bob@example.com").await;
    let room = f.room(&project, &ada, Visibility::Public).await;
    f.store.join_room(room.id, bob.id, f.now()).await.unwrap();
    let read = |seq: u64| {
        let store = Arc::clone(&f.store);
        let (room, bob) = (room.id, bob.id);
        tokio::spawn(async move { store.mark_read(room, bob, seq).await.unwrap() })
    };

    // Two reads at once: the marker ends at the higher, whichever commits last.
    for round in 1..=12 {
        f.post(&room, &ada, "x", &[bob.id]).await;
        f.post(&room, &ada, "y", &[bob.id]).await;
        let (high, low) = (read(2 * round), read(2 * round - 1));
        high.await.unwrap();
        low.await.unwrap();
        assert_eq!(
            f.counts(&room, &bob).await,
            (2 * round, 0, 0),
            "round {round}"
        );
    }

    // Posts, deletes and reads at once: the kept counters equal a recount.
    let mut tasks = Vec::new();
    let mut doomed = Vec::new();
    for n in 0..12 {
        doomed.push(f.post(&room, &ada, "doomed", &[bob.id]).await.id);
        let store = Arc::clone(&f.store);
        let mut message = f.message(&room, &ada, "racing", &[bob.id]);
        message.id = MessageId(uuid::Uuid::now_v7());
        tasks.push(tokio::spawn(async move {
            store.post_message(&message).await.unwrap();
        }));
        let store = Arc::clone(&f.store);
        let (id, at) = (doomed[n], f.now());
        tasks.push(tokio::spawn(async move {
            store.delete_message(id, at).await.unwrap();
        }));
        let reading = read(24 + 2 * n as u64);
        tasks.push(tokio::spawn(async move {
            reading.await.unwrap();
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let (read_seq, unread, mentions) = f.counts(&room, &bob).await;
    let live_after = f
        .store
        .history(room.id, HistoryPage::After(read_seq), 100)
        .await
        .unwrap()
        .iter()
        .filter(|m| m.deleted_at.is_none())
        .count() as u64;
    assert_eq!(
        (unread, mentions),
        (live_after, live_after),
        "marker at {read_seq}"
    );
}

#[tokio::test]
async fn a_post_returns_the_message_exactly_as_it_reads_back() {
    let f = Fixture::new().await;
    let (ada, project, _) = f.desk().await;
    let bob = f.user("bob@example.com").await;
    let cat = f.user("cat@example.com").await;
    let room = f.room(&project, &ada, Visibility::Public).await;
    for user in [&bob, &cat] {
        f.store.join_room(room.id, user.id, f.now()).await.unwrap();
    }
    let first = f.post(&room, &ada, "first", &[]).await;
    let mut message = f.message(&room, &ada, "hi @cat @bob @me", &[cat.id, ada.id, bob.id]);
    message.created_at += chrono::Duration::nanoseconds(1_234);
    message.reply_to = Some(first.id);
    message.client_id = Some("c-7".into());
    let Posted::Created(posted) = f.store.post_message(&message).await.unwrap() else {
        panic!("expected a new message");
    };
    let read = f.store.message_by_id(posted.id).await.unwrap().unwrap();
    assert_eq!(posted, read);
    assert_eq!(
        posted.mentions.len(),
        2,
        "the author's own mention is dropped"
    );
    assert_eq!(posted.seq, 2);
}
