//! Accounts: creating, finding, renaming and re-hashing users.

use chrono::Duration;
use tandem_domain::{DisplayName, UserId};
use tandem_store::StoreError;

use crate::Fixture;

#[tokio::test]
async fn a_created_user_can_be_found_by_id_and_by_email() {
    let f = Fixture::new().await;
    let user = f.user("ada@example.com").await;

    assert_eq!(
        f.store.user_by_id(user.id).await.unwrap(),
        Some(user.clone())
    );
    assert_eq!(
        f.store.user_by_email("ada@example.com").await.unwrap(),
        Some(user)
    );
}

#[tokio::test]
async fn unknown_users_are_none() {
    let f = Fixture::new().await;
    f.user("ada@example.com").await;

    assert_eq!(
        f.store.user_by_id(UserId::new(f.now())).await.unwrap(),
        None
    );
    assert_eq!(
        f.store.user_by_email("bob@example.com").await.unwrap(),
        None
    );
}

#[tokio::test]
async fn a_second_account_with_the_same_email_is_a_conflict() {
    let f = Fixture::new().await;
    let first = f.user("ada@example.com").await;
    let mut second = first.clone();
    second.id = UserId::new(f.now() + Duration::milliseconds(1));

    let err = f.store.create_user(&second).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict("users.email")),
        "{err:?}"
    );
}

#[tokio::test]
async fn renaming_a_user_changes_the_name_and_updated_at_only() {
    let f = Fixture::new().await;
    let user = f.user("ada@example.com").await;
    f.clock.advance(Duration::minutes(5));
    let name = DisplayName::parse("Countess of Lovelace").unwrap();

    let renamed = f
        .store
        .update_user_name(user.id, &name, f.now())
        .await
        .unwrap();

    assert_eq!(renamed.name, name);
    assert_eq!(renamed.updated_at, f.now());
    assert_eq!(renamed.created_at, user.created_at);
    assert_eq!(renamed.email, user.email);
    assert_eq!(f.store.user_by_id(user.id).await.unwrap(), Some(renamed));
}

#[tokio::test]
async fn renaming_a_missing_user_is_not_found() {
    let f = Fixture::new().await;
    let name = DisplayName::parse("Nobody").unwrap();

    let err = f
        .store
        .update_user_name(UserId::new(f.now()), &name, f.now())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
}

#[tokio::test]
async fn a_new_password_hash_replaces_the_old_one() {
    let f = Fixture::new().await;
    let user = f.user("ada@example.com").await;
    f.clock.advance(Duration::seconds(1));

    f.store
        .update_password_hash(user.id, "$argon2id$new", f.now())
        .await
        .unwrap();

    let stored = f.store.user_by_id(user.id).await.unwrap().unwrap();
    assert_eq!(stored.password_hash, "$argon2id$new");
    assert_eq!(stored.updated_at, f.now());
}

#[tokio::test]
async fn a_password_hash_for_a_missing_user_is_not_found() {
    let f = Fixture::new().await;

    let err = f
        .store
        .update_password_hash(UserId::new(f.now()), "$argon2id$x", f.now())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
}
