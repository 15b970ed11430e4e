//! Refresh-token rotation: the happy path, reuse detection, expiry, revoked sessions and
//! races between concurrent presentations of one token.

use std::sync::Arc;

use chrono::Duration;
use tandem_domain::{NewSession, Rotation, SessionId};

use crate::{Fixture, hash};

#[tokio::test]
async fn rotating_marks_the_token_used_and_the_next_token_rotates() {
    let f = Fixture::new().await;
    let user = f.user("ada@example.com").await;
    let session = f.session(&user, "t1").await;
    f.clock.advance(Duration::minutes(10));

    let Rotation::Rotated(rotated) = f.rotate("t1", "t2").await else {
        panic!("the current token should rotate");
    };
    assert_eq!(rotated.id, session.id);
    assert_eq!(rotated.last_used_at, f.now());
    assert_eq!(rotated.created_at, session.created_at);
    assert_eq!(
        f.store.session_by_id(session.id).await.unwrap(),
        Some(rotated)
    );

    f.clock.advance(Duration::minutes(10));
    assert!(matches!(f.rotate("t2", "t3").await, Rotation::Rotated(s) if s.id == session.id));
}

#[tokio::test]
async fn a_reused_token_revokes_its_session_and_the_newer_token_with_it() {
    let f = Fixture::new().await;
    let user = f.user("ada@example.com").await;
    let session = f.session(&user, "t1").await;
    assert!(matches!(f.rotate("t1", "t2").await, Rotation::Rotated(_)));
    f.clock.advance(Duration::minutes(1));

    assert_eq!(f.rotate("t1", "stolen").await, Rotation::Reused(session.id));

    let revoked = f.store.session_by_id(session.id).await.unwrap().unwrap();
    assert_eq!(revoked.revoked_at, Some(f.now()));
    assert_eq!(f.rotate("t2", "t3").await, Rotation::SessionRevoked);
    assert_eq!(f.rotate("stolen", "x").await, Rotation::Unknown);
}

#[tokio::test]
async fn reusing_a_token_of_a_revoked_session_keeps_the_first_revocation_time() {
    let f = Fixture::new().await;
    let user = f.user("ada@example.com").await;
    let session = f.session(&user, "t1").await;
    assert!(matches!(f.rotate("t1", "t2").await, Rotation::Rotated(_)));
    let revoked_at = f.now();
    assert!(
        f.store
            .revoke_session(session.id, revoked_at)
            .await
            .unwrap()
    );
    f.clock.advance(Duration::hours(1));

    assert_eq!(f.rotate("t1", "t3").await, Rotation::Reused(session.id));

    let stored = f.store.session_by_id(session.id).await.unwrap().unwrap();
    assert_eq!(stored.revoked_at, Some(revoked_at));
}

#[tokio::test]
async fn a_token_past_its_lifetime_is_expired_and_stays_unused() {
    let f = Fixture::new().await;
    let user = f.user("ada@example.com").await;
    let now = f.now();
    let new = NewSession {
        id: SessionId::new(now),
        user_id: user.id,
        user_agent: None,
        ip: None,
        created_at: now,
        refresh_token: hash("t1"),
        refresh_expires_at: now + Duration::hours(1),
    };
    f.store.create_session(&new).await.unwrap();
    let (t1, t2) = (hash("t1"), hash("t2"));
    let rotate_after = |by: Duration| {
        let at = now + by;
        f.store
            .rotate_refresh_token(&t1, &t2, at + Duration::days(1), at)
    };

    // Exactly at the expiry instant the token is already dead.
    assert_eq!(
        rotate_after(Duration::hours(1)).await.unwrap(),
        Rotation::Expired
    );
    assert_eq!(
        rotate_after(Duration::days(2)).await.unwrap(),
        Rotation::Expired
    );
    // Expiry did not consume the token: a presentation in time still rotates.
    assert!(matches!(
        rotate_after(Duration::minutes(59)).await.unwrap(),
        Rotation::Rotated(_)
    ));
}

#[tokio::test]
async fn a_token_of_a_revoked_session_does_not_rotate() {
    let f = Fixture::new().await;
    let user = f.user("ada@example.com").await;
    let session = f.session(&user, "t1").await;
    assert!(f.store.revoke_session(session.id, f.now()).await.unwrap());

    assert_eq!(f.rotate("t1", "t2").await, Rotation::SessionRevoked);
    // Refusing it did not use it up, so it is not mistaken for reuse later.
    assert_eq!(f.rotate("t1", "t2").await, Rotation::SessionRevoked);
}

#[tokio::test]
async fn a_token_never_issued_is_unknown() {
    let f = Fixture::new().await;
    let user = f.user("ada@example.com").await;
    f.session(&user, "t1").await;

    assert_eq!(f.rotate("forged", "t2").await, Rotation::Unknown);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_concurrent_rotations_of_one_token_exactly_one_rotates() {
    let f = Fixture::new().await;
    let user = f.user("ada@example.com").await;
    let session = f.session(&user, "t1").await;
    let now = f.now();

    let tasks: Vec<_> = (0..8)
        .map(|n| {
            let store = Arc::clone(&f.store);
            tokio::spawn(async move {
                store
                    .rotate_refresh_token(
                        &hash("t1"),
                        &hash(&format!("next-{n}")),
                        now + Duration::days(1),
                        now,
                    )
                    .await
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap().unwrap());
    }

    let rotated = outcomes
        .iter()
        .filter(|o| matches!(o, Rotation::Rotated(_)))
        .count();
    assert_eq!(rotated, 1, "{outcomes:?}");
    // Every other presentation came after the winner and so counts as reuse.
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, Rotation::Rotated(_)) || *o == Rotation::Reused(session.id)),
        "{outcomes:?}"
    );
}
