//! Accounts in PostgreSQL: the `users` table.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tandem_domain::{DisplayName, User, UserId};
use uuid::Uuid;

use super::{PgStore, micros, on_unique_violation};
use crate::{StoreError, UserStore};

/// A `users` row as PostgreSQL returns it.
#[derive(sqlx::FromRow)]
struct UserRow {
    id: Uuid,
    email: String,
    name: String,
    password_hash: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> Self {
        User::from_storage(
            UserId(row.id),
            row.email,
            row.name,
            row.password_hash,
            row.created_at,
            row.updated_at,
        )
    }
}

#[async_trait]
impl UserStore for PgStore {
    async fn create_user(&self, user: &User) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO users (id, email, name, password_hash, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(user.id.0)
        .bind(user.email.as_str())
        .bind(user.name.as_str())
        .bind(&user.password_hash)
        .bind(micros(user.created_at))
        .bind(micros(user.updated_at))
        .execute(&self.pool)
        .await
        .map_err(on_unique_violation("users.email"))?;
        Ok(())
    }

    async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let row: Option<UserRow> = sqlx::query_as(
            "SELECT id, email, name, password_hash, created_at, updated_at \
             FROM users WHERE id = $1",
        )
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(User::from))
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        let row: Option<UserRow> = sqlx::query_as(
            "SELECT id, email, name, password_hash, created_at, updated_at \
             FROM users WHERE email = $1",
        )
        .bind(email)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(User::from))
    }

    async fn update_user_name(
        &self,
        id: UserId,
        name: &DisplayName,
        now: DateTime<Utc>,
    ) -> Result<User, StoreError> {
        let row: Option<UserRow> = sqlx::query_as(
            "UPDATE users SET name = $1, updated_at = $2 WHERE id = $3 \
             RETURNING id, email, name, password_hash, created_at, updated_at",
        )
        .bind(name.as_str())
        .bind(micros(now))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?;
        row.map(User::from).ok_or(StoreError::NotFound)
    }

    async fn update_password_hash(
        &self,
        id: UserId,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let done =
            sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
                .bind(password_hash)
                .bind(micros(now))
                .bind(id.0)
                .execute(&self.pool)
                .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}
