//! Comparisons for the evaluator: stored scalars, keyset keys with nulls placement,
//! one test on one cell, and SQL LIKE matching.

use std::cmp::Ordering;

use crate::bind::{BoundSort, CompareOp, LIKE_ESCAPE, Test};
use crate::field::{CellValue, Stored};
use crate::query::{Direction, Nulls};

/// Two non-null scalars of one kind; values of different kinds (which a bound query
/// never compares) order by kind so that the order stays total.
pub(super) fn cmp_stored(a: &Stored, b: &Stored) -> Ordering {
    match (a, b) {
        // Rust compares strings by bytes, and UTF-8 byte order is code point order.
        (Stored::Text(x), Stored::Text(y)) | (Stored::Json(x), Stored::Json(y)) => x.cmp(y),
        (Stored::Integer(x), Stored::Integer(y)) => x.cmp(y),
        // Cells are finite; `partial_cmp` also makes -0 equal 0, as SQL does.
        (Stored::Real(x), Stored::Real(y)) => x.partial_cmp(y).unwrap_or(Ordering::Equal),
        (Stored::Bool(x), Stored::Bool(y)) => x.cmp(y),
        (Stored::Date(x), Stored::Date(y)) => x.cmp(y),
        (Stored::Timestamp(x), Stored::Timestamp(y)) => x.cmp(y),
        // `Uuid`'s order is its bytes', the order of its lowercase text.
        (Stored::Uuid(x), Stored::Uuid(y)) => x.cmp(y),
        _ => rank(a).cmp(&rank(b)),
    }
}

fn rank(s: &Stored) -> u8 {
    match s {
        Stored::Null => 0,
        Stored::Text(_) => 1,
        Stored::Integer(_) => 2,
        Stored::Real(_) => 3,
        Stored::Bool(_) => 4,
        Stored::Json(_) => 5,
        Stored::Date(_) => 6,
        Stored::Timestamp(_) => 7,
        Stored::Uuid(_) => 8,
    }
}

/// Two rows' keys in the keyset order: per key, nulls where the key puts them
/// (whatever the direction), other values by kind then reversed when descending.
pub(super) fn compare_keys(order: &[BoundSort], a: &[Stored], b: &[Stored]) -> Ordering {
    for ((sort, x), y) in order.iter().zip(a).zip(b) {
        let null_first = sort.nulls == Nulls::First;
        let ord = match (x, y) {
            (Stored::Null, Stored::Null) => Ordering::Equal,
            (Stored::Null, _) if null_first => Ordering::Less,
            (Stored::Null, _) => Ordering::Greater,
            (_, Stored::Null) if null_first => Ordering::Greater,
            (_, Stored::Null) => Ordering::Less,
            _ => match sort.direction {
                Direction::Asc => cmp_stored(x, y),
                Direction::Desc => cmp_stored(x, y).reverse(),
            },
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

/// One test on one cell: `None` is SQL's unknown.
pub(super) fn test_cell(test: &Test, cell: &CellValue) -> Option<bool> {
    match test {
        Test::IsNull => return Some(cell.is_null()),
        Test::IsTrue => return Some(matches!(cell, CellValue::Boolean(true))),
        Test::IsFalse => return Some(matches!(cell, CellValue::Boolean(false))),
        Test::Never => return Some(false),
        _ if cell.is_null() => return None,
        _ => {}
    }
    let stored = cell.to_stored();
    match test {
        Test::Compare { op, value } => {
            let ord = cmp_stored(&stored, value);
            Some(match op {
                CompareOp::Eq => ord == Ordering::Equal,
                CompareOp::Neq => ord != Ordering::Equal,
                CompareOp::Gt => ord == Ordering::Greater,
                CompareOp::Gte => ord != Ordering::Less,
                CompareOp::Lt => ord == Ordering::Less,
                CompareOp::Lte => ord != Ordering::Greater,
            })
        }
        Test::In(values) => Some(
            values
                .iter()
                .any(|v| cmp_stored(&stored, v) == Ordering::Equal),
        ),
        Test::Like(p) => match stored {
            Stored::Text(s) if p.ascii_case_insensitive => {
                Some(like_match(&p.pattern, &s.to_ascii_lowercase()))
            }
            Stored::Text(s) => Some(like_match(&p.pattern, &s)),
            _ => None,
        },
        Test::ContainsAny(values) | Test::ContainsNone(values) => {
            let CellValue::Options(ids) = cell else {
                return None;
            };
            let any = ids
                .iter()
                .any(|id| values.contains(&Stored::Text(id.as_str().to_owned())));
            Some(any == matches!(test, Test::ContainsAny(_)))
        }
        Test::IsNull | Test::IsTrue | Test::IsFalse | Test::Never => None,
    }
}

/// A pattern token: `%`, `_`, or one literal character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    AnyRun,
    AnyOne,
    Char(char),
}

/// SQL `text LIKE pattern ESCAPE '\'`, case-sensitive, by characters.
pub(super) fn like_match(pattern: &str, text: &str) -> bool {
    let mut toks = Vec::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        toks.push(match c {
            // A trailing lone escape matches itself, as PostgreSQL would refuse and
            // bind never produces.
            c if c == LIKE_ESCAPE => Tok::Char(chars.next().unwrap_or(LIKE_ESCAPE)),
            '%' => Tok::AnyRun,
            '_' => Tok::AnyOne,
            c => Tok::Char(c),
        });
    }
    let text: Vec<char> = text.chars().collect();
    // The classic wildcard walk: remember the last `%` and retry from one further on.
    let (mut t, mut p) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match toks.get(p) {
            Some(Tok::AnyRun) => {
                star = Some((p, t));
                p += 1;
            }
            Some(Tok::AnyOne) => {
                t += 1;
                p += 1;
            }
            Some(Tok::Char(c)) if *c == text[t] => {
                t += 1;
                p += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    toks[p..].iter().all(|tok| *tok == Tok::AnyRun)
}
