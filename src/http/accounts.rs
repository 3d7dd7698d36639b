//! Registration, e-mail verification, login, tokens and passwords.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{AuthUser, ClientIp, JsonBody, PathParams, RefreshToken, message};
use crate::app::AppState;
use crate::error::{ErrorResponse, MessageBody, Result};
use crate::services::accounts::{self, TokenPair};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(confirm_email))
        .routes(routes!(resend_email))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(change_password))
        .routes(routes!(forgot_password))
        .routes(routes!(reset_password_page))
        .routes(routes!(reset_password))
}

/// A new account. Lengths are counted without whitespace.
#[derive(Deserialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct RegisterRequest {
    /// Letters, spaces and `-`; 2 to 30 characters.
    #[schema(min_length = 2, max_length = 30, pattern = r"^[a-zA-Z\s\-]+$")]
    name: String,
    /// Letters, digits and `_`; 5 to 25 characters; unique regardless of case.
    #[schema(min_length = 5, max_length = 25, pattern = r"^[a-zA-Z0-9_]+$")]
    username: String,
    /// 8 to 64 characters, no space.
    #[schema(min_length = 8, max_length = 64, pattern = r"^[^ ]+$")]
    password: String,
    /// Unique regardless of case.
    #[schema(pattern = r"^[a-zA-Z0-9_.+-]+@[a-zA-Z0-9-]+\.[a-zA-Z0-9-.]+$")]
    email: String,
    /// Must be true.
    terms_and_conditions_checked: bool,
    need_mentoring: Option<bool>,
    available_to_mentor: Option<bool>,
}

/// Creates an account and e-mails a verification link (valid 30 days).
#[utoipa::path(post, path = "/register", tag = "Users", request_body = RegisterRequest,
    responses(
        (status = 201, body = MessageBody, description = "Created; the verification e-mail is on its way"),
        (status = 400, body = ErrorResponse, description = "Invalid input"),
        (status = 409, body = ErrorResponse, description = "Username or e-mail taken"),
        (status = 413, body = ErrorResponse)))]
pub async fn register(State(state): State<AppState>, body: JsonBody) -> Result<Response> {
    let outcome = accounts::register(&state, body.as_ref()).await?;
    Ok(message(StatusCode::CREATED, outcome))
}

/// Confirms an e-mail address with the token of the verification e-mail.
#[utoipa::path(get, path = "/user/confirm_email/{token}", tag = "Users",
    params(("token" = String, Path, description = "The token of the e-mailed link")),
    responses((status = 200, body = MessageBody), (status = 400, body = ErrorResponse, description = "Invalid or expired link")))]
pub async fn confirm_email(
    State(state): State<AppState>,
    PathParams(token): PathParams<String>,
) -> Result<Response> {
    let outcome = accounts::confirm_email(&state, &token).await?;
    Ok(message(StatusCode::OK, outcome))
}

/// `{"email"}`.
#[derive(Deserialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct EmailRequest {
    #[schema(pattern = r"^[a-zA-Z0-9_.+-]+@[a-zA-Z0-9-]+\.[a-zA-Z0-9-.]+$")]
    email: String,
}

/// Sends a new verification e-mail to an unverified account. The answer is the same whether or
/// not the address belongs to an account.
#[utoipa::path(post, path = "/user/resend_email", tag = "Users", request_body = EmailRequest,
    responses((status = 200, body = MessageBody), (status = 400, body = ErrorResponse), (status = 413, body = ErrorResponse)))]
pub async fn resend_email(State(state): State<AppState>, body: JsonBody) -> Result<Response> {
    let outcome = accounts::resend_verification(&state, body.as_ref()).await?;
    Ok(message(StatusCode::OK, outcome))
}

/// `{"username", "password"}`; `username` may be the username or the e-mail address.
#[derive(Deserialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct LoginRequest {
    #[schema(min_length = 1)]
    username: String,
    #[schema(min_length = 1)]
    password: String,
}

/// Logs in. After 5 failures in a minute for one login from one address, answers 429 with
/// `Retry-After`, even for the right password.
#[utoipa::path(post, path = "/login", tag = "Users", request_body = LoginRequest,
    responses(
        (status = 200, body = TokenPair),
        (status = 400, body = ErrorResponse),
        (status = 401, body = ErrorResponse, description = "Username or password is wrong"),
        (status = 403, body = ErrorResponse, description = "E-mail not verified"),
        (status = 413, body = ErrorResponse),
        (status = 429, body = ErrorResponse, description = "Too many failures", headers(("Retry-After" = u64))),
        (status = 503, body = ErrorResponse, description = "Too many logins at once", headers(("Retry-After" = u64)))))]
pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    body: JsonBody,
) -> Result<axum::Json<TokenPair>> {
    Ok(axum::Json(
        accounts::login(&state, body.as_ref(), &ip).await?,
    ))
}

/// Trades a refresh token (as the bearer token) for a new access token and a new refresh
/// token. A refresh token works once: presenting it again revokes its whole family.
#[utoipa::path(post, path = "/refresh", tag = "Users", security(("bearer" = [])),
    responses((status = 200, body = TokenPair), (status = 401, body = ErrorResponse)))]
pub async fn refresh(
    State(state): State<AppState>,
    RefreshToken(token): RefreshToken,
) -> Result<axum::Json<TokenPair>> {
    Ok(axum::Json(accounts::refresh(&state, &token).await?))
}

/// Revokes the refresh token (the bearer token) and every token rotated from the same login.
#[utoipa::path(post, path = "/logout", tag = "Users", security(("bearer" = [])),
    responses((status = 200, body = MessageBody), (status = 401, body = ErrorResponse)))]
pub async fn logout(
    State(state): State<AppState>,
    RefreshToken(token): RefreshToken,
) -> Result<Response> {
    let outcome = accounts::logout(&state, &token).await?;
    Ok(message(StatusCode::OK, outcome))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ChangePasswordRequest {
    current_password: String,
    /// 8 to 64 characters, no space, not the current one.
    #[schema(min_length = 8, max_length = 64, pattern = r"^[^ ]+$")]
    new_password: String,
}

/// Changes the caller's password; every refresh token of the account stops working.
#[utoipa::path(put, path = "/user/change_password", tag = "Users", request_body = ChangePasswordRequest, security(("bearer" = [])),
    responses((status = 201, body = MessageBody), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 413, body = ErrorResponse)))]
pub async fn change_password(
    State(state): State<AppState>,
    user: AuthUser,
    body: JsonBody,
) -> Result<Response> {
    let outcome = accounts::change_password(&state, user.id, body.as_ref()).await?;
    Ok(message(StatusCode::CREATED, outcome))
}

/// E-mails a password reset link (valid 1 hour, single use) to a verified account. The answer
/// is the same whether or not the address belongs to an account.
#[utoipa::path(post, path = "/user/forgot_password", tag = "Users", request_body = EmailRequest,
    responses((status = 200, body = MessageBody), (status = 400, body = ErrorResponse), (status = 413, body = ErrorResponse)))]
pub async fn forgot_password(State(state): State<AppState>, body: JsonBody) -> Result<Response> {
    let outcome = accounts::forgot_password(&state, body.as_ref()).await?;
    Ok(message(StatusCode::OK, outcome))
}

/// The page the reset e-mail links to: a form that posts the new password. Changes nothing.
#[utoipa::path(get, path = "/user/reset_password/{token}", tag = "Users",
    params(("token" = String, Path)), responses((status = 200, content_type = "text/html", body = String)))]
pub async fn reset_password_page(PathParams(token): PathParams<String>) -> Response {
    let mut response = super::html(super::docs::reset_password_page(&token));
    let headers = response.headers_mut();
    headers.insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    headers.insert(
        "referrer-policy",
        axum::http::HeaderValue::from_static("no-referrer"),
    );
    response.into_response()
}

#[derive(Deserialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ResetPasswordRequest {
    /// The token of the e-mailed link.
    #[schema(min_length = 1)]
    token: String,
    /// 8 to 64 characters, no space.
    #[schema(min_length = 8, max_length = 64, pattern = r"^[^ ]+$")]
    new_password: String,
}

/// Sets a new password with the token of a reset link; every refresh token of the account stops working.
#[utoipa::path(post, path = "/user/reset_password", tag = "Users", request_body = ResetPasswordRequest,
    responses((status = 200, body = MessageBody), (status = 400, body = ErrorResponse), (status = 413, body = ErrorResponse)))]
pub async fn reset_password(State(state): State<AppState>, body: JsonBody) -> Result<Response> {
    let outcome = accounts::reset_password(&state, body.as_ref()).await?;
    Ok(message(StatusCode::OK, outcome))
}
