//! `ApiJson`: axum's `Json`, with every rejection answered as problem+json.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tandem_domain::FieldError;

use crate::error::ApiError;

/// A JSON request or response body.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::JsonDataError(e) => match field_error(&e) {
            Some(error) => ApiError::Validation(vec![error]),
            // The body as a whole has the wrong type (an array, say): no field to name.
            None => ApiError::client(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                e.body_text(),
            ),
        },
        JsonRejection::JsonSyntaxError(e) => {
            ApiError::client(StatusCode::BAD_REQUEST, "malformed_json", e.body_text())
        }
        JsonRejection::MissingJsonContentType(_) => ApiError::client(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "expected a body with content-type application/json",
        ),
        JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::client(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the request body is larger than the server accepts",
            )
        }
        other => ApiError::client(other.status(), "bad_request", other.body_text()),
    }
}

/// Names the field of a well-formed body that does not fit the expected shape (a
/// missing field, a number where a string belongs), so `errors` lists it like any other
/// invalid field.
fn field_error(rejection: &(dyn std::error::Error + 'static)) -> Option<FieldError> {
    let mut source = rejection.source();
    let error = loop {
        let error = source?;
        if let Some(error) = error.downcast_ref::<serde_path_to_error::Error<serde_json::Error>>() {
            break error;
        }
        source = error.source();
    };
    let inner = error.inner();
    // serde_json appends the position; the field name says where.
    let message = inner.to_string();
    let position = format!(" at line {} column {}", inner.line(), inner.column());
    let message = message.strip_suffix(&position).unwrap_or(&message);
    let path = error.path().to_string();
    let parent = if path == "." { "" } else { path.as_str() };
    // A missing field is reported at its parent; name the field itself.
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'));
    let field = match (missing, parent) {
        (Some(name), "") => name.to_owned(),
        (Some(name), parent) => format!("{parent}.{name}"),
        (None, "") => return None,
        (None, parent) => parent.to_owned(),
    };
    let message = match missing {
        Some(_) => "is required".to_owned(),
        None => message.to_owned(),
    };
    Some(FieldError::new(field, message))
}

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}
