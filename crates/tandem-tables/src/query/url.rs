//! PostgREST's URL grammar for `GET …/rows`: from decoded query pairs (or a raw query
//! string) to a [`Query`].

use percent_encoding::percent_decode_str;

use super::ast::{Direction, FieldRef, FieldsBy, Filter, Nulls, Sort};
use super::bounds::{MAX_FIELDS, MAX_LIMIT, MAX_VALUE_BYTES};
use super::cursor::Cursor;
use super::error::{Location, QueryError};
use super::grammar::{FilterParser, Kind, Scanner};
use super::request::Query;

/// Parameter names that are never field names. A field with one of these names is
/// filtered on with a quoted key (`"order"=eq.x`) or inside a logic tree.
pub const RESERVED: [&str; 11] = [
    "select",
    "order",
    "limit",
    "cursor",
    "search",
    "or",
    "and",
    "not",
    "not.or",
    "not.and",
    "fields_by",
];

/// Parses the percent-decoded pairs of a query string. Filters given as separate
/// parameters AND together, in the order given.
pub fn parse_pairs(pairs: &[(String, String)]) -> Result<Query, QueryError> {
    let mut query = Query::default();
    let mut filters = Vec::new();
    let mut conditions = 0;
    let mut seen: Vec<&str> = Vec::new();
    let mut cursor_text = None;
    for (key, value) in pairs {
        let key = key.as_str();
        if matches!(
            key,
            "select" | "order" | "limit" | "cursor" | "search" | "fields_by"
        ) {
            if seen.contains(&key) {
                return Err(QueryError::DuplicateParameter {
                    param: key.to_owned(),
                });
            }
            seen.push(key);
        }
        match key {
            "select" => query.select = parse_select(value)?,
            "order" => query.order = parse_order(value)?,
            "limit" => query.limit = Some(parse_limit("limit", value)?),
            "cursor" => cursor_text = Some(value.as_str()),
            "search" => query.search = Some(bounded("search", value)?.to_owned()),
            "fields_by" => query.fields_by = parse_fields_by("fields_by", value)?,
            "or" | "and" | "not.or" | "not.and" => {
                let parser = FilterParser::new(key, value, &mut conditions);
                filters.push(parser.logic(key.ends_with("or"), key.starts_with("not."))?);
            }
            "not" => {
                return Err(QueryError::MalformedFilter {
                    at: Location::new(key, value, 0),
                    reason: "`not` is written `not.or=(…)` or `not.and=(…)`",
                });
            }
            _ => {
                let field = key_field(key)?;
                let parser = FilterParser::new(key, value, &mut conditions);
                filters.push(parser.keyed(field)?);
            }
        }
    }
    query.filter = match filters.len() {
        0 => None,
        1 => filters.pop(),
        _ => Some(Filter::And(filters)),
    };
    if let Some(text) = cursor_text {
        query.cursor = Some(Cursor::decode_for(text, &query.order)?);
    }
    Ok(query)
}

/// Splits a raw query string (no leading `?`) on `&` and `=`, percent-decodes each side
/// (`+` is a space, as HTML forms send it), then parses the pairs. A segment whose
/// decoding is not UTF-8 is `malformed_query_string`.
pub fn parse_query_string(raw: &str) -> Result<Query, QueryError> {
    parse_pairs(&decode_query_string(raw)?)
}

/// The percent-decoded pairs of a raw query string; empty segments are skipped and a
/// segment without `=` has the empty value.
pub fn decode_query_string(raw: &str) -> Result<Vec<(String, String)>, QueryError> {
    let mut pairs = Vec::new();
    let mut offset = 0;
    for segment in raw.split('&') {
        let start = offset;
        offset += segment.len() + 1;
        if segment.is_empty() {
            continue;
        }
        let (key, value) = segment.split_once('=').unwrap_or((segment, ""));
        let decode = |part: &str, at: usize| {
            let spaced = part.replace('+', " ");
            percent_decode_str(&spaced)
                .decode_utf8()
                .map(|s| s.into_owned())
                .map_err(|_| QueryError::MalformedQueryString {
                    at: Location::new("query", raw, at),
                    reason: "percent-decoding does not give UTF-8",
                })
        };
        let value_at = start + segment.find('=').map_or(segment.len(), |i| i + 1);
        let key = decode(key, start)?;
        let value = decode(value, value_at)?;
        pairs.push((key, value));
    }
    Ok(pairs)
}

/// The field a filter parameter's key names: the key itself, or the content of a
/// double-quoted key (the way to filter on a field named like a reserved parameter).
fn key_field(key: &str) -> Result<FieldRef, QueryError> {
    if key.starts_with('"') {
        let mut s = Scanner::new(Kind::Filter, key, key);
        let field = s.field(b"")?;
        if !s.at_end() {
            return Err(s.err(s.pos, "unexpected text after the quoted field name"));
        }
        return Ok(field);
    }
    if key.is_empty() {
        return Err(QueryError::MalformedFilter {
            at: Location::new(key, key, 0),
            reason: "expected a field name before `=`",
        });
    }
    Ok(FieldRef(bounded(key, key)?.to_owned()))
}

fn bounded<'a>(param: &str, value: &'a str) -> Result<&'a str, QueryError> {
    if value.len() > MAX_VALUE_BYTES {
        return Err(QueryError::ValueTooLong {
            at: Location::new(param, value, 0),
            max: MAX_VALUE_BYTES,
        });
    }
    Ok(value)
}

/// `select=f1,"f,2",…`; `select=*` is every field.
fn parse_select(value: &str) -> Result<Option<Vec<FieldRef>>, QueryError> {
    if value == "*" {
        return Ok(None);
    }
    let mut s = Scanner::new(Kind::Select, "select", value);
    let mut fields = Vec::new();
    loop {
        if fields.len() == MAX_FIELDS {
            return Err(QueryError::TooManyFields {
                at: s.at(s.pos),
                max: MAX_FIELDS,
            });
        }
        fields.push(s.field(b",")?);
        if s.at_end() {
            return Ok(Some(fields));
        }
        if !s.eat(",") {
            return Err(s.err(s.pos, "expected `,` after the field"));
        }
    }
}

/// `order=f1.desc.nullslast,f2`: each key a field with an optional direction then an
/// optional nulls placement.
fn parse_order(value: &str) -> Result<Vec<Sort>, QueryError> {
    let mut s = Scanner::new(Kind::Order, "order", value);
    let mut order = Vec::new();
    loop {
        if order.len() == MAX_FIELDS {
            return Err(QueryError::TooManyFields {
                at: s.at(s.pos),
                max: MAX_FIELDS,
            });
        }
        let field = s.field(b".,")?;
        let mut direction = None;
        let mut nulls = None;
        while s.eat(".") {
            let start = s.pos;
            match s.until(b".,") {
                "asc" if direction.is_none() && nulls.is_none() => direction = Some(Direction::Asc),
                "desc" if direction.is_none() && nulls.is_none() => {
                    direction = Some(Direction::Desc)
                }
                "nullsfirst" if nulls.is_none() => nulls = Some(Nulls::First),
                "nullslast" if nulls.is_none() => nulls = Some(Nulls::Last),
                _ => return Err(s.err(start, "expected asc or desc, then nullsfirst or nullslast")),
            }
        }
        let direction = direction.unwrap_or_default();
        order.push(Sort {
            field,
            direction,
            nulls: nulls.unwrap_or(direction.default_nulls()),
        });
        if s.at_end() {
            return Ok(order);
        }
        if !s.eat(",") {
            return Err(s.err(s.pos, "expected `,` after the sort key"));
        }
    }
}

/// A whole number from 0 to [`MAX_LIMIT`], digits only.
pub(super) fn parse_limit(param: &str, value: &str) -> Result<u32, QueryError> {
    let invalid = || QueryError::InvalidLimit {
        at: Location::new(param, value, 0),
        max: MAX_LIMIT,
    };
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    match value.parse::<u32>() {
        Ok(n) if n <= MAX_LIMIT => Ok(n),
        _ => Err(invalid()),
    }
}

pub(super) fn parse_fields_by(param: &str, value: &str) -> Result<FieldsBy, QueryError> {
    match value {
        "name" => Ok(FieldsBy::Name),
        "id" => Ok(FieldsBy::Id),
        _ => Err(QueryError::InvalidFieldsBy {
            at: Location::new(param, value, 0),
        }),
    }
}
