//! Accounts in SQLite: the `users` table.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tandem_domain::{DisplayName, User, UserId};

use super::{SqliteStore, decode_id, decode_time, encode_id, encode_time, on_unique_violation};
use crate::{StoreError, UserStore};

/// A `users` row as SQLite returns it.
#[derive(sqlx::FromRow)]
struct UserRow {
    id: String,
    email: String,
    name: String,
    password_hash: String,
    created_at: String,
    updated_at: String,
}

impl TryFrom<UserRow> for User {
    type Error = sqlx::Error;

    fn try_from(row: UserRow) -> Result<Self, Self::Error> {
        Ok(User::from_storage(
            UserId(decode_id("users.id", &row.id)?),
            row.email,
            row.name,
            row.password_hash,
            decode_time("users.created_at", &row.created_at)?,
            decode_time("users.updated_at", &row.updated_at)?,
        ))
    }
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn create_user(&self, user: &User) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO users (id, email, name, password_hash, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(encode_id(user.id.0))
        .bind(user.email.as_str())
        .bind(user.name.as_str())
        .bind(&user.password_hash)
        .bind(encode_time(user.created_at))
        .bind(encode_time(user.updated_at))
        .execute(&self.pool)
        .await
        .map_err(on_unique_violation("users.email"))?;
        Ok(())
    }

    async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let row: Option<UserRow> = sqlx::query_as(
            "SELECT id, email, name, password_hash, created_at, updated_at FROM users WHERE id = ?",
        )
        .bind(encode_id(id.0))
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(User::try_from).transpose()?)
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        let row: Option<UserRow> = sqlx::query_as(
            "SELECT id, email, name, password_hash, created_at, updated_at FROM users WHERE email = ?",
        )
            .bind(email)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(User::try_from).transpose()?)
    }

    async fn update_user_name(
        &self,
        id: UserId,
        name: &DisplayName,
        now: DateTime<Utc>,
    ) -> Result<User, StoreError> {
        let row: Option<UserRow> = sqlx::query_as(
            "UPDATE users SET name = ?, updated_at = ? WHERE id = ? \
             RETURNING id, email, name, password_hash, created_at, updated_at",
        )
        .bind(name.as_str())
        .bind(encode_time(now))
        .bind(encode_id(id.0))
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.ok_or(StoreError::NotFound)?.try_into()?)
    }

    async fn update_password_hash(
        &self,
        id: UserId,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?")
            .bind(password_hash)
            .bind(encode_time(now))
            .bind(encode_id(id.0))
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}
