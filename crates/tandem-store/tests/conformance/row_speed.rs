//! How fast rows go in: 50 calls of 1,000 rows of 20 fields each, the size the API's
//! bulk insert takes. A measurement, not a check, so it is ignored by default; run it
//! in release mode on either backend:
//! `cargo test --release -p tandem-store --test conformance row_speed -- --ignored --nocapture`.
//!
//! Besides the wall-clock rate it prints the CPU time spent, in this process and (on
//! PostgreSQL, when the server runs on this machine) in the test database's server
//! processes: on a busy machine the wall clock measures the neighbours too.

use std::time::Instant;

use sqlx::{Connection, PgConnection};

use serde_json::json;
use tandem_store::NewRow;
use tandem_store::testing::backend_under_test;
use tandem_tables::field::FieldType;

use crate::Fixture;
use crate::rows::{cell, select};
use crate::tables::number;

const CALLS: usize = 50;
const ROWS_PER_CALL: usize = 1_000;

#[tokio::test]
#[ignore = "a measurement: run it with --release -- --ignored --nocapture"]
async fn bulk_inserts_of_twenty_fields() {
    let f = Fixture::new().await;
    let mut types = Vec::new();
    for _ in 0..8 {
        types.push(("Text", FieldType::Text));
    }
    for _ in 0..4 {
        types.push(("Number", number(2)));
    }
    types.extend([
        ("Flag", FieldType::Boolean),
        ("Flag", FieldType::Boolean),
        ("Date", FieldType::Date),
        ("Date", FieldType::Date),
        ("Instant", FieldType::Datetime),
        ("Instant", FieldType::Datetime),
        ("Status", select(false)),
        ("Data", FieldType::Json),
    ]);
    let (ada, _, workspace) = f.desk().await;
    let table = f.table(&workspace, &ada, "Speed").await;
    let mut fields = Vec::new();
    for (n, (name, field_type)) in types.into_iter().enumerate() {
        fields.push(
            f.field(&table, &ada, &format!("{name} {n}"), field_type, 0)
                .await,
        );
    }
    let values = [
        json!("a short line of text"),
        json!(1234.56),
        json!(true),
        json!("2026-05-01"),
        json!("2026-05-01T09:30:00.123456Z"),
        json!("todo"),
        json!({ "k": [1, 2, 3] }),
    ];
    let value_of = |field_type: &FieldType| match field_type {
        FieldType::Text => &values[0],
        FieldType::Number { .. } => &values[1],
        FieldType::Boolean => &values[2],
        FieldType::Date => &values[3],
        FieldType::Datetime => &values[4],
        FieldType::SingleSelect { .. } => &values[5],
        _ => &values[6],
    };
    let calls: Vec<Vec<NewRow>> = (0..CALLS)
        .map(|_| {
            (0..ROWS_PER_CALL)
                .map(|_| {
                    let cells = fields
                        .iter()
                        .map(|field| cell(field, value_of(&field.field_type).clone()))
                        .collect();
                    f.new_row(cells)
                })
                .collect()
        })
        .collect();

    let servers = server_pids(&f.db.url).await;
    let (client, server) = (cpu_seconds("self"), servers_cpu(&servers));
    let started = Instant::now();
    for rows in &calls {
        f.insert(&table, &fields, rows, &ada).await;
    }
    let elapsed = started.elapsed();
    let (client, server) = (cpu_seconds("self") - client, servers_cpu(&servers) - server);

    let rows = (CALLS * ROWS_PER_CALL) as f64;
    println!(
        "{}: {rows} rows of {} fields in {elapsed:.2?}: {:.0} rows/s; CPU {client:.2} s here \
         + {server:.2} s in the server: {:.0} rows per CPU second",
        backend_under_test(),
        fields.len(),
        rows / elapsed.as_secs_f64(),
        rows / (client + server)
    );
}

/// The user and system CPU seconds of process `pid` so far (`self` for this one);
/// zero where `/proc` cannot tell.
fn cpu_seconds(pid: &str) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(") ")
        .map_or(Vec::new(), |(_, rest)| rest.split(' ').collect());
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|t| t.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime, fields 14 and 15 of the line, in ticks of 1/100 s on Linux.
    (ticks(11) + ticks(12)) / 100.0
}

fn servers_cpu(pids: &[i32]) -> f64 {
    pids.iter().map(|pid| cpu_seconds(&pid.to_string())).sum()
}

/// The PostgreSQL server processes serving the test database's connections (tagged
/// with its application name); none on SQLite.
async fn server_pids(url: &str) -> Vec<i32> {
    let Some((_, name)) = url.split_once("application_name=") else {
        return Vec::new();
    };
    let mut conn = PgConnection::connect(url).await.unwrap();
    sqlx::query_scalar(
        "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()",
    )
    .bind(name)
    .fetch_all(&mut conn)
    .await
    .unwrap()
}
