//! The storage contract: every test here runs on whichever backend `TestDatabase` picks
//! (SQLite by default, PostgreSQL when `TANDEM_TEST_DATABASE_URL` is set), and both
//! backends must pass all of it.
//!
//! This file holds the fixture and the tests of the store as a whole; each aggregate's
//! tests live in a module of their own.

mod rotation;
mod sessions;
mod users;

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use tandem_domain::{
    Clock, DisplayName, Email, ManualClock, NewSession, Rotation, Session, SessionId, SystemClock,
    TokenHash, User, UserId,
};
use tandem_store::Store;
use tandem_store::testing::{TestDatabase, backend_under_test};

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
fn hash(token: &str) -> TokenHash {
    TokenHash(format!("hash-of-{token}"))
}

fn ids(sessions: &[Session]) -> Vec<SessionId> {
    sessions.iter().map(|s| s.id).collect()
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
