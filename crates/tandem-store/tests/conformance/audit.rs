//! The audit log as a whole: one row per mutation, filters, pagination, and rows that
//! cannot be changed.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use tandem_domain::{AuditEntry, AuditFilter, AuditId, ProjectId, Role, User};

use crate::{Fixture, hash, name_of};

/// Reads every entry of `project` matching `filter`, `page` at a time.
async fn all_pages(
    f: &Fixture,
    project: ProjectId,
    filter: &AuditFilter,
    page: u32,
) -> Vec<AuditEntry> {
    let mut entries = Vec::new();
    let mut after: Option<AuditId> = None;
    loop {
        let batch = f
            .store
            .list_audit(project, filter, after, page)
            .await
            .unwrap();
        assert!(batch.len() <= page as usize);
        let Some(last) = batch.last() else { break };
        after = Some(last.id);
        entries.extend(batch);
    }
    entries
}

fn actions(entries: &[AuditEntry]) -> Vec<&str> {
    entries.iter().map(|e| e.action.as_str()).collect()
}

#[tokio::test]
async fn every_mutation_writes_exactly_one_row_of_its_own() {
    let f = Fixture::new().await;
    let ada = f.user("ada@example.com").await;
    let bob = f.user("bob@example.com").await;
    let carol = f.user("carol@example.com").await;
    let project = f.project(&ada, "Apollo").await;
    let ctx = |user: &User| {
        f.tick();
        f.audit_ctx(user)
    };
    f.store
        .update_project(project.id, Some(&name_of("Artemis")), None, &ctx(&ada))
        .await
        .unwrap();
    f.add_member(&project, &bob, Role::Viewer, &ada).await;
    f.store
        .change_role(project.id, bob.id, Role::Admin, &ctx(&ada))
        .await
        .unwrap();
    let invitation = f.invitation(&project, &bob, None, Role::Editor, "a").await;
    f.store
        .revoke_invitation(invitation.id, &ctx(&bob))
        .await
        .unwrap();
    f.invitation(&project, &bob, None, Role::Editor, "b").await;
    f.store
        .accept_invitation(&hash("b"), &carol.email, &ctx(&carol))
        .await
        .unwrap();
    let workspace = f.workspace(&project, &carol, "Main").await;
    f.store
        .update_workspace(workspace.id, Some(&name_of("Primary")), None, &ctx(&carol))
        .await
        .unwrap();
    f.store
        .delete_workspace(workspace.id, &ctx(&bob))
        .await
        .unwrap();
    f.store
        .transfer_ownership(project.id, bob.id, &ctx(&ada))
        .await
        .unwrap();
    f.store
        .remove_member(project.id, carol.id, &ctx(&bob))
        .await
        .unwrap();

    let log = f.audit_log(project.id).await;
    assert_eq!(
        actions(&log),
        [
            "project.created",
            "project.updated",
            "member.added",
            "member.role_changed",
            "invitation.created",
            "invitation.revoked",
            "invitation.created",
            "invitation.accepted",
            "member.added",
            "workspace.created",
            "workspace.updated",
            "workspace.deleted",
            "project.ownership_transferred",
            "member.removed",
        ]
    );
    let actors: Vec<_> = log.iter().map(|e| e.actor).collect();
    let (a, b, c) = (ada.id, bob.id, carol.id);
    assert_eq!(actors, [a, a, a, a, b, b, b, c, c, c, c, b, a, b]);
    assert!(log.iter().all(|e| e.project_id == project.id));
    assert!(
        log.windows(2)
            .all(|w| w[0].id < w[1].id && w[0].at <= w[1].at)
    );
}

#[tokio::test]
async fn a_missing_request_id_is_recorded_as_none() {
    let f = Fixture::new().await;
    let ada = f.user("ada@example.com").await;
    let project = f.project(&ada, "Apollo").await;
    let mut ctx = f.audit_ctx(&ada);
    ctx.request_id = None;

    f.store
        .update_project(project.id, Some(&name_of("Artemis")), None, &ctx)
        .await
        .unwrap();

    assert_eq!(f.last_audit(project.id).await.request_id, None);
}

/// A project whose log holds, one millisecond apart: `project.created` (ada),
/// `member.added` (ada), two `workspace.created` (bob), `workspace.updated` (ada), and
/// `member.role_changed` (ada). Returns the project, ada, bob and the six times.
async fn busy_project(f: &Fixture) -> (ProjectId, User, User, Vec<DateTime<Utc>>) {
    let ada = f.user("ada@example.com").await;
    let bob = f.user("bob@example.com").await;
    let project = f.project(&ada, "Apollo").await;
    f.add_member(&project, &bob, Role::Editor, &ada).await;
    let first = f.workspace(&project, &bob, "One").await;
    f.workspace(&project, &bob, "Two").await;
    f.tick();
    f.store
        .update_workspace(first.id, Some(&name_of("Uno")), None, &f.audit_ctx(&ada))
        .await
        .unwrap();
    f.tick();
    f.store
        .change_role(project.id, bob.id, Role::Admin, &f.audit_ctx(&ada))
        .await
        .unwrap();
    let times = f.audit_log(project.id).await.iter().map(|e| e.at).collect();
    (project.id, ada, bob, times)
}

#[tokio::test]
async fn the_log_is_filtered_by_action_actor_and_time() {
    let f = Fixture::new().await;
    let (project, ada, bob, t) = busy_project(&f).await;
    let f = &f;
    let list = |filter: AuditFilter| async move {
        actions(&all_pages(f, project, &filter, 100).await).join(" ")
    };

    let by_action = AuditFilter {
        action: Some("workspace.created".to_owned()),
        ..AuditFilter::default()
    };
    assert_eq!(list(by_action).await, "workspace.created workspace.created");
    let by_bob = AuditFilter {
        actor: Some(bob.id),
        ..AuditFilter::default()
    };
    assert_eq!(list(by_bob).await, "workspace.created workspace.created");
    let by_ada = AuditFilter {
        actor: Some(ada.id),
        ..AuditFilter::default()
    };
    assert_eq!(
        list(by_ada).await,
        "project.created member.added workspace.updated member.role_changed"
    );
    // `since` is inclusive, `until` exclusive.
    let since = AuditFilter {
        since: Some(t[2]),
        ..AuditFilter::default()
    };
    assert_eq!(
        list(since).await,
        "workspace.created workspace.created workspace.updated member.role_changed"
    );
    let until = AuditFilter {
        until: Some(t[4]),
        ..AuditFilter::default()
    };
    assert_eq!(
        list(until).await,
        "project.created member.added workspace.created workspace.created"
    );
    let window = AuditFilter {
        since: Some(t[1]),
        until: Some(t[5]),
        actor: Some(ada.id),
        ..AuditFilter::default()
    };
    assert_eq!(list(window).await, "member.added workspace.updated");
    let nothing = AuditFilter {
        action: Some("workspace".to_owned()),
        ..AuditFilter::default()
    };
    assert_eq!(
        list(nothing).await,
        "",
        "actions match exactly, not by prefix"
    );
}

#[tokio::test]
async fn the_log_pages_without_gaps_or_repeats() {
    let f = Fixture::new().await;
    let ada = f.user("ada@example.com").await;
    let project = f.project(&ada, "Apollo").await;
    let other = f.project(&ada, "Gemini").await;
    for n in 0..10 {
        f.workspace(&project, &ada, &format!("W{n}")).await;
        f.workspace(&other, &ada, &format!("W{n}")).await;
    }
    let everything = f.audit_log(project.id).await;
    assert_eq!(everything.len(), 11);

    for page in [1, 2, 3, 4, 10] {
        let paged = all_pages(&f, project.id, &AuditFilter::default(), page).await;
        assert_eq!(paged, everything, "pages of {page}");
    }
    let created = AuditFilter {
        action: Some("workspace.created".to_owned()),
        ..AuditFilter::default()
    };
    let paged = all_pages(&f, project.id, &created, 3).await;
    assert_eq!(paged.len(), 10);
    assert_eq!(paged[..], everything[1..]);
    let ids: HashSet<_> = paged.iter().map(|e| e.id).collect();
    assert_eq!(ids.len(), 10);
    assert!(paged.iter().all(|e| e.project_id == project.id));
}

#[tokio::test]
async fn audit_rows_cannot_be_changed() {
    let f = Fixture::new().await;
    let ada = f.user("ada@example.com").await;
    let project = f.project(&ada, "Apollo").await;
    let log = f.audit_log(project.id).await;

    let tampered =
        f.db.execute("UPDATE audit_log SET action = 'tampered', after = NULL")
            .await;

    assert!(tampered.is_err(), "{tampered:?}");
    assert_eq!(f.audit_log(project.id).await, log);
}
