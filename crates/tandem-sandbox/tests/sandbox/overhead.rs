//! The sandbox's per-run overhead, measured rather than guessed. Ignored by default (it
//! is a measurement, not a check); run it with
//! `cargo test -p tandem-sandbox --test sandbox overhead -- --ignored --nocapture`.

use tandem_sandbox::measure_overhead;

#[tokio::test]
#[ignore = "a measurement; run explicitly"]
async fn sandbox_overhead_of_print_1() {
    let sandbox = crate::common::sandbox().await;
    let overhead = measure_overhead(&sandbox, 20).await.expect("runs succeed");
    println!(
        "isolation {}: sandboxed median {:?}, bare median {:?}, added {:?} ({} runs each)",
        sandbox.isolation().level(),
        overhead.sandboxed_median,
        overhead.bare_median,
        overhead.added(),
        overhead.runs
    );
    assert!(overhead.sandboxed_median >= overhead.bare_median / 2);
}
