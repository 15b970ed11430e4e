//! Collaborative documents: update seqs gap-free even under concurrent appends,
//! compaction that never loses an update, sizes, and versions.

use std::sync::Arc;

use tandem_domain::{File, FileId, FileVersion, User, VersionId, VersionKind};
use tandem_store::{StoreError, StoredDocument};

use crate::{Fixture, assert_audit, state};

impl Fixture {
    /// A named version of `file` holding `state = b"v:<file>"`, saved by `by`.
    pub async fn version(&self, file: &File, by: &User) -> FileVersion {
        self.tick();
        let version = FileVersion {
            id: VersionId::new(self.now()),
            file_id: file.id,
            kind: VersionKind::Named,
            name: Some("Draft".into()),
            created_by: Some(by.id),
            created_at: self.now(),
        };
        self.store
            .create_version(
                &version,
                format!("v:{}", file.id).as_bytes(),
                Some(&self.audit_ctx(by)),
            )
            .await
            .unwrap();
        version
    }
}

fn seqs(stored: &StoredDocument) -> Vec<u64> {
    stored.updates.iter().map(|(seq, _)| *seq).collect()
}

#[tokio::test]
async fn updates_get_seqs_one_two_three_and_load_in_order() {
    let f = Fixture::new().await;
    let (ada, _, workspace) = f.desk().await;
    let file = f.file(&workspace, &ada, "a.txt", None).await;
    for (n, data) in [b"one".as_slice(), b"two", b"three"]
        .into_iter()
        .enumerate()
    {
        let seq = f.store.append_update(file.id, data, f.now()).await.unwrap();
        assert_eq!(seq, n as u64 + 1);
    }
    let stored = f.store.load_document(file.id).await.unwrap();
    assert_eq!(
        stored.updates,
        vec![
            (1, b"one".to_vec()),
            (2, b"two".to_vec()),
            (3, b"three".to_vec())
        ]
    );
    assert_eq!(stored.last_seq(), 3);
    assert!(matches!(
        f.store
            .append_update(FileId::new(f.now()), b"x", f.now())
            .await,
        Err(StoreError::NotFound)
    ));
}

#[tokio::test]
async fn concurrent_appends_get_every_seq_exactly_once() {
    let f = Fixture::new().await;
    let (ada, _, workspace) = f.desk().await;
    let file = f.file(&workspace, &ada, "a.txt", Some(b"initial")).await;
    let store: Arc<dyn tandem_store::Store> = f.store.clone();
    let writers: Vec<_> = (0..6)
        .map(|writer| {
            let store = store.clone();
            let now = f.now();
            tokio::spawn(async move {
                let mut got = Vec::new();
                for n in 0..25 {
                    let data = format!("{writer}:{n}");
                    got.push(
                        store
                            .append_update(file.id, data.as_bytes(), now)
                            .await
                            .unwrap(),
                    );
                }
                got
            })
        })
        .collect();
    let mut all = Vec::new();
    for writer in writers {
        let got = writer.await.unwrap();
        assert!(
            got.windows(2).all(|w| w[0] < w[1]),
            "one writer's seqs rise: {got:?}"
        );
        all.extend(got);
    }
    all.sort_unstable();
    assert_eq!(all, (2..=151).collect::<Vec<u64>>());
    let stored = f.store.load_document(file.id).await.unwrap();
    assert_eq!(seqs(&stored), (1..=151).collect::<Vec<u64>>());
}

#[tokio::test]
async fn compaction_replaces_the_covered_updates_and_keeps_later_ones() {
    let f = Fixture::new().await;
    let (ada, _, workspace) = f.desk().await;
    let file = f.file(&workspace, &ada, "a.txt", Some(b"u1")).await;
    for data in [b"u2", b"u3"] {
        f.store.append_update(file.id, data, f.now()).await.unwrap();
    }
    assert_eq!(f.store.document_size(file.id).await.unwrap(), 6);

    // A compaction built from what was read up to seq 2, while seq 3 already exists.
    assert!(
        f.store
            .compact_document(file.id, b"S12", 2, f.now())
            .await
            .unwrap()
    );
    let stored = f.store.load_document(file.id).await.unwrap();
    assert_eq!(stored.snapshot.as_deref(), Some(b"S12".as_slice()));
    assert_eq!(stored.snapshot_seq, 2);
    assert_eq!(stored.updates, vec![(3, b"u3".to_vec())]);
    assert_eq!(stored.last_seq(), 3);
    assert_eq!(f.store.document_size(file.id).await.unwrap(), 5);

    // Another node compacting the same or less changes nothing.
    assert!(
        !f.store
            .compact_document(file.id, b"OLD", 2, f.now())
            .await
            .unwrap()
    );
    assert!(
        !f.store
            .compact_document(file.id, b"OLD", 1, f.now())
            .await
            .unwrap()
    );
    assert_eq!(f.store.load_document(file.id).await.unwrap(), stored);

    // Seqs keep counting after compaction.
    assert_eq!(
        f.store
            .append_update(file.id, b"u4", f.now())
            .await
            .unwrap(),
        4
    );
    assert!(
        f.store
            .compact_document(file.id, b"S1234", 4, f.now())
            .await
            .unwrap()
    );
    let stored = f.store.load_document(file.id).await.unwrap();
    assert_eq!((stored.snapshot_seq, stored.updates.len()), (4, 0));
    assert!(matches!(
        f.store
            .compact_document(FileId::new(f.now()), b"x", 1, f.now())
            .await,
        Err(StoreError::NotFound)
    ));
}

#[tokio::test]
async fn appends_racing_a_compaction_are_never_lost() {
    let f = Fixture::new().await;
    let (ada, _, workspace) = f.desk().await;
    let file = f.file(&workspace, &ada, "a.txt", Some(b"u")).await;
    let store = f.store.clone();
    let now = f.now();
    let appending = tokio::spawn(async move {
        for _ in 0..40 {
            store.append_update(file.id, b"u", now).await.unwrap();
        }
    });
    // Compact repeatedly up to whatever was last read, as nodes do.
    for _ in 0..10 {
        let stored = f.store.load_document(file.id).await.unwrap();
        f.store
            .compact_document(file.id, b"S", stored.last_seq(), f.now())
            .await
            .unwrap();
    }
    appending.await.unwrap();
    let stored = f.store.load_document(file.id).await.unwrap();
    // Everything after the snapshot is still there, with no gap.
    let expected: Vec<u64> = (stored.snapshot_seq + 1..=41).collect();
    assert_eq!(seqs(&stored), expected);
}

#[tokio::test]
async fn versions_list_newest_first_and_keep_their_state() {
    let f = Fixture::new().await;
    let (ada, project, workspace) = f.desk().await;
    let file = f.file(&workspace, &ada, "a.txt", None).await;
    let first = f.version(&file, &ada).await;
    assert_audit(
        &f.last_audit(project.id).await,
        project.id,
        &ada,
        f.now(),
        "file.version_created",
        ("file", file.id.to_string()),
        None,
        state(&first),
    );
    f.tick();
    let auto = FileVersion {
        id: VersionId::new(f.now()),
        file_id: file.id,
        kind: VersionKind::Auto,
        name: None,
        created_by: None,
        created_at: f.now(),
    };
    let audit_rows = f.audit_log(project.id).await.len();
    f.store
        .create_version(&auto, b"auto-state", None)
        .await
        .unwrap();
    assert_eq!(
        f.audit_log(project.id).await.len(),
        audit_rows,
        "automatic versions are not audited"
    );
    let third = f.version(&file, &ada).await;

    let listed = f.store.list_versions(file.id, None, 10).await.unwrap();
    assert_eq!(listed, vec![third.clone(), auto.clone(), first.clone()]);
    let after = f
        .store
        .list_versions(file.id, Some(third.id), 1)
        .await
        .unwrap();
    assert_eq!(after, vec![auto.clone()]);
    assert_eq!(
        f.store.version_by_id(auto.id).await.unwrap(),
        Some(auto.clone())
    );
    assert_eq!(
        f.store.version_state(auto.id).await.unwrap().as_deref(),
        Some(b"auto-state".as_slice())
    );
    assert_eq!(
        f.store
            .version_state(VersionId::new(f.now()))
            .await
            .unwrap(),
        None
    );

    let orphan = FileVersion {
        file_id: FileId::new(f.now()),
        id: VersionId::new(f.now()),
        ..auto
    };
    assert!(matches!(
        f.store.create_version(&orphan, b"x", None).await,
        Err(StoreError::NotFound)
    ));
}

#[tokio::test]
async fn a_batch_of_updates_numbers_each_files_own_in_order_and_skips_missing_files() {
    let f = Fixture::new().await;
    let (ada, _, workspace) = f.desk().await;
    let a = f.file(&workspace, &ada, "a.txt", Some(b"a0")).await;
    let b = f.file(&workspace, &ada, "b.txt", None).await;
    let missing = FileId::new(f.now());
    let batch: Vec<(FileId, &[u8])> =
        vec![(a.id, b"a1"), (b.id, b"b1"), (missing, b"x"), (a.id, b"a2")];
    let seqs = f.store.append_updates(&batch, f.now()).await.unwrap();
    assert_eq!(seqs, [Some(2), Some(1), None, Some(3)]);
    let stored = f.store.load_document(a.id).await.unwrap();
    let updates: Vec<(u64, &[u8])> = stored
        .updates
        .iter()
        .map(|(seq, data)| (*seq, data.as_slice()))
        .collect();
    assert_eq!(updates, [(1, b"a0".as_slice()), (2, b"a1"), (3, b"a2")]);
    let stored = f.store.load_document(b.id).await.unwrap();
    assert_eq!(stored.updates, [(1, b"b1".to_vec())]);
    assert_eq!(f.store.append_updates(&[], f.now()).await.unwrap(), []);
}

#[tokio::test]
async fn large_and_small_updates_in_one_batch_keep_their_bytes_and_order() {
    let f = Fixture::new().await;
    let (ada, _, workspace) = f.desk().await;
    let a = f.file(&workspace, &ada, "paste.txt", None).await;
    let b = f.file(&workspace, &ada, "other.txt", None).await;
    // Every byte value, at sizes either side of any batching threshold a backend uses.
    let paste: Vec<u8> = (0..1_048_576u32).map(|i| (i % 251) as u8).collect();
    let medium: Vec<u8> = (0..20_000u32).map(|i| (i % 256) as u8).collect();
    let batch: Vec<(FileId, &[u8])> = vec![
        (a.id, b"k1"),
        (a.id, &paste),
        (b.id, &medium),
        (a.id, b"k2"),
        (b.id, b"\x00\xff"),
    ];
    let seqs = f.store.append_updates(&batch, f.now()).await.unwrap();
    assert_eq!(seqs, [Some(1), Some(2), Some(1), Some(3), Some(2)]);
    let stored = f.store.load_document(a.id).await.unwrap();
    assert_eq!(
        stored.updates,
        [(1, b"k1".to_vec()), (2, paste.clone()), (3, b"k2".to_vec())]
    );
    let stored = f.store.load_document(b.id).await.unwrap();
    assert_eq!(stored.updates, [(1, medium), (2, b"\x00\xff".to_vec())]);
}
