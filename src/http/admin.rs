//! Admin management.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{AuthUser, JsonBody, message};
use crate::app::AppState;
use crate::error::{ErrorResponse, MessageBody, Result};
use crate::services;
use crate::store::users::UserRow;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(grant))
        .routes(routes!(revoke))
        .routes(routes!(list_admins))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct AdminUserRequest {
    user_id: i64,
}

/// An admin as other admins see them.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PublicAdmin {
    pub id: i64,
    pub username: String,
    pub name: String,
    pub slack_username: Option<String>,
    pub bio: Option<String>,
    pub location: Option<String>,
    pub occupation: Option<String>,
    pub organization: Option<String>,
    pub skills: Option<String>,
}

impl From<UserRow> for PublicAdmin {
    fn from(u: UserRow) -> Self {
        PublicAdmin {
            id: u.id,
            username: u.username,
            name: u.name,
            slack_username: u.slack_username,
            bio: u.bio,
            location: u.location,
            occupation: u.occupation,
            organization: u.organization,
            skills: u.skills,
        }
    }
}

/// Makes another user an admin (admins only).
#[utoipa::path(post, path = "/admin/new", tag = "Admins", request_body = AdminUserRequest, security(("bearer" = [])),
    responses((status = 200, body = MessageBody), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 413, body = ErrorResponse)))]
pub async fn grant(
    State(state): State<AppState>,
    user: AuthUser,
    body: JsonBody,
) -> Result<Response> {
    let outcome = services::admin::grant(&state, user.id, body.as_ref()).await?;
    Ok(message(StatusCode::OK, outcome))
}

/// Revokes an admin's status (admins only; the last admin cannot revoke themself).
#[utoipa::path(post, path = "/admin/remove", tag = "Admins", request_body = AdminUserRequest, security(("bearer" = [])),
    responses((status = 200, body = MessageBody), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 413, body = ErrorResponse)))]
pub async fn revoke(
    State(state): State<AppState>,
    user: AuthUser,
    body: JsonBody,
) -> Result<Response> {
    let outcome = services::admin::revoke(&state, user.id, body.as_ref()).await?;
    Ok(message(StatusCode::OK, outcome))
}

/// Every admin but the caller (admins only).
#[utoipa::path(get, path = "/admins", tag = "Admins", security(("bearer" = [])),
    responses((status = 200, body = Vec<PublicAdmin>), (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse)))]
pub async fn list_admins(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<axum::Json<Vec<PublicAdmin>>> {
    let admins = services::admin::list(&state, user.id).await?;
    Ok(axum::Json(admins.into_iter().map(Into::into).collect()))
}
