//! The query layer's errors: each names its stable code, the parameter and the fragment at
//! fault, so that the API can answer 400 pointing at the offending part.

/// Longest fragment an error quotes; the value at fault may be 64 KiB.
const FRAGMENT_MAX: usize = 64;

/// Where in the input an error is: the parameter (URL) or JSON path, the byte offset in
/// that parameter's decoded value, and a short quote of the text there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The URL parameter name (`order`, `or`, a field name) or the JSON path
    /// (`filter.and[1].value`).
    pub param: String,
    /// Byte offset in the parameter's decoded value (0 for JSON).
    pub offset: usize,
    /// At most 64 bytes of the input from `offset`, cut on a character boundary.
    pub fragment: String,
}

impl Location {
    /// The location `offset` bytes into `text`, the value of `param`.
    pub fn new(param: &str, text: &str, offset: usize) -> Self {
        let offset = offset.min(text.len());
        let rest = text.get(offset..).unwrap_or("");
        let mut end = rest.len().min(FRAGMENT_MAX);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        Location {
            param: param.to_owned(),
            offset,
            fragment: rest[..end].to_owned(),
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "in `{}` at byte {} (near `{}`)",
            self.param, self.offset, self.fragment
        )
    }
}

/// Why a query was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// A filter that does not follow the grammar.
    #[error("malformed filter {at}: {reason}")]
    MalformedFilter {
        /// Where.
        at: Location,
        /// What was expected.
        reason: &'static str,
    },
    /// An operator name that is not one of ours.
    #[error("unknown operator `{operator}` {at}")]
    UnknownOperator {
        /// Where.
        at: Location,
        /// The name as written.
        operator: String,
    },
    /// An `order` that does not follow the grammar.
    #[error("malformed order {at}: {reason}")]
    MalformedOrder {
        /// Where.
        at: Location,
        /// What was expected.
        reason: &'static str,
    },
    /// A `select` that does not follow the grammar.
    #[error("malformed select {at}: {reason}")]
    MalformedSelect {
        /// Where.
        at: Location,
        /// What was expected.
        reason: &'static str,
    },
    /// A `limit` that is not a whole number within bounds.
    #[error("invalid limit {at}: must be a whole number from 0 to {max}")]
    InvalidLimit {
        /// Where.
        at: Location,
        /// The largest limit allowed.
        max: u32,
    },
    /// A cursor that is not one of ours, or was made for another sort.
    #[error("invalid cursor {at}: {reason}")]
    InvalidCursor {
        /// Where.
        at: Location,
        /// Why.
        reason: &'static str,
    },
    /// A `fields_by` other than `name` or `id`.
    #[error("invalid fields_by {at}: must be `name` or `id`")]
    InvalidFieldsBy {
        /// Where.
        at: Location,
    },
    /// A parameter given twice where once is the only sense (`order`, `limit`, …).
    #[error("parameter `{param}` given more than once")]
    DuplicateParameter {
        /// The parameter.
        param: String,
    },
    /// Filters nested deeper than [`super::MAX_DEPTH`].
    #[error("filter nested deeper than {max} {at}")]
    FilterTooDeep {
        /// Where.
        at: Location,
        /// The bound.
        max: usize,
    },
    /// More conditions than [`super::MAX_CONDITIONS`].
    #[error("more than {max} conditions {at}")]
    TooManyConditions {
        /// Where the one over the bound starts.
        at: Location,
        /// The bound.
        max: usize,
    },
    /// An `in` list longer than [`super::MAX_IN_ITEMS`].
    #[error("`in` list longer than {max} items {at}")]
    InListTooLong {
        /// Where.
        at: Location,
        /// The bound.
        max: usize,
    },
    /// More sort keys or selected fields than [`super::MAX_FIELDS`].
    #[error("more than {max} fields {at}")]
    TooManyFields {
        /// Where.
        at: Location,
        /// The bound.
        max: usize,
    },
    /// A value, field reference or search longer than [`super::MAX_VALUE_BYTES`].
    #[error("value longer than {max} bytes {at}")]
    ValueTooLong {
        /// Where.
        at: Location,
        /// The bound.
        max: usize,
    },
    /// A raw query string whose percent-decoding is not UTF-8.
    #[error("malformed query string {at}: {reason}")]
    MalformedQueryString {
        /// Where (the parameter is the raw `key=value` segment).
        at: Location,
        /// Why.
        reason: &'static str,
    },
    /// A JSON body that is not JSON, or not of the query's shape (serde's message).
    #[error("malformed JSON query at line {line}, column {column}: {message}")]
    MalformedJson {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// serde's description.
        message: String,
    },
}

impl QueryError {
    /// The stable machine code, for API error bodies.
    pub fn code(&self) -> &'static str {
        match self {
            QueryError::MalformedFilter { .. } => "malformed_filter",
            QueryError::UnknownOperator { .. } => "unknown_operator",
            QueryError::MalformedOrder { .. } => "malformed_order",
            QueryError::MalformedSelect { .. } => "malformed_select",
            QueryError::InvalidLimit { .. } => "invalid_limit",
            QueryError::InvalidCursor { .. } => "invalid_cursor",
            QueryError::InvalidFieldsBy { .. } => "invalid_fields_by",
            QueryError::DuplicateParameter { .. } => "duplicate_parameter",
            QueryError::FilterTooDeep { .. } => "filter_too_deep",
            QueryError::TooManyConditions { .. } => "too_many_conditions",
            QueryError::InListTooLong { .. } => "in_list_too_long",
            QueryError::TooManyFields { .. } => "too_many_fields",
            QueryError::ValueTooLong { .. } => "value_too_long",
            QueryError::MalformedQueryString { .. } => "malformed_query_string",
            QueryError::MalformedJson { .. } => "malformed_json",
        }
    }

    /// Where the error is, when it has one place.
    pub fn location(&self) -> Option<&Location> {
        match self {
            QueryError::MalformedFilter { at, .. }
            | QueryError::UnknownOperator { at, .. }
            | QueryError::MalformedOrder { at, .. }
            | QueryError::MalformedSelect { at, .. }
            | QueryError::InvalidLimit { at, .. }
            | QueryError::InvalidCursor { at, .. }
            | QueryError::InvalidFieldsBy { at }
            | QueryError::FilterTooDeep { at, .. }
            | QueryError::TooManyConditions { at, .. }
            | QueryError::InListTooLong { at, .. }
            | QueryError::TooManyFields { at, .. }
            | QueryError::ValueTooLong { at, .. }
            | QueryError::MalformedQueryString { at, .. } => Some(at),
            QueryError::DuplicateParameter { .. } | QueryError::MalformedJson { .. } => None,
        }
    }
}
