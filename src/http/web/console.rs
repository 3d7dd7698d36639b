//! The console: server-rendered pages under `/console/` for admins (templates
//! `templates/console/`). Every page needs a console session ([`ConsoleSession`]); every form
//! posts with the session's CSRF token and answers with a redirect (303) to the page it came
//! from, whose notice says what happened, so the console works without any script. Handlers
//! only read the request, call one service and render.

use std::net::IpAddr;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;

use super::session::{self, CONSOLE, ConsoleSession, SIGN_IN_CSRF, see_other};
use crate::domain::accounts::Credentials;
use crate::domain::admin::AdminTarget;
use crate::domain::console::{MemberFilter, tri_state};
use crate::domain::json::FromJson;
use crate::domain::meetings::{InvitationStatus, MeetingState};
use crate::domain::messages::{self, Message};
use crate::domain::relations::RelationState;
use crate::error::{Error, Result};
use crate::http::error::shown;
use crate::http::extract::{ClientIp, FormFields, PathParams, QueryParams, form_fields};
use crate::security::{constant_time_eq, random_token};
use crate::services::{admin, console, sessions};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console", get(overview))
        .route("/console/figures", post(count_again))
        .route("/console/sign-in", get(sign_in_page).post(sign_in))
        .route("/console/sign-out", post(sign_out))
        .route("/console/sign-out-everywhere", post(sign_out_everywhere))
        .route("/console/members", get(members))
        .route("/console/members/{id}", get(member))
        .route("/console/members/{id}/admin", post(change_admin))
        .route(
            "/console/members/{id}/verification",
            post(resend_verification),
        )
        .route("/console/members/{id}/delete", post(delete_unverified))
        .route("/console/relations", get(relations))
        .route("/console/meetings", get(meetings))
        .route("/console/meetings/{id}", get(meeting))
        .route("/console/mail", get(mail))
        .route("/console/mail/retry", post(retry_mail))
        .route("/console/mail/test", post(test_mail))
        .route("/console/jobs", get(jobs))
        .route("/console/audit", get(audit_trail))
        .route("/console/jobs/{name}/run", post(run_job))
        .layer(middleware::map_response(session::session_page_headers))
}

/// The success notices a page may show after a redirect (`?notice=CODE`): only these, so a
/// link cannot make the console say anything else.
const NOTICES: &[Message] = &[
    messages::CONSOLE_SIGNED_OUT,
    messages::CONSOLE_SIGNED_OUT_EVERYWHERE,
    messages::CONSOLE_ACCOUNT_DELETED,
    messages::CONSOLE_VERIFICATION_QUEUED,
    messages::CONSOLE_MAIL_RETRIED,
    messages::CONSOLE_TEST_MAIL_QUEUED,
    messages::CONSOLE_JOB_STARTED,
    messages::CONSOLE_FIGURES_REFRESHED,
    messages::USER_IS_NOW_AN_ADMIN,
    messages::USER_ADMIN_STATUS_WAS_REVOKED,
];

fn notice(query: &QueryParams) -> Option<&'static str> {
    session::notice(query, NOTICES)
}

/// What every console page shows besides its own content.
#[derive(Serialize)]
struct Frame<'a, T: Serialize> {
    title: &'a str,
    /// The navigation entry of the page.
    section: &'a str,
    username: &'a str,
    csrf: &'a str,
    notice: Option<&'a str>,
    page: T,
}

fn render<T: Serialize>(
    template: &str,
    session: &sessions::Session,
    title: &str,
    section: &str,
    notice: Option<&str>,
    page: T,
) -> Response {
    let frame = Frame {
        title,
        section,
        username: &session.username,
        csrf: session.csrf_token(),
        notice,
        page,
    };
    let html = super::pages::render(template, super::pages::to_value(&frame));
    (StatusCode::OK, Html(html)).into_response()
}

/// A refusal or failure shown in the console's frame, with a link back.
fn error_page(session: Option<&sessions::Session>, err: Error, back: &str) -> Response {
    let (status, rejection) = shown(err);
    let context = minijinja::context! {
        title => "This could not be done",
        section => "",
        username => session.map(|s| s.username.clone()),
        csrf => session.map(|s| s.csrf_token().to_owned()),
        message => rejection.message.to_string(),
        back,
    };
    let html = super::pages::render("console/error.html", context);
    (status, Html(html)).into_response()
}

/// The answer to a console form: back to `back` with the notice, or the error in the frame.
fn after_form(session: &sessions::Session, outcome: Result<Message>, back: &str) -> Response {
    match outcome {
        Ok(message) => {
            let separator = if back.contains('?') { '&' } else { '?' };
            see_other(&format!("{back}{separator}notice={}", message.code))
        }
        Err(err) => error_page(Some(session), err, back),
    }
}

/// A session form: its fields once the CSRF token checks out.
async fn session_form(
    session: &sessions::Session,
    headers: &HeaderMap,
    request: Request,
    state: &AppState,
) -> Result<FormFields> {
    let form = form_fields(request, state).await?;
    session::check_form(session, headers, form.get("csrf"))?;
    Ok(form)
}

// ---- Sign in and out ---------------------------------------------------------------------

/// The sign-in form. Its CSRF token (no session holds one yet) is also set in a cookie that
/// only the form's own address receives; the post must carry both, equal.
async fn sign_in_page(State(state): State<AppState>, query: QueryParams) -> Response {
    sign_in_form(&state, StatusCode::OK, None, notice(&query))
}

fn sign_in_form(
    state: &AppState,
    status: StatusCode,
    error: Option<&str>,
    notice: Option<&str>,
) -> Response {
    let csrf = random_token();
    let html = super::pages::render(
        "console/sign_in.html",
        minijinja::context! { title => "Sign in to the console", csrf => &csrf, error, notice },
    );
    let mut response = (status, Html(html)).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        session::cookie(
            SIGN_IN_CSRF,
            &csrf,
            "/console/sign-in",
            3600,
            session::secure(state),
        ),
    );
    response
}

async fn sign_in(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    request: Request,
) -> Response {
    let form = match form_fields(request, &state).await {
        Ok(form) => form,
        Err(err) => return error_page(None, err, CONSOLE.sign_in),
    };
    let expected = session::read_cookie(&headers, SIGN_IN_CSRF).unwrap_or_default();
    if session::from_another_site(&headers)
        || expected.is_empty()
        || !constant_time_eq(expected.as_bytes(), form.get("csrf").as_bytes())
    {
        let text = messages::CONSOLE_FORM_EXPIRED.text;
        return sign_in_form(&state, StatusCode::FORBIDDEN, Some(text), None);
    }
    match open_session(&state, &form, client).await {
        Ok(token) => {
            let mut response = see_other("/console");
            let secure = session::secure(&state);
            let headers = response.headers_mut();
            headers.append(header::SET_COOKIE, CONSOLE.set(&token, secure));
            headers.append(
                header::SET_COOKIE,
                session::cookie(SIGN_IN_CSRF, "", "/console/sign-in", 0, secure),
            );
            response
        }
        Err(Error::Rejected(rejection)) => {
            let status = crate::http::error::status(rejection.kind);
            let mut response = sign_in_form(&state, status, Some(&rejection.message), None);
            if let Some(seconds) = rejection.retry_after {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            response
        }
        Err(err) => error_page(None, err, CONSOLE.sign_in),
    }
}

async fn open_session(state: &AppState, form: &FormFields, client: IpAddr) -> Result<String> {
    let credentials = Credentials::from_json(Some(&serde_json::json!({
        "username": form.get("username"), "password": form.get("password"),
    })))?;
    let opened = sessions::sign_in(state, &credentials, client, CONSOLE.audience).await?;
    Ok(opened.token)
}

async fn sign_out(
    State(state): State<AppState>,
    ConsoleSession(session): ConsoleSession,
    headers: HeaderMap,
    request: Request,
) -> Response {
    let outcome = match session_form(&session, &headers, request, &state).await {
        Ok(_) => sessions::sign_out(&state, &session).await,
        Err(err) => Err(err),
    };
    signed_out(&state, &session, outcome)
}

async fn sign_out_everywhere(
    State(state): State<AppState>,
    ConsoleSession(session): ConsoleSession,
    headers: HeaderMap,
    request: Request,
) -> Response {
    let outcome = match session_form(&session, &headers, request, &state).await {
        Ok(_) => sessions::sign_out_everywhere(&state, &session).await,
        Err(err) => Err(err),
    };
    signed_out(&state, &session, outcome)
}

fn signed_out(state: &AppState, session: &sessions::Session, outcome: Result<Message>) -> Response {
    let ok = outcome.is_ok();
    let mut response = after_form(session, outcome, CONSOLE.sign_in);
    if ok {
        response
            .headers_mut()
            .insert(header::SET_COOKIE, CONSOLE.clear(session::secure(state)));
    }
    response
}

// ---- Overview ----------------------------------------------------------------------------

async fn overview(
    State(state): State<AppState>,
    ConsoleSession(session): ConsoleSession,
    query: QueryParams,
) -> Response {
    match console::overview(&state).await {
        Ok(view) => render(
            "console/overview.html",
            &session,
            "Overview",
            "overview",
            notice(&query),
            view,
        ),
        Err(err) => error_page(Some(&session), err, "/console"),
    }
}

async fn count_again(
    State(state): State<AppState>,
    ConsoleSession(session): ConsoleSession,
    headers: HeaderMap,
    request: Request,
) -> Response {
    let outcome = match session_form(&session, &headers, request, &state).await {
        Ok(_) => console::count_again(&state, session.user_id).await,
        Err(err) => Err(err),
    };
    after_form(&session, outcome, "/console")
}

// ---- Members -----------------------------------------------------------------------------

fn int_param(query: &QueryParams, key: &str) -> Option<i64> {
    query.0.get(key).and_then(|v| v.parse().ok())
}

async fn members(
    State(state): State<AppState>,
    ConsoleSession(session): ConsoleSession,
    query: QueryParams,
) -> Response {
    let get = |key: &str| query.0.get(key).map(String::as_str);
    let search = get("q").map(str::trim).filter(|q| !q.is_empty());
    let filter = MemberFilter {
        search: search.map(str::to_lowercase),
        verified: tri_state(get("verified")),
        available_to_mentor: tri_state(get("available")),
        need_mentoring: tri_state(get("mentoring")),
        admin: tri_state(get("admin")),
    };
    let after = int_param(&query, "after").unwrap_or(0);
    // The filters as given, for the form and the next page's link.
    let kept: Vec<(&str, &str)> = ["q", "verified", "available", "mentoring", "admin"]
        .into_iter()
        .filter_map(|key| get(key).filter(|v| !v.is_empty()).map(|v| (key, v)))
        .collect();
    let link = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&kept)
        .finish();
    match console::members(&state, &filter, after).await {
        Ok(page) => {
            let view = serde_json::json!({
                "rows": page.rows, "next": page.next, "link": link,
                "q": search, "verified": get("verified"), "available": get("available"),
                "mentoring": get("mentoring"), "admin": get("admin"),
            });
            render(
                "console/members.html",
                &session,
                "Members",
                "members",
                notice(&query),
                view,
            )
        }
        Err(err) => error_page(Some(&session), err, "/console/members"),
    }
}

async fn member(
    State(state): State<AppState>,
    ConsoleSession(session): ConsoleSession,
    PathParams(id): PathParams<i64>,
    query: QueryParams,
) -> Response {
    match console::member(&state, id).await {
        Ok(view) => {
            let is_me = view.member.id == session.user_id;
            let title = format!("Member {}", view.member.username);
            let view = serde_json::json!({
                "is_me": is_me, "member": view.member, "relations": view.relations,
                "meetings": view.meetings,
            });
            render(
                "console/member.html",
                &session,
                &title,
                "members",
                notice(&query),
                view,
            )
        }
        Err(err) => error_page(Some(&session), err, "/console/members"),
    }
}

async fn change_admin(
    State(state): State<AppState>,
    ConsoleSession(session): ConsoleSession,
    PathParams(id): PathParams<i64>,
    headers: HeaderMap,
    request: Request,
) -> Response {
    let target = AdminTarget { user_id: id };
    let outcome = match session_form(&session, &headers, request, &state).await {
        Ok(form) if form.get("action") == "grant" => {
            admin::grant(&state, session.user_id, target).await
        }
        Ok(form) if form.get("action") == "revoke" => {
            admin::revoke(&state, session.user_id, target).await
        }
        Ok(_) => Err(Error::invalid(messages::MALFORMED_REQUEST)),
        Err(err) => Err(err),
    };
    after_form(&session, outcome, &format!("/console/members/{id}"))
}

async fn resend_verification(
    State(state): State<AppState>,
    ConsoleSession(session): ConsoleSession,
    PathParams(id): PathParams<i64>,
    headers: HeaderMap,
    request: Request,
) -> Response {
    let outcome = match session_form(&session, &headers, request, &state).await {
        Ok(_) => console::resend_verification(&state, session.user_id, id).await,
        Err(err) => Err(err),
    };
    after_form(&session, outcome, &format!("/console/members/{id}"))
}

async fn delete_unverified(
    State(state): State<AppState>,
    ConsoleSession(session): ConsoleSession,
    PathParams(id): PathParams<i64>,
    headers: HeaderMap,
    request: Request,
) -> Response {
    let outcome = match session_form(&session, &headers, request, &state).await {
        Ok(_) => console::delete_unverified(&state, session.user_id, id).await,
        Err(err) => Err(err),
    };
    match outcome {
        // The member's page is gone: back to the list.
        Ok(message) => after_form(&session, Ok(message), "/console/members"),
        Err(err) => after_form(&session, Err(err), &format!("/console/members/{id}")),
    }
}

// ---- Audit trail -------------------------------------------------------------------------

/// The audit trail, newest first, with the filters of `GET /admin/audit` (same service).
async fn audit_trail(
    State(state): State<AppState>,
    ConsoleSession(session): ConsoleSession,
    query: QueryParams,
) -> Response {
    let parsed = match crate::domain::audit::AuditQuery::from_query(&query.0) {
        Ok(parsed) => parsed,
        Err(err) => return error_page(Some(&session), err, "/console/audit"),
    };
    let (offset, limit) = (parsed.page.offset, parsed.page.limit);
    match crate::services::audit::list(&state, session.user_id, parsed).await {
        Ok(events) => {
            // The next page keeps the filters; it exists when this one is full.
            let mut next: Vec<(String, String)> = query
                .0
                .iter()
                .filter(|(key, _)| !matches!(key.as_str(), "page" | "per_page"))
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect();
            next.sort();
            next.push(("per_page".into(), limit.to_string()));
            next.push(("page".into(), (offset / limit.max(1) + 2).to_string()));
            let next = (events.len() as i64 == limit).then(|| {
                url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(next)
                    .finish()
            });
            let field = |key: &str| query.0.get(key).cloned().unwrap_or_default();
            // The detail shown as the JSON it is (escaped by the template like any text).
            let events: Vec<_> = events
                .into_iter()
                .map(|e| {
                    serde_json::json!({
                        "id": e.id, "at": e.at, "actor_id": e.actor_id, "action": e.action,
                        "subject": e.subject, "detail": e.detail.map(|d| d.to_string()),
                        "client": e.client,
                    })
                })
                .collect();
            let view = serde_json::json!({
                "events": events, "next": next,
                "actor_id": field("actor_id"), "action": field("action"),
                "subject": field("subject"), "since": field("since"), "until": field("until"),
            });
            render(
                "console/audit.html",
                &session,
                "Audit trail",
                "audit",
                notice(&query),
                view,
            )
        }
        Err(err) => error_page(Some(&session), err, "/console/audit"),
    }
}

// ---- Relations and meetings --------------------------------------------------------------

async fn relations(
    State(state): State<AppState>,
    ConsoleSession(session): ConsoleSession,
    query: QueryParams,
) -> Response {
    let filter = query
        .0
        .get("state")
        .and_then(|s| RelationState::from_name(s));
    let before = int_param(&query, "before").unwrap_or(i64::MAX);
    let states: Vec<&str> = RelationState::ALL
        .into_iter()
        .map(console::relation_state_name)
        .collect();
    match console::relations(&state, filter, before).await {
        Ok(page) => {
            let view = serde_json::json!({
                "rows": page.rows, "next": page.next, "states": states,
                "selected": filter.map(console::relation_state_name),
            });
            render(
                "console/relations.html",
                &session,
                "Relations",
                "relations",
                notice(&query),
                view,
            )
        }
        Err(err) => error_page(Some(&session), err, "/console/relations"),
    }
}

async fn meetings(
    State(state): State<AppState>,
    ConsoleSession(session): ConsoleSession,
    query: QueryParams,
) -> Response {
    let filter = query
        .0
        .get("state")
        .and_then(|s| MeetingState::ALL.into_iter().find(|m| m.as_str() == s));
    let invitation = query
        .0
        .get("substitute")
        .and_then(|s| InvitationStatus::parse(s));
    let before = int_param(&query, "before").unwrap_or(i64::MAX);
    let states: Vec<&str> = MeetingState::ALL
        .into_iter()
        .map(MeetingState::as_str)
        .collect();
    let statuses: Vec<&str> = InvitationStatus::ALL
        .into_iter()
        .map(InvitationStatus::as_str)
        .collect();
    match console::meetings(&state, filter, invitation, before).await {
        Ok(page) => {
            let view = serde_json::json!({
                "rows": page.rows, "next": page.next, "states": states, "statuses": statuses,
                "selected_state": filter.map(MeetingState::as_str),
                "selected_substitute": invitation.map(InvitationStatus::as_str),
            });
            render(
                "console/meetings.html",
                &session,
                "Meetings",
                "meetings",
                notice(&query),
                view,
            )
        }
        Err(err) => error_page(Some(&session), err, "/console/meetings"),
    }
}

async fn meeting(
    State(state): State<AppState>,
    ConsoleSession(session): ConsoleSession,
    PathParams(id): PathParams<i64>,
    query: QueryParams,
) -> Response {
    match console::meeting(&state, id).await {
        Ok(view) => {
            let title = format!("Meeting {id}");
            render(
                "console/meeting.html",
                &session,
                &title,
                "meetings",
                notice(&query),
                view,
            )
        }
        Err(err) => error_page(Some(&session), err, "/console/meetings"),
    }
}

// ---- Mail and jobs -----------------------------------------------------------------------

async fn mail(
    State(state): State<AppState>,
    ConsoleSession(session): ConsoleSession,
    query: QueryParams,
) -> Response {
    match console::mail(&state).await {
        Ok(view) => render(
            "console/mail.html",
            &session,
            "Mail",
            "mail",
            notice(&query),
            view,
        ),
        Err(err) => error_page(Some(&session), err, "/console/mail"),
    }
}

async fn retry_mail(
    State(state): State<AppState>,
    ConsoleSession(session): ConsoleSession,
    headers: HeaderMap,
    request: Request,
) -> Response {
    let outcome = match session_form(&session, &headers, request, &state).await {
        Ok(form) => {
            let id = form.get("id");
            let id = if id.is_empty() {
                None
            } else {
                Some(id.parse::<i64>().unwrap_or(0))
            };
            console::retry_mail(&state, session.user_id, id).await
        }
        Err(err) => Err(err),
    };
    after_form(&session, outcome, "/console/mail")
}

async fn test_mail(
    State(state): State<AppState>,
    ConsoleSession(session): ConsoleSession,
    headers: HeaderMap,
    request: Request,
) -> Response {
    let outcome = match session_form(&session, &headers, request, &state).await {
        Ok(_) => console::send_test_mail(&state, session.user_id).await,
        Err(err) => Err(err),
    };
    after_form(&session, outcome, "/console/mail")
}

async fn jobs(
    State(state): State<AppState>,
    ConsoleSession(session): ConsoleSession,
    query: QueryParams,
) -> Response {
    match console::jobs(&state).await {
        Ok(view) => {
            let view = serde_json::json!({ "jobs": view });
            render(
                "console/jobs.html",
                &session,
                "Jobs",
                "jobs",
                notice(&query),
                view,
            )
        }
        Err(err) => error_page(Some(&session), err, "/console/jobs"),
    }
}

async fn run_job(
    State(state): State<AppState>,
    ConsoleSession(session): ConsoleSession,
    PathParams(name): PathParams<String>,
    headers: HeaderMap,
    request: Request,
) -> Response {
    let outcome = match session_form(&session, &headers, request, &state).await {
        Ok(_) => console::run_job(&state, session.user_id, &name).await,
        Err(err) => Err(err),
    };
    after_form(&session, outcome, "/console/jobs")
}
