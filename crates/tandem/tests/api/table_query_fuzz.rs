//! Hostile query strings at `GET …/rows`: arbitrary bytes percent-encoded, valid
//! queries mutated (cut, spliced, stuffed with broken escapes and punctuation), deep
//! nesting, huge `in` lists and very long values. Every answer is a page or a 4xx
//! problem with a `code`, never a 5xx, and the server still answers afterwards.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, spawn_app};
use crate::table_rows::Sheet;

/// How many random strings of each family are sent.
const PER_FAMILY: usize = 120;

/// Valid queries over the every-type sheet, which mutations start from.
const VALID: [&str; 8] = [
    "Title=eq.a&order=Price.desc.nullsfirst,Title&limit=2",
    "or=(Title.like.*a*,and(Price.gt.1,Paid.not.is.true))&select=Title,Due",
    "Due=gte.2024-01-01&At=lt.2024-01-01T00:00:00Z&order=At.asc.nullslast",
    "Status=in.(todo,done)&Tags=eq.todo&select=Status,Tags,No",
    "not.and=(No.gt.1,Created.lt.2020-01-01T00:00:00Z)&order=Created.desc,No",
    "Title=in.(\"a,b\",\"say \\\"hi\\\"\",%C3%A9)&Notes=ilike.*%25*",
    "%22Title%22=not.eq.x&Email=is.null&Site=neq.https://x.io/a",
    "Owner=eq.00000000-0000-0000-0000-000000000001&Author=neq.00000000-0000-0000-0000-000000000002&limit=0",
];

/// Pieces spliced into valid queries: broken and overlong escapes, the grammar's
/// punctuation, reserved words and operators.
const TOKENS: [&str; 24] = [
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
    "eq.",
    "é",
    "%25",
];

async fn answer(app: &TestApp, by: &TestUser, rows: &str, query: &str) -> (StatusCode, String) {
    let response = app
        .send(
            Method::GET,
            &format!("{rows}?{query}"),
            &by.access_token,
            None,
        )
        .await;
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap_or(Value::Null);
    let shown: String = query.chars().take(200).collect();
    assert!(
        status == StatusCode::OK || status.is_client_error(),
        "{status} for {shown:?}: {body}"
    );
    if status.is_client_error() {
        assert_eq!(content_type, "application/problem+json", "{shown:?}");
        assert!(body["code"].is_string(), "{status} for {shown:?}: {body}");
    } else {
        assert!(body["items"].is_array(), "{shown:?}: {body}");
    }
    (status, body["code"].as_str().unwrap_or("ok").to_owned())
}

/// Percent-encodes what a URL would not carry literally, keeping `%` as written so
/// broken escapes reach the server as they are.
fn as_target(raw: &str) -> String {
    raw.chars()
        .map(|c| match c {
            '#' => "%23".to_owned(),
            ' ' => "%20".to_owned(),
            c if c.is_ascii_control() => format!("%{:02X}", c as u32),
            c => c.to_string(),
        })
        .collect()
}

fn arbitrary() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z().,\"\\\\=&%0-9*+!:é -]{0,80}",
        prop::collection::vec(any::<u8>(), 0..80).prop_map(|bytes| {
            bytes
                .iter()
                .map(|b| format!("%{b:02X}"))
                .collect::<String>()
        }),
        prop::collection::vec(any::<u8>(), 0..40).prop_map(|bytes| {
            format!(
                "Title=eq.{}",
                bytes
                    .iter()
                    .map(|b| format!("%{b:02X}"))
                    .collect::<String>()
            )
        }),
    ]
}

/// A valid query with up to six edits: a token inserted, a span cut, or the rest cut.
fn mutated() -> impl Strategy<Value = String> {
    let edit = (any::<u16>(), 0u8..3, any::<u8>());
    (
        prop::sample::select(VALID.to_vec()),
        prop::collection::vec(edit, 1..6),
    )
        .prop_map(|(valid, edits)| {
            let mut chars: Vec<char> = valid.chars().collect();
            for (at, kind, pick) in edits {
                let at = usize::from(at) % (chars.len() + 1);
                match kind {
                    0 => {
                        let token = TOKENS[usize::from(pick) % TOKENS.len()];
                        chars.splice(at..at, token.chars());
                    }
                    1 => {
                        let end = (at + usize::from(pick % 8) + 1).min(chars.len());
                        chars.drain(at..end);
                    }
                    _ => chars.truncate(at.max(1)),
                }
            }
            chars.into_iter().collect()
        })
}

/// Queries at and past every bound: nesting, conditions, `in` items, lengths (each under
/// the 64 KiB a client's URI can hold, so the parser sees them).
fn extremes() -> Vec<String> {
    let nest = |depth: usize, key: &str| {
        format!(
            "{key}=({}Title.eq.a{})",
            "or(".repeat(depth),
            ")".repeat(depth)
        )
    };
    let list = |n: usize| {
        let items: Vec<String> = (0..n).map(|i| i.to_string()).collect();
        format!("Price=in.({})", items.join(","))
    };
    let conditions = |n: usize| {
        let items: Vec<&str> = (0..n).map(|_| "Title.eq.a").collect();
        format!("and=({})", items.join(","))
    };
    vec![
        nest(14, "or"),
        nest(15, "and"),
        nest(16, "not.or"),
        nest(500, "or"),
        nest(10_000, "or"),
        "or=(".repeat(3_000),
        ")".repeat(3_000),
        list(999),
        list(1_000),
        list(1_001),
        list(9_000),
        conditions(100),
        conditions(101),
        format!("Title=eq.{}", "a".repeat(60 * 1024)),
        format!("Title=eq.{}", "%C3%A9".repeat(10_000)),
        format!("select={}", vec!["Title"; 1_001].join(",")),
        format!("order={}", vec!["Title"; 1_001].join(",")),
        format!("cursor={}", "A".repeat(50_000)),
        "limit=99999999999999999999999".to_owned(),
        "limit=-1".to_owned(),
        "Title=eq.a&Title=eq.b&limit=1&limit=2".to_owned(),
        "%FF=eq.a".to_owned(),
        "Title=%FF.a".to_owned(),
        "Title=eq.%E2%82".to_owned(),
        "&&&==&".to_owned(),
        String::new(),
    ]
}

#[tokio::test]
async fn no_query_string_makes_the_rows_endpoint_fail_or_stop_answering() {
    let app = spawn_app().await;
    let sheet = Sheet::new(&app).await;
    let owner = &sheet.cast.owner;
    let rows = sheet.rows();
    let body = json!({"rows": [
        {"fields": {"Title": "a", "Price": 1, "Status": "todo", "Tags": ["todo"]}},
        {"fields": {"Title": "a,b", "Price": 2.5, "Due": "2024-01-02"}},
        {"fields": {}},
    ]});
    let (status, page) = app.call(Method::POST, &rows, owner, Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{page}");

    for valid in VALID {
        let (status, code) = answer(&app, owner, &rows, valid).await;
        assert_eq!(status, StatusCode::OK, "{valid}: {code}");
    }
    let mut runner = TestRunner::default();
    let mut queries = extremes();
    for _ in 0..PER_FAMILY {
        queries.push(arbitrary().new_tree(&mut runner).unwrap().current());
        queries.push(mutated().new_tree(&mut runner).unwrap().current());
    }
    let mut codes = std::collections::BTreeSet::new();
    for query in &queries {
        codes.insert(answer(&app, owner, &rows, &as_target(query)).await.1);
    }
    // The families reach past the parser: some answers are pages, some bind errors.
    assert!(codes.contains("ok"), "{codes:?}");
    assert!(codes.len() > 5, "{codes:?}");

    let (status, code) = answer(&app, owner, &rows, VALID[0]).await;
    assert_eq!(status, StatusCode::OK, "the server still answers: {code}");
}
