//! Chat's social side: receipts, reaction toggles, invite tokens (single use, multi use,
//! expiry, revocation, concurrent redemption) and search within what a user may read.

use std::sync::Arc;

use chrono::Duration;
use tandem_domain::{Emoji, InviteRefusal, RoomInvite, RoomInviteId, TokenHash, Visibility};

use crate::Fixture;

fn token(text: &str) -> TokenHash {
    TokenHash(format!("hash-of-{text}"))
}

impl Fixture {
    async fn invite(
        &self,
        room: &tandem_domain::Room,
        max_uses: Option<u32>,
        text: &str,
    ) -> RoomInvite {
        self.tick();
        let invite = RoomInvite {
            id: RoomInviteId::new(self.now()),
            room_id: room.id,
            created_by: room.created_by,
            max_uses,
            uses: 0,
            expires_at: Some(self.now() + Duration::days(1)),
            revoked_at: None,
            created_at: self.now(),
        };
        self.store
            .create_room_invite(&invite, &token(text))
            .await
            .unwrap();
        invite
    }
}

#[tokio::test]
async fn receipts_list_who_has_read_up_to_a_message() {
    let f = Fixture::new().await;
    let (ada, project, _) = f.desk().await;
    let bob = f.user("bob@example.com").await;
    let room = f.room(&project, &ada, Visibility::Public).await;
    f.store.join_room(room.id, bob.id, f.now()).await.unwrap();
    let first = f.post(&room, &ada, "one", &[]).await;
    let second = f.post(&room, &ada, "two", &[]).await;
    f.store
        .mark_read(room.id, ada.id, second.seq)
        .await
        .unwrap();
    f.store.mark_read(room.id, bob.id, first.seq).await.unwrap();
    let readers = |seq| {
        let store = Arc::clone(&f.store);
        async move {
            store
                .receipts(room.id, seq)
                .await
                .unwrap()
                .iter()
                .map(|m| m.user_id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(readers(first.seq).await, [ada.id, bob.id]);
    assert_eq!(readers(second.seq).await, [ada.id]);
}

#[tokio::test]
async fn a_reaction_toggles_per_user_and_groups_by_emoji() {
    let f = Fixture::new().await;
    let (ada, project, _) = f.desk().await;
    let bob = f.user("bob@example.com").await;
    let room = f.room(&project, &ada, Visibility::Public).await;
    let message = f.post(&room, &ada, "ship it?", &[]).await;
    let thumbs = Emoji::parse("👍", "emoji").unwrap();
    let party = Emoji::parse(":tada:", "emoji").unwrap();
    let (on, _) = f
        .store
        .toggle_reaction(message.id, ada.id, &thumbs, f.now())
        .await
        .unwrap()
        .unwrap();
    assert!(on);
    f.tick();
    f.store
        .toggle_reaction(message.id, bob.id, &thumbs, f.now())
        .await
        .unwrap();
    f.tick();
    let (_, reactions) = f
        .store
        .toggle_reaction(message.id, bob.id, &party, f.now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reactions.len(), 2);
    assert_eq!(
        (reactions[0].emoji.as_str(), reactions[0].users.clone()),
        ("👍", vec![ada.id, bob.id])
    );
    assert_eq!(reactions[1].users, [bob.id]);
    let (on, reactions) = f
        .store
        .toggle_reaction(message.id, ada.id, &thumbs, f.now())
        .await
        .unwrap()
        .unwrap();
    assert!(!on);
    assert_eq!(reactions[0].users, [bob.id]);
    let listed = f.store.reactions(&[message.id]).await.unwrap();
    assert_eq!(listed[0].1, reactions);
    f.store.delete_message(message.id, f.now()).await.unwrap();
    assert_eq!(
        f.store
            .toggle_reaction(message.id, ada.id, &thumbs, f.now())
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn invite_tokens_are_spent_expire_and_can_be_revoked() {
    let f = Fixture::new().await;
    let (ada, project, _) = f.desk().await;
    let bob = f.user("bob@example.com").await;
    let cy = f.user("cy@example.com").await;
    let room = f.room(&project, &ada, Visibility::Private).await;
    f.invite(&room, Some(1), "once").await;

    let (joined, member) = f
        .store
        .redeem_room_invite(&token("once"), bob.id, f.now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((joined, member.user_id), (room.id, bob.id));
    // Bob again: already a member, nothing spent; Cy: used up.
    assert!(
        f.store
            .redeem_room_invite(&token("once"), bob.id, f.now())
            .await
            .unwrap()
            .is_ok()
    );
    assert_eq!(
        f.store
            .redeem_room_invite(&token("once"), cy.id, f.now())
            .await
            .unwrap(),
        Err(InviteRefusal::UsedUp)
    );
    assert_eq!(
        f.store
            .redeem_room_invite(&token("nope"), cy.id, f.now())
            .await
            .unwrap(),
        Err(InviteRefusal::Unknown)
    );
    let multi = f.invite(&room, None, "many").await;
    f.clock.advance(Duration::days(2));
    assert_eq!(
        f.store
            .redeem_room_invite(&token("many"), cy.id, f.now())
            .await
            .unwrap(),
        Err(InviteRefusal::Expired)
    );
    assert!(
        f.store
            .revoke_room_invite(room.id, multi.id, f.now())
            .await
            .unwrap()
    );
    assert!(
        !f.store
            .revoke_room_invite(room.id, multi.id, f.now())
            .await
            .unwrap()
    );
    assert_eq!(
        f.store
            .redeem_room_invite(&token("many"), cy.id, f.now())
            .await
            .unwrap(),
        Err(InviteRefusal::Revoked)
    );
    let listed = f.store.room_invites(room.id).await.unwrap();
    assert_eq!(listed.iter().map(|i| i.uses).collect::<Vec<_>>(), [1, 0]);
}

#[tokio::test]
async fn a_single_use_token_redeemed_at_once_by_many_admits_one() {
    let f = Fixture::new().await;
    let (ada, project, _) = f.desk().await;
    let room = f.room(&project, &ada, Visibility::Private).await;
    f.invite(&room, Some(1), "race").await;
    let mut users = Vec::new();
    for n in 0..6 {
        users.push(f.user(&format!("u{n}@example.com")).await);
    }
    let tries = users.iter().map(|user| {
        let (store, id, now) = (Arc::clone(&f.store), user.id, f.now());
        tokio::spawn(async move {
            store
                .redeem_room_invite(&token("race"), id, now)
                .await
                .unwrap()
        })
    });
    let mut admitted = 0;
    for attempt in tries {
        admitted += usize::from(attempt.await.unwrap().is_ok());
    }
    assert_eq!(admitted, 1);
    assert_eq!(f.store.room_members(room.id).await.unwrap().len(), 2);
}

#[tokio::test]
async fn search_finds_words_in_rooms_the_user_may_read() {
    let f = Fixture::new().await;
    let (ada, project, _) = f.desk().await;
    let bob = f.user("bob@example.com").await;
    let public = f.room(&project, &ada, Visibility::Public).await;
    let private = f.room(&project, &ada, Visibility::Private).await;
    f.post(&public, &ada, "The deploy is green", &[]).await;
    f.post(&private, &ada, "secret deploy plan", &[]).await;
    let gone = f.post(&public, &ada, "deploy failed", &[]).await;
    f.store.delete_message(gone.id, f.now()).await.unwrap();
    f.post(&public, &ada, "lunch?", &[]).await;

    let bodies =
        |found: Vec<tandem_domain::Message>| found.into_iter().map(|m| m.body).collect::<Vec<_>>();
    assert_eq!(
        bodies(
            f.store
                .search_messages(project.id, ada.id, "DEPLOY", 10)
                .await
                .unwrap()
        ),
        ["secret deploy plan", "The deploy is green"]
    );
    assert_eq!(
        bodies(
            f.store
                .search_messages(project.id, bob.id, "deploy", 10)
                .await
                .unwrap()
        ),
        ["The deploy is green"]
    );
    assert_eq!(
        bodies(
            f.store
                .search_messages(project.id, ada.id, "deploy green", 10)
                .await
                .unwrap()
        ),
        ["The deploy is green"]
    );
    // The user's text is words, never query syntax.
    for odd in [
        "\"",
        "deploy OR",
        "NEAR(",
        "*",
        "' ; DROP TABLE messages; --",
    ] {
        f.store
            .search_messages(project.id, ada.id, odd, 10)
            .await
            .unwrap();
    }
    assert!(
        f.store
            .search_messages(project.id, ada.id, "", 10)
            .await
            .unwrap()
            .is_empty()
    );
}
