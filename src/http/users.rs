//! Profiles and the member directory.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{AuthUser, LenientJsonBody, PathParams, QueryParams, message};
use crate::app::AppState;
use crate::domain::clock::iso_naive;
use crate::error::{ErrorResponse, MessageBody, Result};
use crate::services;
use crate::store::users::{PublicUserRow, UserRow};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_me, update_me, delete_me))
        .routes(routes!(list_users))
        .routes(routes!(list_verified_users))
        .routes(routes!(get_user))
}

/// The caller's own profile.
#[derive(Serialize, utoipa::ToSchema)]
pub struct UserProfile {
    pub id: i64,
    pub name: String,
    pub username: String,
    pub email: String,
    pub terms_and_conditions_checked: bool,
    pub is_admin: bool,
    /// UNIX seconds.
    pub registration_date: f64,
    pub is_email_verified: bool,
    /// ISO-8601, UTC, without a zone (`2026-11-22T23:56:32.276863`), as the reference.
    pub email_verification_date: Option<String>,
    pub bio: Option<String>,
    pub location: Option<String>,
    pub occupation: Option<String>,
    pub organization: Option<String>,
    pub slack_username: Option<String>,
    pub social_media_links: Option<String>,
    pub skills: Option<String>,
    pub interests: Option<String>,
    pub resume_url: Option<String>,
    pub photo_url: Option<String>,
    pub need_mentoring: bool,
    pub available_to_mentor: bool,
    /// Always null (kept for the reference's clients).
    pub current_mentorship_role: Option<i64>,
    /// Always null (kept for the reference's clients).
    pub membership_status: Option<i64>,
}

impl From<UserRow> for UserProfile {
    fn from(u: UserRow) -> Self {
        UserProfile {
            id: u.id,
            name: u.name,
            username: u.username,
            email: u.email,
            terms_and_conditions_checked: u.terms_and_conditions_checked,
            is_admin: u.is_admin,
            registration_date: u.registration_date,
            is_email_verified: u.is_email_verified,
            email_verification_date: u.email_verification_date.map(iso_naive),
            bio: u.bio,
            location: u.location,
            occupation: u.occupation,
            organization: u.organization,
            slack_username: u.slack_username,
            social_media_links: u.social_media_links,
            skills: u.skills,
            interests: u.interests,
            resume_url: u.resume_url,
            photo_url: u.photo_url,
            need_mentoring: u.need_mentoring,
            available_to_mentor: u.available_to_mentor,
            current_mentorship_role: None,
            membership_status: None,
        }
    }
}

/// What members see of each other.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PublicUser {
    pub id: i64,
    pub username: String,
    pub name: String,
    pub slack_username: Option<String>,
    pub bio: Option<String>,
    pub location: Option<String>,
    pub occupation: Option<String>,
    pub organization: Option<String>,
    pub interests: Option<String>,
    pub skills: Option<String>,
    pub need_mentoring: bool,
    pub available_to_mentor: bool,
    /// Not in a current relation, and wants to mentor or be mentored.
    pub is_available: bool,
    /// UNIX seconds.
    pub registration_date: f64,
}

impl From<PublicUserRow> for PublicUser {
    fn from(u: PublicUserRow) -> Self {
        PublicUser {
            id: u.id,
            username: u.username,
            name: u.name,
            slack_username: u.slack_username,
            bio: u.bio,
            location: u.location,
            occupation: u.occupation,
            organization: u.organization,
            interests: u.interests,
            skills: u.skills,
            need_mentoring: u.need_mentoring,
            available_to_mentor: u.available_to_mentor,
            is_available: u.is_available,
            registration_date: u.registration_date,
        }
    }
}

/// The caller's profile.
#[utoipa::path(get, path = "/user", tag = "Users", security(("bearer" = [])),
    responses((status = 200, body = UserProfile), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
pub async fn get_me(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<axum::Json<UserProfile>> {
    Ok(axum::Json(
        services::users::me(&state, user.id).await?.into(),
    ))
}

/// Fields to change; an empty string or null clears an optional field. Lengths are counted
/// without whitespace.
#[derive(Deserialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct UpdateProfileRequest {
    #[schema(min_length = 2, max_length = 30, pattern = r"^[a-zA-Z\s\-]+$")]
    name: Option<String>,
    #[schema(min_length = 5, max_length = 25, pattern = r"^[a-zA-Z0-9_]+$")]
    username: Option<String>,
    #[schema(max_length = 450)]
    bio: Option<String>,
    #[schema(max_length = 60)]
    location: Option<String>,
    #[schema(max_length = 60)]
    occupation: Option<String>,
    #[schema(max_length = 60)]
    organization: Option<String>,
    #[schema(max_length = 60)]
    slack_username: Option<String>,
    #[schema(max_length = 400)]
    social_media_links: Option<String>,
    #[schema(max_length = 450)]
    skills: Option<String>,
    #[schema(max_length = 150)]
    interests: Option<String>,
    #[schema(max_length = 200)]
    resume_url: Option<String>,
    #[schema(max_length = 200)]
    photo_url: Option<String>,
    need_mentoring: Option<bool>,
    available_to_mentor: Option<bool>,
}

/// Updates the caller's profile.
#[utoipa::path(put, path = "/user", tag = "Users", request_body = UpdateProfileRequest, security(("bearer" = [])),
    responses((status = 200, body = MessageBody), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 413, body = ErrorResponse)))]
pub async fn update_me(
    State(state): State<AppState>,
    user: AuthUser,
    LenientJsonBody(body): LenientJsonBody,
) -> Result<Response> {
    let outcome = services::users::update_me(&state, user.id, body.as_ref()).await?;
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

/// Directory query: `search` finds text in the name or username (case-insensitive); pages
/// hold `per_page` users (default 10, at most 50).
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct DirectoryQuery {
    search: Option<String>,
    /// From 1.
    page: Option<i64>,
    /// At most 50.
    per_page: Option<i64>,
    need_mentoring: Option<bool>,
    available_to_mentor: Option<bool>,
}

/// Other members, verified or not, ordered by id.
#[utoipa::path(get, path = "/users", tag = "Users", params(DirectoryQuery), security(("bearer" = [])),
    responses((status = 200, body = Vec<PublicUser>), (status = 401, body = ErrorResponse)))]
pub async fn list_users(
    State(state): State<AppState>,
    user: AuthUser,
    QueryParams(query): QueryParams,
) -> Result<axum::Json<Vec<PublicUser>>> {
    let users = services::users::directory(&state, user.id, false, &query).await?;
    Ok(axum::Json(users.into_iter().map(Into::into).collect()))
}

/// Other members whose e-mail is verified, ordered by id.
#[utoipa::path(get, path = "/users/verified", tag = "Users", params(DirectoryQuery), security(("bearer" = [])),
    responses((status = 200, body = Vec<PublicUser>), (status = 401, body = ErrorResponse)))]
pub async fn list_verified_users(
    State(state): State<AppState>,
    user: AuthUser,
    QueryParams(query): QueryParams,
) -> Result<axum::Json<Vec<PublicUser>>> {
    let users = services::users::directory(&state, user.id, true, &query).await?;
    Ok(axum::Json(users.into_iter().map(Into::into).collect()))
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
        services::users::public_profile(&state, user_id)
            .await?
            .into(),
    ))
}
