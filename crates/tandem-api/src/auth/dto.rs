//! The JSON bodies of the auth routes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tandem_domain::{Session, SessionId, User};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// Compared case-insensitively; stored lower-cased.
    #[schema(
        example = "ada@example.com",
        max_length = 254,
        pattern = r"^\s*[^@\s\x00-\x1f\x7f-\x9f]+@[^@\s\x00-\x1f\x7f-\x9f.]+(\.[^@\s\x00-\x1f\x7f-\x9f.]+)+\s*$"
    )]
    pub email: String,
    /// At least 10 characters, mixing at least two of: lower case, upper case, digits, symbols.
    #[schema(
        example = "correct horse 1",
        min_length = 10,
        max_length = 256,
        pattern = r"^(?![a-z]*$)(?![A-Z]*$)(?![0-9]*$)(?![^a-zA-Z0-9]*$)[\s\S]{10,256}$"
    )]
    pub password: String,
    /// Leading and trailing spaces are trimmed.
    #[schema(
        example = "Ada Lovelace",
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(example = "ada@example.com")]
    pub email: String,
    #[schema(example = "correct horse 1")]
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The refresh token from the last login or refresh; it can be used once.
    pub refresh_token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMeRequest {
    /// Leading and trailing spaces are trimmed.
    #[schema(
        example = "Ada King",
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    /// The same rules as at registration.
    #[schema(
        min_length = 10,
        max_length = 256,
        pattern = r"^(?![a-z]*$)(?![A-Z]*$)(?![0-9]*$)(?![^a-zA-Z0-9]*$)[\s\S]{10,256}$"
    )]
    pub new_password: String,
}

/// An account, as its owner sees it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UserView {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&User> for UserView {
    fn from(user: &User) -> Self {
        Self {
            id: user.id.0,
            email: user.email.as_str().to_owned(),
            name: user.name.as_str().to_owned(),
            created_at: user.created_at,
            updated_at: user.updated_at,
        }
    }
}

/// A new token pair, with the account it belongs to.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuthResponse {
    pub user: UserView,
    /// A JWT to send as `Authorization: Bearer …`.
    pub access_token: String,
    /// An opaque token for `POST /auth/refresh`; single use.
    pub refresh_token: String,
    #[schema(example = "Bearer")]
    pub token_type: String,
    /// Seconds until the access token expires.
    #[schema(example = 900)]
    pub expires_in: u64,
}

/// A login session of the caller.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    /// True for the session of the token making this request.
    pub current: bool,
}

impl SessionView {
    pub fn new(session: Session, current: SessionId) -> Self {
        Self {
            id: session.id.0,
            current: session.id == current,
            created_at: session.created_at,
            last_used_at: session.last_used_at,
            user_agent: session.user_agent,
            ip: session.ip,
        }
    }
}

#[cfg(test)]
mod tests {
    use tandem_domain::NewPassword;
    use utoipa::PartialSchema;

    use super::*;

    fn property(
        schema: utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        name: &str,
    ) -> serde_json::Value {
        serde_json::to_value(schema).unwrap()["properties"][name].clone()
    }

    #[test]
    fn the_documented_password_pattern_is_the_enforced_rule() {
        for schema in [RegisterRequest::schema(), ChangePasswordRequest::schema()] {
            let field = if property(schema.clone(), "password").is_null() {
                "new_password"
            } else {
                "password"
            };
            assert_eq!(property(schema, field)["pattern"], NewPassword::PATTERN);
        }
    }
}
