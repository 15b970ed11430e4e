//! Sessions: opening, finding, listing and revoking them.

use chrono::Duration;
use tandem_domain::{NewSession, Rotation, SessionId, UserId};
use tandem_store::StoreError;

use crate::{Fixture, hash, ids};

#[tokio::test]
async fn a_new_session_is_active_and_its_first_token_rotates() {
    let f = Fixture::new().await;
    let user = f.user("ada@example.com").await;
    let session = f.session(&user, "t1").await;

    assert!(session.is_active());
    assert_eq!(session.user_id, user.id);
    assert_eq!(session.last_used_at, session.created_at);
    assert_eq!(session.user_agent.as_deref(), Some("conformance/1.0"));
    assert_eq!(session.ip.as_deref(), Some("192.0.2.7"));
    assert_eq!(
        f.store.session_by_id(session.id).await.unwrap(),
        Some(session.clone())
    );
    assert!(matches!(f.rotate("t1", "t2").await, Rotation::Rotated(s) if s.id == session.id));
}

#[tokio::test]
async fn a_session_without_user_agent_or_ip_stores_nulls() {
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
        refresh_expires_at: now + Duration::days(1),
    };

    let session = f.store.create_session(&new).await.unwrap();

    assert_eq!((session.user_agent, session.ip), (None, None));
}

#[tokio::test]
async fn a_session_for_a_missing_user_is_not_found() {
    let f = Fixture::new().await;
    let now = f.now();
    let new = NewSession {
        id: SessionId::new(now),
        user_id: UserId::new(now),
        user_agent: None,
        ip: None,
        created_at: now,
        refresh_token: hash("t1"),
        refresh_expires_at: now + Duration::days(1),
    };

    let err = f.store.create_session(&new).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    assert_eq!(f.store.session_by_id(new.id).await.unwrap(), None);
}

#[tokio::test]
async fn an_unknown_session_is_none() {
    let f = Fixture::new().await;

    assert_eq!(
        f.store
            .session_by_id(SessionId::new(f.now()))
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn active_sessions_are_listed_oldest_first_in_pages() {
    let f = Fixture::new().await;
    let user = f.user("ada@example.com").await;
    let other = f.user("bob@example.com").await;
    let mut sessions = Vec::new();
    for n in 0..5 {
        sessions.push(f.session(&user, &format!("ada-{n}")).await);
    }
    f.session(&other, "bob-0").await;

    let first = f
        .store
        .list_active_sessions(user.id, None, 2)
        .await
        .unwrap();
    let second = f
        .store
        .list_active_sessions(user.id, Some(first[1].id), 2)
        .await
        .unwrap();
    let third = f
        .store
        .list_active_sessions(user.id, Some(second[1].id), 2)
        .await
        .unwrap();
    let past_end = f
        .store
        .list_active_sessions(user.id, Some(third[0].id), 2)
        .await
        .unwrap();

    assert_eq!(first, sessions[0..2]);
    assert_eq!(second, sessions[2..4]);
    assert_eq!(third, sessions[4..5]);
    assert!(past_end.is_empty());
}

#[tokio::test]
async fn revoked_sessions_are_not_listed() {
    let f = Fixture::new().await;
    let user = f.user("ada@example.com").await;
    let a = f.session(&user, "a").await;
    let b = f.session(&user, "b").await;
    let c = f.session(&user, "c").await;

    assert!(f.store.revoke_session(b.id, f.now()).await.unwrap());

    let listed = f
        .store
        .list_active_sessions(user.id, None, 10)
        .await
        .unwrap();
    assert_eq!(ids(&listed), vec![a.id, c.id]);
}

#[tokio::test]
async fn revoking_a_session_says_whether_it_was_active() {
    let f = Fixture::new().await;
    let user = f.user("ada@example.com").await;
    let session = f.session(&user, "t1").await;

    assert!(f.store.revoke_session(session.id, f.now()).await.unwrap());
    assert!(!f.store.revoke_session(session.id, f.now()).await.unwrap());
    assert!(
        !f.store
            .revoke_session(SessionId::new(f.now()), f.now())
            .await
            .unwrap()
    );
    let stored = f.store.session_by_id(session.id).await.unwrap().unwrap();
    assert!(!stored.is_active());
}

#[tokio::test]
async fn revoking_other_sessions_keeps_the_named_one_and_spares_other_users() {
    let f = Fixture::new().await;
    let user = f.user("ada@example.com").await;
    let other = f.user("bob@example.com").await;
    let keep = f.session(&user, "a").await;
    f.session(&user, "b").await;
    let already = f.session(&user, "c").await;
    f.session(&user, "d").await;
    let bobs = f.session(&other, "bob").await;
    f.store.revoke_session(already.id, f.now()).await.unwrap();

    let revoked = f
        .store
        .revoke_other_sessions(user.id, Some(keep.id), f.now())
        .await
        .unwrap();

    assert_eq!(revoked, 2);
    let listed = f
        .store
        .list_active_sessions(user.id, None, 10)
        .await
        .unwrap();
    assert_eq!(ids(&listed), vec![keep.id]);
    let bob_listed = f
        .store
        .list_active_sessions(other.id, None, 10)
        .await
        .unwrap();
    assert_eq!(ids(&bob_listed), vec![bobs.id]);
}

#[tokio::test]
async fn revoking_other_sessions_without_one_to_keep_revokes_them_all() {
    let f = Fixture::new().await;
    let user = f.user("ada@example.com").await;
    f.session(&user, "a").await;
    f.session(&user, "b").await;

    let revoked = f
        .store
        .revoke_other_sessions(user.id, None, f.now())
        .await
        .unwrap();

    assert_eq!(revoked, 2);
    assert!(
        f.store
            .list_active_sessions(user.id, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
}
