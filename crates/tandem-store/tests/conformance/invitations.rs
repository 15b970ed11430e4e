//! Invitations: creating, listing the pending ones, and revoking. Accepting them is in
//! `acceptance.rs`.

use chrono::Duration;
use tandem_domain::{Email, Invitation, InvitationId, Role};
use tandem_store::StoreError;

use crate::{Fixture, assert_audit, hash, state};

#[tokio::test]
async fn a_created_invitation_is_stored_and_audited_without_its_token() {
    let f = Fixture::new().await;
    let ada = f.user("ada@example.com").await;
    let project = f.project(&ada, "Apollo").await;

    let invitation = f
        .invitation(
            &project,
            &ada,
            Some("Grace@Example.com"),
            Role::Editor,
            "secret-token",
        )
        .await;

    let stored = f.store.invitation_by_id(invitation.id).await.unwrap();
    assert_eq!(stored, Some(invitation.clone()));
    assert_eq!(
        stored.and_then(|i| i.email),
        Some(Email::parse("grace@example.com").unwrap())
    );
    let entry = f.last_audit(project.id).await;
    assert_audit(
        &entry,
        project.id,
        &ada,
        f.now(),
        "invitation.created",
        ("invitation", invitation.id.to_string()),
        None,
        state(&invitation),
    );
    let recorded = entry.after.unwrap().to_string();
    assert!(!recorded.contains(&hash("secret-token").0), "{recorded}");
}

#[tokio::test]
async fn unknown_invitations_are_none() {
    let f = Fixture::new().await;

    assert_eq!(
        f.store
            .invitation_by_id(InvitationId::new(f.now()))
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn only_pending_invitations_are_listed_in_pages() {
    let f = Fixture::new().await;
    let ada = f.user("ada@example.com").await;
    let bob = f.user("bob@example.com").await;
    let project = f.project(&ada, "Apollo").await;
    let other = f.project(&ada, "Other").await;
    f.invitation(&other, &ada, None, Role::Viewer, "other")
        .await;
    let accepted = f
        .invitation(&project, &ada, None, Role::Viewer, "accepted")
        .await;
    let revoked = f
        .invitation(&project, &ada, None, Role::Viewer, "revoked")
        .await;
    let mut pending = Vec::new();
    for n in 0..5 {
        let token = format!("pending-{n}");
        pending.push(
            f.invitation(&project, &ada, None, Role::Editor, &token)
                .await,
        );
    }
    f.store
        .accept_invitation(&hash("accepted"), &bob.email, &f.audit_ctx(&bob))
        .await
        .unwrap();
    f.store
        .revoke_invitation(revoked.id, &f.audit_ctx(&ada))
        .await
        .unwrap();

    let mut listed = Vec::new();
    let mut after = None;
    loop {
        let page = f
            .store
            .list_pending_invitations(project.id, f.now(), after, 2)
            .await
            .unwrap();
        assert!(page.len() <= 2);
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        listed.extend(page);
    }

    assert_eq!(listed, pending);
    assert!(!listed.iter().any(|i| i.id == accepted.id));
    // An invitation is no longer pending from the instant it expires.
    let expiry = pending[0].expires_at;
    let at_expiry = f
        .store
        .list_pending_invitations(project.id, expiry, None, 10)
        .await
        .unwrap();
    assert!(!at_expiry.iter().any(|i| i.id == pending[0].id));
    let just_before = f
        .store
        .list_pending_invitations(project.id, expiry - Duration::microseconds(1), None, 10)
        .await
        .unwrap();
    assert_eq!(just_before.first().map(|i| i.id), Some(pending[0].id));
}

#[tokio::test]
async fn revoking_an_invitation_records_both_states_and_works_once() {
    let f = Fixture::new().await;
    let ada = f.user("ada@example.com").await;
    let project = f.project(&ada, "Apollo").await;
    let invitation = f.invitation(&project, &ada, None, Role::Viewer, "t").await;
    f.tick();

    let revoked = f
        .store
        .revoke_invitation(invitation.id, &f.audit_ctx(&ada))
        .await
        .unwrap();

    assert_eq!(
        revoked,
        Invitation {
            revoked_at: Some(f.now()),
            ..invitation.clone()
        }
    );
    assert_eq!(
        f.store.invitation_by_id(invitation.id).await.unwrap(),
        Some(revoked.clone())
    );
    assert_audit(
        &f.last_audit(project.id).await,
        project.id,
        &ada,
        f.now(),
        "invitation.revoked",
        ("invitation", invitation.id.to_string()),
        state(&invitation),
        state(&revoked),
    );
    let log = f.audit_log(project.id).await;
    for id in [invitation.id, InvitationId::new(f.now())] {
        let err = f
            .store
            .revoke_invitation(id, &f.audit_ctx(&ada))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::NotFound), "{err:?}");
    }
    assert_eq!(f.audit_log(project.id).await, log);
}

#[tokio::test]
async fn an_expired_invitation_can_be_revoked_but_an_accepted_one_cannot() {
    let f = Fixture::new().await;
    let ada = f.user("ada@example.com").await;
    let bob = f.user("bob@example.com").await;
    let project = f.project(&ada, "Apollo").await;
    let expired = f
        .invitation(&project, &ada, None, Role::Viewer, "old")
        .await;
    let accepted = f
        .invitation(&project, &ada, None, Role::Viewer, "used")
        .await;
    f.store
        .accept_invitation(&hash("used"), &bob.email, &f.audit_ctx(&bob))
        .await
        .unwrap();
    f.clock.advance(Duration::days(8));

    let revoked = f
        .store
        .revoke_invitation(expired.id, &f.audit_ctx(&ada))
        .await
        .unwrap();
    let err = f
        .store
        .revoke_invitation(accepted.id, &f.audit_ctx(&ada))
        .await
        .unwrap_err();

    assert_eq!(revoked.revoked_at, Some(f.now()));
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    let stored = f.store.invitation_by_id(accepted.id).await.unwrap();
    assert_eq!(stored.and_then(|i| i.revoked_at), None);
}
