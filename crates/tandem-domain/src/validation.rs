//! The one shape of a validation failure: which field, and what is wrong with it.

use std::borrow::Cow;

use serde::Serialize;

/// One invalid input field, reported to clients as `{field, message}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// The JSON field name, as the client sent it (a dotted path when nested).
    pub field: Cow<'static, str>,
    /// A sentence a person can act on.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}
