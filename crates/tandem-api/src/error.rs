//! The API's one error type and its one mapping to RFC 9457 `application/problem+json`.
//!
//! Every failure a client can see goes through `ApiError`: handlers, extractors, the
//! fallbacks and the safety-net middleware alike. 5xx causes are logged with the
//! request id and never sent.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tandem_domain::FieldError;
use tandem_store::StoreError;
use utoipa::ToSchema;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem document, as sent.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the problem kind: `urn:tandem:problem:{code}`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary that does not change between occurrences.
    pub title: &'static str,
    pub status: u16,
    /// What went wrong this time, for a person.
    pub detail: String,
    /// A stable machine-readable code, e.g. `validation_failed`, `token_expired`.
    pub code: &'static str,
    /// For `validation_failed` and the other 422 codes that name fields: each invalid
    /// field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<FieldErrorSchema>)]
    pub errors: Vec<FieldError>,
    /// For `lossy_type_change`: how many cells the change would empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lost: Option<u64>,
}

/// One invalid field.
#[derive(Debug, ToSchema)]
#[expect(dead_code, reason = "documents the shape of tandem_domain::FieldError")]
pub struct FieldErrorSchema {
    field: String,
    message: String,
    /// The stable code of the rule broken, where it has one (e.g. a table cell's
    /// `wrong_type`).
    code: Option<String>,
}

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// A client error with its own status and code that points at the parts of the
    /// request at fault: a query's parameter, a row's cell, the settings of a field
    /// (see [`ApiError::invalid`]).
    #[error("{code}: {detail}")]
    Pointed {
        status: StatusCode,
        code: &'static str,
        detail: String,
        errors: Vec<FieldError>,
    },
    /// Changing a live table field's type would empty `lost` cells, and the caller did not
    /// say to go ahead.
    #[error("lossy type change: {lost} cells")]
    LossyTypeChange { lost: u64 },
    #[error("{code}: {detail}")]
    /// A client error with its own status and stable code.
    Client {
        status: StatusCode,
        code: &'static str,
        detail: String,
    },
    #[error("rate limited")]
    RateLimited { retry_after_secs: u64 },
    #[error("service unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn client(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self::Client {
            status,
            code,
            detail: detail.into(),
        }
    }

    pub fn pointed(
        status: StatusCode,
        code: &'static str,
        detail: impl Into<String>,
        errors: Vec<FieldError>,
    ) -> Self {
        Self::Pointed {
            status,
            code,
            detail: detail.into(),
            errors,
        }
    }

    /// Like `Validation` (422), with a code of its own that says which rule the fields
    /// broke (a live table field's `invalid_precision`, say).
    pub fn invalid(code: &'static str, errors: Vec<FieldError>) -> Self {
        let detail = errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        Self::pointed(StatusCode::UNPROCESSABLE_ENTITY, code, detail, errors)
    }

    pub fn unauthorized(code: &'static str, detail: impl Into<String>) -> Self {
        Self::client(StatusCode::UNAUTHORIZED, code, detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::client(StatusCode::NOT_FOUND, "not_found", detail)
    }

    pub fn field(field: &'static str, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::LossyTypeChange { .. } => StatusCode::CONFLICT,
            Self::Client { status, .. } | Self::Pointed { status, .. } => *status,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub(crate) fn code(&self) -> &'static str {
        match self {
            Self::Validation(_) => "validation_failed",
            Self::Pointed { code, .. } | Self::Client { code, .. } => code,
            Self::LossyTypeChange { .. } => "lossy_type_change",
            Self::RateLimited { .. } => "rate_limited",
            Self::Unavailable(_) => "service_unavailable",
            Self::Internal(_) => "internal_error",
        }
    }

    pub(crate) fn detail(&self) -> String {
        match self {
            Self::Validation(errors) => errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
            Self::LossyTypeChange { lost } => format!(
                "the new type cannot hold {lost} of the field's values, which would be emptied; \
                 send \"force\": true to change it anyway, or ?dry_run=true to see what changes"
            ),
            Self::Client { detail, .. } | Self::Pointed { detail, .. } => detail.clone(),
            Self::RateLimited { retry_after_secs } => {
                format!("too many requests; retry in {retry_after_secs} s")
            }
            Self::Unavailable(_) => "the service cannot answer right now".into(),
            Self::Internal(_) => "an internal error occurred; it has been logged".into(),
        }
    }
}

/// Builds the problem response for any status and code; the fallbacks use it directly.
pub fn problem_response(
    status: StatusCode,
    code: &'static str,
    detail: String,
    errors: Vec<FieldError>,
) -> Response {
    Problem::new(status, code, detail, errors).respond(status)
}

impl Problem {
    fn new(
        status: StatusCode,
        code: &'static str,
        detail: String,
        errors: Vec<FieldError>,
    ) -> Self {
        Self {
            kind: format!("urn:tandem:problem:{code}"),
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail,
            code,
            errors,
            lost: None,
        }
    }

    fn respond(&self, status: StatusCode) -> Response {
        let body = serde_json::to_vec(self).unwrap_or_default();
        let mut response = (status, body).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        response
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        match &self {
            Self::Internal(cause) => tracing::error!(error = ?cause, "request failed"),
            Self::Unavailable(cause) => tracing::warn!(error = %cause, "service unavailable"),
            _ => {}
        }
        let detail = self.detail();
        let code = self.code();
        let retry_after = match &self {
            Self::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        };
        let lost = match &self {
            Self::LossyTypeChange { lost } => Some(*lost),
            _ => None,
        };
        let errors = match self {
            Self::Validation(errors) | Self::Pointed { errors, .. } => errors,
            _ => Vec::new(),
        };
        let problem = Problem {
            lost,
            ..Problem::new(status, code, detail, errors)
        };
        let mut response = problem.respond(status);
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => Self::not_found("no such resource"),
            StoreError::Conflict("users.email") => Self::client(
                StatusCode::CONFLICT,
                "email_taken",
                "an account with this email already exists",
            ),
            StoreError::Conflict(what) => {
                Self::client(StatusCode::CONFLICT, "conflict", format!("{what} is taken"))
            }
            StoreError::QueryTimeout => Self::client(
                StatusCode::SERVICE_UNAVAILABLE,
                "query_timeout",
                "the query ran past its time limit and was cancelled; narrow it or add an index",
            ),
            other => Self::Internal(other.into()),
        }
    }
}

/// The result type of handlers.
pub type ApiResult<T> = Result<T, ApiError>;
