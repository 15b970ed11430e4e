//! Reading and typing CSVs: the rules by example, and two properties: inference never
//! panics on arbitrary bytes, and a table written out with `csv_text` reads back as the
//! same field types with the same cells.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::field::{FieldType, Limits, Precision, SelectOptions, validate};
use crate::row::csv_text;

fn tags(csv: &str) -> Vec<&'static str> {
    infer(&parse(csv.as_bytes()).unwrap())
        .iter()
        .map(FieldType::tag)
        .collect()
}

#[test]
fn each_type_is_inferred_from_its_values() {
    let csv = "B,N,D,T,E,U,S,M,X,L,Empty\r\n\
        yes,1.5,2026-01-02,2026-01-02T10:00:00Z,a@example.com,https://x.io,Doing,\"a, b\",hello,\"two\nlines\",\r\n\
        No,-2,2026-01-03,2026-01-03T10:00:00+01:00,b@example.com,http://y.io/p,Doing,a,world,x,\r\n";
    assert_eq!(
        tags(csv),
        vec![
            "boolean",
            "number",
            "date",
            "datetime",
            "email",
            "url",
            "single_select",
            "multi_select",
            "text",
            "long_text",
            "text"
        ]
    );
}

#[test]
fn precision_is_the_most_decimals_seen_and_leading_zeros_stay_text() {
    let csv = parse(b"P,Zip\n1.25,007\n3,010\n1e-3,012\n").unwrap();
    let types = infer(&csv);
    assert_eq!(
        types[0],
        FieldType::Number {
            precision: Precision::new(3).unwrap()
        }
    );
    assert_eq!(types[1], FieldType::Text);
}

#[test]
fn distinct_values_without_repeats_are_text() {
    assert_eq!(tags("Name\nAda\nGrace\n"), vec!["text"]);
}

#[test]
fn a_bom_is_skipped_and_quotes_follow_rfc_4180() {
    let csv = parse("\u{feff}\"Na,me\",B\n\"say \"\"hi\"\"\",x\n".as_bytes()).unwrap();
    assert_eq!(csv.columns[0].as_str(), "Na,me");
    assert_eq!(
        csv.rows,
        vec![vec!["say \"hi\"".to_owned(), "x".to_owned()]]
    );
}

#[test]
fn bad_input_is_an_error_naming_the_line() {
    let ragged = parse(b"A,B\n1,2\n3\n").unwrap_err();
    assert_eq!(
        ragged,
        CsvError::RaggedRow {
            line: 3,
            expected: 2,
            found: 1
        }
    );
    assert_eq!(ragged.code(), "csv_ragged_row");
    assert_eq!(
        parse(b"A\nok\n\xff\n").unwrap_err(),
        CsvError::InvalidUtf8 { line: 3 }
    );
    assert_eq!(parse(b"").unwrap_err(), CsvError::Empty);
    let crlf = parse(b"A\r\n\"x\ny\"\r\nz\r\n").unwrap();
    assert_eq!(crlf.lines, vec![2, 4]);
    assert_eq!(parse(b"A,a\n").unwrap_err().code(), "csv_duplicate_column");
    assert_eq!(
        parse(b"A, \n").unwrap_err().code(),
        "csv_invalid_column_name"
    );
}

#[test]
fn cell_text_reads_back_as_the_types_json() {
    let options: SelectOptions =
        serde_json::from_value(json!([{"id": "a", "name": "Alpha"}, {"id": "b", "name": "Beta"}]))
            .unwrap();
    let multi = FieldType::MultiSelect {
        options: options.clone(),
    };
    assert_eq!(cell_value(&multi, "Beta, alpha"), json!(["b", "a"]));
    assert_eq!(
        cell_value(&FieldType::SingleSelect { options }, "Gamma"),
        json!("Gamma")
    );
    assert_eq!(cell_value(&FieldType::Boolean, "YES"), json!(true));
    assert_eq!(cell_value(&FieldType::Json, "[1]"), json!([1]));
    assert_eq!(cell_value(&FieldType::Text, ""), Value::Null);
}

proptest! {
    #[test]
    fn inference_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        if let Ok(csv) = parse(&bytes) {
            let types = infer(&csv);
            prop_assert_eq!(types.len(), csv.columns.len());
            for (i, field_type) in types.iter().enumerate() {
                for row in &csv.rows {
                    let _ = cell_value(field_type, &row[i]);
                }
            }
        }
    }

    #[test]
    fn text_of_any_chars_never_panics(rows in proptest::collection::vec("[a-z0-9,.:@/ \"\n-]{0,12}", 0..30)) {
        let _ = infer_column(rows.iter().map(String::as_str));
    }

    #[test]
    fn an_exported_table_reads_back_with_its_types_and_cells(
        seed in proptest::collection::vec(0u32..1_000_000, 24..60),
        precision in 0u8..=4,
    ) {
        let columns = exported_columns(&seed, precision);
        let mut out = csv::Writer::from_writer(Vec::new());
        out.write_record(columns.iter().map(|(name, _, _)| *name)).unwrap();
        for i in 0..seed.len() {
            out.write_record(columns.iter().map(|(_, t, cells)| csv_text(t, &cells[i]))).unwrap();
        }
        let bytes = out.into_inner().unwrap();
        let csv = parse(&bytes).unwrap();
        let inferred = infer(&csv);
        for (c, (name, original, cells)) in columns.iter().enumerate() {
            prop_assert_eq!(inferred[c].tag(), original.tag(), "column {}", name);
            for (r, cell) in cells.iter().enumerate() {
                let text = &csv.rows[r][c];
                let read = validate(&inferred[c], cell_value(&inferred[c], text), &Limits::default())
                    .map(|v| csv_text(&inferred[c], &v.to_json()));
                let expected = csv_text(original, cell);
                prop_assert_eq!(read.as_deref(), Ok(expected.as_str()));
            }
        }
    }
}

/// Columns of every inferable type, as a table would export them: a name, the type
/// and each row's API JSON (some empty). The values are drawn so each column is
/// unambiguous: text distinct, selects repeating, at least one list of two options.
fn exported_columns(seed: &[u32], precision: u8) -> Vec<(&'static str, FieldType, Vec<Value>)> {
    let options: SelectOptions = serde_json::from_value(json!([
        {"id": "t", "name": "Todo"}, {"id": "d", "name": "Doing"}, {"id": "x", "name": "Done"}
    ]))
    .unwrap();
    let scale = 10f64.powi(i32::from(precision));
    let pick = |n: u32| ["t", "d", "x"][n as usize % 3];
    let gap = |i: usize, v: Value| if i % 7 == 3 { Value::Null } else { v };
    let rows = |f: &dyn Fn(usize, u32) -> Value| -> Vec<Value> {
        seed.iter()
            .enumerate()
            .map(|(i, n)| gap(i, f(i, *n)))
            .collect()
    };
    let number = rows(&|i, n| {
        // The first row has every decimal place, so the precision reads back exactly.
        let raw = if i == 0 {
            1.0 + 1.0 / scale
        } else {
            f64::from(n) / scale
        };
        json!(raw)
    });
    vec![
        (
            "Title",
            FieldType::Text,
            rows(&|i, n| json!(format!("item {i} of {n}"))),
        ),
        (
            "Price",
            FieldType::Number {
                precision: Precision::new(precision).unwrap(),
            },
            number,
        ),
        ("Paid", FieldType::Boolean, rows(&|_, n| json!(n % 2 == 0))),
        (
            "Due",
            FieldType::Date,
            rows(&|_, n| json!(format!("2026-{:02}-{:02}", n % 12 + 1, n % 28 + 1))),
        ),
        (
            "At",
            FieldType::Datetime,
            rows(&|_, n| json!(format!("2026-01-01T{:02}:{:02}:00.000000Z", n % 24, n % 60))),
        ),
        (
            "Mail",
            FieldType::Email,
            rows(&|i, _| json!(format!("user{i}@example.com"))),
        ),
        (
            "Site",
            FieldType::Url,
            rows(&|i, _| json!(format!("https://example.com/{i}"))),
        ),
        (
            "Status",
            FieldType::SingleSelect {
                options: options.clone(),
            },
            rows(&|_, n| json!(pick(n))),
        ),
        (
            "Tags",
            FieldType::MultiSelect { options },
            rows(&|i, n| {
                if i == 0 {
                    json!(["t", "x"])
                } else {
                    json!([pick(n), pick(n + 1 + (n / 3) % 2)])
                }
            }),
        ),
    ]
}
