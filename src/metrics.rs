//! The process's metrics, rendered in Prometheus' text format by `GET /metrics`.
//!
//! Per route (the matched pattern, never the raw path): `http_requests_total` and the
//! `http_request_duration_seconds` histogram. At each scrape: the outbox depth and the age of
//! its oldest unsent mail, and the database pool's usage. Jobs record `job_runs_total` and
//! `job_duration_seconds` where they run.

use std::sync::OnceLock;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Metric, Registry};

/// The `Content-Type` of what [`render`] returns.
pub use prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// A job's duration, from a second to an hour.
const JOB_BUCKETS: [f64; 9] = [1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0];

type Buckets = fn() -> Histogram;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResponseLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobLabels {
    job: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobOutcomeLabels {
    job: &'static str,
    outcome: &'static str,
}

/// Every metric of the process. Histograms count each observation into its bucket as it is
/// made, so their memory is fixed by the number of routes, whatever the request rate and
/// however rarely `/metrics` is scraped. (metrics-exporter-prometheus, used before, kept every
/// sample until a scrape or an upkeep folded them: at 90,000 requests a second that was 5 MB.)
struct Metrics {
    registry: Registry,
    requests: Family<ResponseLabels, Counter>,
    request_duration: Family<RouteLabels, Histogram, Buckets>,
    job_runs: Family<JobOutcomeLabels, Counter>,
    job_duration: Family<JobLabels, Histogram, Buckets>,
    outbox_unsent: Gauge,
    outbox_oldest_age: Gauge<f64, AtomicU64>,
    outbox_dead: Gauge,
    pool_connections: Gauge,
    pool_idle: Gauge,
    pool_in_use: Gauge,
}

/// The process-wide metrics (a process has one set, whatever the number of servers in it).
fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(|| {
        let mut registry = Registry::default();
        // Counters are registered without their `_total`, which the encoder appends.
        Metrics {
            requests: add(
                &mut registry,
                "http_requests",
                "Requests answered, by method, route pattern and status",
                Family::default(),
            ),
            request_duration: add(
                &mut registry,
                "http_request_duration_seconds",
                "Time to answer a request, by method and route pattern",
                Family::new_with_constructor(|| Histogram::new(LATENCY_BUCKETS)),
            ),
            job_runs: add(
                &mut registry,
                "job_runs",
                "Scheduled job runs on this instance, by job and outcome",
                Family::default(),
            ),
            job_duration: add(
                &mut registry,
                "job_duration_seconds",
                "Duration of the scheduled job runs on this instance",
                Family::new_with_constructor(|| Histogram::new(JOB_BUCKETS)),
            ),
            outbox_unsent: add(
                &mut registry,
                "outbox_unsent_mails",
                "Mails in the outbox not yet sent (all instances)",
                Gauge::default(),
            ),
            outbox_dead: add(
                &mut registry,
                "outbox_dead_letters",
                "Mails given up on after too many failed attempts, waiting for an operator",
                Gauge::default(),
            ),
            outbox_oldest_age: add(
                &mut registry,
                "outbox_oldest_unsent_age_seconds",
                "Age of the oldest unsent mail",
                Gauge::default(),
            ),
            pool_connections: add(
                &mut registry,
                "db_pool_connections",
                "Connections in this instance's database pool",
                Gauge::default(),
            ),
            pool_idle: add(
                &mut registry,
                "db_pool_connections_idle",
                "Idle connections in the pool",
                Gauge::default(),
            ),
            pool_in_use: add(
                &mut registry,
                "db_pool_connections_in_use",
                "Connections of the pool in use",
                Gauge::default(),
            ),
            registry,
        }
    })
}

/// Registers `metric` under `name` and hands it back (the registry keeps a handle on the same
/// values).
fn add<M: Metric + Clone>(registry: &mut Registry, name: &str, help: &str, metric: M) -> M {
    registry.register(name, help, metric.clone());
    metric
}

/// The methods counted under their own name; any other is `other`, so that a client sending
/// made-up methods cannot grow the metrics without bound.
const METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE",
];

/// Records one answered request. `route` is the matched route pattern (a bounded set), or
/// `None` for a path no route matched, all counted as one `unmatched` route.
pub fn record_request(method: &str, route: Option<&str>, status: u16, seconds: f64) {
    let metrics = metrics();
    let method = METHODS
        .iter()
        .find(|m| **m == method)
        .copied()
        .unwrap_or("other");
    let route = RouteLabels {
        method: method.to_owned(),
        route: route.unwrap_or("unmatched").to_owned(),
    };
    metrics
        .request_duration
        .get_or_create(&route)
        .observe(seconds);
    let response = ResponseLabels {
        method: route.method,
        route: route.route,
        status,
    };
    metrics.requests.get_or_create(&response).inc();
}

/// Records one run of a scheduled job.
pub fn record_job_run(job: &'static str, succeeded: bool, seconds: f64) {
    let metrics = metrics();
    let outcome = if succeeded { "ok" } else { "failed" };
    metrics
        .job_runs
        .get_or_create(&JobOutcomeLabels { job, outcome })
        .inc();
    metrics
        .job_duration
        .get_or_create(&JobLabels { job })
        .observe(seconds);
}

/// The gauges read at each scrape.
pub struct Snapshot {
    /// `None` if the outbox could not be read (the gauges then keep their last values).
    pub outbox: Option<OutboxGauges>,
    pub pool_connections: u32,
    pub pool_idle: usize,
}

/// The mail outbox, read at each scrape.
pub struct OutboxGauges {
    /// Mails not yet sent (nor given up on).
    pub unsent: i64,
    /// Age of the oldest of them, in seconds.
    pub oldest_unsent_age: f64,
    /// Mails given up on.
    pub dead: i64,
}

/// Every metric, in Prometheus' text format (`CONTENT_TYPE`), with `snapshot`'s gauges.
pub fn render(snapshot: &Snapshot) -> String {
    let metrics = metrics();
    if let Some(outbox) = &snapshot.outbox {
        metrics.outbox_unsent.set(outbox.unsent);
        metrics.outbox_oldest_age.set(outbox.oldest_unsent_age);
        metrics.outbox_dead.set(outbox.dead);
    }
    let size = i64::from(snapshot.pool_connections);
    let idle = snapshot.pool_idle as i64;
    metrics.pool_connections.set(size);
    metrics.pool_idle.set(idle);
    metrics.pool_in_use.set(size - idle);
    let mut text = String::new();
    if let Err(err) = prometheus_text::encode(&mut text, &metrics.registry) {
        tracing::error!(error = %err, "metrics: could not be encoded");
    }
    text
}
