//! Printing a [`Query`] back to the URL grammar, for `next` links and the round-trip
//! tests: parsing what is printed gives the same AST for every AST the URL parser makes.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::ast::{Condition, FieldsBy, Filter, Literal, Op, Operand};
use super::request::Query;
use super::url::RESERVED;

/// Characters left as they are in printed links: unreserved ones, and the grammar's own
/// punctuation, which is legal in a query string and keeps links readable.
const KEEP: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'(')
    .remove(b')')
    .remove(b',')
    .remove(b'*')
    .remove(b':');

impl Query {
    /// The query as decoded `(key, value)` pairs, in the URL grammar.
    pub fn to_pairs(&self) -> Vec<(String, String)> {
        let mut pairs = Vec::new();
        match &self.filter {
            Some(Filter::And(children)) if children.len() >= 2 => {
                pairs.extend(children.iter().map(param));
            }
            Some(filter) => pairs.push(param(filter)),
            None => {}
        }
        if !self.order.is_empty() {
            let keys: Vec<String> = self
                .order
                .iter()
                .map(|s| {
                    let mut key = quote_if(&s.field.0, b".,");
                    if s.direction != Default::default() {
                        key.push('.');
                        key.push_str(s.direction.as_str());
                    }
                    if s.nulls != s.direction.default_nulls() {
                        key.push_str(".nulls");
                        key.push_str(s.nulls.as_str());
                    }
                    key
                })
                .collect();
            pairs.push(("order".into(), keys.join(",")));
        }
        if let Some(select) = &self.select {
            let fields: Vec<String> = select
                .iter()
                .map(|f| match f.0.as_str() {
                    "*" => quote("*"),
                    name => quote_if(name, b","),
                })
                .collect();
            pairs.push(("select".into(), fields.join(",")));
        }
        if let Some(limit) = self.limit {
            pairs.push(("limit".into(), limit.to_string()));
        }
        if let Some(cursor) = &self.cursor {
            pairs.push(("cursor".into(), cursor.encode()));
        }
        if let Some(search) = &self.search {
            pairs.push(("search".into(), search.clone()));
        }
        if self.fields_by == FieldsBy::Id {
            pairs.push(("fields_by".into(), "id".into()));
        }
        pairs
    }

    /// The query as a percent-encoded query string (no leading `?`).
    pub fn to_query_string(&self) -> String {
        self.to_pairs()
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    utf8_percent_encode(k, KEEP),
                    utf8_percent_encode(v, KEEP)
                )
            })
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// One top-level filter as its own parameter.
fn param(filter: &Filter) -> (String, String) {
    match filter {
        Filter::Condition(c) => (key(c), op_value(c, true)),
        Filter::Not(inner) => match inner.as_ref() {
            Filter::Condition(c) => (key(c), format!("not.{}", op_value(c, true))),
            Filter::Or(children) => ("not.or".into(), group(children)),
            Filter::And(children) => ("not.and".into(), group(children)),
            // The grammar has no `not.not`; `not.and(not …)` says the same.
            Filter::Not(_) => ("not.and".into(), group(std::slice::from_ref(inner))),
        },
        Filter::Or(children) => ("or".into(), group(children)),
        Filter::And(children) => ("and".into(), group(children)),
    }
}

/// A filter parameter's key: the field, quoted when it would read as a reserved
/// parameter or a quoted key.
fn key(c: &Condition) -> String {
    let name = c.field.0.as_str();
    if RESERVED.contains(&name) || name.starts_with('"') {
        quote(name)
    } else {
        name.to_owned()
    }
}

fn group(children: &[Filter]) -> String {
    let items: Vec<String> = children.iter().map(element).collect();
    format!("({})", items.join(","))
}

fn element(filter: &Filter) -> String {
    match filter {
        Filter::Condition(c) => format!("{}.{}", quote_if(&c.field.0, b".,()"), op_value(c, false)),
        Filter::Not(inner) => match inner.as_ref() {
            Filter::Condition(c) => {
                format!(
                    "{}.not.{}",
                    quote_if(&c.field.0, b".,()"),
                    op_value(c, false)
                )
            }
            Filter::Or(children) => format!("not.or{}", group(children)),
            Filter::And(children) => format!("not.and{}", group(children)),
            Filter::Not(_) => format!("not.and{}", group(std::slice::from_ref(inner))),
        },
        Filter::Or(children) => format!("or{}", group(children)),
        Filter::And(children) => format!("and{}", group(children)),
    }
}

/// `op.value`; a scalar at the top level is verbatim, inside a tree it is quoted when it
/// holds the tree's punctuation.
fn op_value(c: &Condition, top: bool) -> String {
    let value = match &c.value {
        Operand::Scalar(lit) if top => lit.raw().into_owned(),
        Operand::Scalar(lit) => quote_if(&lit.raw(), b",()"),
        Operand::List(items) => list(items),
        Operand::Is(v) => v.as_str().to_owned(),
    };
    let op = match (&c.op, &c.value) {
        // Keep printing parseable if a hand-built condition pairs `in` with a scalar.
        (Op::In, Operand::Scalar(_)) => Op::Eq,
        (op, _) => *op,
    };
    format!("{}.{}", op.as_str(), value)
}

fn list(items: &[Literal]) -> String {
    let items: Vec<String> = items.iter().map(|l| quote_if(&l.raw(), b",()")).collect();
    format!("({})", items.join(","))
}

/// `s` double-quoted when it is empty, starts with a quote, or holds one of `specials`
/// or a backslash.
fn quote_if(s: &str, specials: &[u8]) -> String {
    let needs = s.is_empty()
        || s.starts_with('"')
        || s.bytes().any(|b| specials.contains(&b) || b == b'\\');
    if needs { quote(s) } else { s.to_owned() }
}

fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}
