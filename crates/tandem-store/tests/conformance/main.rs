//! The storage contract: every test here runs on whichever backend `TestDatabase` picks
//! (SQLite by default, PostgreSQL when `TANDEM_TEST_DATABASE_URL` is set), and both
//! backends must pass all of it.
//!
//! This file holds the fixture and the tests of the store as a whole; each aggregate's
//! tests live in a module of their own.

mod acceptance;
mod audit;
mod chat;
mod chat_social;
mod documents;
mod files;
mod invitations;
mod jobs;
mod jobs_submission;
mod members;
mod presence;
mod projects;
mod rotation;
mod row_conversions;
mod row_ddl;
mod row_query;
mod row_speed;
mod row_trash;
mod row_updates;
mod rows;
mod sessions;
mod table_fields;
mod tables;
mod users;
mod workspaces;

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
use tandem_domain::{
    AuditContext, AuditEntry, AuditFilter, Clock, Description, DisplayName, Email, Invitation,
    InvitationId, ManualClock, Member, Membership, Name, NewInvitation, NewSession, Project,
    ProjectId, Role, Rotation, Session, SessionId, SystemClock, TokenHash, User, UserId, Workspace,
    WorkspaceId,
};
use tandem_store::Store;
use tandem_store::testing::{TestDatabase, backend_under_test};

/// A store on a fresh database, with the database kept alive beside it.
struct Fixture {
    store: Arc<dyn Store>,
    clock: ManualClock,
    /// The database itself, for raw SQL. Declared last so it is dropped after the store.
    db: TestDatabase,
}

impl Fixture {
    async fn new() -> Self {
        let db = TestDatabase::create().await;
        let store = db.store().await;
        assert_eq!(store.backend_name(), backend_under_test());
        Self {
            store,
            clock: ManualClock::starting_now(),
            db,
        }
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    async fn user(&self, email: &str) -> User {
        self.named_user(email, "Ada Lovelace").await
    }

    async fn named_user(&self, email: &str, name: &str) -> User {
        let now = self.now();
        let user = User {
            id: UserId::new(now),
            email: Email::parse(email).unwrap(),
            name: DisplayName::parse(name).unwrap(),
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

/// The request id every [`Fixture::audit_ctx`] carries.
const REQUEST_ID: &str = "req-conformance";

/// Tenancy: projects, members, invitations, workspaces and their audit rows.
impl Fixture {
    /// A request by `actor` at the clock's current time.
    fn audit_ctx(&self, actor: &User) -> AuditContext {
        AuditContext {
            actor: actor.id,
            request_id: Some(REQUEST_ID.to_owned()),
            at: self.now(),
        }
    }

    /// Steps the clock by a millisecond, so that each thing made sorts after the last.
    fn tick(&self) {
        self.clock.advance(Duration::milliseconds(1));
    }

    /// Creates a project named `name` with `owner` as its owner.
    async fn project(&self, owner: &User, name: &str) -> Project {
        self.tick();
        let now = self.now();
        let project = Project {
            id: ProjectId::new(now),
            name: name_of(name),
            description: Description::parse("A project under test").unwrap(),
            created_at: now,
            updated_at: now,
        };
        self.store
            .create_project(&project, owner.id, &self.audit_ctx(owner))
            .await
            .unwrap();
        project
    }

    /// Adds `user` to `project` with `role`, as `by`.
    async fn add_member(&self, project: &Project, user: &User, role: Role, by: &User) -> Member {
        self.tick();
        let membership = Membership {
            project_id: project.id,
            user_id: user.id,
            role,
            joined_at: self.now(),
        };
        self.store
            .add_member(&membership, &self.audit_ctx(by))
            .await
            .unwrap()
    }

    /// An invitation to `project` as `role` for `email` (anyone if `None`), by `by`,
    /// whose token is `token` (see [`hash`]) and which expires in 7 days.
    async fn invitation(
        &self,
        project: &Project,
        by: &User,
        email: Option<&str>,
        role: Role,
        token: &str,
    ) -> Invitation {
        self.tick();
        let now = self.now();
        let invitation = Invitation {
            id: InvitationId::new(now),
            project_id: project.id,
            email: email.map(|e| Email::parse(e).unwrap()),
            role,
            created_by: by.id,
            created_at: now,
            expires_at: now + Duration::days(7),
            accepted_at: None,
            accepted_by: None,
            revoked_at: None,
        };
        let new = NewInvitation {
            invitation: invitation.clone(),
            token_hash: hash(token),
        };
        self.store
            .create_invitation(&new, &self.audit_ctx(by))
            .await
            .unwrap();
        invitation
    }

    /// A workspace named `name` in `project` with settings `{"theme": "dark"}`, by `by`.
    async fn workspace(&self, project: &Project, by: &User, name: &str) -> Workspace {
        self.tick();
        let now = self.now();
        let workspace = Workspace {
            id: WorkspaceId::new(now),
            project_id: project.id,
            name: name_of(name),
            settings: settings(serde_json::json!({ "theme": "dark" })),
            created_at: now,
            updated_at: now,
        };
        self.store
            .create_workspace(&workspace, &self.audit_ctx(by))
            .await
            .unwrap();
        workspace
    }

    /// `user`'s role in `project`; `None` if not a member.
    async fn role_of(&self, project: ProjectId, user: UserId) -> Option<Role> {
        let membership = self.store.membership(project, user).await.unwrap();
        membership.map(|m| m.role)
    }

    /// Every audit row of `project`, oldest first.
    async fn audit_log(&self, project: ProjectId) -> Vec<AuditEntry> {
        self.store
            .list_audit(project, &AuditFilter::default(), None, 10_000)
            .await
            .unwrap()
    }

    /// The newest audit row of `project`.
    async fn last_audit(&self, project: ProjectId) -> AuditEntry {
        self.audit_log(project)
            .await
            .pop()
            .expect("the project has audit rows")
    }
}

/// Checks one audit row: written by `actor` under [`REQUEST_ID`] at `at`, with the given
/// action, target and JSON states before and after.
#[expect(clippy::too_many_arguments, reason = "one argument per audited column")]
fn assert_audit(
    entry: &AuditEntry,
    project: ProjectId,
    actor: &User,
    at: DateTime<Utc>,
    action: &str,
    target: (&str, String),
    before: Option<Value>,
    after: Option<Value>,
) {
    assert_eq!(entry.project_id, project, "project of {action}");
    assert_eq!(entry.actor, actor.id, "actor of {action}");
    assert_eq!(entry.action, action);
    assert_eq!(
        (entry.target_type.as_str(), entry.target_id.clone()),
        target,
        "target of {action}"
    );
    assert_eq!(
        entry.request_id.as_deref(),
        Some(REQUEST_ID),
        "request id of {action}"
    );
    assert_eq!(entry.before, before, "before of {action}");
    assert_eq!(entry.after, after, "after of {action}");
    assert_eq!(entry.at, at, "time of {action}");
}

/// `value` as the JSON an audit row records.
fn state(value: &impl Serialize) -> Option<Value> {
    Some(serde_json::to_value(value).unwrap())
}

fn name_of(raw: &str) -> Name {
    Name::parse(raw, "name").unwrap()
}

/// A JSON object, for workspace settings.
fn settings(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("settings must be an object, got {other}"),
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
