//! Why a parsed query does not fit a table: each error names the field and, for
//! values, the literal at fault, with a stable snake_case code.

/// Longest quote of an offending literal in an error.
const QUOTE_MAX: usize = 64;

/// Why binding refused a query.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BindError {
    /// A field reference that names no field of the table.
    #[error("no field {reference:?} in this table")]
    UnknownField {
        /// The reference as written (a name, or an id with `fields_by=id`).
        reference: String,
    },
    /// An operator the field's type has no sense for (`gt` on a boolean, `like` on a
    /// number, anything but `is.null` on JSON…).
    #[error("operator `{op}` cannot be used on field {field:?} of type {field_type}")]
    OperatorNotAllowed {
        /// The field's name.
        field: String,
        /// The operator, e.g. `like` or `is.true`.
        op: String,
        /// The field's type tag.
        field_type: &'static str,
    },
    /// A literal that does not fit the field's type, or an operand of the wrong shape.
    #[error("invalid value {value:?} for field {field:?}: {reason}")]
    InvalidValue {
        /// The field's name.
        field: String,
        /// The literal as written (at most 64 bytes of it).
        value: String,
        /// What was expected.
        reason: String,
    },
    /// A sort on a field whose values have no order both backends agree on.
    #[error("field {field:?} of type {field_type} cannot be sorted on")]
    UnsortableField {
        /// The field's name.
        field: String,
        /// The field's type tag.
        field_type: &'static str,
    },
    /// A hand-built filter nested deeper than [`crate::query::MAX_DEPTH`] (the parsers
    /// refuse these first).
    #[error("filter nested deeper than {max} levels")]
    FilterTooDeep {
        /// The bound.
        max: usize,
    },
    /// A cursor made for another sort, or whose key values do not fit the sort's fields.
    #[error("invalid cursor: {reason}")]
    InvalidCursor {
        /// Why.
        reason: String,
    },
}

impl BindError {
    /// The stable machine code, for API error bodies.
    pub fn code(&self) -> &'static str {
        match self {
            BindError::UnknownField { .. } => "unknown_field",
            BindError::OperatorNotAllowed { .. } => "operator_not_allowed",
            BindError::InvalidValue { .. } => "invalid_value",
            BindError::UnsortableField { .. } => "unsortable_field",
            BindError::FilterTooDeep { .. } => "filter_too_deep",
            BindError::InvalidCursor { .. } => "invalid_cursor",
        }
    }

    /// An [`BindError::InvalidValue`], quoting at most 64 bytes of `value`.
    pub(crate) fn invalid(field: &str, value: &str, reason: impl Into<String>) -> Self {
        let mut end = value.len().min(QUOTE_MAX);
        while !value.is_char_boundary(end) {
            end -= 1;
        }
        BindError::InvalidValue {
            field: field.to_owned(),
            value: value[..end].to_owned(),
            reason: reason.into(),
        }
    }
}
