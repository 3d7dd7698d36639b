//! The member web app: server-rendered pages under `/app` (templates `templates/member/`) that
//! carry the mentorship story in a browser: sign up, sign in, profile, directory, requests,
//! relations. It follows the console's conventions: a server-side session of its own audience
//! and cookie ([`MemberSession`]), a CSRF token on every form, forms that post and answer with
//! a redirect (303) whose notice says what happened, errors shown as pages. Each handler turns
//! the form into the same JSON body the API reads, parses it with the same command type, and
//! calls the same service function: the web app and the API refuse and accept the same things.

use std::net::IpAddr;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::{Value, json};

use super::session::{self, MEMBER, MEMBER_SIGN_IN_CSRF, MemberSession, see_other};
use crate::domain::accounts::{Credentials, PasswordChange, Registration};
use crate::domain::json::FromJson;
use crate::domain::meetings::{CandidateQuery, MeetingDetails, NotesChange, SubstituteInvitation};
use crate::domain::messages::{self, Message};
use crate::domain::relations::{RelationList, SendRequest};
use crate::domain::tasks::{CommentText, NewTask};
use crate::domain::users::{DirectoryQuery, PreferencesUpdate, ProfileUpdate};
use crate::error::{Error, Result};
use crate::http::error::shown;
use crate::http::extract::{ClientIp, FormFields, PathParams, QueryParams, form_fields};
use crate::security::{constant_time_eq, random_token};
use crate::services::sessions::{self, Session};
use crate::services::{accounts, meetings, relations, substitutes, tasks, users};
use crate::state::AppState;

/// How many members a directory page lists.
const DIRECTORY_PAGE: i64 = 20;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { see_other("/app") }))
        .route("/app", get(home))
        .route("/app/sign-in", get(sign_in_page).post(sign_in))
        .route("/app/sign-up", get(sign_up_page).post(sign_up))
        .route(
            super::FORGOT_PASSWORD_PAGE,
            get(|| async { super::forgot_form(StatusCode::OK, None) }),
        )
        .route("/app/sign-out", post(sign_out))
        .route("/app/sign-out-everywhere", post(sign_out_everywhere))
        .route("/app/profile", get(profile).post(update_profile))
        .route("/app/preferences", post(update_preferences))
        .route("/app/password", post(change_password))
        .route("/app/delete-account", post(delete_account))
        .route("/app/my-data.json", get(download_my_data))
        .route("/app/members", get(directory))
        .route("/app/members/{id}", get(member))
        .route("/app/members/{id}/request", post(send_request))
        .route("/app/relations", get(relations_page))
        .route("/app/relations/{id}/answer", post(answer_relation))
        .route("/app/relations/{id}", get(relation_page))
        .route("/app/relations/{id}/tasks", post(add_task))
        .route("/app/relations/{id}/tasks/{task}", get(task_page))
        .route("/app/relations/{id}/tasks/{task}/change", post(change_task))
        .route(
            "/app/relations/{id}/tasks/{task}/comments",
            post(add_comment),
        )
        .route(
            "/app/relations/{id}/tasks/{task}/comments/{comment}",
            post(change_comment),
        )
        .route("/app/relations/{id}/meetings", post(propose_meeting))
        .route("/app/meetings/{id}", get(meeting_page))
        .route("/app/meetings/{id}/change", post(change_meeting))
        .route("/app/meetings/{id}/calendar.ics", get(meeting_calendar))
        .route("/app/invitations", get(invitations_page))
        .route("/app/invitations/{id}/answer", post(answer_invitation))
        .layer(middleware::map_response(session::session_page_headers))
}

/// The success notices a page may show after a redirect (`?notice=CODE`): only these, so a
/// link cannot make the app say anything else.
const NOTICES: &[Message] = &[
    messages::CONSOLE_SIGNED_OUT,
    messages::CONSOLE_SIGNED_OUT_EVERYWHERE,
    messages::USER_WAS_CREATED_SUCCESSFULLY,
    messages::USER_SUCCESSFULLY_UPDATED,
    messages::USER_SUCCESSFULLY_DELETED,
    messages::PASSWORD_SUCCESSFULLY_UPDATED,
    messages::PREFERENCES_UPDATED,
    messages::MENTORSHIP_RELATION_WAS_SENT_SUCCESSFULLY,
    messages::MENTORSHIP_RELATION_WAS_ACCEPTED_SUCCESSFULLY,
    messages::MENTORSHIP_RELATION_WAS_REJECTED_SUCCESSFULLY,
    messages::MENTORSHIP_RELATION_WAS_CANCELLED_SUCCESSFULLY,
    messages::MENTORSHIP_RELATION_WAS_DELETED_SUCCESSFULLY,
    messages::TASK_WAS_CREATED_SUCCESSFULLY,
    messages::TASK_WAS_ACHIEVED_SUCCESSFULLY,
    messages::TASK_WAS_DELETED_SUCCESSFULLY,
    messages::TASK_COMMENT_WAS_CREATED_SUCCESSFULLY,
    messages::TASK_COMMENT_WAS_UPDATED_SUCCESSFULLY,
    messages::TASK_COMMENT_WAS_DELETED_SUCCESSFULLY,
    messages::MEETING_WAS_PROPOSED,
    messages::MEETING_WAS_UPDATED,
    messages::MEETING_WAS_ACCEPTED,
    messages::MEETING_WAS_DECLINED,
    messages::MEETING_WAS_CANCELLED,
    messages::MEETING_NOTES_UPDATED,
    messages::SUBSTITUTE_WAS_INVITED,
    messages::INVITATION_WAS_WITHDRAWN,
    messages::SUBSTITUTION_WAS_ENDED,
    messages::SUBSTITUTE_ACCEPTED,
    messages::SUBSTITUTE_REJECTED,
];

fn notice(query: &QueryParams) -> Option<&'static str> {
    session::notice(query, NOTICES)
}

/// What every member page shows besides its own content.
#[derive(Serialize)]
struct Frame<'a, T: Serialize> {
    title: &'a str,
    /// The navigation entry of the page.
    section: &'a str,
    username: &'a str,
    csrf: &'a str,
    notice: Option<&'a str>,
    /// The member's time zone: every time on the page reads in it.
    zone: &'a str,
    page: T,
}

/// A page of the signed-in member, times in their zone.
async fn render<T: Serialize>(
    state: &AppState,
    template: &str,
    session: &Session,
    (title, section): (&str, &str),
    notice: Option<&str>,
    page: T,
) -> Response {
    let zone = match users::preferences(state, session.user_id).await {
        Ok(preferences) => preferences.timezone,
        Err(err) => return error_page(Some(session), err, "/app"),
    };
    let frame = Frame {
        title,
        section,
        username: &session.username,
        csrf: session.csrf_token(),
        notice,
        zone: &zone,
        page,
    };
    let html = super::pages::render(template, super::pages::to_value(&frame));
    (StatusCode::OK, Html(html)).into_response()
}

/// A refusal or failure shown in the app's frame, with a link back. The message is the one the
/// API would answer with.
fn error_page(session: Option<&Session>, err: Error, back: &str) -> Response {
    let (status, rejection) = shown(err);
    let context = minijinja::context! {
        title => "This could not be done",
        section => "",
        username => session.map(|s| s.username.clone()),
        csrf => session.map(|s| s.csrf_token().to_owned()),
        message => rejection.message.to_string(),
        back,
    };
    let html = super::pages::render("member/error.html", context);
    (status, Html(html)).into_response()
}

/// The answer to a form: back to `back` with the notice, or the error in the frame.
fn after_form(session: &Session, outcome: Result<Message>, back: &str) -> Response {
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
    session: &Session,
    headers: &HeaderMap,
    request: Request,
    state: &AppState,
) -> Result<FormFields> {
    let form = form_fields(request, state).await?;
    session::check_form(session, headers, form.get("csrf"))?;
    Ok(form)
}

/// A checkbox as the API's boolean.
fn checked(form: &FormFields, name: &str) -> bool {
    !form.get(name).is_empty()
}

// ---- Sign up, sign in and out ------------------------------------------------------------

/// A form shown before any session: its CSRF token is also set in a cookie that only the
/// form's own address receives; the post must carry both, equal.
fn anonymous_form(
    state: &AppState,
    template: &str,
    path: &'static str,
    status: StatusCode,
    context: Value,
) -> Response {
    let csrf = random_token();
    let mut context = context;
    context["csrf"] = json!(csrf);
    let html = super::pages::render(template, super::pages::to_value(&context));
    let mut response = (status, Html(html)).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        session::cookie(
            MEMBER_SIGN_IN_CSRF,
            &csrf,
            path,
            3600,
            session::secure(state),
        ),
    );
    response
}

/// Whether an anonymous form's token matches its cookie, and it comes from this site.
fn anonymous_form_checks(headers: &HeaderMap, form: &FormFields) -> bool {
    let expected = session::read_cookie(headers, MEMBER_SIGN_IN_CSRF).unwrap_or_default();
    !session::from_another_site(headers)
        && !expected.is_empty()
        && constant_time_eq(expected.as_bytes(), form.get("csrf").as_bytes())
}

async fn sign_in_page(State(state): State<AppState>, query: QueryParams) -> Response {
    sign_in_form(&state, StatusCode::OK, None, notice(&query))
}

fn sign_in_form(
    state: &AppState,
    status: StatusCode,
    error: Option<&str>,
    notice: Option<&str>,
) -> Response {
    anonymous_form(
        state,
        "member/sign_in.html",
        "/app/sign-in",
        status,
        json!({ "title": "Sign in", "error": error, "notice": notice }),
    )
}

async fn sign_in(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    request: Request,
) -> Response {
    let form = match form_fields(request, &state).await {
        Ok(form) => form,
        Err(err) => return error_page(None, err, MEMBER.sign_in),
    };
    if !anonymous_form_checks(&headers, &form) {
        let text = messages::CONSOLE_FORM_EXPIRED.text;
        return sign_in_form(&state, StatusCode::FORBIDDEN, Some(text), None);
    }
    match open_session(&state, &form, client).await {
        Ok(token) => {
            let mut response = see_other("/app");
            let secure = session::secure(&state);
            let headers = response.headers_mut();
            headers.append(header::SET_COOKIE, MEMBER.set(&token, secure));
            headers.append(
                header::SET_COOKIE,
                session::cookie(MEMBER_SIGN_IN_CSRF, "", "/app/sign-in", 0, secure),
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
        Err(err) => error_page(None, err, MEMBER.sign_in),
    }
}

async fn open_session(state: &AppState, form: &FormFields, client: IpAddr) -> Result<String> {
    let credentials = Credentials::from_json(Some(&json!({
        "username": form.get("username"), "password": form.get("password"),
    })))?;
    let opened = sessions::sign_in(state, &credentials, client, MEMBER.audience).await?;
    Ok(opened.token)
}

async fn sign_up_page(State(state): State<AppState>) -> Response {
    sign_up_form(&state, StatusCode::OK, None, &FormFields::default())
}

fn sign_up_form(
    state: &AppState,
    status: StatusCode,
    error: Option<&str>,
    form: &FormFields,
) -> Response {
    // What was typed stays in the form (never the password).
    let values = json!({
        "name": form.get("name"), "username": form.get("username"), "email": form.get("email"),
        "need_mentoring": checked(form, "need_mentoring"),
        "available_to_mentor": checked(form, "available_to_mentor"),
    });
    anonymous_form(
        state,
        "member/sign_up.html",
        "/app/sign-up",
        status,
        json!({ "title": "Sign up", "error": error, "values": values }),
    )
}

/// Registers through [`accounts::register`], as `POST /register` does; the page then says to
/// follow the e-mailed link.
async fn sign_up(State(state): State<AppState>, headers: HeaderMap, request: Request) -> Response {
    let form = match form_fields(request, &state).await {
        Ok(form) => form,
        Err(err) => return error_page(None, err, "/app/sign-up"),
    };
    if !anonymous_form_checks(&headers, &form) {
        let text = messages::CONSOLE_FORM_EXPIRED.text;
        return sign_up_form(&state, StatusCode::FORBIDDEN, Some(text), &form);
    }
    let body = json!({
        "name": form.get("name"), "username": form.get("username"),
        "email": form.get("email"), "password": form.get("password"),
        "terms_and_conditions_checked": checked(&form, "terms_and_conditions_checked"),
        "need_mentoring": checked(&form, "need_mentoring"),
        "available_to_mentor": checked(&form, "available_to_mentor"),
    });
    let outcome = match Registration::from_json(Some(&body)) {
        Ok(registration) => accounts::register(&state, registration).await,
        Err(err) => Err(err),
    };
    match outcome {
        Ok(message) => {
            let html = super::pages::render(
                "member/message.html",
                minijinja::context! { title => "Check your inbox", message => message.text },
            );
            (StatusCode::CREATED, Html(html)).into_response()
        }
        Err(Error::Rejected(rejection)) => sign_up_form(
            &state,
            crate::http::error::status(rejection.kind),
            Some(&rejection.message),
            &form,
        ),
        Err(err) => error_page(None, err, "/app/sign-up"),
    }
}

async fn sign_out(
    State(state): State<AppState>,
    MemberSession(session): MemberSession,
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
    MemberSession(session): MemberSession,
    headers: HeaderMap,
    request: Request,
) -> Response {
    let outcome = match session_form(&session, &headers, request, &state).await {
        Ok(_) => sessions::sign_out_everywhere(&state, &session).await,
        Err(err) => Err(err),
    };
    signed_out(&state, &session, outcome)
}

fn signed_out(state: &AppState, session: &Session, outcome: Result<Message>) -> Response {
    let ok = outcome.is_ok();
    let mut response = after_form(session, outcome, MEMBER.sign_in);
    if ok {
        response
            .headers_mut()
            .insert(header::SET_COOKIE, MEMBER.clear(session::secure(state)));
    }
    response
}

/// The page the verification e-mail's link opens in a browser (`Accept: text/html`): the
/// same confirmation as the API's, then a way to sign in.
pub async fn confirm_email_page(state: &AppState, token: &str) -> Response {
    let (status, message) = match accounts::confirm_email(state, token).await {
        Ok(message) => (StatusCode::OK, message.text.to_owned()),
        Err(err) => {
            let (status, rejection) = shown(err);
            (status, rejection.message.into_owned())
        }
    };
    let html = super::pages::render(
        "member/message.html",
        minijinja::context! {
            title => "E-mail verification", message, failed => !status.is_success(),
            sign_in => status.is_success(),
        },
    );
    crate::http::private((status, Html(html)).into_response())
}

// ---- Home and profile --------------------------------------------------------------------

async fn home(
    State(state): State<AppState>,
    MemberSession(session): MemberSession,
    query: QueryParams,
) -> Response {
    match tasks::home(&state, session.user_id).await {
        Ok(view) => {
            render(
                &state,
                "member/home.html",
                &session,
                ("Home", "home"),
                notice(&query),
                view,
            )
            .await
        }
        Err(err) => error_page(Some(&session), err, "/app"),
    }
}

async fn profile(
    State(state): State<AppState>,
    MemberSession(session): MemberSession,
    query: QueryParams,
) -> Response {
    let me = users::me(&state, session.user_id).await;
    let preferences = users::preferences(&state, session.user_id).await;
    match me.and_then(|me| preferences.map(|p| (me, p))) {
        Ok((me, preferences)) => {
            let zones: Vec<&str> = chrono_tz::TZ_VARIANTS.iter().map(|z| z.name()).collect();
            let view = json!({ "me": me, "preferences": preferences, "zones": zones });
            render(
                &state,
                "member/profile.html",
                &session,
                ("My profile", "profile"),
                notice(&query),
                view,
            )
            .await
        }
        Err(err) => error_page(Some(&session), err, "/app"),
    }
}

/// The profile's text fields, as `PUT /user` names them.
const PROFILE_TEXTS: &[&str] = &[
    "name",
    "username",
    "bio",
    "location",
    "occupation",
    "organization",
    "slack_username",
    "social_media_links",
    "skills",
    "interests",
    "resume_url",
    "photo_url",
];

async fn update_profile(
    State(state): State<AppState>,
    MemberSession(session): MemberSession,
    headers: HeaderMap,
    request: Request,
) -> Response {
    let outcome = match session_form(&session, &headers, request, &state).await {
        Ok(form) => {
            let mut body = serde_json::Map::new();
            for field in PROFILE_TEXTS {
                body.insert((*field).to_owned(), json!(form.get(field)));
            }
            for flag in ["need_mentoring", "available_to_mentor"] {
                body.insert(flag.to_owned(), json!(checked(&form, flag)));
            }
            match ProfileUpdate::from_json(Some(&Value::Object(body))) {
                Ok(update) => users::update_me(&state, session.user_id, update).await,
                Err(err) => Err(err),
            }
        }
        Err(err) => Err(err),
    };
    after_form(&session, outcome, "/app/profile")
}

async fn update_preferences(
    State(state): State<AppState>,
    MemberSession(session): MemberSession,
    headers: HeaderMap,
    request: Request,
) -> Response {
    let outcome = match session_form(&session, &headers, request, &state).await {
        Ok(form) => {
            let body = json!({
                "timezone": form.get("timezone"),
                "meeting_reminders": checked(&form, "meeting_reminders"),
            });
            match PreferencesUpdate::from_json(Some(&body)) {
                Ok(update) => users::update_preferences(&state, session.user_id, update)
                    .await
                    .map(|_| messages::PREFERENCES_UPDATED),
                Err(err) => Err(err),
            }
        }
        Err(err) => Err(err),
    };
    after_form(&session, outcome, "/app/profile")
}

async fn change_password(
    State(state): State<AppState>,
    MemberSession(session): MemberSession,
    headers: HeaderMap,
    request: Request,
) -> Response {
    let outcome = match session_form(&session, &headers, request, &state).await {
        Ok(form) => {
            let body = json!({
                "current_password": form.get("current_password"),
                "new_password": form.get("new_password"),
            });
            match PasswordChange::from_json(Some(&body)) {
                Ok(change) => accounts::change_password(&state, session.user_id, change).await,
                Err(err) => Err(err),
            }
        }
        Err(err) => Err(err),
    };
    // A new password ends every session of the member, this one too: sign in again.
    match outcome {
        Ok(message) => signed_out_to(&state, message),
        Err(err) => error_page(Some(&session), err, "/app/profile"),
    }
}

/// To the sign-in page with a notice, the browser forgetting its session cookie.
fn signed_out_to(state: &AppState, message: Message) -> Response {
    let mut response = see_other(&format!("{}?notice={}", MEMBER.sign_in, message.code));
    response
        .headers_mut()
        .insert(header::SET_COOKIE, MEMBER.clear(session::secure(state)));
    response
}

/// Deletes the account through [`users::delete_me`] (its sessions go with the account), then
/// the browser forgets the cookie.
async fn delete_account(
    State(state): State<AppState>,
    MemberSession(session): MemberSession,
    headers: HeaderMap,
    request: Request,
) -> Response {
    let outcome = match session_form(&session, &headers, request, &state).await {
        Ok(form) if checked(&form, "confirm") => users::delete_me(&state, session.user_id).await,
        Ok(_) => Err(Error::invalid(messages::ACCOUNT_DELETION_NOT_CONFIRMED)),
        Err(err) => Err(err),
    };
    match outcome {
        Ok(message) => signed_out_to(&state, message),
        Err(err) => error_page(Some(&session), err, "/app/profile"),
    }
}

// ---- Directory and requests --------------------------------------------------------------

async fn directory(
    State(state): State<AppState>,
    MemberSession(session): MemberSession,
    query: QueryParams,
) -> Response {
    let get = |key: &str| query.0.get(key).map(String::as_str).unwrap_or("");
    let page = get("page").parse::<i64>().unwrap_or(1).max(1);
    let mut params = query.0.clone();
    params.insert("per_page".into(), DIRECTORY_PAGE.to_string());
    // The checkboxes only narrow: unticked means "whoever".
    for flag in ["available_to_mentor", "need_mentoring"] {
        if get(flag).is_empty() {
            params.remove(flag);
        } else {
            params.insert(flag.into(), "true".into());
        }
    }
    let directory_query = DirectoryQuery::from_query(&params);
    let kept: Vec<(&str, &str)> = ["search", "skills", "available_to_mentor", "need_mentoring"]
        .into_iter()
        .filter(|key| !get(key).is_empty())
        .map(|key| (key, get(key)))
        .collect();
    let link = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&kept)
        .finish();
    match users::directory(&state, session.user_id, true, directory_query).await {
        Ok(rows) => {
            let view = json!({
                "next": (rows.len() as i64 == DIRECTORY_PAGE).then_some(page + 1),
                "previous": (page > 1).then_some(page - 1),
                "rows": rows, "link": link, "search": get("search"), "skills": get("skills"),
                "available_to_mentor": !get("available_to_mentor").is_empty(),
                "need_mentoring": !get("need_mentoring").is_empty(),
            });
            render(
                &state,
                "member/directory.html",
                &session,
                ("Members", "members"),
                notice(&query),
                view,
            )
            .await
        }
        Err(err) => error_page(Some(&session), err, "/app"),
    }
}

async fn member(
    State(state): State<AppState>,
    MemberSession(session): MemberSession,
    PathParams(id): PathParams<i64>,
    query: QueryParams,
) -> Response {
    match users::public_profile(&state, id).await {
        Ok(member) => {
            let title = member.name.clone();
            let view = json!({ "member": member, "is_me": id == session.user_id });
            render(
                &state,
                "member/member.html",
                &session,
                (&title, "members"),
                notice(&query),
                view,
            )
            .await
        }
        Err(err) => error_page(Some(&session), err, "/app/members"),
    }
}

/// The end date of a request form (a day, `YYYY-MM-DD`) as UNIX seconds: noon of that day in
/// the member's zone. Anything else is sent on as it is, for the API's rule to refuse.
fn end_of(day: &str, zone: chrono_tz::Tz) -> Value {
    use chrono::TimeZone;
    chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(12, 0, 0))
        .and_then(|at| zone.from_local_datetime(&at).earliest())
        .map_or_else(|| json!(day), |at| json!(at.timestamp()))
}

/// "Send a request": the member is the mentor or the mentee, the other is the page's member;
/// [`relations::send_request`] with the body `POST /mentorship_relation/send_request` reads.
async fn send_request(
    State(state): State<AppState>,
    MemberSession(session): MemberSession,
    PathParams(id): PathParams<i64>,
    headers: HeaderMap,
    request: Request,
) -> Response {
    let outcome = match session_form(&session, &headers, request, &state).await {
        Ok(form) => {
            let zone = users::preferences(&state, session.user_id)
                .await
                .map(|p| crate::domain::meetings::zone(Some(&p.timezone)))
                .unwrap_or(chrono_tz::UTC);
            let (mentor, mentee) = if form.get("role") == "mentor" {
                (session.user_id, id)
            } else {
                (id, session.user_id)
            };
            let body = json!({
                "mentor_id": mentor, "mentee_id": mentee,
                "end_date": end_of(form.get("end_date"), zone), "notes": form.get("notes"),
            });
            match SendRequest::from_json(Some(&body)) {
                Ok(request) => relations::send_request(&state, session.user_id, request).await,
                Err(err) => Err(err),
            }
        }
        Err(err) => Err(err),
    };
    match outcome {
        Ok(message) => after_form(&session, Ok(message), "/app/relations"),
        Err(err) => after_form(&session, Err(err), &format!("/app/members/{id}")),
    }
}

// ---- My relations ------------------------------------------------------------------------

async fn relations_page(
    State(state): State<AppState>,
    MemberSession(session): MemberSession,
    query: QueryParams,
) -> Response {
    match relations::list(&state, session.user_id, RelationList::All(None)).await {
        Ok(rows) => {
            let (mut received, mut sent, mut current, mut past) = (vec![], vec![], vec![], vec![]);
            for row in rows {
                match row.state {
                    1 if row.sent_by_me => sent.push(row),
                    1 => received.push(row),
                    2 => current.push(row),
                    _ => past.push(row),
                }
            }
            let view = json!({
                "received": received, "sent": sent, "current": current, "past": past,
                "me": session.user_id,
            });
            render(
                &state,
                "member/relations.html",
                &session,
                ("My relations", "relations"),
                notice(&query),
                view,
            )
            .await
        }
        Err(err) => error_page(Some(&session), err, "/app"),
    }
}

/// Accept, reject, cancel or delete a relation: the `action` field names which.
async fn answer_relation(
    State(state): State<AppState>,
    MemberSession(session): MemberSession,
    PathParams(id): PathParams<i64>,
    headers: HeaderMap,
    request: Request,
) -> Response {
    let me = session.user_id;
    let outcome = match session_form(&session, &headers, request, &state).await {
        Ok(form) => match form.get("action") {
            "accept" => relations::accept(&state, me, id).await,
            "reject" => relations::reject(&state, me, id).await,
            "cancel" => relations::cancel(&state, me, id).await,
            "delete" => relations::delete(&state, me, id).await,
            _ => Err(Error::invalid(messages::MALFORMED_REQUEST)),
        },
        Err(err) => Err(err),
    };
    after_form(&session, outcome, "/app/relations")
}

// ---- A relation: its tasks, comments and meetings ----------------------------------------

/// The member's zone, for reading the times typed in a form.
async fn zone_of(state: &AppState, user_id: i64) -> chrono_tz::Tz {
    users::preferences(state, user_id)
        .await
        .map(|p| crate::domain::meetings::zone(Some(&p.timezone)))
        .unwrap_or(chrono_tz::UTC)
}

/// A time typed in a form (`YYYY-MM-DDTHH:MM`, the member's zone) as UNIX seconds; anything
/// else is sent on as it is, for the API's rule to refuse.
fn moment_of(text: &str, zone: chrono_tz::Tz) -> Value {
    use chrono::TimeZone;
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
        .ok()
        .and_then(|at| zone.from_local_datetime(&at).earliest())
        .map_or_else(|| json!(text), |at| json!(at.timestamp()))
}

async fn relation_page(
    State(state): State<AppState>,
    MemberSession(session): MemberSession,
    PathParams(id): PathParams<i64>,
    query: QueryParams,
) -> Response {
    let me = session.user_id;
    let view = async {
        let relation = relations::list(&state, me, RelationList::All(None))
            .await?
            .into_iter()
            .find(|r| r.id == id)
            .ok_or_else(|| Error::not_found(messages::MENTORSHIP_RELATION_DOES_NOT_EXIST))?;
        let tasks = tasks::list_tasks(&state, me, id).await.unwrap_or_default();
        let meetings = meetings::for_relation(&state, me, id).await?;
        Ok::<_, Error>(json!({ "relation": relation, "tasks": tasks, "meetings": meetings }))
    };
    match view.await {
        Ok(view) => {
            render(
                &state,
                "member/relation.html",
                &session,
                ("Relation", "relations"),
                notice(&query),
                view,
            )
            .await
        }
        Err(err) => error_page(Some(&session), err, "/app/relations"),
    }
}

async fn add_task(
    State(state): State<AppState>,
    MemberSession(session): MemberSession,
    PathParams(id): PathParams<i64>,
    headers: HeaderMap,
    request: Request,
) -> Response {
    let outcome = match session_form(&session, &headers, request, &state).await {
        Ok(form) => {
            match NewTask::from_json(Some(&json!({"description": form.get("description")}))) {
                Ok(task) => tasks::create_task(&state, session.user_id, id, task).await,
                Err(err) => Err(err),
            }
        }
        Err(err) => Err(err),
    };
    after_form(&session, outcome, &format!("/app/relations/{id}"))
}

/// Complete or delete a task: the `action` field names which.
async fn change_task(
    State(state): State<AppState>,
    MemberSession(session): MemberSession,
    PathParams((id, task)): PathParams<(i64, i64)>,
    headers: HeaderMap,
    request: Request,
) -> Response {
    let me = session.user_id;
    let outcome = match session_form(&session, &headers, request, &state).await {
        Ok(form) => match form.get("action") {
            "complete" => tasks::complete_task(&state, me, id, task).await,
            "delete" => tasks::delete_task(&state, me, id, task).await,
            _ => Err(Error::invalid(messages::MALFORMED_REQUEST)),
        },
        Err(err) => Err(err),
    };
    after_form(&session, outcome, &format!("/app/relations/{id}"))
}

async fn task_page(
    State(state): State<AppState>,
    MemberSession(session): MemberSession,
    PathParams((id, task_id)): PathParams<(i64, i64)>,
    query: QueryParams,
) -> Response {
    let me = session.user_id;
    let view = async {
        let task = tasks::list_tasks(&state, me, id)
            .await?
            .into_iter()
            .find(|t| t.id == task_id)
            .ok_or_else(|| Error::not_found(messages::TASK_DOES_NOT_EXIST))?;
        let comments = tasks::list_comments(&state, me, id, task_id).await?;
        Ok::<_, Error>(json!({ "relation_id": id, "task": task, "comments": comments, "me": me }))
    };
    match view.await {
        Ok(view) => {
            render(
                &state,
                "member/task.html",
                &session,
                ("Task", "relations"),
                notice(&query),
                view,
            )
            .await
        }
        Err(err) => error_page(Some(&session), err, &format!("/app/relations/{id}")),
    }
}

async fn add_comment(
    State(state): State<AppState>,
    MemberSession(session): MemberSession,
    PathParams((id, task)): PathParams<(i64, i64)>,
    headers: HeaderMap,
    request: Request,
) -> Response {
    let outcome = match session_form(&session, &headers, request, &state).await {
        Ok(form) => match CommentText::from_json(Some(&json!({"comment": form.get("comment")}))) {
            Ok(text) => tasks::create_comment(&state, session.user_id, id, task, text).await,
            Err(err) => Err(err),
        },
        Err(err) => Err(err),
    };
    after_form(
        &session,
        outcome,
        &format!("/app/relations/{id}/tasks/{task}"),
    )
}

/// Edit or delete one's comment: the `action` field names which.
async fn change_comment(
    State(state): State<AppState>,
    MemberSession(session): MemberSession,
    PathParams(ids): PathParams<(i64, i64, i64)>,
    headers: HeaderMap,
    request: Request,
) -> Response {
    let me = session.user_id;
    let outcome = match session_form(&session, &headers, request, &state).await {
        Ok(form) => match form.get("action") {
            "edit" => {
                match CommentText::from_json(Some(&json!({"comment": form.get("comment")}))) {
                    Ok(text) => tasks::update_comment(&state, me, ids, text).await,
                    Err(err) => Err(err),
                }
            }
            "delete" => tasks::delete_comment(&state, me, ids).await,
            _ => Err(Error::invalid(messages::MALFORMED_REQUEST)),
        },
        Err(err) => Err(err),
    };
    let (id, task, _) = ids;
    after_form(
        &session,
        outcome,
        &format!("/app/relations/{id}/tasks/{task}"),
    )
}

/// The body `POST /mentorship_relation/<id>/meeting` and `PUT /meeting/<id>` read, from a form.
fn meeting_body(form: &FormFields, zone: chrono_tz::Tz) -> Value {
    json!({
        "start_date": moment_of(form.get("start"), zone),
        "end_date": moment_of(form.get("end"), zone),
        "place": form.get("place"), "notes": form.get("notes"),
    })
}

async fn propose_meeting(
    State(state): State<AppState>,
    MemberSession(session): MemberSession,
    PathParams(id): PathParams<i64>,
    headers: HeaderMap,
    request: Request,
) -> Response {
    let outcome = match session_form(&session, &headers, request, &state).await {
        Ok(form) => {
            let zone = zone_of(&state, session.user_id).await;
            match MeetingDetails::from_json(Some(&meeting_body(&form, zone))) {
                Ok(details) => meetings::propose(&state, session.user_id, id, details)
                    .await
                    .map(|_| messages::MEETING_WAS_PROPOSED),
                Err(err) => Err(err),
            }
        }
        Err(err) => Err(err),
    };
    after_form(&session, outcome, &format!("/app/relations/{id}"))
}

async fn meeting_page(
    State(state): State<AppState>,
    MemberSession(session): MemberSession,
    PathParams(id): PathParams<i64>,
    query: QueryParams,
) -> Response {
    let me = session.user_id;
    let view = async {
        let meeting = meetings::get(&state, me, id).await?;
        let is_mentor = meeting.mentor.id == Some(me);
        let now = state.clock.now();
        // The titular mentor of a confirmed meeting to come, with no substitute yet: the
        // ranked candidates.
        let candidates = if is_mentor
            && meeting.state == "confirmed"
            && meeting.start_date > now
            && meeting.substitute_status.is_none_or(|s| s == "rejected")
        {
            substitutes::candidates(&state, me, id, CandidateQuery::from_query(&query.0))
                .await
                .unwrap_or_default()
        } else {
            vec![]
        };
        Ok::<_, Error>(json!({
            "meeting": meeting, "me": me, "is_mentor": is_mentor, "candidates": candidates,
            "is_substitute": meeting.substitute.as_ref().is_some_and(|s| s.id == Some(me)),
            "started": meeting.start_date <= now,
        }))
    };
    match view.await {
        Ok(view) => {
            render(
                &state,
                "member/meeting.html",
                &session,
                ("Meeting", "relations"),
                notice(&query),
                view,
            )
            .await
        }
        Err(err) => error_page(Some(&session), err, "/app/relations"),
    }
}

/// Every change of a meeting: the `action` field names which (edit, accept, decline, cancel,
/// notes, invite, withdraw), each the API's service function.
async fn change_meeting(
    State(state): State<AppState>,
    MemberSession(session): MemberSession,
    PathParams(id): PathParams<i64>,
    headers: HeaderMap,
    request: Request,
) -> Response {
    let me = session.user_id;
    let outcome = match session_form(&session, &headers, request, &state).await {
        Ok(form) => match form.get("action") {
            "edit" => {
                let zone = zone_of(&state, me).await;
                match MeetingDetails::from_json(Some(&meeting_body(&form, zone))) {
                    Ok(details) => meetings::edit(&state, me, id, details)
                        .await
                        .map(|_| messages::MEETING_WAS_UPDATED),
                    Err(err) => Err(err),
                }
            }
            "accept" => meetings::answer(&state, me, id, true)
                .await
                .map(|_| messages::MEETING_WAS_ACCEPTED),
            "decline" => meetings::answer(&state, me, id, false)
                .await
                .map(|_| messages::MEETING_WAS_DECLINED),
            "cancel" => meetings::cancel(&state, me, id)
                .await
                .map(|_| messages::MEETING_WAS_CANCELLED),
            "notes" => match NotesChange::from_json(Some(&json!({"notes": form.get("notes")}))) {
                Ok(change) => meetings::change_notes(&state, me, id, change)
                    .await
                    .map(|_| messages::MEETING_NOTES_UPDATED),
                Err(err) => Err(err),
            },
            "invite" => {
                let user_id = form
                    .get("user_id")
                    .parse::<i64>()
                    .map_or_else(|_| json!(form.get("user_id")), |id| json!(id));
                match SubstituteInvitation::from_json(Some(&json!({ "user_id": user_id }))) {
                    Ok(invitation) => substitutes::invite(&state, me, id, invitation)
                        .await
                        .map(|_| messages::SUBSTITUTE_WAS_INVITED),
                    Err(err) => Err(err),
                }
            }
            "withdraw" => substitutes::end(&state, me, id)
                .await
                .map(|_| messages::INVITATION_WAS_WITHDRAWN),
            _ => Err(Error::invalid(messages::MALFORMED_REQUEST)),
        },
        Err(err) => Err(err),
    };
    after_form(&session, outcome, &format!("/app/meetings/{id}"))
}

/// The meeting as a calendar file, to add it to one's calendar by hand.
async fn meeting_calendar(
    State(state): State<AppState>,
    MemberSession(session): MemberSession,
    PathParams(id): PathParams<i64>,
) -> Response {
    match meetings::calendar(&state, session.user_id, id).await {
        Ok(ics) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/calendar; charset=utf-8"),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    HeaderValue::from_str(&format!("attachment; filename=\"meeting-{id}.ics\""))
                        .unwrap_or(HeaderValue::from_static("attachment")),
                ),
            ],
            ics,
        )
            .into_response(),
        Err(err) => error_page(Some(&session), err, &format!("/app/meetings/{id}")),
    }
}

/// "Download my data": the export of `GET /user/export` (same service, same document).
async fn download_my_data(
    State(state): State<AppState>,
    MemberSession(session): MemberSession,
) -> Response {
    match crate::services::export::export(&state, session.user_id).await {
        Ok(document) => {
            let disposition = format!(
                "attachment; filename=\"mentorship-export-{}.json\"",
                session.user_id
            );
            let mut response = axum::Json(document).into_response();
            if let Ok(value) = HeaderValue::from_str(&disposition) {
                response
                    .headers_mut()
                    .insert(header::CONTENT_DISPOSITION, value);
            }
            crate::http::private(response)
        }
        Err(err) => error_page(Some(&session), err, "/app/profile"),
    }
}

// ---- Invitations to stand in -------------------------------------------------------------

async fn invitations_page(
    State(state): State<AppState>,
    MemberSession(session): MemberSession,
    query: QueryParams,
) -> Response {
    match substitutes::pending(&state, session.user_id).await {
        Ok(rows) => {
            render(
                &state,
                "member/invitations.html",
                &session,
                ("Invitations to stand in", "invitations"),
                notice(&query),
                json!({ "rows": rows }),
            )
            .await
        }
        Err(err) => error_page(Some(&session), err, "/app"),
    }
}

async fn answer_invitation(
    State(state): State<AppState>,
    MemberSession(session): MemberSession,
    PathParams(id): PathParams<i64>,
    headers: HeaderMap,
    request: Request,
) -> Response {
    let me = session.user_id;
    let outcome = match session_form(&session, &headers, request, &state).await {
        Ok(form) => match form.get("action") {
            "accept" => substitutes::respond_in_app(&state, me, id, true).await,
            "reject" => substitutes::respond_in_app(&state, me, id, false).await,
            _ => Err(Error::invalid(messages::MALFORMED_REQUEST)),
        },
        Err(err) => Err(err),
    };
    after_form(&session, outcome, "/app/invitations")
}
