//! Property tests: no input panics the parsers (arbitrary text, percent-encoded bytes,
//! valid queries mutated), and printing then parsing gives the same AST back (URL grammar
//! and JSON twin).

use proptest::prelude::*;

use super::*;

fn name() -> impl Strategy<Value = String> {
    // Punctuation of every grammar, quotes, backslashes, spaces and non-ASCII.
    "[a-zA-Z0-9 .,()\"\\\\*:&=+%é]{1,8}"
}

fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 .,()\"\\\\*:&=+%é]{0,8}"
}

fn lit() -> impl Strategy<Value = Literal> {
    text().prop_map(Literal::Text)
}

fn condition() -> impl Strategy<Value = Filter> {
    let scalar_ops = prop::sample::select(vec![
        Op::Eq,
        Op::Neq,
        Op::Gt,
        Op::Gte,
        Op::Lt,
        Op::Lte,
        Op::Like,
        Op::Ilike,
    ]);
    let is = prop::sample::select(vec![
        IsValue::Null,
        IsValue::True,
        IsValue::False,
        IsValue::Unknown,
    ]);
    let operand = prop_oneof![
        (scalar_ops, lit()).prop_map(|(op, l)| (op, Operand::Scalar(l))),
        prop::collection::vec(lit(), 0..4).prop_map(|l| (Op::In, Operand::List(l))),
        is.prop_map(|v| (Op::Is, Operand::Is(v))),
    ];
    (name(), operand, any::<bool>()).prop_map(|(field, (op, value), negated)| {
        let c = Filter::Condition(Condition {
            field: FieldRef(field),
            op,
            value,
        });
        if negated { Filter::Not(Box::new(c)) } else { c }
    })
}

/// Filters the URL grammar can say: no `not` of a `not`.
fn filter() -> impl Strategy<Value = Filter> {
    condition().prop_recursive(4, 24, 4, |inner| {
        (
            prop::collection::vec(inner, 1..4),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(children, or, negated)| {
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
            })
    })
}

fn sort() -> impl Strategy<Value = Sort> {
    (name(), any::<bool>(), any::<bool>()).prop_map(|(f, desc, first)| Sort {
        field: FieldRef(f),
        direction: if desc {
            Direction::Desc
        } else {
            Direction::Asc
        },
        nulls: if first { Nulls::First } else { Nulls::Last },
    })
}

fn query() -> impl Strategy<Value = Query> {
    (
        prop::option::of(filter()),
        prop::collection::vec(sort(), 0..3),
        prop::option::of(prop::collection::vec(name().prop_map(FieldRef), 1..4)),
        prop::option::of(0..=MAX_LIMIT),
        any::<bool>(),
        prop::option::of(text()),
        any::<bool>(),
    )
        .prop_map(
            |(filter, order, select, limit, with_cursor, search, by_id)| {
                let cursor = with_cursor.then(|| Cursor {
                    key: order.iter().map(|s| serde_json::json!(s.field.0)).collect(),
                    sort: order.clone(),
                    row_id: uuid::Uuid::from_u128(7),
                });
                Query {
                    filter,
                    order,
                    select,
                    limit,
                    cursor,
                    search,
                    fields_by: if by_id { FieldsBy::Id } else { FieldsBy::Name },
                }
            },
        )
}

/// Splice-ins for mutated queries: broken and overlong escapes, the grammar's
/// punctuation, reserved words and operators.
const TOKENS: [&str; 22] = [
    "%",
    "%Z",
    "%FF",
    "%C3%28",
    "%C0%AF",
    "%ED%A0%80",
    "%00",
    "(",
    ")",
    ",",
    ".",
    "\"",
    "\\",
    "&",
    "=",
    "*",
    "not.",
    "or=(",
    "and(",
    "in.(",
    "is.",
    "%25",
];

/// `text` with each edit applied: a token inserted, a span cut, or the rest cut.
fn mutate(text: &str, edits: &[(u16, u8, u8)]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for &(at, kind, pick) in edits {
        let at = usize::from(at) % (chars.len() + 1);
        match kind % 3 {
            0 => {
                let token = TOKENS[usize::from(pick) % TOKENS.len()];
                chars.splice(at..at, token.chars());
            }
            1 => {
                let end = (at + usize::from(pick % 8) + 1).min(chars.len());
                chars.drain(at..end);
            }
            _ => chars.truncate(at),
        }
    }
    chars.into_iter().collect()
}

fn edits() -> impl Strategy<Value = Vec<(u16, u8, u8)>> {
    prop::collection::vec(any::<(u16, u8, u8)>(), 1..6)
}

proptest! {
    // Parsing is cheap: many cases.
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn no_text_at_all_panics_the_parser(raw in any::<String>()) {
        let _ = parse_query_string(&raw);
    }

    #[test]
    fn no_percent_encoded_bytes_panic_the_parser(
        key in "or|and|not.or|a|order|select|limit|cursor|%FF",
        bytes in prop::collection::vec(any::<u8>(), 0..96),
    ) {
        let escaped: String = bytes.iter().map(|b| format!("%{b:02X}")).collect();
        let _ = parse_query_string(&escaped);
        let _ = parse_query_string(&format!("{key}={escaped}"));
        let _ = parse_query_string(&format!("{key}=eq.{escaped}"));
    }

    #[test]
    fn no_mutation_of_a_valid_query_panics_the_parser(q in query(), edits in edits()) {
        let _ = parse_query_string(&mutate(&q.to_query_string(), &edits));
        let _ = Query::from_json(&mutate(&q.to_json().to_string(), &edits));
    }
}

proptest! {
    #[test]
    fn no_query_string_panics_the_parser(raw in "[a-z().,\"\\\\=&%0-9A-F*+!é-]{0,64}") {
        let _ = parse_query_string(&raw);
    }

    #[test]
    fn no_filter_value_panics_the_parser(key in "or|and|not.or|a|\"a\"|order|select|limit|cursor", value in "[a-z().,\"\\\\0-9*é-]{0,48}") {
        let _ = parse_pairs(&[(key, value)]);
    }

    #[test]
    fn no_nesting_depth_or_list_length_panics_the_parser(depth in 0usize..5000, items in 0usize..3000, key in "or|and|not.or|not.and") {
        let nested = format!("{key}=({}a.eq.1{})", "or(".repeat(depth), ")".repeat(depth));
        let _ = parse_query_string(&nested);
        let _ = parse_query_string(&"and=(".repeat(depth));
        let list: Vec<String> = (0..items).map(|i| i.to_string()).collect();
        let _ = parse_query_string(&format!("a=in.({})", list.join(",")));
    }

    #[test]
    fn no_json_body_panics_the_parser(body in "[{}\\[\\]\":, a-z0-9.-]{0,64}") {
        let _ = Query::from_json(&body);
    }

    #[test]
    fn printing_to_the_url_grammar_and_parsing_gives_the_same_query(q in query()) {
        let printed = q.to_query_string();
        prop_assert_eq!(parse_query_string(&printed), Ok(q.clone()), "{}", printed);
        prop_assert_eq!(parse_pairs(&q.to_pairs()), Ok(q));
    }

    #[test]
    fn printing_to_json_and_parsing_gives_the_same_query(q in query()) {
        let printed = q.to_json().to_string();
        prop_assert_eq!(Query::from_json(&printed), Ok(q));
    }
}
