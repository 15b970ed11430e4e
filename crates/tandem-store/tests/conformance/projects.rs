//! Projects: creating one with its owner, listing a user's projects, updating, and
//! deleting a project with everything under it.

use tandem_domain::{Description, Membership, ProjectId, Role};
use tandem_store::{ProjectWithRole, StoreError};

use crate::{Fixture, assert_audit, name_of, state};

#[tokio::test]
async fn a_created_project_has_its_creator_as_only_owner() {
    let f = Fixture::new().await;
    let ada = f.user("ada@example.com").await;

    let project = f.project(&ada, "Apollo").await;

    assert_eq!(
        f.store.project_by_id(project.id).await.unwrap(),
        Some(project.clone())
    );
    assert_eq!(
        f.store.membership(project.id, ada.id).await.unwrap(),
        Some(Membership {
            project_id: project.id,
            user_id: ada.id,
            role: Role::Owner,
            joined_at: f.now(),
        })
    );
    let members = f.store.list_members(project.id, None, 10).await.unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!((members[0].user_id, members[0].role), (ada.id, Role::Owner));
}

#[tokio::test]
async fn creating_a_project_writes_one_audit_row() {
    let f = Fixture::new().await;
    let ada = f.user("ada@example.com").await;

    let project = f.project(&ada, "Apollo").await;

    let log = f.audit_log(project.id).await;
    assert_eq!(log.len(), 1);
    assert_audit(
        &log[0],
        project.id,
        &ada,
        f.now(),
        "project.created",
        ("project", project.id.to_string()),
        None,
        state(&project),
    );
}

#[tokio::test]
async fn unknown_projects_are_none() {
    let f = Fixture::new().await;

    assert_eq!(
        f.store
            .project_by_id(ProjectId::new(f.now()))
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn a_users_projects_are_listed_with_their_role_in_pages() {
    let f = Fixture::new().await;
    let ada = f.user("ada@example.com").await;
    let bob = f.user("bob@example.com").await;
    let owned = f.project(&ada, "Owned").await;
    let elsewhere = f.project(&bob, "Not Ada's").await;
    let admin_of = f.project(&bob, "Admin").await;
    f.add_member(&admin_of, &ada, Role::Admin, &bob).await;
    let viewer_of = f.project(&bob, "Viewer").await;
    f.add_member(&viewer_of, &ada, Role::Viewer, &bob).await;
    let editor_of = f.project(&bob, "Editor").await;
    f.add_member(&editor_of, &ada, Role::Editor, &bob).await;

    let mut listed = Vec::new();
    let mut after = None;
    loop {
        let page = f
            .store
            .list_projects_for_user(ada.id, after, 2)
            .await
            .unwrap();
        assert!(page.len() <= 2);
        let Some(last) = page.last() else { break };
        after = Some(last.project.id);
        listed.extend(page);
    }

    let expected = [
        (owned, Role::Owner),
        (admin_of, Role::Admin),
        (viewer_of, Role::Viewer),
        (editor_of, Role::Editor),
    ]
    .map(|(project, role)| ProjectWithRole { project, role });
    assert_eq!(listed, expected);
    assert!(!listed.iter().any(|p| p.project.id == elsewhere.id));
    let bobs = f
        .store
        .list_projects_for_user(bob.id, None, 10)
        .await
        .unwrap();
    assert_eq!(bobs.len(), 4);
    assert!(bobs.iter().all(|p| p.role == Role::Owner));
}

#[tokio::test]
async fn updating_a_project_changes_the_given_fields_and_records_both_states() {
    let f = Fixture::new().await;
    let ada = f.user("ada@example.com").await;
    let project = f.project(&ada, "Apollo").await;
    f.tick();
    let ctx = f.audit_ctx(&ada);

    let renamed = f
        .store
        .update_project(project.id, Some(&name_of("Artemis")), None, &ctx)
        .await
        .unwrap();

    assert_eq!(renamed.name, name_of("Artemis"));
    assert_eq!(renamed.description, project.description);
    assert_eq!(renamed.created_at, project.created_at);
    assert_eq!(renamed.updated_at, ctx.at);
    assert_eq!(
        f.store.project_by_id(project.id).await.unwrap(),
        Some(renamed.clone())
    );
    assert_audit(
        &f.last_audit(project.id).await,
        project.id,
        &ada,
        ctx.at,
        "project.updated",
        ("project", project.id.to_string()),
        state(&project),
        state(&renamed),
    );

    f.tick();
    let described = f
        .store
        .update_project(
            project.id,
            None,
            Some(&Description::parse("To the moon").unwrap()),
            &f.audit_ctx(&ada),
        )
        .await
        .unwrap();
    assert_eq!(described.name, name_of("Artemis"));
    assert_eq!(described.description.as_str(), "To the moon");
    assert_eq!(described.updated_at, f.now());
    let last = f.last_audit(project.id).await;
    assert_eq!(last.before, state(&renamed));
    assert_eq!(last.after, state(&described));
    assert_eq!(f.audit_log(project.id).await.len(), 3);
}

#[tokio::test]
async fn updating_a_missing_project_is_not_found_and_writes_nothing() {
    let f = Fixture::new().await;
    let ada = f.user("ada@example.com").await;
    let project = f.project(&ada, "Apollo").await;

    let err = f
        .store
        .update_project(
            ProjectId::new(f.now()),
            Some(&name_of("Ghost")),
            None,
            &f.audit_ctx(&ada),
        )
        .await
        .unwrap_err();

    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    assert_eq!(f.db.count_rows("audit_log").await, 1);
    assert_eq!(
        f.store.project_by_id(project.id).await.unwrap(),
        Some(project)
    );
}

#[tokio::test]
async fn deleting_a_project_removes_everything_under_it() {
    let f = Fixture::new().await;
    let ada = f.user("ada@example.com").await;
    let bob = f.user("bob@example.com").await;
    let doomed = f.project(&ada, "Doomed").await;
    f.add_member(&doomed, &bob, Role::Editor, &ada).await;
    f.invitation(&doomed, &ada, None, Role::Viewer, "doomed-invite")
        .await;
    let workspace = f.workspace(&doomed, &ada, "Main").await;
    // A neighbour with one of each, which must survive.
    let kept = f.project(&bob, "Kept").await;
    f.invitation(&kept, &bob, None, Role::Viewer, "kept-invite")
        .await;
    let kept_workspace = f.workspace(&kept, &bob, "Main").await;
    let kept_log = f.audit_log(kept.id).await;
    assert_eq!(row_counts(&f).await, [2, 3, 2, 2, 7]);

    f.store.delete_project(doomed.id).await.unwrap();

    assert_eq!(f.store.project_by_id(doomed.id).await.unwrap(), None);
    assert_eq!(f.store.membership(doomed.id, ada.id).await.unwrap(), None);
    assert!(
        f.store
            .list_members(doomed.id, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        f.store
            .list_pending_invitations(doomed.id, f.now(), None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        f.store
            .list_workspaces(doomed.id, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(f.store.workspace_by_id(workspace.id).await.unwrap(), None);
    assert!(f.audit_log(doomed.id).await.is_empty());
    let adas = f
        .store
        .list_projects_for_user(ada.id, None, 10)
        .await
        .unwrap();
    assert!(adas.is_empty());
    // Exactly the neighbour's rows are left: 1 project, 1 member, 1 invitation,
    // 1 workspace, and its 3 audit rows.
    assert_eq!(row_counts(&f).await, [1, 1, 1, 1, 3]);
    assert_eq!(f.audit_log(kept.id).await, kept_log);
    assert_eq!(
        f.store.workspace_by_id(kept_workspace.id).await.unwrap(),
        Some(kept_workspace)
    );
}

/// How many rows the project tables hold, in the order: projects, members,
/// invitations, workspaces, audit_log.
async fn row_counts(f: &Fixture) -> [i64; 5] {
    let tables = [
        "projects",
        "members",
        "invitations",
        "workspaces",
        "audit_log",
    ];
    let mut counts = [0; 5];
    for (count, table) in counts.iter_mut().zip(tables) {
        *count = f.db.count_rows(table).await;
    }
    counts
}

#[tokio::test]
async fn deleting_a_missing_project_is_not_found() {
    let f = Fixture::new().await;

    let err = f
        .store
        .delete_project(ProjectId::new(f.now()))
        .await
        .unwrap_err();

    assert!(matches!(err, StoreError::NotFound), "{err:?}");
}
