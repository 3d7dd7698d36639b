//! Admin management.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::message;
use crate::domain::admin::AdminTarget;
use crate::domain::audit::{AuditEvent, AuditQuery};
use crate::domain::users::PublicAdmin;
use crate::error::Result;
use crate::http::error::{ErrorResponse, MessageBody};
use crate::http::extract::{AuthUser, Command, QueryParams};
use crate::services;
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(grant))
        .routes(routes!(revoke))
        .routes(routes!(list_admins))
        .routes(routes!(audit))
}

/// Makes another user an admin (admins only).
#[utoipa::path(post, path = "/admin/new", tag = "Admins", request_body = AdminTarget, security(("bearer" = [])),
    responses((status = 200, body = MessageBody), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 413, body = ErrorResponse)))]
pub async fn grant(
    State(state): State<AppState>,
    user: AuthUser,
    Command(target): Command<AdminTarget>,
) -> Result<Response> {
    let outcome = services::admin::grant(&state, user.id, target).await?;
    Ok(message(StatusCode::OK, outcome))
}

/// Revokes an admin's status (admins only; the last admin cannot revoke themself).
#[utoipa::path(post, path = "/admin/remove", tag = "Admins", request_body = AdminTarget, security(("bearer" = [])),
    responses((status = 200, body = MessageBody), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 413, body = ErrorResponse)))]
pub async fn revoke(
    State(state): State<AppState>,
    user: AuthUser,
    Command(target): Command<AdminTarget>,
) -> Result<Response> {
    let outcome = services::admin::revoke(&state, user.id, target).await?;
    Ok(message(StatusCode::OK, outcome))
}

/// Every admin but the caller (admins only).
#[utoipa::path(get, path = "/admins", tag = "Admins", security(("bearer" = [])),
    responses((status = 200, body = Vec<PublicAdmin>), (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse)))]
pub async fn list_admins(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<axum::Json<Vec<PublicAdmin>>> {
    Ok(axum::Json(services::admin::list(&state, user.id).await?))
}

/// The audit trail (admins only): events, newest first, filtered by actor, action, subject
/// and time. `actor_id` is null for the system; `detail` and `client` are null once erased.
#[utoipa::path(get, path = "/admin/audit", tag = "Admins", params(AuditQuery), security(("bearer" = [])),
    responses((status = 200, body = Vec<AuditEvent>), (status = 400, body = ErrorResponse),
        (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse)))]
pub async fn audit(
    State(state): State<AppState>,
    user: AuthUser,
    QueryParams(query): QueryParams,
) -> Result<axum::Json<Vec<AuditEvent>>> {
    let query = AuditQuery::from_query(&query)?;
    Ok(axum::Json(
        services::audit::list(&state, user.id, query).await?,
    ))
}
