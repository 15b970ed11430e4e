//! The storage contract: every test here runs on whichever backend `TestDatabase` picks
//! (SQLite by default, PostgreSQL when `TANDEM_TEST_DATABASE_URL` is set), and both
//! backends must pass all of it.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use tandem_domain::{
    Clock, DisplayName, Email, ManualClock, NewSession, RefreshTokenHash, Rotation, Session,
    SessionId, SystemClock, User, UserId,
};
use tandem_store::testing::{TestDatabase, backend_under_test};
use tandem_store::{Store, StoreError};

/// A store on a fresh database, with the database kept alive beside it.
struct Fixture {
    store: Arc<dyn Store>,
    clock: ManualClock,
    // Declared last so it is dropped after the store.
    _db: TestDatabase,
}

impl Fixture {
    async fn new() -> Self {
        let db = TestDatabase::create().await;
        let store = db.store().await;
        assert_eq!(store.backend_name(), backend_under_test());
        Self {
            store,
            clock: ManualClock::starting_now(),
            _db: db,
        }
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    async fn user(&self, email: &str) -> User {
        let now = self.now();
        let user = User {
            id: UserId::new(now),
            email: Email::parse(email).unwrap(),
            name: DisplayName::parse("Ada Lovelace").unwrap(),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
            created_at: now,
            updated_at: now,
        };
        self.store.create_user(&user).await.unwrap();
        user
    }

    /// Opens a session for `user` whose first refresh token is `token` (valid 30 days).
    async fn session(&self, user: &User, token: &str) -> Session {
        // Ids are UUIDv7 stamped with the clock: step it so each session sorts after the last.
        self.clock.advance(Duration::milliseconds(1));
        let now = self.now();
        let new = NewSession {
            id: SessionId::new(now),
            user_id: user.id,
            user_agent: Some("conformance/1.0".to_owned()),
            ip: Some("192.0.2.7".to_owned()),
            created_at: now,
            refresh_token: hash(token),
            refresh_expires_at: now + Duration::days(30),
        };
        self.store.create_session(&new).await.unwrap()
    }

    async fn rotate(&self, presented: &str, next: &str) -> Rotation {
        let now = self.now();
        self.store
            .rotate_refresh_token(&hash(presented), &hash(next), now + Duration::days(30), now)
            .await
            .unwrap()
    }
}

/// Stands in for the SHA-256 hex the API stores; the store treats it as opaque.
fn hash(token: &str) -> RefreshTokenHash {
    RefreshTokenHash(format!("hash-of-{token}"))
}

fn ids(sessions: &[Session]) -> Vec<SessionId> {
    sessions.iter().map(|s| s.id).collect()
}

#[tokio::test]
async fn a_created_user_can_be_found_by_id_and_by_email() {
    let f = Fixture::new().await;
    let user = f.user("ada@example.com").await;

    assert_eq!(
        f.store.user_by_id(user.id).await.unwrap(),
        Some(user.clone())
    );
    assert_eq!(
        f.store.user_by_email("ada@example.com").await.unwrap(),
        Some(user)
    );
}

#[tokio::test]
async fn unknown_users_are_none() {
    let f = Fixture::new().await;
    f.user("ada@example.com").await;

    assert_eq!(
        f.store.user_by_id(UserId::new(f.now())).await.unwrap(),
        None
    );
    assert_eq!(
        f.store.user_by_email("bob@example.com").await.unwrap(),
        None
    );
}

#[tokio::test]
async fn a_second_account_with_the_same_email_is_a_conflict() {
    let f = Fixture::new().await;
    let first = f.user("ada@example.com").await;
    let mut second = first.clone();
    second.id = UserId::new(f.now() + Duration::milliseconds(1));

    let err = f.store.create_user(&second).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict("users.email")),
        "{err:?}"
    );
}

#[tokio::test]
async fn renaming_a_user_changes_the_name_and_updated_at_only() {
    let f = Fixture::new().await;
    let user = f.user("ada@example.com").await;
    f.clock.advance(Duration::minutes(5));
    let name = DisplayName::parse("Countess of Lovelace").unwrap();

    let renamed = f
        .store
        .update_user_name(user.id, &name, f.now())
        .await
        .unwrap();

    assert_eq!(renamed.name, name);
    assert_eq!(renamed.updated_at, f.now());
    assert_eq!(renamed.created_at, user.created_at);
    assert_eq!(renamed.email, user.email);
    assert_eq!(f.store.user_by_id(user.id).await.unwrap(), Some(renamed));
}

#[tokio::test]
async fn renaming_a_missing_user_is_not_found() {
    let f = Fixture::new().await;
    let name = DisplayName::parse("Nobody").unwrap();

    let err = f
        .store
        .update_user_name(UserId::new(f.now()), &name, f.now())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
}

#[tokio::test]
async fn a_new_password_hash_replaces_the_old_one() {
    let f = Fixture::new().await;
    let user = f.user("ada@example.com").await;
    f.clock.advance(Duration::seconds(1));

    f.store
        .update_password_hash(user.id, "$argon2id$new", f.now())
        .await
        .unwrap();

    let stored = f.store.user_by_id(user.id).await.unwrap().unwrap();
    assert_eq!(stored.password_hash, "$argon2id$new");
    assert_eq!(stored.updated_at, f.now());
}

#[tokio::test]
async fn a_password_hash_for_a_missing_user_is_not_found() {
    let f = Fixture::new().await;

    let err = f
        .store
        .update_password_hash(UserId::new(f.now()), "$argon2id$x", f.now())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
}

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

#[tokio::test]
async fn times_round_trip_with_microsecond_precision() {
    let f = Fixture::new().await;
    let instants = [
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap() + Duration::microseconds(1),
        Utc.with_ymd_and_hms(1999, 12, 31, 23, 59, 59).unwrap() + Duration::microseconds(999_999),
        SystemClock.now(),
    ];
    for (n, at) in instants.into_iter().enumerate() {
        let user = User {
            id: UserId::new(at),
            email: Email::parse(&format!("user{n}@example.com")).unwrap(),
            name: DisplayName::parse("Timekeeper").unwrap(),
            password_hash: "h".to_owned(),
            created_at: at,
            updated_at: at + Duration::microseconds(123_457),
        };
        f.store.create_user(&user).await.unwrap();
        let new = NewSession {
            id: SessionId::new(at),
            user_id: user.id,
            user_agent: None,
            ip: None,
            created_at: at,
            refresh_token: hash(&format!("t{n}")),
            refresh_expires_at: at + Duration::microseconds(1),
        };
        let session = f.store.create_session(&new).await.unwrap();

        assert_eq!(f.store.user_by_id(user.id).await.unwrap(), Some(user));
        assert_eq!(session.created_at, at);
        let stored = f.store.session_by_id(new.id).await.unwrap().unwrap();
        assert_eq!((stored.created_at, stored.last_used_at), (at, at));
        // The token expires one microsecond after `at`: dead at that instant, alive at `at`.
        let next = hash(&format!("next{n}"));
        let rotate_at = |now| {
            f.store
                .rotate_refresh_token(&new.refresh_token, &next, now, now)
        };
        assert_eq!(
            rotate_at(at + Duration::microseconds(1)).await.unwrap(),
            Rotation::Expired
        );
        assert!(matches!(rotate_at(at).await.unwrap(), Rotation::Rotated(_)));
    }
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

#[tokio::test]
async fn migrating_twice_changes_nothing() {
    let f = Fixture::new().await;
    let user = f.user("ada@example.com").await;

    f.store.migrate().await.unwrap();
    f.store.migrate().await.unwrap();

    assert_eq!(f.store.user_by_id(user.id).await.unwrap(), Some(user));
}

#[tokio::test]
async fn ping_answers_on_a_live_store() {
    let f = Fixture::new().await;

    f.store.ping().await.unwrap();
}
