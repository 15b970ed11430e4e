//! Files: creating (with a first document update), finding, listing by path in byte
//! order, moving and deleting, paths unique per workspace, each audited.

use tandem_domain::{File, FileId, FilePath, Project, User, Workspace};
use tandem_store::StoreError;

use crate::{Fixture, assert_audit, state};

pub fn path(raw: &str) -> FilePath {
    FilePath::parse(raw, "path").unwrap()
}

impl Fixture {
    /// A file at `raw` in `workspace`, created by `by`, with an optional first update.
    pub async fn file(
        &self,
        workspace: &Workspace,
        by: &User,
        raw: &str,
        update: Option<&[u8]>,
    ) -> File {
        self.tick();
        let now = self.now();
        let file = File {
            id: FileId::new(now),
            workspace_id: workspace.id,
            path: path(raw),
            created_by: by.id,
            created_at: now,
            updated_at: now,
        };
        self.store
            .create_file(&file, update, &self.audit_ctx(by))
            .await
            .unwrap();
        file
    }

    /// A user, their project and a workspace in it.
    pub async fn desk(&self) -> (User, Project, Workspace) {
        let ada = self.user("ada@example.com").await;
        let project = self.project(&ada, "Apollo").await;
        let workspace = self.workspace(&project, &ada, "Main").await;
        (ada, project, workspace)
    }
}

#[tokio::test]
async fn a_created_file_can_be_found_and_is_audited() {
    let f = Fixture::new().await;
    let (ada, project, workspace) = f.desk().await;
    let file = f
        .file(&workspace, &ada, "src/main.rs", Some(b"first"))
        .await;

    assert_eq!(
        f.store.file_by_id(file.id).await.unwrap(),
        Some(file.clone())
    );
    assert_audit(
        &f.last_audit(project.id).await,
        project.id,
        &ada,
        f.now(),
        "file.created",
        ("file", file.id.to_string()),
        None,
        state(&file),
    );
    let stored = f.store.load_document(file.id).await.unwrap();
    assert_eq!(stored.updates, vec![(1, b"first".to_vec())]);
    assert_eq!((stored.snapshot, stored.snapshot_seq), (None, 0));
    assert_eq!(
        f.store.file_by_id(FileId::new(f.now())).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn paths_are_unique_per_workspace_and_need_a_workspace() {
    let f = Fixture::new().await;
    let (ada, project, workspace) = f.desk().await;
    let other = f.workspace(&project, &ada, "Other").await;
    f.file(&workspace, &ada, "a.txt", None).await;
    f.file(&other, &ada, "a.txt", None).await;

    let now = f.now();
    let mut twin = File {
        id: FileId::new(now),
        workspace_id: workspace.id,
        path: path("a.txt"),
        created_by: ada.id,
        created_at: now,
        updated_at: now,
    };
    let taken = f.store.create_file(&twin, None, &f.audit_ctx(&ada)).await;
    assert!(
        matches!(taken, Err(StoreError::Conflict("files.path"))),
        "{taken:?}"
    );
    twin.workspace_id = tandem_domain::WorkspaceId::new(now);
    let nowhere = f.store.create_file(&twin, None, &f.audit_ctx(&ada)).await;
    assert!(matches!(nowhere, Err(StoreError::NotFound)), "{nowhere:?}");
}

#[tokio::test]
async fn files_list_by_path_in_byte_order_a_page_at_a_time() {
    let f = Fixture::new().await;
    let (ada, _, workspace) = f.desk().await;
    for raw in ["b.txt", "a/b", "a.b", "B.txt", "a.txt", "é.txt", "Z"] {
        f.file(&workspace, &ada, raw, None).await;
    }
    let all = f.store.list_files(workspace.id, None, 100).await.unwrap();
    let paths: Vec<&str> = all.iter().map(|file| file.path.as_str()).collect();
    assert_eq!(
        paths,
        ["B.txt", "Z", "a.b", "a.txt", "a/b", "b.txt", "é.txt"]
    );

    let first = f.store.list_files(workspace.id, None, 3).await.unwrap();
    let rest = f
        .store
        .list_files(workspace.id, Some(&first[2].path), 100)
        .await
        .unwrap();
    assert_eq!(first.len() + rest.len(), all.len());
    assert_eq!(rest[0].path.as_str(), "a.txt");
}

#[tokio::test]
async fn a_moved_file_keeps_its_id_and_a_taken_path_is_a_conflict() {
    let f = Fixture::new().await;
    let (ada, project, workspace) = f.desk().await;
    let file = f.file(&workspace, &ada, "old.txt", None).await;
    f.file(&workspace, &ada, "taken.txt", None).await;
    f.tick();

    let moved = f
        .store
        .rename_file(file.id, &path("docs/new.txt"), &f.audit_ctx(&ada))
        .await
        .unwrap();
    assert_eq!((moved.id, moved.path.as_str()), (file.id, "docs/new.txt"));
    assert_eq!(moved.updated_at, f.now());
    assert_audit(
        &f.last_audit(project.id).await,
        project.id,
        &ada,
        f.now(),
        "file.renamed",
        ("file", file.id.to_string()),
        state(&file),
        state(&moved),
    );
    let clash = f
        .store
        .rename_file(file.id, &path("taken.txt"), &f.audit_ctx(&ada))
        .await;
    assert!(
        matches!(clash, Err(StoreError::Conflict("files.path"))),
        "{clash:?}"
    );
    let missing = f
        .store
        .rename_file(FileId::new(f.now()), &path("x"), &f.audit_ctx(&ada))
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound)));
}

#[tokio::test]
async fn deleting_a_file_takes_its_document_and_versions_and_a_workspace_takes_its_files() {
    let f = Fixture::new().await;
    let (ada, project, workspace) = f.desk().await;
    let file = f.file(&workspace, &ada, "a.txt", Some(b"u1")).await;
    f.version(&file, &ada).await;
    let kept = f.file(&workspace, &ada, "b.txt", None).await;

    f.store
        .delete_file(file.id, &f.audit_ctx(&ada))
        .await
        .unwrap();
    assert_eq!(f.store.file_by_id(file.id).await.unwrap(), None);
    assert!(matches!(
        f.store.load_document(file.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(
        f.store
            .list_versions(file.id, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_audit(
        &f.last_audit(project.id).await,
        project.id,
        &ada,
        f.now(),
        "file.deleted",
        ("file", file.id.to_string()),
        state(&file),
        None,
    );
    assert!(matches!(
        f.store.delete_file(file.id, &f.audit_ctx(&ada)).await,
        Err(StoreError::NotFound)
    ));

    f.store
        .delete_workspace(workspace.id, &f.audit_ctx(&ada))
        .await
        .unwrap();
    assert_eq!(f.store.file_by_id(kept.id).await.unwrap(), None);
}

#[tokio::test]
async fn appending_an_update_moves_the_file_time_forward_never_backwards() {
    let f = Fixture::new().await;
    let (ada, _, workspace) = f.desk().await;
    let file = f.file(&workspace, &ada, "a.txt", None).await;
    let later = f.now() + chrono::Duration::seconds(5);
    let update = b"an update".to_vec();
    f.store
        .append_update(file.id, &update, later)
        .await
        .unwrap();
    f.store
        .append_update(file.id, &update, f.now())
        .await
        .unwrap();
    let touched = f.store.file_by_id(file.id).await.unwrap().unwrap();
    assert_eq!(touched.updated_at, later);
}
