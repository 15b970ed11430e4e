//! The generator's statements, as text, for both dialects; `GLOB` patterns checked
//! against SQLite itself and against the reference `like`.

use std::collections::BTreeMap;

use chrono::Utc;
use proptest::prelude::*;
use serde_json::json;
use sqlx::{Connection, SqliteConnection};
use tandem_domain::{FieldId, TableId};
use tandem_tables::bind::{BoundFilter, FieldDef, Schema, Test, bind};
use tandem_tables::eval::{Row, evaluate};
use tandem_tables::field::{CellValue, FieldName, FieldType, Precision, Stored};
use tandem_tables::query::{
    Condition, Cursor, FieldRef, Filter, Literal, Op, Operand, Query, parse_query_string,
};
use uuid::Uuid;

use super::*;
use crate::TableField;

const TABLE: u128 = 0xa;
const TITLE: u128 = 0x1;
const SCORE: u128 = 0x2;
const TAGS: u128 = 0x3;

fn field(n: u128, name: &str, field_type: FieldType) -> FieldDef {
    FieldDef {
        id: Uuid::from_u128(n),
        name: FieldName::parse(name).unwrap(),
        field_type,
    }
}

fn schema() -> Schema {
    let options = serde_json::from_value(json!([
        {"id": "red", "name": "Red"},
        {"id": "blue", "name": "Blue"}
    ]))
    .unwrap();
    Schema::new(vec![
        field(TITLE, "title", FieldType::Text),
        field(
            SCORE,
            "score",
            FieldType::Number {
                precision: Precision::new(2).unwrap(),
            },
        ),
        field(TAGS, "tags", FieldType::MultiSelect { options }),
        field(0x4, "created", FieldType::CreatedAt),
    ])
}

fn bound(query: &str) -> BoundQuery {
    bind(&schema(), &parse_query_string(query).unwrap()).unwrap()
}

/// `query` with a cursor naming row `row` whose sort key values are `key`.
fn bound_after(query: &str, key: Vec<serde_json::Value>, row: u128) -> BoundQuery {
    let mut parsed = parse_query_string(query).unwrap();
    parsed.cursor = Some(Cursor::new(parsed.order.clone(), key, Uuid::from_u128(row)).unwrap());
    bind(&schema(), &parsed).unwrap()
}

fn table() -> TableId {
    TableId(Uuid::from_u128(TABLE))
}

/// The table's fields as storage lists them.
fn table_fields() -> Vec<TableField> {
    let now = Utc::now();
    (0..)
        .zip(schema().fields())
        .map(|(position, def)| TableField {
            id: FieldId(def.id),
            table_id: table(),
            name: def.name.clone(),
            field_type: def.field_type.clone(),
            position,
            indexed: false,
            created_at: now,
            updated_at: now,
        })
        .collect()
}

/// The page statement of `query`, reading the cells of the fields at `read`.
fn page_of(dialect: Dialect, read: &[usize], query: &BoundQuery) -> Statement {
    let all = table_fields();
    let read: Vec<TableField> = read.iter().map(|i| all[*i].clone()).collect();
    page(dialect, table(), &StoredFields::of(&read), query)
}

const T: &str = "\"tr_0000000000000000000000000000000a\"";
const TITLE_COL: &str = "\"f_00000000000000000000000000000001\"";
const SCORE_COL: &str = "\"f_00000000000000000000000000000002\"";
const TAGS_COL: &str = "\"f_00000000000000000000000000000003\"";
const SYSTEM: &str = "seq, id, version, created_at, updated_at, created_by, updated_by, deleted_at";

#[test]
fn a_page_reads_rows_as_every_row_read_does_with_typed_placeholders() {
    let statement = page_of(
        Dialect::Postgres,
        &[0, 1],
        &bound("select=title,created&order=score.desc&limit=10"),
    );
    assert_eq!(
        statement.sql,
        format!(
            "SELECT {SYSTEM}, f_00000000000000000000000000000001::text, \
             f_00000000000000000000000000000002::float8 FROM {T} WHERE \"deleted_at\" IS NULL \
             ORDER BY {SCORE_COL} DESC NULLS FIRST, \"id\" ASC LIMIT $1::int8"
        )
    );
    assert_eq!(statement.params, vec![Stored::Integer(11)]);
}

#[test]
fn every_value_is_a_placeholder_numbered_on_postgres_and_positional_on_sqlite() {
    let query = bound("title=like.a*&score=in.(1,2)&limit=5");
    let pg = page_of(Dialect::Postgres, &[], &query);
    assert_eq!(
        pg.sql,
        format!(
            "SELECT {SYSTEM} FROM {T} WHERE \"deleted_at\" IS NULL AND \
             (({TITLE_COL} COLLATE \"C\" LIKE $1::text ESCAPE '\\') \
             AND ({SCORE_COL} IN ($2::float8, $3::float8))) \
             ORDER BY \"id\" ASC LIMIT $4::int8"
        )
    );
    let sqlite = page_of(Dialect::Sqlite, &[], &query);
    assert!(sqlite.sql.contains(&format!(
        "(({TITLE_COL} GLOB ?) AND ({SCORE_COL} IN (?, ?))) ORDER BY \"id\" ASC LIMIT ?"
    )));
    assert_eq!(sqlite.params[0], Stored::Text("a*".into()));
    assert_eq!(pg.params[0], Stored::Text("a%".into()));
    assert_eq!(pg.params[1..], sqlite.params[1..]);
}

#[test]
fn empty_junctions_and_empty_lists_are_constants() {
    let filter = BoundFilter::Or(vec![
        BoundFilter::And(vec![]),
        BoundFilter::Not(Box::new(BoundFilter::Or(vec![]))),
    ]);
    let count = count(Dialect::Sqlite, table(), Some(&filter));
    assert_eq!(
        count.sql,
        format!(
            "SELECT count(*) FROM {T} WHERE \"deleted_at\" IS NULL AND ((TRUE) OR (NOT (FALSE)))"
        )
    );
    let never = bound("title=in.()");
    let Some(BoundFilter::Condition(c)) = &never.filter else {
        panic!("one condition")
    };
    assert_eq!(c.test, Test::Never);
    assert!(count_sql(&never).ends_with("AND (FALSE)"));
}

fn count_sql(query: &BoundQuery) -> String {
    count(Dialect::Postgres, table(), query.filter.as_ref()).sql
}

#[test]
fn ilike_lowers_ascii_only_on_both_backends() {
    let query = bound("title=ilike.*É*");
    assert!(count_sql(&query).contains(&format!(
        "lower({TITLE_COL} COLLATE \"C\") LIKE $1::text ESCAPE '\\'"
    )));
    let sqlite = count(Dialect::Sqlite, table(), query.filter.as_ref());
    assert!(sqlite.sql.contains(&format!("lower({TITLE_COL}) GLOB ?")));
    assert_eq!(sqlite.params, vec![Stored::Text("*É*".into())]);
}

#[test]
fn multi_select_membership_is_null_on_an_empty_cell() {
    let query = bound("tags=neq.red");
    assert!(count_sql(&query).contains(&format!("NOT ({TAGS_COL} ?| ARRAY[$1::text])")));
    let sqlite = count(Dialect::Sqlite, table(), query.filter.as_ref()).sql;
    assert!(sqlite.contains(&format!(
        "NOT (CASE WHEN {TAGS_COL} IS NULL THEN NULL ELSE EXISTS (SELECT 1 FROM \
         json_each({TAGS_COL}) AS held WHERE held.value IN (?)) END)"
    )));
}

#[test]
fn an_ascending_cursor_with_values_is_one_row_value_comparison() {
    let query = bound_after("order=created", vec![json!("2026-01-02T03:04:05Z")], 7);
    let sql = page_of(Dialect::Postgres, &[], &query).sql;
    assert!(
        sql.ends_with(
            "AND ((\"created_at\", \"id\") > ($1::timestamptz, $2::uuid)) \
             ORDER BY \"created_at\" ASC, \"id\" ASC"
        ),
        "{sql}"
    );
}

#[test]
fn a_nulls_last_key_reads_its_nulls_as_a_range_of_their_own() {
    let query = bound_after(
        "order=title,score.nullsfirst&limit=2",
        vec![json!("b"), json!(1)],
        7,
    );
    let statement = page_of(Dialect::Sqlite, &[0, 1], &query);
    let part = |condition: &str, limit: &str| {
        format!(
            "SELECT * FROM (SELECT {SYSTEM}, f_00000000000000000000000000000001, \
             f_00000000000000000000000000000002 FROM {T} WHERE \"deleted_at\" IS NULL \
             AND ({condition}) ORDER BY {TITLE_COL} ASC, {SCORE_COL} ASC NULLS FIRST, \
             \"id\" ASC LIMIT {limit})"
        )
    };
    // Past the cursor by row value, then the titles that sort last as null; each part
    // ordered as a `(title, …)` index is, since no title there is null or all are.
    let seek = part(
        &format!("({TITLE_COL}, {SCORE_COL}, \"id\") > (?, ?, ?)"),
        "?",
    );
    let nulls = part(&format!("{TITLE_COL} IS NULL"), "?");
    assert_eq!(
        statement.sql,
        format!(
            "SELECT * FROM ({seek} AS \"range_0\" UNION ALL {nulls} AS \"range_1\") AS \"page\" \
             ORDER BY {TITLE_COL} ASC NULLS LAST, {SCORE_COL} ASC NULLS FIRST, \"id\" ASC LIMIT ?"
        )
    );
    assert_eq!(statement.params.len(), 6);
}

#[test]
fn a_descending_or_null_cursor_expands_key_by_key() {
    let query = bound_after(
        "order=title.desc.nullslast,score",
        vec![json!(null), json!(2)],
        7,
    );
    let statement = page_of(Dialect::Sqlite, &[], &query);
    // After a null that sorts last nothing follows at the title; then equal (null)
    // titles with a greater or null score; then equal title and score with a greater id.
    assert!(
        statement.sql.contains(&format!(
            "AND (({TITLE_COL} IS NULL AND ({SCORE_COL} > ? OR {SCORE_COL} IS NULL)) OR \
             ({TITLE_COL} IS NULL AND {SCORE_COL} = ? AND \"id\" > ?))"
        )),
        "{}",
        statement.sql
    );
    assert_eq!(
        statement.params[..3],
        [
            Stored::Real(2.0),
            Stored::Real(2.0),
            Stored::Uuid(Uuid::from_u128(7))
        ]
    );
}

#[test]
fn nothing_follows_a_cursor_that_is_null_last_on_every_key_but_the_id() {
    let query = bound_after("order=title.nullsfirst", vec![json!(null)], 7);
    let sql = page_of(Dialect::Postgres, &[], &query).sql;
    assert!(
        sql.contains(&format!(
            "(({TITLE_COL} COLLATE \"C\" IS NOT NULL) OR \
             ({TITLE_COL} COLLATE \"C\" IS NULL AND \"id\" > $1::uuid))"
        )),
        "{sql}"
    );
}

#[test]
fn like_patterns_become_globs_that_match_only_themselves() {
    let cases = [
        ("a%", "a*"),
        ("%\\%%", "*%*"),
        ("\\_x_", "_x?"),
        ("a*b?c[d]e", "a[*]b[?]c[[]d]e"),
        ("back\\\\slash", "back\\slash"),
        ("trailing\\", "trailing\\"),
    ];
    for (like, glob) in cases {
        assert_eq!(glob::from_like(like), glob, "{like}");
    }
}

/// Whether `text` matches the PostgREST pattern `pattern` (with `*`) under `like` or
/// `ilike`, by the reference evaluator, and by SQLite running the generated condition.
async fn like_both_ways(
    conn: &mut SqliteConnection,
    text: &str,
    pattern: &str,
    ilike: bool,
) -> (bool, bool) {
    let schema = Schema::new(vec![field(TITLE, "title", FieldType::Text)]);
    let query = Query {
        filter: Some(Filter::Condition(Condition {
            field: FieldRef::from("title"),
            op: if ilike { Op::Ilike } else { Op::Like },
            value: Operand::Scalar(Literal::Text(pattern.to_owned())),
        })),
        ..Query::default()
    };
    let query = bind(&schema, &query).unwrap();
    let row = Row {
        id: Uuid::from_u128(1),
        cells: BTreeMap::from([(Uuid::from_u128(TITLE), CellValue::Text(text.to_owned()))]),
    };
    let reference = evaluate(&query, &[row]).rows.len() == 1;

    let statement = count(Dialect::Sqlite, table(), query.filter.as_ref());
    // The generated condition, run on a one-row table of the generated name.
    let condition = statement.sql.split(" AND (").nth(1).unwrap();
    // Anonymous parameters bind in the order they appear: the text, then the pattern.
    let sql = format!("SELECT count(*) FROM (SELECT ? AS {TITLE_COL}) WHERE ({condition}");
    let Some(Stored::Text(pattern)) = statement.params.first() else {
        panic!("one pattern, as text")
    };
    let q = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql))
        .bind(text.to_owned())
        .bind(pattern.clone());
    let sqlite = q.fetch_one(&mut *conn).await.unwrap() == 1;
    (reference, sqlite)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn sqlite_globs_match_exactly_what_the_reference_like_matches() {
    runtime().block_on(async {
        let mut conn = SqliteConnection::connect("sqlite::memory:").await.unwrap();
        for (text, pattern, ilike, expected) in [
            ("Abc", "a*", false, false),
            ("Abc", "a*", true, true),
            ("Éa", "é*", true, false),
            ("a[b]c", "a[b]*", false, true),
            ("a?c", "a?c", false, true),
            ("abc", "a?c", false, false),
            ("50%_\\", "*%_\\", false, true),
            ("x\ny", "x*y", false, true),
        ] {
            assert_eq!(
                like_both_ways(&mut conn, text, pattern, ilike).await,
                (expected, expected),
                "{text:?} {pattern:?} ilike={ilike}"
            );
        }
    });
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn sqlite_globs_agree_with_the_reference_like_on_random_text(
        text in "[aAbB%_\\\\*?\\[\\]éÉ\n]{1,6}",
        pattern in "[aAbB%_\\\\*?\\[\\]éÉ]{1,5}",
        ilike in any::<bool>(),
    ) {
        let (reference, sqlite) = runtime().block_on(async {
            let mut conn = SqliteConnection::connect("sqlite::memory:").await.unwrap();
            like_both_ways(&mut conn, &text, &pattern, ilike).await
        });
        prop_assert_eq!(reference, sqlite);
    }
}
