//! Prometheus metrics: request counts and latency by route and status, exposed at `/metrics`.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use chrono::{DateTime, Utc};
use prometheus::{
    Encoder, Gauge, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

use tandem_store::QueueStats;

use crate::state::AppState;

/// The server's metrics, in a registry of its own (no globals, so several servers can
/// live in one test process).
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    in_flight: IntGaugeVec,
    realtime_connections: IntGauge,
    jobs: IntGaugeVec,
    jobs_oldest_runnable_seconds: Gauge,
    jobs_expired_leases: IntGauge,
}

impl Metrics {
    pub fn new() -> anyhow::Result<Self> {
        let registry = Registry::new();
        let labels = ["method", "route", "status"];
        let requests = IntCounterVec::new(
            Opts::new("tandem_http_requests_total", "HTTP requests answered"),
            &labels,
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "tandem_http_request_duration_seconds",
                "Time to answer an HTTP request",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            &labels,
        )?;
        let in_flight = IntGaugeVec::new(
            Opts::new(
                "tandem_http_requests_in_flight",
                "HTTP requests being answered right now",
            ),
            &["route"],
        )?;
        let realtime_connections = IntGauge::new(
            "tandem_realtime_connections",
            "Authenticated realtime sockets open on this node",
        )?;
        let jobs = IntGaugeVec::new(
            Opts::new("tandem_jobs", "Jobs in the queue, by state (all nodes)"),
            &["state"],
        )?;
        let jobs_oldest_runnable_seconds = Gauge::new(
            "tandem_jobs_oldest_runnable_age_seconds",
            "How long the longest-waiting runnable job has waited (0 if none)",
        )?;
        let jobs_expired_leases = IntGauge::new(
            "tandem_jobs_expired_leases",
            "Running jobs whose lease ran out and that the reaper has not taken back yet",
        )?;
        registry.register(Box::new(jobs.clone()))?;
        registry.register(Box::new(jobs_oldest_runnable_seconds.clone()))?;
        registry.register(Box::new(jobs_expired_leases.clone()))?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(realtime_connections.clone()))?;
        // Resident memory, CPU time and open descriptors of this process, as
        // `process_*`: what a load test reads to price a connection.
        #[cfg(target_os = "linux")]
        registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(in_flight.clone()))?;
        Ok(Self {
            registry,
            requests,
            latency,
            in_flight,
            realtime_connections,
            jobs,
            jobs_oldest_runnable_seconds,
            jobs_expired_leases,
        })
    }

    /// Sets the queue gauges from a fresh reading of the queue.
    pub fn record_queue(&self, stats: &QueueStats, now: DateTime<Utc>) {
        for (state, count) in &stats.by_state {
            self.jobs
                .with_label_values(&[state.as_str()])
                .set(i64::try_from(*count).unwrap_or(i64::MAX));
        }
        let waited = stats.oldest_runnable.map_or(0.0, |at| {
            (now - at).num_milliseconds().max(0) as f64 / 1000.0
        });
        self.jobs_oldest_runnable_seconds.set(waited);
        self.jobs_expired_leases
            .set(i64::try_from(stats.expired_leases).unwrap_or(i64::MAX));
    }

    /// Counts one open realtime socket for as long as the returned guard lives.
    pub fn realtime_connection(&self) -> InFlight {
        InFlight::enter(self.realtime_connections.clone())
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> anyhow::Result<String> {
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out)?;
        Ok(String::from_utf8(out)?)
    }
}

/// Records each request under its route template (`/api/v1/auth/sessions/{id}`), never
/// the raw path, so label cardinality stays bounded.
pub async fn record(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let in_flight = InFlight::enter(state.metrics.in_flight.with_label_values(&[&route]));
    let response = next.run(request).await;
    drop(in_flight);
    let status = response.status().as_u16().to_string();
    let labels = [method.as_str(), route.as_str(), status.as_str()];
    state.metrics.requests.with_label_values(&labels).inc();
    state
        .metrics
        .latency
        .with_label_values(&labels)
        .observe(started.elapsed().as_secs_f64());
    response
}

/// Counts one request (or socket) in flight for as long as it lives, so one whose future
/// is dropped midway (client gone, shutdown) is still counted out.
#[derive(Debug)]
pub struct InFlight(IntGauge);

impl InFlight {
    fn enter(gauge: IntGauge) -> Self {
        gauge.inc();
        Self(gauge)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}
