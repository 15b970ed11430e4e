//! Cursor pagination: `?limit=&cursor=` in, `{items, next_cursor}` out.

use axum::extract::{FromRequestParts, Query};
use axum::http::StatusCode;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::error::ApiError;

/// The query parameters of a list.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Pagination {
    /// How many items to return, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl Pagination {
    pub const DEFAULT_LIMIT: u32 = 50;
    pub const MAX_LIMIT: u32 = 100;

    pub fn limit(&self) -> u32 {
        self.limit.unwrap_or(Self::DEFAULT_LIMIT)
    }

    /// The id the cursor points after.
    pub fn after(&self) -> Result<Option<Uuid>, ApiError> {
        let Some(cursor) = self.cursor.as_deref().filter(|c| !c.is_empty()) else {
            return Ok(None);
        };
        URL_SAFE_NO_PAD
            .decode(cursor)
            .ok()
            .and_then(|bytes| Uuid::from_slice(&bytes).ok())
            .map(Some)
            .ok_or_else(|| ApiError::field("cursor", "is not a cursor this server issued"))
    }

    /// The text key the cursor points after, for lists ordered by a text (paths).
    pub fn after_text(&self) -> Result<Option<String>, ApiError> {
        let Some(cursor) = self.cursor.as_deref().filter(|c| !c.is_empty()) else {
            return Ok(None);
        };
        URL_SAFE_NO_PAD
            .decode(cursor)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .map(Some)
            .ok_or_else(|| ApiError::field("cursor", "is not a cursor this server issued"))
    }

    /// Like `page`, for lists ordered by a text key.
    pub fn page_by_text<T, V>(
        &self,
        mut rows: Vec<T>,
        key: impl Fn(&T) -> &str,
        view: impl Fn(T) -> V,
    ) -> Page<V> {
        let limit = self.limit() as usize;
        let next_cursor = (rows.len() > limit).then(|| {
            rows.truncate(limit);
            URL_SAFE_NO_PAD.encode(key(&rows[limit - 1]))
        });
        Page {
            items: rows.into_iter().map(view).collect(),
            next_cursor,
        }
    }

    /// Turns `limit + 1` fetched rows into a page: the extra row only proves there is more.
    pub fn page<T, V>(
        &self,
        mut rows: Vec<T>,
        id: impl Fn(&T) -> Uuid,
        view: impl Fn(T) -> V,
    ) -> Page<V> {
        let limit = self.limit() as usize;
        let next_cursor = (rows.len() > limit).then(|| {
            rows.truncate(limit);
            URL_SAFE_NO_PAD.encode(id(&rows[limit - 1]).as_bytes())
        });
        Page {
            items: rows.into_iter().map(view).collect(),
            next_cursor,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Pagination {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(pagination) = Query::<Self>::from_request_parts(parts, state)
            .await
            .map_err(|e| {
                ApiError::client(StatusCode::BAD_REQUEST, "invalid_query", e.body_text())
            })?;
        match pagination.limit {
            Some(limit) if !(1..=Self::MAX_LIMIT).contains(&limit) => {
                Err(ApiError::field("limit", "must be between 1 and 100"))
            }
            _ => Ok(pagination),
        }
    }
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}
