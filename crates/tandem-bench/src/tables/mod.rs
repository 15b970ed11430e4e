//! The `tables` scenario: a live table of `--count` rows (default 1,000,000) × 20 fields
//! of mixed types, filled and read through the real REST API and realtime socket.
//!
//! Measured, in order: bulk insert rows/s (`--concurrency` posters of 1,000-row calls);
//! a 10,000-row × 20-field paste (ten 1,000-row calls at once); a 100-row page filtered
//! and sorted on indexed fields (p50/p99 over `--samples`); an ad-hoc filter on an
//! unindexed field; a 100-row × 50-field page of a second table; adding a field to the
//! big table; a cell edit reaching `--subscribers` sockets on `table:{id}`; and a CSV
//! export of the whole table with the server's resident memory sampled throughout.

mod live;
mod seed;

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::fixture::Fixture;
use crate::stats::{latency_ms, round3};
use crate::target::Target;

pub use seed::Sheet;

/// What the scenario is asked to do.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub rows: usize,
    pub concurrency: usize,
    pub samples: usize,
    pub subscribers: usize,
}

pub async fn run(target: &Target, fixture: &Fixture, options: Options) -> anyhow::Result<Value> {
    let big = Sheet::create(fixture, "Big", 20).await?;
    let started = Instant::now();
    big.fill(fixture, options.rows, options.concurrency).await?;
    let insert_s = started.elapsed().as_secs_f64();

    let paste = Sheet::create(fixture, "Paste", 20).await?;
    let started = Instant::now();
    paste.fill(fixture, 10_000, 10).await?;
    let paste_ms = started.elapsed().as_secs_f64() * 1e3;

    let mut indexed = Vec::with_capacity(options.samples);
    for i in 0..options.samples {
        let query = format!("Category=eq.c{}&order=Amount.desc&limit=100", i % 10);
        indexed.push(big.timed_page(fixture, &query, 100).await?);
    }
    let mut adhoc = Vec::new();
    for i in 0..5 {
        // Score is unindexed and no row matches: the whole table is read.
        let query = format!("Score=lt.{}&limit=100", -1 - i);
        adhoc.push(big.timed_page(fixture, &query, 0).await?);
    }

    let wide = Sheet::create(fixture, "Wide", 50).await?;
    wide.fill(fixture, 1_000, 1).await?;
    let mut wide_pages = Vec::with_capacity(options.samples);
    for _ in 0..options.samples {
        wide_pages.push(wide.timed_page(fixture, "limit=100", 100).await?);
    }

    let started = Instant::now();
    big.add_field(
        fixture,
        json!({"name": "Added", "type": "number", "precision": 0}),
    )
    .await?;
    let add_field_ms = started.elapsed().as_secs_f64() * 1e3;

    let mut edits =
        live::cell_edits(fixture, &big, options.subscribers, options.samples.min(50)).await?;

    let (export_s, export_rows, rss_before, rss_peak) = big.export(fixture, target).await?;

    Ok(json!({
        "scenario": "tables",
        "rows": options.rows,
        "fields": 20,
        "insert_rows_per_s": round3(options.rows as f64 / insert_s),
        "paste_10k_x_20_ms": round3(paste_ms),
        "indexed_filter_sort_page_ms": latency_ms(&mut indexed),
        "unindexed_filter_ms": latency_ms(&mut adhoc),
        "page_100_x_50_fields_ms": latency_ms(&mut wide_pages),
        "add_field_ms": round3(add_field_ms),
        "cell_edit_to_subscribers_ms": latency_ms(&mut edits),
        "subscribers": options.subscribers,
        "csv_export_s": round3(export_s),
        "csv_export_lines": export_rows,
        "server_rss_mib_before_export": round3(rss_before as f64 / 1048576.0),
        "server_rss_mib_peak_export": round3(rss_peak as f64 / 1048576.0),
        "server_in_process": target.in_process(),
    }))
}

/// How long `f` took.
pub async fn timed<T>(f: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<(Duration, T)> {
    let started = Instant::now();
    let value = f.await?;
    Ok((started.elapsed(), value))
}
