//! Accepting an invitation: joining, the refusals (unknown, used, revoked, expired, for
//! someone else), and accepting as a member already.

use std::sync::Arc;

use tandem_domain::{Email, Invitation, Member, Role};
use tandem_store::Acceptance;

use crate::{Fixture, assert_audit, hash, state};

#[tokio::test]
async fn accepting_joins_with_the_invited_role_and_is_audited() {
    let f = Fixture::new().await;
    let ada = f.user("ada@example.com").await;
    let grace = f.named_user("grace@example.com", "Grace Hopper").await;
    let project = f.project(&ada, "Apollo").await;
    let invitation = f
        .invitation(&project, &ada, Some("grace@example.com"), Role::Editor, "t")
        .await;
    f.tick();
    let log_before = f.audit_log(project.id).await.len();

    let accepted = f
        .store
        .accept_invitation(&hash("t"), &grace.email, &f.audit_ctx(&grace))
        .await
        .unwrap();

    let member = Member {
        user_id: grace.id,
        name: "Grace Hopper".to_owned(),
        email: "grace@example.com".to_owned(),
        role: Role::Editor,
        joined_at: f.now(),
    };
    assert_eq!(
        accepted,
        Acceptance::Joined {
            project_id: project.id,
            member: member.clone(),
        }
    );
    assert_eq!(f.role_of(project.id, grace.id).await, Some(Role::Editor));
    let used = Invitation {
        accepted_at: Some(f.now()),
        accepted_by: Some(grace.id),
        ..invitation.clone()
    };
    assert_eq!(
        f.store.invitation_by_id(invitation.id).await.unwrap(),
        Some(used.clone())
    );
    let log = f.audit_log(project.id).await;
    assert_eq!(log.len(), log_before + 2);
    let target = ("invitation", invitation.id.to_string());
    let (accepted_row, added_row) = (&log[log_before], &log[log_before + 1]);
    let at = f.now();
    let action = "invitation.accepted";
    let (before, after) = (state(&invitation), state(&used));
    assert_audit(
        accepted_row,
        project.id,
        &grace,
        at,
        action,
        target,
        before,
        after,
    );
    let target = ("member", grace.id.to_string());
    let after = state(&member);
    assert_audit(
        added_row,
        project.id,
        &grace,
        at,
        "member.added",
        target,
        None,
        after,
    );
}

#[tokio::test]
async fn an_invitation_is_used_once_and_never_duplicates_a_membership() {
    let f = Fixture::new().await;
    let ada = f.user("ada@example.com").await;
    let bob = f.user("bob@example.com").await;
    let carol = f.user("carol@example.com").await;
    let project = f.project(&ada, "Apollo").await;
    f.invitation(&project, &ada, None, Role::Viewer, "t").await;
    let ctx = f.audit_ctx(&bob);
    let first = f
        .store
        .accept_invitation(&hash("t"), &bob.email, &ctx)
        .await
        .unwrap();
    assert!(matches!(first, Acceptance::Joined { .. }), "{first:?}");
    let log = f.audit_log(project.id).await;

    let again = f
        .store
        .accept_invitation(&hash("t"), &bob.email, &ctx)
        .await
        .unwrap();
    let other = f
        .store
        .accept_invitation(&hash("t"), &carol.email, &f.audit_ctx(&carol))
        .await
        .unwrap();

    assert_eq!((again, other), (Acceptance::Used, Acceptance::Used));
    assert_eq!(
        f.store
            .list_members(project.id, None, 10)
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(f.db.count_rows("members").await, 2);
    assert_eq!(
        f.store.membership(project.id, carol.id).await.unwrap(),
        None
    );
    assert_eq!(f.audit_log(project.id).await, log);
}

#[tokio::test]
async fn accepting_as_a_member_uses_the_invitation_and_keeps_the_role() {
    let f = Fixture::new().await;
    let ada = f.user("ada@example.com").await;
    let bob = f.user("bob@example.com").await;
    let project = f.project(&ada, "Apollo").await;
    let member = f.add_member(&project, &bob, Role::Admin, &ada).await;
    let invitation = f.invitation(&project, &ada, None, Role::Viewer, "t").await;
    f.tick();
    let log_before = f.audit_log(project.id).await.len();

    let accepted = f
        .store
        .accept_invitation(&hash("t"), &bob.email, &f.audit_ctx(&bob))
        .await
        .unwrap();

    assert_eq!(
        accepted,
        Acceptance::AlreadyMember {
            project_id: project.id,
            member,
        }
    );
    assert_eq!(f.role_of(project.id, bob.id).await, Some(Role::Admin));
    let used = f
        .store
        .invitation_by_id(invitation.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (used.accepted_at, used.accepted_by),
        (Some(f.now()), Some(bob.id))
    );
    let log = f.audit_log(project.id).await;
    assert_eq!(log.len(), log_before + 1);
    assert_audit(
        &log[log_before],
        project.id,
        &bob,
        f.now(),
        "invitation.accepted",
        ("invitation", invitation.id.to_string()),
        state(&invitation),
        state(&used),
    );
}

#[tokio::test]
async fn unknown_revoked_expired_and_misaddressed_invitations_are_refused() {
    let f = Fixture::new().await;
    let ada = f.user("ada@example.com").await;
    let bob = f.user("bob@example.com").await;
    let project = f.project(&ada, "Apollo").await;
    let revoked = f
        .invitation(&project, &ada, None, Role::Viewer, "revoked")
        .await;
    f.store
        .revoke_invitation(revoked.id, &f.audit_ctx(&ada))
        .await
        .unwrap();
    let expiring = f
        .invitation(&project, &ada, None, Role::Viewer, "expiring")
        .await;
    f.invitation(
        &project,
        &ada,
        Some("carol@example.com"),
        Role::Viewer,
        "carol's",
    )
    .await;
    let log = f.audit_log(project.id).await;

    let accept = |token: &'static str, ctx| {
        let store = f.store.clone();
        let email = bob.email.clone();
        async move {
            store
                .accept_invitation(&hash(token), &email, &ctx)
                .await
                .unwrap()
        }
    };
    assert_eq!(accept("nope", f.audit_ctx(&bob)).await, Acceptance::Unknown);
    assert_eq!(
        accept("revoked", f.audit_ctx(&bob)).await,
        Acceptance::Revoked
    );
    assert_eq!(
        accept("carol's", f.audit_ctx(&bob)).await,
        Acceptance::WrongEmail
    );
    // Expired from the very instant it expires.
    let mut at_expiry = f.audit_ctx(&bob);
    at_expiry.at = expiring.expires_at;
    assert_eq!(accept("expiring", at_expiry).await, Acceptance::Expired);

    assert_eq!(f.store.membership(project.id, bob.id).await.unwrap(), None);
    assert_eq!(f.audit_log(project.id).await, log);
    let pending = f
        .store
        .list_pending_invitations(project.id, f.now(), None, 10)
        .await
        .unwrap();
    assert_eq!(
        pending.len(),
        2,
        "refusals leave the invitations as they were"
    );
}

#[tokio::test]
async fn an_addressed_invitation_is_accepted_by_its_addressee() {
    let f = Fixture::new().await;
    let ada = f.user("ada@example.com").await;
    let carol = f.user("carol@example.com").await;
    let project = f.project(&ada, "Apollo").await;
    f.invitation(&project, &ada, Some("carol@example.com"), Role::Admin, "t")
        .await;

    let accepted = f
        .store
        .accept_invitation(
            &hash("t"),
            &Email::parse("carol@example.com").unwrap(),
            &f.audit_ctx(&carol),
        )
        .await
        .unwrap();

    assert!(
        matches!(
            &accepted,
            Acceptance::Joined { project_id, member: m }
                if *project_id == project.id && m.role == Role::Admin && m.user_id == carol.id
        ),
        "{accepted:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_concurrent_acceptances_of_one_invitation_exactly_one_joins() {
    let f = Fixture::new().await;
    let ada = f.user("ada@example.com").await;
    let project = f.project(&ada, "Apollo").await;
    let mut users = Vec::new();
    for n in 0..6 {
        users.push(f.user(&format!("user{n}@example.com")).await);
    }
    f.invitation(&project, &ada, None, Role::Editor, "t").await;

    let tasks: Vec<_> = users
        .iter()
        .map(|user| {
            let store = Arc::clone(&f.store);
            let (email, ctx) = (user.email.clone(), f.audit_ctx(user));
            tokio::spawn(async move { store.accept_invitation(&hash("t"), &email, &ctx).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap().unwrap());
    }

    let joined = outcomes
        .iter()
        .filter(|o| matches!(o, Acceptance::Joined { .. }))
        .count();
    assert_eq!(joined, 1, "{outcomes:?}");
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, Acceptance::Joined { .. } | Acceptance::Used)),
        "{outcomes:?}"
    );
    assert_eq!(f.db.count_rows("members").await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_user_accepting_two_invitations_at_once_joins_once() {
    let f = Fixture::new().await;
    let ada = f.user("ada@example.com").await;
    let bob = f.user("bob@example.com").await;
    let project = f.project(&ada, "Apollo").await;
    f.invitation(&project, &ada, None, Role::Editor, "a").await;
    f.invitation(&project, &ada, None, Role::Viewer, "b").await;

    let tasks: Vec<_> = ["a", "b"]
        .into_iter()
        .map(|token| {
            let store = Arc::clone(&f.store);
            let (email, ctx) = (bob.email.clone(), f.audit_ctx(&bob));
            tokio::spawn(async move { store.accept_invitation(&hash(token), &email, &ctx).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap().unwrap());
    }

    // Whichever came first joined; the other found bob a member already. Both are used.
    let joined = outcomes
        .iter()
        .filter(|o| matches!(o, Acceptance::Joined { .. }))
        .count();
    let already = outcomes
        .iter()
        .filter(|o| matches!(o, Acceptance::AlreadyMember { .. }))
        .count();
    assert_eq!((joined, already), (1, 1), "{outcomes:?}");
    assert_eq!(f.db.count_rows("members").await, 2);
    let pending = f
        .store
        .list_pending_invitations(project.id, f.now(), None, 10)
        .await
        .unwrap();
    assert!(pending.is_empty(), "{pending:?}");
}
