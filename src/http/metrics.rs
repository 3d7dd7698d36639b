//! `GET /metrics` in Prometheus' text format, and the middleware that counts and times requests.
//!
//! Per route (the matched pattern, never the raw path): `http_requests_total` and the
//! `http_request_duration_seconds` histogram. At each scrape: the outbox depth and the age of
//! its oldest unsent mail, and the database pool's usage. Jobs record `job_runs_total` and
//! `job_duration_seconds` where they run.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::app::AppState;
use crate::store::Db;

const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// The process-wide recorder (a process has one, whatever the number of servers in it).
pub fn recorder() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("duration_seconds".into()), &LATENCY_BUCKETS)
            .expect("valid buckets");
        let handle = match builder.install_recorder() {
            Ok(handle) => handle,
            // Another recorder was installed first (an embedding program): keep a private one.
            Err(_) => PrometheusBuilder::new().build_recorder().handle(),
        };
        // The recorder keeps every histogram sample until they are folded into the buckets,
        // which only a scrape or an upkeep does: unscraped, the server's memory grew with
        // each request (to 100 MB over the benchmark). Fold them every few seconds.
        let upkeep = handle.clone();
        std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(UPKEEP_EVERY);
                    upkeep.run_upkeep();
                }
            })
            .expect("starting the metrics upkeep thread");
        handle
    })
}

const UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Counts and times every request by method, route pattern and status.
pub async fn track_requests(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let response = next.run(request).await;
    let labels = [
        ("method", method),
        ("route", route),
        ("status", response.status().as_u16().to_string()),
    ];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels[..2])
        .record(started.elapsed().as_secs_f64());
    response
}

/// `GET /metrics`.
pub async fn render(State(state): State<AppState>) -> Response {
    let now = state.clock.now();
    match crate::store::outbox::backlog(&state.db).await {
        Ok((unsent, oldest)) => {
            metrics::gauge!("outbox_unsent_mails").set(unsent as f64);
            metrics::gauge!("outbox_oldest_unsent_age_seconds")
                .set(oldest.map_or(0.0, |t| (now - t).max(0.0)));
        }
        Err(err) => tracing::warn!(error = %err, "metrics: the outbox could not be read"),
    }
    let (size, idle) = match &state.db {
        Db::Sqlite(pool) => (pool.size(), pool.num_idle()),
        Db::Postgres(pool) => (pool.size(), pool.num_idle()),
    };
    metrics::gauge!("db_pool_connections").set(f64::from(size));
    metrics::gauge!("db_pool_connections_idle").set(idle as f64);
    metrics::gauge!("db_pool_connections_in_use").set(f64::from(size) - idle as f64);
    let handle = recorder();
    handle.run_upkeep();
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle.render(),
    )
        .into_response()
}
