//! Registration, e-mail verification, login, tokens and passwords.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::message;
use crate::domain::accounts::{
    Credentials, EmailAddress, PasswordChange, PasswordReset, Registration, TokenPair,
};
use crate::error::Result;
use crate::http::error::{ErrorResponse, MessageBody};
use crate::http::extract::{AuthUser, ClientIp, Command, JsonOrForm, PathParams, RefreshToken};
use crate::http::web;
use crate::services::accounts;
use crate::state::AppState;

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
        .routes(routes!(reset_password))
}

/// Creates an account and e-mails a verification link (valid 30 days).
#[utoipa::path(post, path = "/register", tag = "Users", request_body = Registration,
    responses(
        (status = 201, body = MessageBody, description = "Created; the verification e-mail is on its way"),
        (status = 400, body = ErrorResponse, description = "Invalid input"),
        (status = 409, body = ErrorResponse, description = "Username or e-mail taken"),
        (status = 413, body = ErrorResponse)))]
pub async fn register(
    State(state): State<AppState>,
    Command(registration): Command<Registration>,
) -> Result<Response> {
    let outcome = accounts::register(&state, registration).await?;
    Ok(message(StatusCode::CREATED, outcome))
}

/// Confirms an e-mail address with the token of the verification e-mail.
///
/// A browser (whose `Accept` names `text/html` before `application/json`) gets a page that
/// leads to the member app's sign-in; API clients get the JSON message as before.
#[utoipa::path(get, path = "/user/confirm_email/{token}", tag = "Users",
    params(("token" = String, Path, description = "The token of the e-mailed link")),
    responses((status = 200, body = MessageBody), (status = 400, body = ErrorResponse, description = "Invalid or expired link")))]
pub async fn confirm_email(
    State(state): State<AppState>,
    PathParams(token): PathParams<String>,
    headers: axum::http::HeaderMap,
) -> Result<Response> {
    if wants_html(&headers) {
        return Ok(web::member::confirm_email_page(&state, &token).await);
    }
    let outcome = accounts::confirm_email(&state, &token).await?;
    Ok(message(StatusCode::OK, outcome))
}

/// Whether the request's `Accept` header asks for HTML (a browser following a link): it
/// names `text/html`, and not after `application/json`.
fn wants_html(headers: &axum::http::HeaderMap) -> bool {
    let accept = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match (accept.find("text/html"), accept.find("application/json")) {
        (Some(_), None) => true,
        (Some(html), Some(json)) => html < json,
        _ => false,
    }
}

/// Sends a new verification e-mail to an unverified account, at most 3 an hour. The answer is
/// the same whether or not the address belongs to an account.
#[utoipa::path(post, path = "/user/resend_email", tag = "Users", request_body = EmailAddress,
    responses((status = 200, body = MessageBody), (status = 400, body = ErrorResponse), (status = 413, body = ErrorResponse)))]
pub async fn resend_email(
    State(state): State<AppState>,
    Command(address): Command<EmailAddress>,
) -> Result<Response> {
    let outcome = accounts::resend_verification(&state, address).await?;
    Ok(message(StatusCode::OK, outcome))
}

/// Logs in. After 5 failures in a minute for one login from one address, answers 429 with
/// `Retry-After`, even for the right password.
#[utoipa::path(post, path = "/login", tag = "Users", request_body = Credentials,
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
    Command(credentials): Command<Credentials>,
) -> Result<axum::Json<TokenPair>> {
    Ok(axum::Json(accounts::login(&state, credentials, ip).await?))
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

/// Changes the caller's password; every refresh token of the account stops working.
#[utoipa::path(put, path = "/user/change_password", tag = "Users", request_body = PasswordChange, security(("bearer" = [])),
    responses((status = 201, body = MessageBody), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 413, body = ErrorResponse)))]
pub async fn change_password(
    State(state): State<AppState>,
    user: AuthUser,
    Command(change): Command<PasswordChange>,
) -> Result<Response> {
    let outcome = accounts::change_password(&state, user.id, change).await?;
    Ok(message(StatusCode::CREATED, outcome))
}

/// E-mails a password reset link (valid 1 hour, single use) to a verified account, at most 3
/// an hour. The answer is the same whether or not the address belongs to an account. (The
/// member app's page at `/app/forgot-password` posts its form here and gets a page back.)
#[utoipa::path(post, path = "/user/forgot_password", tag = "Users", request_body = EmailAddress,
    responses((status = 200, body = MessageBody), (status = 400, body = ErrorResponse), (status = 413, body = ErrorResponse)))]
pub async fn forgot_password(
    State(state): State<AppState>,
    body: JsonOrForm<EmailAddress>,
) -> Result<Response> {
    let address = match body {
        JsonOrForm::Json(address) => address,
        JsonOrForm::Form(form) => return Ok(web::forgot_password_submitted(&state, form).await),
    };
    let outcome = accounts::forgot_password(&state, address).await?;
    Ok(message(StatusCode::OK, outcome))
}

/// Sets a new password with the token of a reset link; every refresh token of the account stops
/// working. (The reset page posts its form here and gets a page back.)
#[utoipa::path(post, path = "/user/reset_password", tag = "Users", request_body = PasswordReset,
    responses((status = 200, body = MessageBody), (status = 400, body = ErrorResponse), (status = 413, body = ErrorResponse)))]
pub async fn reset_password(
    State(state): State<AppState>,
    body: JsonOrForm<PasswordReset>,
) -> Result<Response> {
    let reset = match body {
        JsonOrForm::Json(reset) => reset,
        JsonOrForm::Form(form) => return Ok(web::reset_password_submitted(&state, form).await),
    };
    let outcome = accounts::reset_password(&state, reset).await?;
    Ok(message(StatusCode::OK, outcome))
}
