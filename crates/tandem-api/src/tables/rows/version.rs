//! A row's version on the wire: the `ETag` of a read row and the `If-Match` of a
//! conditional write.
//!
//! The ETag is weak (`W/"7"`): the version says when the row's cells last changed, but
//! the same version reads differently after a field is renamed. `If-Match` takes the
//! row's version in any of the spellings clients send: `"7"`, `W/"7"` or `7`. That is
//! looser than RFC 9110's strong comparison on purpose: the version is the validator
//! this API documents, whatever the quoting.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};

use crate::error::ApiError;

/// The weak ETag of a row at `version`.
pub fn etag(version: i64) -> HeaderValue {
    HeaderValue::from_str(&format!("W/\"{version}\""))
        .unwrap_or(HeaderValue::from_static("W/\"0\""))
}

/// The version `If-Match` names, `None` without the header. `*` (any version) is no
/// condition. Several values or one that is not a version: 400 `invalid_if_match`.
pub fn if_match(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let invalid = || {
        ApiError::client(
            StatusCode::BAD_REQUEST,
            "invalid_if_match",
            "If-Match must name one row version, e.g. \"7\"",
        )
    };
    let text = value.to_str().map_err(|_| invalid())?.trim();
    if text == "*" {
        return Ok(None);
    }
    let bare = text.strip_prefix("W/").unwrap_or(text);
    let bare = bare
        .strip_prefix('"')
        .and_then(|b| b.strip_suffix('"'))
        .unwrap_or(bare);
    bare.parse::<i64>()
        .ok()
        .filter(|v| *v > 0)
        .map(Some)
        .ok_or_else(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::IF_MATCH, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn every_spelling_of_a_version_is_read() {
        for v in ["\"7\"", "W/\"7\"", "7", " 7 "] {
            assert_eq!(if_match(&with(v)).unwrap(), Some(7), "{v}");
        }
        assert_eq!(if_match(&HeaderMap::new()).unwrap(), None);
        assert_eq!(if_match(&with("*")).unwrap(), None);
    }

    #[test]
    fn anything_else_is_refused() {
        for v in ["\"7\", \"8\"", "abc", "\"-1\"", "0", "\"\""] {
            assert!(if_match(&with(v)).is_err(), "{v}");
        }
    }
}
