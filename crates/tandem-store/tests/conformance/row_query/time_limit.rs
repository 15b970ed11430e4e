//! The time limit of a query: past it the query is cancelled with `QueryTimeout`, and
//! the store, every pooled connection of it, answers afterwards as before.

use std::time::{Duration, Instant};

use serde_json::json;
use tandem_store::{CountMode, StoreError};
use tandem_tables::bind::bind;
use tandem_tables::field::FieldType;
use tandem_tables::query::{Condition, FieldRef, Filter, Literal, Op, Operand, Query};

use super::{TIMEOUT, row_id, schema};
use crate::Fixture;

/// A filter that takes long to evaluate on every row: many patterns, none matching.
fn slow_filter() -> Query {
    let patterns = (0..200).map(|n| {
        Filter::Condition(Condition {
            field: FieldRef::from("Text"),
            op: Op::Like,
            value: Operand::Scalar(Literal::Text(format!("*a*b{n}*"))),
        })
    });
    Query {
        filter: Some(Filter::Or(patterns.collect())),
        limit: Some(10),
        ..Query::default()
    }
}

#[tokio::test]
async fn a_query_past_its_time_limit_is_cancelled_and_the_store_still_answers() {
    let f = Fixture::new().await;
    let (ada, _, workspace) = f.desk().await;
    let (table, fields) = f
        .typed_table(&workspace, &ada, "Big", &[("Text", FieldType::Text)])
        .await;
    for batch in 0..2 {
        let rows: Vec<_> = (0..1000)
            .map(|n| (row_id(batch * 1000 + n), vec![(0, json!("a".repeat(300)))]))
            .collect();
        f.insert_json(&table, &fields, &ada, &rows).await;
    }
    let slow = bind(&schema(&fields), &slow_filter()).unwrap();
    let limit = Duration::from_millis(20);

    let started = Instant::now();
    let err = f.store.query_rows(table.id, &fields, &slow, limit).await;
    assert!(matches!(err, Err(StoreError::QueryTimeout)), "{err:?}");
    let counted = f
        .store
        .count_rows(
            table.id,
            &fields,
            slow.filter.as_ref(),
            CountMode::Exact,
            limit,
        )
        .await;
    assert!(
        matches!(counted, Err(StoreError::QueryTimeout)),
        "{counted:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "cancelled in {:?}",
        started.elapsed()
    );

    // Every pooled connection still answers, the time limit gone with its query.
    for _ in 0..12 {
        let page = f.page(table.id, &fields, "limit=1").await;
        assert_eq!(page.rows.len(), 1);
    }
    let all = f
        .store
        .count_rows(
            table.id,
            &fields,
            slow.filter.as_ref(),
            CountMode::Exact,
            TIMEOUT,
        )
        .await
        .unwrap();
    assert_eq!(all, 0);
}
