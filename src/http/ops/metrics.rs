//! `GET /metrics`, and the middleware that counts and times requests ([`crate::metrics`]).

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::config::in_nets;
use crate::domain::messages;
use crate::error::Error;
use crate::http::extract::ClientIp;
use crate::metrics;
use crate::services::operations;
use crate::state::AppState;

/// Counts and times every request by method, route pattern and status.
pub async fn track_requests(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().cloned();
    let response = next.run(request).await;
    metrics::record_request(
        method.as_str(),
        route.as_ref().map(MatchedPath::as_str),
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// `GET /metrics`.
pub fn routes(state: AppState) -> axum::Router {
    axum::Router::new()
        .route("/metrics", axum::routing::get(render))
        .with_state(state)
}

/// Only clients in `METRICS_ALLOW` (loopback by default) may read it: route names, pool use
/// and queue depths are for operators.
async fn render(State(state): State<AppState>, ClientIp(client): ClientIp) -> Response {
    if !in_nets(&state.config.metrics_allow, client) {
        return Error::forbidden(messages::METRICS_NOT_ALLOWED).into_response();
    }
    let snapshot = operations::metrics_snapshot(&state).await;
    let text = metrics::render(&snapshot);
    ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], text).into_response()
}
