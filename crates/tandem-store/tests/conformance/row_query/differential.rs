//! The differential test: random tables (fields of random types), random rows (empty
//! cells, non-ASCII text, ASCII case variants, `%` `_` `\` `*` `[` in text, many ties,
//! some trashed) and random queries (filter trees over every operator each type takes,
//! multi-key sorts with either nulls placement, random projections, small pages), paged
//! through by cursor on the backend under test, must give exactly the pages
//! `tandem_tables::eval::evaluate` gives over the same live rows, cursors included, and
//! `count_rows` the number of rows it matches. The cases themselves are drawn in
//! `random`.

use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use tandem_domain::User;
use tandem_store::rows::layout;
use tandem_tables::field::FieldType;
use tandem_tables::query::Cursor;
use uuid::Uuid;

use super::random::{Case, Context, any_case, cell_json, field_type, to_query};
use super::*;

/// Each case makes a table, fills it and pages through one query: a few dozen cases
/// cover the operators and sorts well and keep the test to seconds on either backend.
const CASES: u32 = 40;

/// The users rows are made by, and a table name counter, shared by every case.
struct Desk {
    ada: User,
    bob: User,
    workspace: Workspace,
    tables: AtomicUsize,
}

async fn run_case(f: &Fixture, desk: &Desk, case: Case) -> Result<(), TestCaseError> {
    let n = desk.tables.fetch_add(1, Ordering::Relaxed);
    let names: Vec<String> = (0..case.types.len()).map(|i| format!("f{i}")).collect();
    let types: Vec<(&str, FieldType)> = names
        .iter()
        .zip(&case.types)
        .map(|(name, t)| (name.as_str(), field_type(*t)))
        .collect();
    let (table, fields) = f
        .typed_table(&desk.workspace, &desk.ada, &format!("Case {n}"), &types)
        .await;
    let ctx = Context {
        // A user id need not be a member's: one that is no one's is as good a value.
        users: vec![desk.ada.id.0, desk.bob.id.0, Uuid::from_u128(1)],
        start: f.now(),
    };

    let mut live = Vec::new();
    let mut trashed = Vec::new();
    for (i, seed) in (0..).zip(&case.rows) {
        if seed.later {
            f.tick();
        }
        let by = if seed.by_bob { &desk.bob } else { &desk.ada };
        let cells = fields
            .iter()
            .enumerate()
            .filter(|(_, field)| !field.field_type.is_read_only())
            .map(|(j, field)| (j, cell_json(&field.field_type, seed.cells[j], &ctx)))
            .collect();
        let row = f
            .insert_json(&table, &fields, by, &[(row_id(i), cells)])
            .await
            .remove(0);
        if seed.trashed {
            trashed.push(row.id);
        } else {
            live.push(reference_row(&fields, &row));
        }
    }
    if !trashed.is_empty() {
        f.store
            .trash_rows(table.id, &fields, &trashed, &f.audit_ctx(&desk.ada))
            .await
            .unwrap();
    }

    let schema = schema(&fields);
    let mut query = to_query(&case, &fields, &ctx);
    let written = query.to_query_string();
    let unpaged = Query {
        limit: None,
        ..query.clone()
    };
    let unpaged = bind(&schema, &unpaged).unwrap();
    let counted = f
        .store
        .count_rows(
            table.id,
            &fields,
            unpaged.filter.as_ref(),
            CountMode::Exact,
            TIMEOUT,
        )
        .await
        .unwrap();
    let matching = evaluate(&unpaged, &live).rows.len();
    prop_assert_eq!(counted, matching as u64, "count of {}", written);

    for page_number in 0..=live.len() + 1 {
        let bound = bind(&schema, &query).unwrap();
        let expected = evaluate(&bound, &live);
        let page = f
            .store
            .query_rows(table.id, &fields, &bound, TIMEOUT)
            .await
            .unwrap();
        let stored_selected: Vec<Uuid> = bound
            .select
            .iter()
            .filter(|s| layout::is_stored(&s.field_type))
            .map(|s| s.id)
            .collect();
        for row in &page.rows {
            let cells: Vec<Uuid> = row.cells.keys().map(|id| id.0).collect();
            let mut wanted = stored_selected.clone();
            wanted.sort();
            wanted.dedup();
            prop_assert_eq!(cells, wanted, "cells of {}", written);
        }
        prop_assert_eq!(
            as_reference(&page, &bound),
            expected,
            "page {} of {}",
            page_number,
            written
        );
        match page.next_cursor {
            // Through the opaque token, as a client carries it.
            Some(cursor) => query.cursor = Some(Cursor::decode(&cursor.encode()).unwrap()),
            None => return Ok(()),
        }
    }
    Err(TestCaseError::fail(format!(
        "{written}: paging did not end after {} pages",
        live.len() + 2
    )))
}

#[test]
fn random_queries_page_exactly_as_the_reference_evaluator_on_random_tables() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let f = runtime.block_on(Fixture::new());
    let desk = runtime.block_on(async {
        let (ada, _, workspace) = f.desk().await;
        let bob = f.user("bob@example.com").await;
        Desk {
            ada,
            bob,
            workspace,
            tables: AtomicUsize::new(0),
        }
    });
    let config = Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    };
    let outcome = TestRunner::new(config).run(&any_case(), |case| {
        runtime.block_on(run_case(&f, &desk, case))
    });
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
}
