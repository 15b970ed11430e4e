//! The lexing shared by the URL grammar's parameters (quoted strings, unquoted runs) and
//! the filter grammar proper: `[not.]op.value` and logic trees `(a.eq.1,or(b.gt.2,…))`.

use super::ast::{Condition, FieldRef, Filter, IsValue, Literal, Op, Operand};
use super::bounds::{MAX_CONDITIONS, MAX_DEPTH, MAX_IN_ITEMS, MAX_VALUE_BYTES};
use super::error::{Location, QueryError};

/// Which grammar a scanner reads, so that its errors carry the right code.
#[derive(Debug, Clone, Copy)]
pub(super) enum Kind {
    Filter,
    Order,
    Select,
}

/// A position in one parameter's decoded value.
#[derive(Debug)]
pub(super) struct Scanner<'a> {
    kind: Kind,
    param: &'a str,
    text: &'a str,
    pub(super) pos: usize,
}

impl<'a> Scanner<'a> {
    pub(super) fn new(kind: Kind, param: &'a str, text: &'a str) -> Self {
        Scanner {
            kind,
            param,
            text,
            pos: 0,
        }
    }

    pub(super) fn at(&self, pos: usize) -> Location {
        Location::new(self.param, self.text, pos)
    }

    pub(super) fn err(&self, pos: usize, reason: &'static str) -> QueryError {
        let at = self.at(pos);
        match self.kind {
            Kind::Filter => QueryError::MalformedFilter { at, reason },
            Kind::Order => QueryError::MalformedOrder { at, reason },
            Kind::Select => QueryError::MalformedSelect { at, reason },
        }
    }

    pub(super) fn rest(&self) -> &'a str {
        self.text.get(self.pos..).unwrap_or("")
    }

    pub(super) fn at_end(&self) -> bool {
        self.pos >= self.text.len()
    }

    pub(super) fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    /// Consumes `s` if the input continues with it.
    pub(super) fn eat(&mut self, s: &str) -> bool {
        let hit = self.rest().starts_with(s);
        if hit {
            self.pos += s.len();
        }
        hit
    }

    /// The unquoted run up to (not including) the first of `stops` or the end. The stops
    /// are ASCII, so the cut is always on a character boundary.
    pub(super) fn until(&mut self, stops: &[u8]) -> &'a str {
        let rest = self.rest();
        let len = rest
            .bytes()
            .position(|b| stops.contains(&b))
            .unwrap_or(rest.len());
        self.pos += len;
        &rest[..len]
    }

    /// A double-quoted string (the scanner is on its opening quote); a backslash makes
    /// the next character literal, as in PostgREST.
    pub(super) fn quoted(&mut self) -> Result<String, QueryError> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        let mut chars = self.rest().char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.pos += i + 1;
                    return Ok(out);
                }
                '\\' => match chars.next() {
                    Some((_, escaped)) => out.push(escaped),
                    None => break,
                },
                _ => out.push(c),
            }
        }
        Err(self.err(start, "unterminated double-quoted string"))
    }

    /// A quoted string, or else an unquoted run up to one of `stops`.
    pub(super) fn word(&mut self, stops: &[u8]) -> Result<String, QueryError> {
        if self.peek() == Some(b'"') {
            self.quoted()
        } else {
            Ok(self.until(stops).to_owned())
        }
    }

    /// Refuses `s` (starting at `start`) if it is over [`MAX_VALUE_BYTES`].
    pub(super) fn bounded(&self, start: usize, s: String) -> Result<String, QueryError> {
        if s.len() > MAX_VALUE_BYTES {
            return Err(QueryError::ValueTooLong {
                at: self.at(start),
                max: MAX_VALUE_BYTES,
            });
        }
        Ok(s)
    }

    /// A field reference: quoted, or unquoted up to one of `stops`; never empty.
    pub(super) fn field(&mut self, stops: &[u8]) -> Result<FieldRef, QueryError> {
        let start = self.pos;
        let name = self.word(stops)?;
        if name.is_empty() {
            return Err(self.err(start, "expected a field name"));
        }
        Ok(FieldRef(self.bounded(start, name)?))
    }
}

/// Parses filters, counting conditions across the whole query.
#[derive(Debug)]
pub(super) struct FilterParser<'a, 'c> {
    s: Scanner<'a>,
    conditions: &'c mut usize,
}

impl<'a, 'c> FilterParser<'a, 'c> {
    pub(super) fn new(param: &'a str, text: &'a str, conditions: &'c mut usize) -> Self {
        FilterParser {
            s: Scanner::new(Kind::Filter, param, text),
            conditions,
        }
    }

    /// The value of a `field=[not.]op.value` parameter. The scalar value is the rest of the
    /// text, verbatim: at the top level PostgREST does not unquote.
    pub(super) fn keyed(mut self, field: FieldRef) -> Result<Filter, QueryError> {
        let start = self.s.pos;
        let negated = self.s.eat("not.");
        let filter = self.condition(field, negated, start, true)?;
        if !self.s.at_end() {
            return Err(self.s.err(self.s.pos, "unexpected text after the value"));
        }
        Ok(filter)
    }

    /// The value of an `or=`, `and=`, `not.or=` or `not.and=` parameter: `(…)`.
    pub(super) fn logic(mut self, or: bool, negated: bool) -> Result<Filter, QueryError> {
        let children = self.group(1)?;
        if !self.s.at_end() {
            return Err(self.s.err(self.s.pos, "unexpected text after `)`"));
        }
        Ok(join(or, negated, children))
    }

    /// `(element,element,…)` at nesting `depth` (the outermost group is 1).
    fn group(&mut self, depth: usize) -> Result<Vec<Filter>, QueryError> {
        if depth > MAX_DEPTH {
            return Err(QueryError::FilterTooDeep {
                at: self.s.at(self.s.pos),
                max: MAX_DEPTH,
            });
        }
        if !self.s.eat("(") {
            return Err(self.s.err(self.s.pos, "expected `(`"));
        }
        let mut children = Vec::new();
        loop {
            children.push(self.element(depth)?);
            if self.s.eat(",") {
                continue;
            }
            if self.s.eat(")") {
                return Ok(children);
            }
            return Err(self.s.err(self.s.pos, "expected `,` or `)`"));
        }
    }

    /// One element of a group: a nested `[not.]and(…)`/`[not.]or(…)`, or a condition
    /// `field.[not.]op.value`.
    fn element(&mut self, depth: usize) -> Result<Filter, QueryError> {
        let start = self.s.pos;
        let rest = self.s.rest();
        let negated = rest.starts_with("not.and(") || rest.starts_with("not.or(");
        if negated {
            self.s.pos += "not.".len();
        }
        for (word, or) in [("and", false), ("or", true)] {
            if self.s.rest().starts_with(word) && self.s.rest()[word.len()..].starts_with('(') {
                self.s.pos += word.len();
                let children = self.group(depth + 1)?;
                return Ok(join(or, negated, children));
            }
        }
        let field = self.s.field(b".,()")?;
        if !self.s.eat(".") {
            return Err(self
                .s
                .err(self.s.pos, "expected `.` and an operator after the field"));
        }
        let negated = self.s.eat("not.");
        self.condition(field, negated, start, false)
    }

    /// `op.value` after the field (and `not.`, already consumed).
    fn condition(
        &mut self,
        field: FieldRef,
        negated: bool,
        start: usize,
        top: bool,
    ) -> Result<Filter, QueryError> {
        *self.conditions += 1;
        if *self.conditions > MAX_CONDITIONS {
            return Err(QueryError::TooManyConditions {
                at: self.s.at(start),
                max: MAX_CONDITIONS,
            });
        }
        let op_start = self.s.pos;
        let name = self.s.until(b".,()");
        let op = Op::from_name(name).ok_or_else(|| QueryError::UnknownOperator {
            at: self.s.at(op_start),
            operator: name.chars().take(64).collect(),
        })?;
        if !self.s.eat(".") {
            return Err(self
                .s
                .err(self.s.pos, "expected `.` and a value after the operator"));
        }
        let value_start = self.s.pos;
        let value = match op {
            Op::In => Operand::List(self.list()?),
            Op::Is => {
                let word = self.s.until(b",)");
                let v = IsValue::from_name(word).ok_or_else(|| {
                    self.s.err(
                        value_start,
                        "expected null, true, false or unknown after `is.`",
                    )
                })?;
                Operand::Is(v)
            }
            _ if top => {
                let raw = self.s.rest().to_owned();
                self.s.pos = self.s.text.len();
                Operand::Scalar(Literal::Text(self.s.bounded(value_start, raw)?))
            }
            _ => {
                let raw = self.s.word(b",)")?;
                Operand::Scalar(Literal::Text(self.s.bounded(value_start, raw)?))
            }
        };
        let condition = Filter::Condition(Condition { field, op, value });
        Ok(if negated {
            Filter::Not(Box::new(condition))
        } else {
            condition
        })
    }

    /// `(item,item,…)` of `in.`; `()` is the empty list.
    fn list(&mut self) -> Result<Vec<Literal>, QueryError> {
        if !self.s.eat("(") {
            return Err(self.s.err(self.s.pos, "expected `(` after `in.`"));
        }
        let mut items = Vec::new();
        if self.s.eat(")") {
            return Ok(items);
        }
        loop {
            let start = self.s.pos;
            if items.len() == MAX_IN_ITEMS {
                return Err(QueryError::InListTooLong {
                    at: self.s.at(start),
                    max: MAX_IN_ITEMS,
                });
            }
            let item = self.s.word(b",)")?;
            items.push(Literal::Text(self.s.bounded(start, item)?));
            if self.s.eat(",") {
                continue;
            }
            if self.s.eat(")") {
                return Ok(items);
            }
            return Err(self
                .s
                .err(self.s.pos, "expected `,` or `)` in the `in` list"));
        }
    }
}

fn join(or: bool, negated: bool, children: Vec<Filter>) -> Filter {
    let group = if or {
        Filter::Or(children)
    } else {
        Filter::And(children)
    };
    if negated {
        Filter::Not(Box::new(group))
    } else {
        group
    }
}
