//! Keyset cursors: an opaque, versioned token naming the last row of a page by its sort
//! key values and row id, and the sort it was made for. There is no OFFSET.
//!
//! The token is not signed: it only carries values the caller could filter on anyway
//! (its own sort keys and a row id it has been shown), so forging one grants nothing that
//! a filter would not. Storage still binds every value it takes from a cursor.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::ast::{Direction, FieldRef, Nulls, Sort};
use super::bounds::{MAX_CURSOR_BYTES, MAX_FIELDS};
use super::error::{Location, QueryError};

/// The cursor format this code writes and reads.
const VERSION: u32 = 1;

/// Where a page starts: after the row with these sort key values and this id, in this
/// sort (the row id being the final ascending tie-breaker).
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    /// The sort the cursor was made for; a query with another sort refuses it.
    pub sort: Vec<Sort>,
    /// The last row's value for each sort key, as JSON, in the order of `sort`.
    pub key: Vec<serde_json::Value>,
    /// The last row's id.
    pub row_id: Uuid,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    v: u32,
    s: Vec<WireSort>,
    k: Vec<serde_json::Value>,
    id: Uuid,
}

/// A sort key as `[field, "asc"|"desc", "first"|"last"]`.
#[derive(Serialize, Deserialize)]
struct WireSort(String, String, String);

impl Cursor {
    /// A cursor, if there is one key value per sort key.
    pub fn new(sort: Vec<Sort>, key: Vec<serde_json::Value>, row_id: Uuid) -> Option<Self> {
        (sort.len() == key.len()).then_some(Cursor { sort, key, row_id })
    }

    /// The opaque token: base64url (no padding) of a small versioned JSON document.
    pub fn encode(&self) -> String {
        let wire = Wire {
            v: VERSION,
            s: self
                .sort
                .iter()
                .map(|s| {
                    WireSort(
                        s.field.0.clone(),
                        s.direction.as_str().to_owned(),
                        s.nulls.as_str().to_owned(),
                    )
                })
                .collect(),
            k: self.key.clone(),
            id: self.row_id,
        };
        // Serialising plain data to a Vec cannot fail; an empty token (refused on decode)
        // would be the only consequence if it ever did.
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&wire).unwrap_or_default())
    }

    /// Reads a token made by [`Cursor::encode`].
    pub fn decode(token: &str) -> Result<Self, QueryError> {
        let invalid = |reason| QueryError::InvalidCursor {
            at: Location::new("cursor", token, 0),
            reason,
        };
        if token.len() > MAX_CURSOR_BYTES {
            return Err(invalid("too long"));
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| invalid("not base64url"))?;
        let wire: Wire = serde_json::from_slice(&bytes).map_err(|_| invalid("not a cursor"))?;
        if wire.v != VERSION {
            return Err(invalid("made by another version"));
        }
        if wire.s.len() != wire.k.len() || wire.s.len() > MAX_FIELDS {
            return Err(invalid("not a cursor"));
        }
        let mut sort = Vec::with_capacity(wire.s.len());
        for WireSort(field, direction, nulls) in wire.s {
            let direction = match direction.as_str() {
                "asc" => Direction::Asc,
                "desc" => Direction::Desc,
                _ => return Err(invalid("not a cursor")),
            };
            let nulls = match nulls.as_str() {
                "first" => Nulls::First,
                "last" => Nulls::Last,
                _ => return Err(invalid("not a cursor")),
            };
            sort.push(Sort {
                field: FieldRef(field),
                direction,
                nulls,
            });
        }
        Ok(Cursor {
            sort,
            key: wire.k,
            row_id: wire.id,
        })
    }

    /// Reads a token and checks that it was made for `order`.
    pub fn decode_for(token: &str, order: &[Sort]) -> Result<Self, QueryError> {
        let cursor = Cursor::decode(token)?;
        if cursor.sort != order {
            return Err(QueryError::InvalidCursor {
                at: Location::new("cursor", token, 0),
                reason: "made for another sort",
            });
        }
        Ok(cursor)
    }
}
