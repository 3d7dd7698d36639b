//! `GET /metrics`, and the middleware that counts and times requests ([`crate::metrics`]).

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::metrics::{self, Snapshot};
use crate::store::Db;

/// Counts and times every request by method, route pattern and status.
pub async fn track_requests(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().cloned();
    let response = next.run(request).await;
    metrics::record_request(
        method.as_str(),
        route.as_ref().map_or("unmatched", MatchedPath::as_str),
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// `GET /metrics`.
pub async fn render(State(state): State<AppState>) -> Response {
    let now = state.clock.now();
    let outbox = match crate::store::outbox::backlog(&state.db).await {
        Ok((unsent, oldest)) => Some((unsent, oldest.map_or(0.0, |t| (now - t).max(0.0)))),
        Err(err) => {
            tracing::warn!(error = %err, "metrics: the outbox could not be read");
            None
        }
    };
    let (pool_connections, pool_idle) = match &state.db {
        Db::Sqlite(pool) => (pool.size(), pool.num_idle()),
        Db::Postgres(pool) => (pool.size(), pool.num_idle()),
    };
    let text = metrics::render(&Snapshot {
        outbox,
        pool_connections,
        pool_idle,
    });
    ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], text).into_response()
}
