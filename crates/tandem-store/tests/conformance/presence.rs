//! Presence: last-seen times per workspace (or room) member, which only move forward, are
//! listed most recent first, stay within their place and go with the place or user.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use tandem_domain::{Room, User, UserId, Visibility, Workspace, WorkspaceId};
use tandem_store::{LastSeen, Place};

use crate::Fixture;

fn seen(workspace: &Workspace, user: &User, at: DateTime<Utc>) -> LastSeen {
    LastSeen {
        user_id: user.id,
        place: Place::Workspace(workspace.id),
        seen_at: at,
    }
}

impl Fixture {
    async fn record(&self, place: impl Into<Place>, user: UserId, at: DateTime<Utc>) {
        self.store
            .record_last_seen(place.into(), user, at)
            .await
            .unwrap();
    }

    async fn last_seen(&self, workspace: &Workspace) -> Vec<LastSeen> {
        self.store.last_seen(workspace.id.into()).await.unwrap()
    }
}

#[tokio::test]
async fn recorded_users_are_listed_with_their_times() {
    let f = Fixture::new().await;
    let ada = f.user("ada@example.com").await;
    let bob = f.user("bob@example.com").await;
    let project = f.project(&ada, "Apollo").await;
    let main = f.workspace(&project, &ada, "Main").await;
    let quiet = f.workspace(&project, &ada, "Quiet").await;
    assert_eq!(f.last_seen(&main).await, []);

    // Sub-microsecond digits are dropped, as for every stored time.
    let at = f.now() + Duration::nanoseconds(1_999);
    f.record(main.id, ada.id, at).await;
    f.record(main.id, bob.id, at - Duration::minutes(1)).await;

    let at = at - Duration::nanoseconds(999);
    assert_eq!(
        f.last_seen(&main).await,
        [
            seen(&main, &ada, at),
            seen(&main, &bob, at - Duration::minutes(1))
        ]
    );
    assert_eq!(f.last_seen(&quiet).await, []);
}

#[tokio::test]
async fn a_last_seen_time_only_moves_forward() {
    let f = Fixture::new().await;
    let ada = f.user("ada@example.com").await;
    let project = f.project(&ada, "Apollo").await;
    let main = f.workspace(&project, &ada, "Main").await;
    let at = f.now();
    f.record(main.id, ada.id, at).await;

    // An older report (a slow node's) changes nothing; nor does the same one again.
    for older in [at - Duration::hours(1), at - Duration::microseconds(1), at] {
        f.record(main.id, ada.id, older).await;
        assert_eq!(f.last_seen(&main).await, [seen(&main, &ada, at)], "{older}");
    }

    // A newer one is taken, to the microsecond.
    f.record(main.id, ada.id, at + Duration::microseconds(1))
        .await;
    assert_eq!(
        f.last_seen(&main).await,
        [seen(&main, &ada, at + Duration::microseconds(1))]
    );
    f.record(main.id, ada.id, at + Duration::hours(1)).await;
    assert_eq!(
        f.last_seen(&main).await,
        [seen(&main, &ada, at + Duration::hours(1))]
    );
    assert_eq!(f.db.count_rows("workspace_last_seen").await, 1);
}

#[tokio::test]
async fn the_most_recent_are_listed_first_and_ties_by_user_id() {
    let f = Fixture::new().await;
    let owner = f.user("owner@example.com").await;
    let project = f.project(&owner, "Apollo").await;
    let main = f.workspace(&project, &owner, "Main").await;
    let mut users = Vec::new();
    for n in 0..6 {
        users.push(f.user(&format!("user{n}@example.com")).await);
    }
    let at = f.now();
    // Users 0-1 and 3-5 share a time each; recorded out of order.
    let times = [
        at,
        at,
        at + Duration::seconds(5),
        at - Duration::seconds(5),
        at - Duration::seconds(5),
        at - Duration::seconds(5),
    ];
    for n in [4, 1, 5, 2, 0, 3] {
        f.record(main.id, users[n].id, times[n]).await;
    }

    let mut expected: Vec<_> = users
        .iter()
        .zip(times)
        .map(|(user, at)| seen(&main, user, at))
        .collect();
    expected.sort_by(|a, b| b.seen_at.cmp(&a.seen_at).then(a.user_id.cmp(&b.user_id)));
    assert_eq!(f.last_seen(&main).await, expected);
    assert_eq!(expected[0].user_id, users[2].id);
    assert!(expected[1..3].iter().all(|s| s.seen_at == at));
}

#[tokio::test]
async fn each_workspace_keeps_its_own_times() {
    let f = Fixture::new().await;
    let ada = f.user("ada@example.com").await;
    let bob = f.user("bob@example.com").await;
    let apollo = f.project(&ada, "Apollo").await;
    let gemini = f.project(&ada, "Gemini").await;
    let main = f.workspace(&apollo, &ada, "Main").await;
    let scratch = f.workspace(&apollo, &ada, "Scratch").await;
    let other = f.workspace(&gemini, &ada, "Main").await;
    let at = f.now();

    f.record(main.id, ada.id, at).await;
    f.record(scratch.id, ada.id, at - Duration::hours(2)).await;
    f.record(other.id, ada.id, at + Duration::hours(2)).await;
    f.record(scratch.id, bob.id, at).await;
    // Moving one workspace's time forward leaves the others alone.
    f.record(main.id, ada.id, at + Duration::hours(3)).await;

    assert_eq!(
        f.last_seen(&main).await,
        [seen(&main, &ada, at + Duration::hours(3))]
    );
    assert_eq!(
        f.last_seen(&scratch).await,
        [
            seen(&scratch, &bob, at),
            seen(&scratch, &ada, at - Duration::hours(2))
        ]
    );
    assert_eq!(
        f.last_seen(&other).await,
        [seen(&other, &ada, at + Duration::hours(2))]
    );
}

#[tokio::test]
async fn times_go_with_their_workspace_and_later_reports_for_it_are_ignored() {
    let f = Fixture::new().await;
    let ada = f.user("ada@example.com").await;
    let bob = f.user("bob@example.com").await;
    let apollo = f.project(&ada, "Apollo").await;
    let gemini = f.project(&ada, "Gemini").await;
    let main = f.workspace(&apollo, &ada, "Main").await;
    let kept = f.workspace(&apollo, &ada, "Kept").await;
    let other = f.workspace(&gemini, &ada, "Other").await;
    let at = f.now();
    for workspace in [&main, &kept, &other] {
        f.record(workspace.id, ada.id, at).await;
        f.record(workspace.id, bob.id, at).await;
    }
    f.tick();

    f.store
        .delete_workspace(main.id, &f.audit_ctx(&ada))
        .await
        .unwrap();
    assert_eq!(f.last_seen(&main).await, []);
    assert_eq!(f.db.count_rows("workspace_last_seen").await, 4);

    // A departure reported after the deletion (a dead node found late) is no error.
    f.record(main.id, ada.id, at + Duration::hours(1)).await;
    assert_eq!(f.last_seen(&main).await, []);
    // Nor is one for a workspace that never existed.
    let missing = WorkspaceId::new(f.now());
    f.record(missing, ada.id, at).await;
    assert_eq!(f.store.last_seen(missing.into()).await.unwrap(), []);
    assert_eq!(f.db.count_rows("workspace_last_seen").await, 4);

    // Deleting a project takes its workspaces' times with it.
    f.store.delete_project(gemini.id).await.unwrap();
    assert_eq!(f.last_seen(&other).await, []);
    let mut both = vec![seen(&kept, &ada, at), seen(&kept, &bob, at)];
    both.sort_by_key(|s| s.user_id);
    assert_eq!(f.last_seen(&kept).await, both);
    assert_eq!(f.db.count_rows("workspace_last_seen").await, 2);
}

#[tokio::test]
async fn times_go_with_their_user_and_later_reports_for_it_are_ignored() {
    let f = Fixture::new().await;
    let ada = f.user("ada@example.com").await;
    let bob = f.user("bob@example.com").await;
    let project = f.project(&ada, "Apollo").await;
    let main = f.workspace(&project, &ada, "Main").await;
    let scratch = f.workspace(&project, &ada, "Scratch").await;
    let at = f.now();
    for workspace in [&main, &scratch] {
        f.record(workspace.id, ada.id, at).await;
        f.record(workspace.id, bob.id, at + Duration::seconds(1))
            .await;
    }

    // The stores never delete an account; the schema must still cascade when one goes.
    let deleted =
        f.db.execute(&format!("DELETE FROM users WHERE id = '{}'", bob.id))
            .await
            .unwrap();
    assert_eq!(deleted, 1);

    assert_eq!(f.last_seen(&main).await, [seen(&main, &ada, at)]);
    assert_eq!(f.last_seen(&scratch).await, [seen(&scratch, &ada, at)]);
    f.record(main.id, bob.id, at + Duration::hours(1)).await;
    f.record(main.id, UserId::new(f.now()), at).await;
    assert_eq!(f.last_seen(&main).await, [seen(&main, &ada, at)]);
    assert_eq!(f.db.count_rows("workspace_last_seen").await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_concurrent_reports_the_newest_time_stays() {
    let f = Fixture::new().await;
    let ada = f.user("ada@example.com").await;
    let bob = f.user("bob@example.com").await;
    let project = f.project(&ada, "Apollo").await;
    let main = f.workspace(&project, &ada, "Main").await;
    let at = f.now();
    // 16 reports per user with distinct times, in no particular order: Ada's newest is
    // neither sent first nor last, Bob's is sent first.
    let offsets: Vec<i64> = (0..16).map(|n| (n * 7) % 16).collect();
    assert_eq!(offsets.iter().max(), Some(&15));

    let tasks: Vec<_> = offsets
        .iter()
        .flat_map(|&n| [(ada.id, n), (bob.id, 100 - n)])
        .map(|(user, n)| {
            let store = Arc::clone(&f.store);
            let (workspace, seen_at) = (main.id, at + Duration::milliseconds(n));
            tokio::spawn(async move {
                store
                    .record_last_seen(workspace.into(), user, seen_at)
                    .await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }

    let expected = [
        seen(&main, &bob, at + Duration::milliseconds(100)),
        seen(&main, &ada, at + Duration::milliseconds(15)),
    ];
    assert_eq!(f.last_seen(&main).await, expected);
    assert_eq!(f.db.count_rows("workspace_last_seen").await, 2);

    // 16 older reports at once, all with one time, change nothing.
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let store = Arc::clone(&f.store);
            let (workspace, user) = (main.id, ada.id);
            tokio::spawn(async move { store.record_last_seen(workspace.into(), user, at).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(f.last_seen(&main).await, expected);
}

#[tokio::test]
async fn rooms_keep_their_own_times_which_go_with_the_room() {
    let f = Fixture::new().await;
    let ada = f.user("ada@example.com").await;
    let bob = f.user("bob@example.com").await;
    let project = f.project(&ada, "Apollo").await;
    let main = f.workspace(&project, &ada, "Main").await;
    let general = f.room(&project, &ada, Visibility::Public).await;
    let secret = f.room(&project, &ada, Visibility::Private).await;
    let at = f.now();
    let in_room = |room: &Room, user: &User, at| LastSeen {
        user_id: user.id,
        place: Place::Room(room.id),
        seen_at: at,
    };

    f.record(general.id, ada.id, at).await;
    f.record(general.id, ada.id, at - Duration::hours(1)).await;
    f.record(general.id, bob.id, at + Duration::seconds(1))
        .await;
    f.record(secret.id, ada.id, at - Duration::hours(2)).await;
    f.record(main.id, ada.id, at + Duration::hours(3)).await;
    assert_eq!(
        f.store.last_seen(general.id.into()).await.unwrap(),
        [
            in_room(&general, &bob, at + Duration::seconds(1)),
            in_room(&general, &ada, at)
        ]
    );
    assert_eq!(
        f.store.last_seen(secret.id.into()).await.unwrap(),
        [in_room(&secret, &ada, at - Duration::hours(2))]
    );
    assert_eq!(
        f.last_seen(&main).await,
        [seen(&main, &ada, at + Duration::hours(3))],
        "a workspace's times are its own"
    );

    f.store.delete_room(general.id).await.unwrap();
    assert_eq!(f.store.last_seen(general.id.into()).await.unwrap(), []);
    f.record(general.id, ada.id, at + Duration::hours(1)).await;
    assert_eq!(f.store.last_seen(general.id.into()).await.unwrap(), []);
    assert_eq!(f.db.count_rows("room_last_seen").await, 1);
}
