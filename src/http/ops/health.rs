//! Liveness and readiness probes.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::services::operations::{self, Readiness};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(readiness))
        .routes(routes!(liveness))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok`, `draining` or `unavailable`.
    pub status: &'static str,
    pub database: &'static str,
}

/// Readiness: 200 when the database answers, 503 while shutting down or when it does not.
#[utoipa::path(get, path = "/health", tag = "Health",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn readiness(State(state): State<AppState>) -> Response {
    let (status, body) = match operations::readiness(&state).await {
        Readiness::Ready => (
            StatusCode::OK,
            Health {
                status: "ok",
                database: "ok",
            },
        ),
        Readiness::Draining => (
            StatusCode::SERVICE_UNAVAILABLE,
            Health {
                status: "draining",
                database: "not checked",
            },
        ),
        Readiness::DatabaseDown => (
            StatusCode::SERVICE_UNAVAILABLE,
            Health {
                status: "unavailable",
                database: "unavailable",
            },
        ),
    };
    (status, axum::Json(body)).into_response()
}

/// Liveness: the process answers; touches nothing else.
#[utoipa::path(get, path = "/health/live", tag = "Health", responses((status = 200, body = Health)))]
pub async fn liveness() -> axum::Json<Health> {
    axum::Json(Health {
        status: "ok",
        database: "not checked",
    })
}
