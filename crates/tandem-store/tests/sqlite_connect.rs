//! How the SQLite store opens its database: the URL forms the embedded deployment and
//! tests use, independent of the backend the conformance suite runs on.

use tandem_domain::{Clock, DisplayName, Email, SystemClock, User, UserId};
use tandem_store::{SqliteStore, Store, UserStore};

#[tokio::test]
async fn connecting_creates_the_missing_folders_and_the_database_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data/nested/tandem.db");

    let store = SqliteStore::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store.close().await;

    assert!(path.is_file());
}

#[tokio::test]
async fn a_file_database_uses_write_ahead_logging() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tandem.db");

    let store = SqliteStore::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store.close().await;

    // A WAL database says so in its header: file format versions 2 (bytes 18 and 19).
    let header = std::fs::read(&path).unwrap();
    assert_eq!(&header[18..20], &[2, 2]);
}

#[tokio::test]
async fn an_in_memory_database_keeps_its_rows_between_queries() {
    let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
    store.migrate().await.unwrap();
    let now = SystemClock.now();
    let user = User {
        id: UserId::new(now),
        email: Email::parse("ada@example.com").unwrap(),
        name: DisplayName::parse("Ada").unwrap(),
        password_hash: "h".to_owned(),
        created_at: now,
        updated_at: now,
    };

    store.create_user(&user).await.unwrap();

    assert_eq!(store.user_by_id(user.id).await.unwrap(), Some(user));
}

#[tokio::test]
async fn a_url_of_another_scheme_is_a_configuration_error() {
    let err = tandem_store::connect("mysql://localhost/tandem")
        .await
        .unwrap_err();

    assert!(
        matches!(err, tandem_store::StoreError::Config(_)),
        "{err:?}"
    );
}
