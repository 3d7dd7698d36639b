//! Profiles and the member directory.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::message;
use crate::domain::users::{
    DirectoryQuery, Preferences, PreferencesUpdate, ProfileUpdate, PublicUser, UserProfile,
};
use crate::error::Result;
use crate::http::error::{ErrorResponse, MessageBody};
use crate::http::extract::{AuthUser, Command, PathParams, QueryParams};
use crate::services;
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_me, update_me, delete_me))
        .routes(routes!(get_preferences, update_preferences))
        .routes(routes!(export))
        .routes(routes!(list_users))
        .routes(routes!(list_verified_users))
        .routes(routes!(get_user))
}

/// The caller's profile.
#[utoipa::path(get, path = "/user", tag = "Users", security(("bearer" = [])),
    responses((status = 200, body = UserProfile), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
pub async fn get_me(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<axum::Json<UserProfile>> {
    Ok(axum::Json(services::users::me(&state, user.id).await?))
}

/// Updates the caller's profile: fields to change; an empty string or null clears an optional
/// field. Lengths are counted without whitespace.
#[utoipa::path(put, path = "/user", tag = "Users", request_body = ProfileUpdate, security(("bearer" = [])),
    responses((status = 200, body = MessageBody), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 413, body = ErrorResponse)))]
pub async fn update_me(
    State(state): State<AppState>,
    user: AuthUser,
    Command(update): Command<ProfileUpdate>,
) -> Result<Response> {
    let outcome = services::users::update_me(&state, user.id, update).await?;
    Ok(message(StatusCode::OK, outcome))
}

/// Deletes the caller's account. A current relation is cancelled and the other party told;
/// the other party keeps reading the history, with the deleted party shown as null.
#[utoipa::path(delete, path = "/user", tag = "Users", security(("bearer" = [])),
    responses((status = 200, body = MessageBody), (status = 400, body = ErrorResponse, description = "The only admin left"),
        (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
pub async fn delete_me(State(state): State<AppState>, user: AuthUser) -> Result<Response> {
    let outcome = services::users::delete_me(&state, user.id).await?;
    Ok(message(StatusCode::OK, outcome))
}

/// Other members, verified or not, ordered by id.
#[utoipa::path(get, path = "/users", tag = "Users", params(DirectoryQuery), security(("bearer" = [])),
    responses((status = 200, body = Vec<PublicUser>), (status = 401, body = ErrorResponse)))]
pub async fn list_users(
    State(state): State<AppState>,
    user: AuthUser,
    QueryParams(query): QueryParams,
) -> Result<axum::Json<Vec<PublicUser>>> {
    let query = DirectoryQuery::from_query(&query);
    Ok(axum::Json(
        services::users::directory(&state, user.id, false, query).await?,
    ))
}

/// Other members whose e-mail is verified, ordered by id.
#[utoipa::path(get, path = "/users/verified", tag = "Users", params(DirectoryQuery), security(("bearer" = [])),
    responses((status = 200, body = Vec<PublicUser>), (status = 401, body = ErrorResponse)))]
pub async fn list_verified_users(
    State(state): State<AppState>,
    user: AuthUser,
    QueryParams(query): QueryParams,
) -> Result<axum::Json<Vec<PublicUser>>> {
    let query = DirectoryQuery::from_query(&query);
    Ok(axum::Json(
        services::users::directory(&state, user.id, true, query).await?,
    ))
}

/// One member's public profile.
#[utoipa::path(get, path = "/users/{user_id}", tag = "Users", params(("user_id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = PublicUser), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse, description = "E-mail not verified"), (status = 404, body = ErrorResponse)))]
pub async fn get_user(
    State(state): State<AppState>,
    _user: AuthUser,
    PathParams(user_id): PathParams<i64>,
) -> Result<axum::Json<PublicUser>> {
    Ok(axum::Json(
        services::users::public_profile(&state, user_id).await?,
    ))
}

/// The caller's preferences: the time zone their e-mails show times in, and meeting reminders.
#[utoipa::path(get, path = "/user/preferences", tag = "Users", security(("bearer" = [])),
    responses((status = 200, body = Preferences), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
pub async fn get_preferences(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<axum::Json<Preferences>> {
    Ok(axum::Json(
        services::users::preferences(&state, user.id).await?,
    ))
}

/// Changes some of the caller's preferences; answers them all.
#[utoipa::path(put, path = "/user/preferences", tag = "Users", request_body = PreferencesUpdate, security(("bearer" = [])),
    responses((status = 200, body = Preferences), (status = 400, body = ErrorResponse, description = "Unknown time zone"),
        (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse),
        (status = 413, body = ErrorResponse)))]
pub async fn update_preferences(
    State(state): State<AppState>,
    user: AuthUser,
    Command(update): Command<PreferencesUpdate>,
) -> Result<axum::Json<Preferences>> {
    Ok(axum::Json(
        services::users::update_preferences(&state, user.id, update).await?,
    ))
}

/// All of the caller's data as one JSON document, served as a download: profile, preferences,
/// relations (the other party by id and name), tasks and comments, meetings, substitute
/// invitations sent and received, and the caller's audit events (docs/DATA-EXPORT.md).
#[utoipa::path(get, path = "/user/export", tag = "Users", security(("bearer" = [])),
    responses((status = 200, body = Object, description = "The export (docs/DATA-EXPORT.md), with Content-Disposition: attachment"),
        (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
pub async fn export(State(state): State<AppState>, user: AuthUser) -> Result<Response> {
    let document = services::export::export(&state, user.id).await?;
    let disposition = format!(
        "attachment; filename=\"mentorship-export-{}.json\"",
        user.id
    );
    let mut response = axum::Json(document).into_response();
    if let Ok(value) = axum::http::HeaderValue::from_str(&disposition) {
        response
            .headers_mut()
            .insert(axum::http::header::CONTENT_DISPOSITION, value);
    }
    Ok(crate::http::private(response))
}
