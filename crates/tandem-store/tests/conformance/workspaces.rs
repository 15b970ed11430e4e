//! Workspaces: creating, finding, listing, updating (names unique per project, settings
//! replaced whole) and deleting, each audited.

use serde_json::json;
use tandem_domain::{Workspace, WorkspaceId};
use tandem_store::StoreError;

use crate::{Fixture, assert_audit, name_of, settings, state};

#[tokio::test]
async fn a_created_workspace_can_be_found_and_is_audited() {
    let f = Fixture::new().await;
    let ada = f.user("ada@example.com").await;
    let project = f.project(&ada, "Apollo").await;

    let workspace = f.workspace(&project, &ada, "Main").await;

    assert_eq!(
        f.store.workspace_by_id(workspace.id).await.unwrap(),
        Some(workspace.clone())
    );
    assert_eq!(workspace.settings, settings(json!({ "theme": "dark" })));
    assert_audit(
        &f.last_audit(project.id).await,
        project.id,
        &ada,
        f.now(),
        "workspace.created",
        ("workspace", workspace.id.to_string()),
        None,
        state(&workspace),
    );
    assert_eq!(
        f.store
            .workspace_by_id(WorkspaceId::new(f.now()))
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn workspace_names_are_unique_within_a_project_only() {
    let f = Fixture::new().await;
    let ada = f.user("ada@example.com").await;
    let project = f.project(&ada, "Apollo").await;
    let other = f.project(&ada, "Gemini").await;
    let main = f.workspace(&project, &ada, "Main").await;
    let log = f.audit_log(project.id).await;

    let twin = Workspace {
        id: WorkspaceId::new(f.now()),
        ..main.clone()
    };
    let err = f
        .store
        .create_workspace(&twin, &f.audit_ctx(&ada))
        .await
        .unwrap_err();

    assert!(
        matches!(err, StoreError::Conflict("workspaces.name")),
        "{err:?}"
    );
    assert_eq!(f.store.workspace_by_id(twin.id).await.unwrap(), None);
    assert_eq!(f.audit_log(project.id).await, log);
    // The same name in another project is fine.
    f.workspace(&other, &ada, "Main").await;
}

#[tokio::test]
async fn a_projects_workspaces_are_listed_by_id_in_pages() {
    let f = Fixture::new().await;
    let ada = f.user("ada@example.com").await;
    let project = f.project(&ada, "Apollo").await;
    let other = f.project(&ada, "Gemini").await;
    f.workspace(&other, &ada, "Elsewhere").await;
    let mut expected = Vec::new();
    for n in 0..5 {
        expected.push(f.workspace(&project, &ada, &format!("W{n}")).await);
    }

    let mut listed = Vec::new();
    let mut after = None;
    loop {
        let page = f.store.list_workspaces(project.id, after, 2).await.unwrap();
        assert!(page.len() <= 2);
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        listed.extend(page);
    }

    assert_eq!(listed, expected);
}

#[tokio::test]
async fn updating_a_workspace_renames_it_and_replaces_its_settings() {
    let f = Fixture::new().await;
    let ada = f.user("ada@example.com").await;
    let project = f.project(&ada, "Apollo").await;
    let workspace = f.workspace(&project, &ada, "Main").await;
    f.tick();

    let renamed = f
        .store
        .update_workspace(
            workspace.id,
            Some(&name_of("Primary")),
            None,
            &f.audit_ctx(&ada),
        )
        .await
        .unwrap();

    assert_eq!(
        renamed,
        Workspace {
            name: name_of("Primary"),
            updated_at: f.now(),
            ..workspace.clone()
        }
    );
    assert_audit(
        &f.last_audit(project.id).await,
        project.id,
        &ada,
        f.now(),
        "workspace.updated",
        ("workspace", workspace.id.to_string()),
        state(&workspace),
        state(&renamed),
    );

    f.tick();
    let replaced = settings(json!({ "font": { "size": 14 }, "wrap": true }));
    let updated = f
        .store
        .update_workspace(workspace.id, None, Some(&replaced), &f.audit_ctx(&ada))
        .await
        .unwrap();

    // Replaced whole: the old `theme` key is gone.
    assert_eq!(updated.settings, replaced);
    assert_eq!(updated.name, name_of("Primary"));
    assert_eq!(updated.updated_at, f.now());
    assert_eq!(
        f.store.workspace_by_id(workspace.id).await.unwrap(),
        Some(updated.clone())
    );
    let last = f.last_audit(project.id).await;
    assert_eq!(
        (last.before, last.after),
        (state(&renamed), state(&updated))
    );
}

#[tokio::test]
async fn renaming_a_workspace_to_a_taken_name_is_a_conflict() {
    let f = Fixture::new().await;
    let ada = f.user("ada@example.com").await;
    let project = f.project(&ada, "Apollo").await;
    f.workspace(&project, &ada, "Main").await;
    let scratch = f.workspace(&project, &ada, "Scratch").await;
    let log = f.audit_log(project.id).await;

    let err = f
        .store
        .update_workspace(scratch.id, Some(&name_of("Main")), None, &f.audit_ctx(&ada))
        .await
        .unwrap_err();

    assert!(
        matches!(err, StoreError::Conflict("workspaces.name")),
        "{err:?}"
    );
    assert_eq!(
        f.store.workspace_by_id(scratch.id).await.unwrap(),
        Some(scratch)
    );
    assert_eq!(f.audit_log(project.id).await, log);
}

#[tokio::test]
async fn updating_or_deleting_a_missing_workspace_is_not_found() {
    let f = Fixture::new().await;
    let ada = f.user("ada@example.com").await;
    let project = f.project(&ada, "Apollo").await;
    let missing = WorkspaceId::new(f.now());

    let updated = f
        .store
        .update_workspace(missing, Some(&name_of("X")), None, &f.audit_ctx(&ada))
        .await
        .unwrap_err();
    let deleted = f
        .store
        .delete_workspace(missing, &f.audit_ctx(&ada))
        .await
        .unwrap_err();

    assert!(matches!(updated, StoreError::NotFound), "{updated:?}");
    assert!(matches!(deleted, StoreError::NotFound), "{deleted:?}");
    assert_eq!(f.audit_log(project.id).await.len(), 1);
}

#[tokio::test]
async fn a_deleted_workspace_is_gone_and_the_deletion_is_audited() {
    let f = Fixture::new().await;
    let ada = f.user("ada@example.com").await;
    let project = f.project(&ada, "Apollo").await;
    let workspace = f.workspace(&project, &ada, "Main").await;
    let kept = f.workspace(&project, &ada, "Kept").await;
    f.tick();

    f.store
        .delete_workspace(workspace.id, &f.audit_ctx(&ada))
        .await
        .unwrap();

    assert_eq!(f.store.workspace_by_id(workspace.id).await.unwrap(), None);
    assert_eq!(
        f.store.list_workspaces(project.id, None, 10).await.unwrap(),
        [kept]
    );
    assert_audit(
        &f.last_audit(project.id).await,
        project.id,
        &ada,
        f.now(),
        "workspace.deleted",
        ("workspace", workspace.id.to_string()),
        state(&workspace),
        None,
    );
    // The name is free again.
    f.workspace(&project, &ada, "Main").await;
}
