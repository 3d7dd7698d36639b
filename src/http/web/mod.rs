//! Server-rendered pages: those that e-mailed links open (password reset, substitute
//! invitation) and the page that asks for a reset link. They work without JavaScript: their
//! forms post to the same actions as the API (`application/x-www-form-urlencoded`), and the
//! answer is a page. Templates are `templates/pages/*.html`, compiled into the binary and
//! rendered with minijinja (HTML auto-escaped); errors on these routes are pages too.

pub mod console;
pub mod member;
mod pages;
pub mod session;

use std::net::IpAddr;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::error::shown;
use super::extract::{FormFields, PathParams};
use super::private;
use crate::domain::accounts::{Credentials, EmailAddress, PasswordReset};
use crate::domain::json::FromJson;
use crate::domain::messages;
use crate::error::{Error, ErrorKind};
use crate::services::{accounts, substitutes};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(reset_password_page))
        .routes(routes!(forgot_password_page))
        .routes(routes!(invitation_page))
}

/// The stylesheets of the pages and the console (and its icon), served from the binary (no CDN, no inline
/// style of ours).
pub fn static_routes() -> axum::Router {
    const PAGE_CSS: &str = include_str!("../../../templates/static/page.css");
    const CONSOLE_CSS: &str = include_str!("../../../templates/static/console.css");
    const CONSOLE_ICON: &str = include_str!("../../../templates/static/console-icon.svg");
    fn file(content_type: &'static str, body: &'static str) -> axum::routing::MethodRouter {
        axum::routing::get(move || async move {
            (
                [
                    (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
                    (
                        header::CACHE_CONTROL,
                        HeaderValue::from_static("public, max-age=3600"),
                    ),
                ],
                body,
            )
        })
    }
    const CSS: &str = "text/css; charset=utf-8";
    axum::Router::new()
        .route("/static/page.css", file(CSS, PAGE_CSS))
        .route("/static/console.css", file(CSS, CONSOLE_CSS))
        // The console's icon: without one the browser asks for /favicon.ico and gets a 404.
        .route(
            "/static/console-icon.svg",
            file("image/svg+xml", CONSOLE_ICON),
        )
}

/// A page: its status and HTML.
fn page(status: StatusCode, template: &str, context: minijinja::Value) -> Response {
    (status, Html(pages::render(template, context))).into_response()
}

/// A page of one sentence: what happened, or why not.
fn message_page(title: &str, status: StatusCode, message: &str) -> Response {
    page(
        status,
        "message.html",
        minijinja::context! { title, message, failed => !status.is_success() },
    )
}

/// An error on a page route, answered as a page of one sentence with the error's status.
pub struct PageError(pub Error);

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, rejection) = shown(self.0);
        message_page("This page cannot be shown", status, &rejection.message)
    }
}

/// The page the reset e-mail links to: a form that posts the new password. Changes nothing.
/// It and the forgot-password page are pages of the member app (its frame, its style), at the
/// addresses the mobile apps' e-mails and forms use.
#[utoipa::path(get, path = "/user/reset_password/{token}", tag = "Users",
    params(("token" = String, Path)), responses((status = 200, content_type = "text/html", body = String)))]
pub async fn reset_password_page(PathParams(token): PathParams<String>) -> Response {
    private(reset_form(StatusCode::OK, &token, None))
}

fn reset_form(status: StatusCode, token: &str, error: Option<&str>) -> Response {
    page(
        status,
        "member/reset_password.html",
        minijinja::context! { title => "Choose a new password", token, error },
    )
}

/// A sentence in the member app's frame, with the way to sign in.
fn member_message(title: &str, status: StatusCode, message: &str) -> Response {
    page(
        status,
        "member/message.html",
        minijinja::context! { title, message, failed => !status.is_success() },
    )
}

/// The reset page's form, posted to `POST /user/reset_password`.
pub async fn reset_password_submitted(state: &AppState, form: FormFields) -> Response {
    let body =
        serde_json::json!({"token": form.get("token"), "new_password": form.get("new_password")});
    let outcome = match PasswordReset::from_json(Some(&body)) {
        Ok(reset) => accounts::reset_password(state, reset).await,
        Err(err) => Err(err),
    };
    let title = "Choose a new password";
    private(match outcome {
        Ok(done) => member_message(title, StatusCode::OK, done.text),
        // The password broke a rule: the form again, with the rule.
        Err(Error::Rejected(rejection))
            if rejection.code.as_ref() != messages::PASSWORD_RESET_TOKEN_INVALID.code =>
        {
            reset_form(
                super::error::status(rejection.kind),
                form.get("token"),
                Some(&rejection.message),
            )
        }
        Err(err) => {
            let (status, rejection) = shown(err);
            member_message(title, status, &rejection.message)
        }
    })
}

/// The old address of the forgot-password page, which the member app now serves.
#[utoipa::path(get, path = "/user/forgot_password", tag = "Users",
    responses((status = 303, description = "to /app/forgot-password")))]
pub async fn forgot_password_page() -> Response {
    (
        StatusCode::SEE_OTHER,
        [(
            header::LOCATION,
            HeaderValue::from_static(FORGOT_PASSWORD_PAGE),
        )],
    )
        .into_response()
}

/// The member app's page that asks for a reset link (sign-in and invitation pages link here).
pub const FORGOT_PASSWORD_PAGE: &str = "/app/forgot-password";

/// The forgot-password form, which posts to `POST /user/forgot_password` like the apps do.
pub fn forgot_form(status: StatusCode, error: Option<&str>) -> Response {
    page(
        status,
        "member/forgot_password.html",
        minijinja::context! { title => "Forgot your password?", error },
    )
}

/// The forgot-password page's form, posted to `POST /user/forgot_password`.
pub async fn forgot_password_submitted(state: &AppState, form: FormFields) -> Response {
    let body = serde_json::json!({"email": form.get("email")});
    let outcome = match EmailAddress::from_json(Some(&body)) {
        Ok(address) => accounts::forgot_password(state, address).await,
        Err(err) => Err(err),
    };
    match outcome {
        Ok(done) => member_message("Forgot your password?", StatusCode::OK, done.text),
        Err(Error::Rejected(rejection)) => forgot_form(
            super::error::status(rejection.kind),
            Some(&rejection.message),
        ),
        Err(err) => PageError(err).into_response(),
    }
}

/// The page an invitation link opens: the meeting, who invites, and a login form whose button
/// answers. It never changes anything (mail scanners open links). A link no longer live shows
/// one sentence and nothing of the meeting.
#[utoipa::path(get, path = "/meeting/{meeting_id}/substitute/{decision}", tag = "Substitutes",
    params(("meeting_id" = i64, Path), ("decision" = String, Path, description = "accept or reject"),
        ("invitee" = i64, Query), ("nonce" = String, Query), ("exp" = i64, Query), ("kid" = String, Query), ("signature" = String, Query)),
    responses((status = 200, content_type = "text/html", body = String), (status = 403, content_type = "text/html", body = String),
        (status = 404, content_type = "text/html", body = String), (status = 409, content_type = "text/html", body = String)))]
pub async fn invitation_page(
    State(state): State<AppState>,
    PathParams((id, decision)): PathParams<(String, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query.unwrap_or_default();
    private(invitation(&state, &id, &decision, &query, StatusCode::OK, None).await)
}

async fn invitation(
    state: &AppState,
    id: &str,
    decision: &str,
    query: &str,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    // A browser shows this page, so even a malformed id gets a page.
    let Ok(id) = id.parse::<i64>() else {
        return PageError(Error::not_found(messages::MEETING_DOES_NOT_EXIST)).into_response();
    };
    let summary = match substitutes::invitation_summary(state, id, decision, query).await {
        Ok(summary) => summary,
        Err(err) => return PageError(err).into_response(),
    };
    let verb = if summary.decision == "accept" {
        "Accept"
    } else {
        "Decline"
    };
    let deleted = "(deleted member)";
    page(
        status,
        "invitation.html",
        minijinja::context! {
            title => "Substitute mentor invitation",
            mentor => summary.mentor.as_deref().unwrap_or(deleted),
            mentee => summary.mentee.as_deref().unwrap_or(deleted),
            invitee => summary.invitee.as_deref().unwrap_or(deleted),
            when => summary.when,
            place => summary.place.as_deref().unwrap_or("to be decided"),
            action => format!("/meeting/{id}/substitute/{decision}?{query}"),
            verb,
            error,
        },
    )
}

/// The invitation page's form: the invitee's credentials, posted to the link itself. They are
/// checked (and throttled) as a login is, then the link answers for the member they name.
pub async fn invitation_submitted(
    state: &AppState,
    client: IpAddr,
    (id, decision, query): (i64, &str, &str),
    form: FormFields,
) -> Response {
    let credentials = Credentials::from_json(Some(&serde_json::json!({
        "username": form.get("username"), "password": form.get("password"),
    })));
    let caller = match credentials {
        Ok(credentials) => accounts::check_credentials(state, &credentials, client)
            .await
            .map(|user| user.id),
        Err(err) => Err(err),
    };
    // Wrong credentials: the form again, saying so (the link was not judged yet).
    if let Err(Error::Rejected(rejection)) = &caller
        && matches!(
            rejection.kind,
            ErrorKind::Invalid | ErrorKind::Unauthenticated | ErrorKind::TooManyRequests
        )
    {
        let status = super::error::status(rejection.kind);
        let message = rejection.message.clone();
        let id = id.to_string();
        let page = invitation(state, &id, decision, query, status, Some(&message)).await;
        return private(page);
    }
    let title = "Substitute mentor invitation";
    private(
        match substitutes::respond_by_link(state, caller, id, decision, query).await {
            Ok(done) => message_page(title, StatusCode::OK, done.text),
            Err(err) => PageError(err).into_response(),
        },
    )
}
