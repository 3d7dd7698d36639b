//! Server-rendered pages: the pages e-mailed links open (password reset, substitute
//! invitation). Templates are `templates/pages/*.html`, compiled into the binary and rendered
//! with minijinja (HTML auto-escaped); errors on these routes are HTML pages too.

mod pages;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::error::shown;
use super::extract::PathParams;
use super::private;
use crate::domain::messages;
use crate::error::Error;
use crate::services::meetings as service;
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(reset_password_page))
        .routes(routes!(invitation_page))
}

/// An error on a page route, answered as an HTML page with the error's status.
pub struct PageError(pub Error);

impl From<Error> for PageError {
    fn from(error: Error) -> PageError {
        PageError(error)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, rejection) = shown(self.0);
        let html = pages::render(
            "error.html",
            minijinja::context! { title => "Something went wrong", message => rejection.message },
        );
        (status, Html(html)).into_response()
    }
}

/// The page the reset e-mail links to: a form that posts the new password. Changes nothing.
#[utoipa::path(get, path = "/user/reset_password/{token}", tag = "Users",
    params(("token" = String, Path)), responses((status = 200, content_type = "text/html", body = String)))]
pub async fn reset_password_page(PathParams(token): PathParams<String>) -> Response {
    let html = pages::render(
        "reset_password.html",
        minijinja::context! { title => "Choose a new password", token },
    );
    private(Html(html).into_response())
}

/// The page an invitation link opens: the meeting, who invites, a login form and the button.
/// It never changes anything (mail scanners open links).
#[utoipa::path(get, path = "/meeting/{meeting_id}/substitute/{decision}", tag = "Substitutes",
    params(("meeting_id" = i64, Path), ("decision" = String, Path, description = "accept or reject"),
        ("invitee" = i64, Query), ("nonce" = String, Query), ("exp" = i64, Query), ("kid" = String, Query), ("signature" = String, Query)),
    responses((status = 200, content_type = "text/html", body = String), (status = 403, content_type = "text/html", body = String),
        (status = 404, content_type = "text/html", body = String)))]
pub async fn invitation_page(
    State(state): State<AppState>,
    PathParams((id, decision)): PathParams<(String, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    private(invitation(&state, &id, &decision, query.as_deref().unwrap_or_default()).await)
}

async fn invitation(state: &AppState, id: &str, decision: &str, query: &str) -> Response {
    // A browser shows this page, so even a malformed id gets an HTML answer.
    let Ok(id) = id.parse::<i64>() else {
        return PageError(Error::not_found(messages::MEETING_DOES_NOT_EXIST)).into_response();
    };
    match service::invitation_summary(state, id, decision, query).await {
        Ok(summary) => {
            let verb = if summary.decision == "accept" {
                "Accept"
            } else {
                "Decline"
            };
            let deleted = "(deleted member)";
            let html = pages::render(
                "invitation.html",
                minijinja::context! {
                    title => "Substitute mentor invitation",
                    mentor => summary.mentor.as_deref().unwrap_or(deleted),
                    mentee => summary.mentee.as_deref().unwrap_or(deleted),
                    invitee => summary.invitee.as_deref().unwrap_or(deleted),
                    when => summary.when,
                    place => summary.place.as_deref().unwrap_or("to be decided"),
                    verb,
                },
            );
            (StatusCode::OK, Html(html)).into_response()
        }
        Err(err) => PageError(err).into_response(),
    }
}
