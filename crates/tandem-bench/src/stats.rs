//! Percentiles of latency samples.

use std::time::Duration;

use serde_json::{Value, json};

/// p50, p99 and max of `samples` in milliseconds, as JSON.
pub fn latency_ms(samples: &mut [Duration]) -> Value {
    samples.sort_unstable();
    let pick = |q: f64| {
        samples
            .get(((samples.len().saturating_sub(1)) as f64 * q) as usize)
            .map_or(0.0, |d| round3(d.as_secs_f64() * 1e3))
    };
    json!({"p50": pick(0.50), "p90": pick(0.90), "p99": pick(0.99), "max": pick(1.0)})
}

pub fn median(samples: &mut [Duration]) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

pub fn round3(x: f64) -> f64 {
    (x * 1e3).round() / 1e3
}
