//! Memberships: adding, listing, changing roles, removing, and the one-owner rule with
//! ownership transfer.

use serde_json::json;
use tandem_domain::{Member, Membership, ProjectId, Role, UserId};
use tandem_store::StoreError;

use crate::{Fixture, assert_audit, state};

#[tokio::test]
async fn a_non_member_has_no_membership() {
    let f = Fixture::new().await;
    let ada = f.user("ada@example.com").await;
    let bob = f.user("bob@example.com").await;
    let project = f.project(&ada, "Apollo").await;

    assert_eq!(f.store.membership(project.id, bob.id).await.unwrap(), None);
    assert_eq!(
        f.store
            .membership(ProjectId::new(f.now()), ada.id)
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn an_added_member_is_listed_with_their_name_and_email_and_audited() {
    let f = Fixture::new().await;
    let ada = f.user("ada@example.com").await;
    let grace = f.named_user("grace@example.com", "Grace Hopper").await;
    let project = f.project(&ada, "Apollo").await;

    let added = f.add_member(&project, &grace, Role::Editor, &ada).await;

    let expected = Member {
        user_id: grace.id,
        name: "Grace Hopper".to_owned(),
        email: "grace@example.com".to_owned(),
        role: Role::Editor,
        joined_at: f.now(),
    };
    assert_eq!(added, expected);
    assert_eq!(
        f.store.membership(project.id, grace.id).await.unwrap(),
        Some(Membership {
            project_id: project.id,
            user_id: grace.id,
            role: Role::Editor,
            joined_at: f.now(),
        })
    );
    let members = f.store.list_members(project.id, None, 10).await.unwrap();
    assert_eq!(members.len(), 2);
    assert_eq!(members[1], expected);
    assert_audit(
        &f.last_audit(project.id).await,
        project.id,
        &ada,
        f.now(),
        "member.added",
        ("member", grace.id.to_string()),
        None,
        state(&expected),
    );
}

#[tokio::test]
async fn adding_a_member_twice_is_a_conflict_and_changes_nothing() {
    let f = Fixture::new().await;
    let ada = f.user("ada@example.com").await;
    let bob = f.user("bob@example.com").await;
    let project = f.project(&ada, "Apollo").await;
    f.add_member(&project, &bob, Role::Viewer, &ada).await;
    let log = f.audit_log(project.id).await;

    let again = Membership {
        project_id: project.id,
        user_id: bob.id,
        role: Role::Admin,
        joined_at: f.now(),
    };
    let err = f
        .store
        .add_member(&again, &f.audit_ctx(&ada))
        .await
        .unwrap_err();

    assert!(
        matches!(err, StoreError::Conflict("members.user")),
        "{err:?}"
    );
    assert_eq!(f.role_of(project.id, bob.id).await, Some(Role::Viewer));
    assert_eq!(f.audit_log(project.id).await, log);
}

#[tokio::test]
async fn adding_an_unknown_user_is_not_found() {
    let f = Fixture::new().await;
    let ada = f.user("ada@example.com").await;
    let project = f.project(&ada, "Apollo").await;

    let ghost = Membership {
        project_id: project.id,
        user_id: UserId::new(f.now()),
        role: Role::Viewer,
        joined_at: f.now(),
    };
    let err = f
        .store
        .add_member(&ghost, &f.audit_ctx(&ada))
        .await
        .unwrap_err();

    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    assert_eq!(f.audit_log(project.id).await.len(), 1);
}

#[tokio::test]
async fn members_are_listed_by_user_id_in_pages() {
    let f = Fixture::new().await;
    let ada = f.user("ada@example.com").await;
    let project = f.project(&ada, "Apollo").await;
    let mut expected = vec![ada.id];
    for n in 0..6 {
        let user = f.user(&format!("member{n}@example.com")).await;
        f.add_member(&project, &user, Role::Viewer, &ada).await;
        expected.push(user.id);
    }
    expected.sort();

    let mut listed = Vec::new();
    let mut after = None;
    loop {
        let page = f.store.list_members(project.id, after, 3).await.unwrap();
        assert!(page.len() <= 3);
        let Some(last) = page.last() else { break };
        after = Some(last.user_id);
        listed.extend(page.into_iter().map(|m| m.user_id));
    }

    assert_eq!(listed, expected);
}

#[tokio::test]
async fn changing_a_role_records_the_member_before_and_after() {
    let f = Fixture::new().await;
    let ada = f.user("ada@example.com").await;
    let bob = f.user("bob@example.com").await;
    let project = f.project(&ada, "Apollo").await;
    let before = f.add_member(&project, &bob, Role::Viewer, &ada).await;
    f.tick();

    let after = f
        .store
        .change_role(project.id, bob.id, Role::Admin, &f.audit_ctx(&ada))
        .await
        .unwrap();

    assert_eq!(
        after,
        Member {
            role: Role::Admin,
            ..before.clone()
        }
    );
    assert_eq!(f.role_of(project.id, bob.id).await, Some(Role::Admin));
    assert_audit(
        &f.last_audit(project.id).await,
        project.id,
        &ada,
        f.now(),
        "member.role_changed",
        ("member", bob.id.to_string()),
        state(&before),
        state(&after),
    );
}

#[tokio::test]
async fn changing_the_role_of_a_non_member_is_not_found() {
    let f = Fixture::new().await;
    let ada = f.user("ada@example.com").await;
    let bob = f.user("bob@example.com").await;
    let project = f.project(&ada, "Apollo").await;

    let err = f
        .store
        .change_role(project.id, bob.id, Role::Editor, &f.audit_ctx(&ada))
        .await
        .unwrap_err();

    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    assert_eq!(f.audit_log(project.id).await.len(), 1);
}

#[tokio::test]
async fn a_project_never_has_a_second_owner() {
    let f = Fixture::new().await;
    let ada = f.user("ada@example.com").await;
    let bob = f.user("bob@example.com").await;
    let carol = f.user("carol@example.com").await;
    let project = f.project(&ada, "Apollo").await;
    f.add_member(&project, &bob, Role::Admin, &ada).await;
    let log = f.audit_log(project.id).await;

    let promoted = f
        .store
        .change_role(project.id, bob.id, Role::Owner, &f.audit_ctx(&ada))
        .await
        .unwrap_err();
    let added = f
        .store
        .add_member(
            &Membership {
                project_id: project.id,
                user_id: carol.id,
                role: Role::Owner,
                joined_at: f.now(),
            },
            &f.audit_ctx(&ada),
        )
        .await
        .unwrap_err();

    for err in [promoted, added] {
        assert!(
            matches!(err, StoreError::Conflict("members.owner")),
            "{err:?}"
        );
    }
    let members = f.store.list_members(project.id, None, 10).await.unwrap();
    let roles: Vec<_> = members.iter().map(|m| (m.user_id, m.role)).collect();
    assert_eq!(roles, [(ada.id, Role::Owner), (bob.id, Role::Admin)]);
    assert_eq!(f.audit_log(project.id).await, log);
}

#[tokio::test]
async fn a_removed_member_is_gone_and_the_removal_is_audited() {
    let f = Fixture::new().await;
    let ada = f.user("ada@example.com").await;
    let bob = f.user("bob@example.com").await;
    let project = f.project(&ada, "Apollo").await;
    let member = f.add_member(&project, &bob, Role::Editor, &ada).await;
    f.tick();

    f.store
        .remove_member(project.id, bob.id, &f.audit_ctx(&ada))
        .await
        .unwrap();

    assert_eq!(f.store.membership(project.id, bob.id).await.unwrap(), None);
    assert_eq!(
        f.store
            .list_members(project.id, None, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_audit(
        &f.last_audit(project.id).await,
        project.id,
        &ada,
        f.now(),
        "member.removed",
        ("member", bob.id.to_string()),
        state(&member),
        None,
    );
    let again = f
        .store
        .remove_member(project.id, bob.id, &f.audit_ctx(&ada))
        .await
        .unwrap_err();
    assert!(matches!(again, StoreError::NotFound), "{again:?}");
}

#[tokio::test]
async fn transferring_ownership_makes_the_old_owner_an_admin() {
    let f = Fixture::new().await;
    let ada = f.user("ada@example.com").await;
    let bob = f.user("bob@example.com").await;
    let project = f.project(&ada, "Apollo").await;
    f.add_member(&project, &bob, Role::Editor, &ada).await;
    f.tick();

    f.store
        .transfer_ownership(project.id, bob.id, &f.audit_ctx(&ada))
        .await
        .unwrap();

    assert_eq!(f.role_of(project.id, ada.id).await, Some(Role::Admin));
    assert_eq!(f.role_of(project.id, bob.id).await, Some(Role::Owner));
    assert_audit(
        &f.last_audit(project.id).await,
        project.id,
        &ada,
        f.now(),
        "project.ownership_transferred",
        ("member", bob.id.to_string()),
        Some(json!({ "owner": ada.id.0.to_string() })),
        Some(json!({ "owner": bob.id.0.to_string() })),
    );

    // And back: the new owner can hand it on in turn.
    f.tick();
    f.store
        .transfer_ownership(project.id, ada.id, &f.audit_ctx(&bob))
        .await
        .unwrap();
    assert_eq!(f.role_of(project.id, ada.id).await, Some(Role::Owner));
    assert_eq!(f.role_of(project.id, bob.id).await, Some(Role::Admin));
}

#[tokio::test]
async fn transferring_to_a_non_member_is_not_found_and_changes_nothing() {
    let f = Fixture::new().await;
    let ada = f.user("ada@example.com").await;
    let bob = f.user("bob@example.com").await;
    let project = f.project(&ada, "Apollo").await;

    let err = f
        .store
        .transfer_ownership(project.id, bob.id, &f.audit_ctx(&ada))
        .await
        .unwrap_err();

    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    assert_eq!(f.role_of(project.id, ada.id).await, Some(Role::Owner));
    assert_eq!(f.audit_log(project.id).await.len(), 1);
}

#[tokio::test]
async fn transferring_to_the_owner_changes_nothing_and_records_nothing() {
    let f = Fixture::new().await;
    let ada = f.user("ada@example.com").await;
    let project = f.project(&ada, "Apollo").await;

    f.store
        .transfer_ownership(project.id, ada.id, &f.audit_ctx(&ada))
        .await
        .unwrap();

    assert_eq!(f.role_of(project.id, ada.id).await, Some(Role::Owner));
    assert_eq!(f.audit_log(project.id).await.len(), 1);
}
