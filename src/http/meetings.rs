//! Meetings, substitute invitations and the pages their e-mailed links open.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::docs::escape;
use super::{AuthUser, JsonBody, MaybeAuthUser, PathParams, QueryParams, html, message};
use crate::app::AppState;
use crate::domain::meetings::shown_state;
use crate::domain::messages::{self, Message};
use crate::error::{Error, ErrorResponse, MessageBody, Result};
use crate::services::meetings as service;
use crate::store::meetings::MeetingRow;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(propose))
        .routes(routes!(list_for_relation))
        .routes(routes!(upcoming))
        .routes(routes!(get_meeting, edit_meeting))
        .routes(routes!(accept_meeting))
        .routes(routes!(decline_meeting))
        .routes(routes!(cancel_meeting))
        .routes(routes!(invite_substitute, withdraw_substitute))
        .routes(routes!(invitation_page, respond_by_link))
        .routes(routes!(pending_invitations))
        .routes(routes!(accept_invitation))
        .routes(routes!(reject_invitation))
        .routes(routes!(admin_meetings))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Person {
    pub id: Option<i64>,
    pub name: Option<String>,
}

/// A meeting of a relation.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Meeting {
    pub id: i64,
    pub relation_id: i64,
    pub proposer_id: i64,
    /// UNIX seconds.
    pub start_date: f64,
    pub end_date: f64,
    pub place: Option<String>,
    pub notes: Option<String>,
    /// proposed, confirmed, declined, cancelled or completed (a confirmed meeting that has ended).
    pub state: String,
    /// The titular mentor: the relation's mentor.
    pub mentor: Person,
    pub mentee: Person,
    /// The invited or accepted substitute mentor.
    pub substitute: Option<Person>,
    /// pending, accepted or rejected.
    pub substitute_status: Option<String>,
    pub substitute_invited_at: Option<f64>,
    pub substitute_responded_at: Option<f64>,
}

impl Meeting {
    fn new(m: MeetingRow, now: f64) -> Meeting {
        Meeting {
            id: m.id,
            relation_id: m.relation_id,
            proposer_id: m.proposer_id,
            start_date: m.start_date,
            end_date: m.end_date,
            state: shown_state(&m.state, m.end_date, now).to_owned(),
            place: m.place,
            notes: m.notes,
            mentor: Person {
                id: m.mentor_name.as_ref().and(m.mentor_id),
                name: m.mentor_name,
            },
            mentee: Person {
                id: m.mentee_name.as_ref().and(m.mentee_id),
                name: m.mentee_name,
            },
            substitute: m.substitute_user_id.map(|id| Person {
                id: Some(id),
                name: m.substitute_name,
            }),
            substitute_status: m.substitute_status,
            substitute_invited_at: m.substitute_invited_at,
            substitute_responded_at: m.substitute_responded_at,
        }
    }
}

/// A meeting after a change, with the `message` every write answers with.
#[derive(Serialize, utoipa::ToSchema)]
pub struct MeetingChanged {
    pub message: &'static str,
    #[serde(flatten)]
    pub meeting: Meeting,
}

fn changed(
    state: &AppState,
    status: StatusCode,
    message: Message,
    meeting: MeetingRow,
) -> Response {
    let body = MeetingChanged {
        message: message.text,
        meeting: Meeting::new(meeting, state.clock.now()),
    };
    (status, axum::Json(body)).into_response()
}

fn meetings(state: &AppState, rows: Vec<MeetingRow>) -> axum::Json<Vec<Meeting>> {
    let now = state.clock.now();
    axum::Json(rows.into_iter().map(|m| Meeting::new(m, now)).collect())
}

/// Start and end (UNIX seconds, in the future, at most 8 hours apart), and optional place and notes.
#[derive(Deserialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct MeetingRequest {
    start_date: f64,
    end_date: f64,
    /// A room, an address or a URL.
    #[schema(max_length = 300)]
    place: Option<String>,
    #[schema(max_length = 1000)]
    notes: Option<String>,
}

/// Proposes a meeting in an accepted relation; the other party is e-mailed.
#[utoipa::path(post, path = "/mentorship_relation/{relation_id}/meeting", tag = "Meetings", request_body = MeetingRequest,
    security(("bearer" = [])), params(("relation_id" = i64, Path)),
    responses((status = 201, body = MeetingChanged), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 413, body = ErrorResponse)))]
pub async fn propose(
    State(state): State<AppState>,
    user: AuthUser,
    PathParams(id): PathParams<i64>,
    body: JsonBody,
) -> Result<Response> {
    let meeting = service::propose(&state, user.id, id, body.as_ref()).await?;
    Ok(changed(
        &state,
        StatusCode::CREATED,
        messages::MEETING_WAS_PROPOSED,
        meeting,
    ))
}

/// The meetings of a relation, by start.
#[utoipa::path(get, path = "/mentorship_relation/{relation_id}/meetings", tag = "Meetings", security(("bearer" = [])),
    params(("relation_id" = i64, Path)),
    responses((status = 200, body = Vec<Meeting>), (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
pub async fn list_for_relation(
    State(state): State<AppState>,
    user: AuthUser,
    PathParams(id): PathParams<i64>,
) -> Result<axum::Json<Vec<Meeting>>> {
    let rows = service::for_relation(&state, user.id, id).await?;
    Ok(meetings(&state, rows))
}

/// Page of a list: `page` from 1, `per_page` 20 by default, at most 100.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct PageQuery {
    page: Option<i64>,
    per_page: Option<i64>,
}

/// The caller's meetings not over yet, as mentor, mentee or substitute, soonest first.
#[utoipa::path(get, path = "/meetings", tag = "Meetings", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = Vec<Meeting>), (status = 401, body = ErrorResponse)))]
pub async fn upcoming(
    State(state): State<AppState>,
    user: AuthUser,
    QueryParams(query): QueryParams,
) -> Result<axum::Json<Vec<Meeting>>> {
    let rows = service::upcoming(&state, user.id, &query).await?;
    Ok(meetings(&state, rows))
}

/// One meeting: for its parties, its substitute and admins.
#[utoipa::path(get, path = "/meeting/{meeting_id}", tag = "Meetings", security(("bearer" = [])), params(("meeting_id" = i64, Path)),
    responses((status = 200, body = Meeting), (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
pub async fn get_meeting(
    State(state): State<AppState>,
    user: AuthUser,
    PathParams(id): PathParams<i64>,
) -> Result<axum::Json<Meeting>> {
    let meeting = service::get(&state, user.id, id).await?;
    Ok(axum::Json(Meeting::new(meeting, state.clock.now())))
}

/// Changes a proposed meeting (its proposer only); the other party is e-mailed.
#[utoipa::path(put, path = "/meeting/{meeting_id}", tag = "Meetings", request_body = MeetingRequest, security(("bearer" = [])),
    params(("meeting_id" = i64, Path)),
    responses((status = 200, body = MeetingChanged), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 409, body = ErrorResponse), (status = 413, body = ErrorResponse)))]
pub async fn edit_meeting(
    State(state): State<AppState>,
    user: AuthUser,
    PathParams(id): PathParams<i64>,
    body: JsonBody,
) -> Result<Response> {
    let meeting = service::edit(&state, user.id, id, body.as_ref()).await?;
    Ok(changed(
        &state,
        StatusCode::OK,
        messages::MEETING_WAS_UPDATED,
        meeting,
    ))
}

/// Accepts a proposed meeting (the party who did not propose it); the proposer gets a calendar invitation.
#[utoipa::path(put, path = "/meeting/{meeting_id}/accept", tag = "Meetings", security(("bearer" = [])), params(("meeting_id" = i64, Path)),
    responses((status = 200, body = MeetingChanged), (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse),
        (status = 404, body = ErrorResponse), (status = 409, body = ErrorResponse)))]
pub async fn accept_meeting(
    State(state): State<AppState>,
    user: AuthUser,
    PathParams(id): PathParams<i64>,
) -> Result<Response> {
    let meeting = service::answer(&state, user.id, id, true).await?;
    Ok(changed(
        &state,
        StatusCode::OK,
        messages::MEETING_WAS_ACCEPTED,
        meeting,
    ))
}

/// Declines a proposed meeting (the party who did not propose it).
#[utoipa::path(put, path = "/meeting/{meeting_id}/decline", tag = "Meetings", security(("bearer" = [])), params(("meeting_id" = i64, Path)),
    responses((status = 200, body = MeetingChanged), (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse),
        (status = 404, body = ErrorResponse), (status = 409, body = ErrorResponse)))]
pub async fn decline_meeting(
    State(state): State<AppState>,
    user: AuthUser,
    PathParams(id): PathParams<i64>,
) -> Result<Response> {
    let meeting = service::answer(&state, user.id, id, false).await?;
    Ok(changed(
        &state,
        StatusCode::OK,
        messages::MEETING_WAS_DECLINED,
        meeting,
    ))
}

/// Cancels a meeting before it starts (either party); the others get a calendar cancellation.
#[utoipa::path(put, path = "/meeting/{meeting_id}/cancel", tag = "Meetings", security(("bearer" = [])), params(("meeting_id" = i64, Path)),
    responses((status = 200, body = MeetingChanged), (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse),
        (status = 404, body = ErrorResponse), (status = 409, body = ErrorResponse)))]
pub async fn cancel_meeting(
    State(state): State<AppState>,
    user: AuthUser,
    PathParams(id): PathParams<i64>,
) -> Result<Response> {
    let meeting = service::cancel(&state, user.id, id).await?;
    Ok(changed(
        &state,
        StatusCode::OK,
        messages::MEETING_WAS_CANCELLED,
        meeting,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct SubstituteRequest {
    /// A verified member available to mentor, neither the mentor nor the mentee.
    user_id: i64,
}

/// Invites a substitute mentor to a confirmed, future meeting (its titular mentor only). The
/// invitee is e-mailed signed accept and reject links; a new invitation voids earlier links.
#[utoipa::path(post, path = "/meeting/{meeting_id}/substitute", tag = "Substitutes", request_body = SubstituteRequest,
    security(("bearer" = [])), params(("meeting_id" = i64, Path)),
    responses((status = 201, body = MeetingChanged), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 409, body = ErrorResponse), (status = 413, body = ErrorResponse)))]
pub async fn invite_substitute(
    State(state): State<AppState>,
    user: AuthUser,
    PathParams(id): PathParams<i64>,
    body: JsonBody,
) -> Result<Response> {
    let meeting = service::invite_substitute(&state, user.id, id, body.as_ref()).await?;
    Ok(changed(
        &state,
        StatusCode::CREATED,
        messages::SUBSTITUTE_WAS_INVITED,
        meeting,
    ))
}

/// Withdraws a pending substitute invitation (the titular mentor only); its links stop working.
#[utoipa::path(delete, path = "/meeting/{meeting_id}/substitute", tag = "Substitutes", security(("bearer" = [])),
    params(("meeting_id" = i64, Path)),
    responses((status = 200, body = MeetingChanged), (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse),
        (status = 404, body = ErrorResponse), (status = 409, body = ErrorResponse)))]
pub async fn withdraw_substitute(
    State(state): State<AppState>,
    user: AuthUser,
    PathParams(id): PathParams<i64>,
) -> Result<Response> {
    let meeting = service::withdraw_substitute(&state, user.id, id).await?;
    Ok(changed(
        &state,
        StatusCode::OK,
        messages::INVITATION_WAS_WITHDRAWN,
        meeting,
    ))
}

/// Responses of the signed-link routes must not be cached nor leak the link as a referrer.
fn private(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
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
    // A browser shows this page, so even a malformed id gets an HTML answer.
    let Ok(id) = id.parse::<i64>() else {
        let mut response = html(page_frame(
            "Invitation link",
            "<p class=\"error\">Meeting does not exist.</p>",
        ));
        *response.status_mut() = StatusCode::NOT_FOUND;
        return private(response);
    };
    let page =
        match service::check_link(&state, id, &decision, query.as_deref().unwrap_or_default()) {
            Err(Error::Api(err)) => {
                let mut response = html(page_frame(
                    "Invitation link",
                    &format!("<p class=\"error\">{}</p>", escape(&err.message)),
                ));
                *response.status_mut() = err.status;
                response
            }
            Err(err) => err.into_response(),
            Ok(link) => match crate::store::meetings::get(&state.db, id).await {
                Ok(Some(meeting)) => html(invitation_html(&meeting, link.decision.as_str())),
                Ok(None) => {
                    let mut response = html(page_frame(
                        "Invitation link",
                        "<p class=\"error\">Meeting does not exist.</p>",
                    ));
                    *response.status_mut() = StatusCode::NOT_FOUND;
                    response
                }
                Err(err) => Error::from(err).into_response(),
            },
        };
    private(page)
}

/// Answers the invitation: the invited member, logged in (bearer token), once.
#[utoipa::path(post, path = "/meeting/{meeting_id}/substitute/{decision}", tag = "Substitutes", security(("bearer" = [])),
    params(("meeting_id" = i64, Path), ("decision" = String, Path, description = "accept or reject"),
        ("invitee" = i64, Query), ("nonce" = String, Query), ("exp" = i64, Query), ("kid" = String, Query), ("signature" = String, Query)),
    responses((status = 200, body = MessageBody), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse, description = "Invalid or expired link, or another user"),
        (status = 404, body = ErrorResponse), (status = 409, body = ErrorResponse, description = "Already answered or no longer valid")))]
pub async fn respond_by_link(
    State(state): State<AppState>,
    MaybeAuthUser(caller): MaybeAuthUser,
    PathParams((id, decision)): PathParams<(i64, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    let outcome = service::respond_by_link(
        &state,
        caller,
        id,
        &decision,
        query.as_deref().unwrap_or_default(),
    )
    .await;
    private(match outcome {
        Ok(done) => message(StatusCode::OK, done),
        Err(err) => err.into_response(),
    })
}

/// Meetings the caller is invited to as a substitute and has not answered.
#[utoipa::path(get, path = "/substitute_invitations", tag = "Substitutes", security(("bearer" = [])),
    responses((status = 200, body = Vec<Meeting>), (status = 401, body = ErrorResponse)))]
pub async fn pending_invitations(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<axum::Json<Vec<Meeting>>> {
    let rows = service::pending_invitations(&state, user.id).await?;
    Ok(meetings(&state, rows))
}

/// Accepts an invitation from the app (the invitee only, once).
#[utoipa::path(put, path = "/substitute_invitations/{meeting_id}/accept", tag = "Substitutes", security(("bearer" = [])),
    params(("meeting_id" = i64, Path)),
    responses((status = 200, body = MessageBody), (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse),
        (status = 404, body = ErrorResponse), (status = 409, body = ErrorResponse)))]
pub async fn accept_invitation(
    State(state): State<AppState>,
    user: AuthUser,
    PathParams(id): PathParams<i64>,
) -> Result<Response> {
    Ok(message(
        StatusCode::OK,
        service::respond_in_app(&state, user.id, id, true).await?,
    ))
}

/// Rejects an invitation from the app (the invitee only, once).
#[utoipa::path(put, path = "/substitute_invitations/{meeting_id}/reject", tag = "Substitutes", security(("bearer" = [])),
    params(("meeting_id" = i64, Path)),
    responses((status = 200, body = MessageBody), (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse),
        (status = 404, body = ErrorResponse), (status = 409, body = ErrorResponse)))]
pub async fn reject_invitation(
    State(state): State<AppState>,
    user: AuthUser,
    PathParams(id): PathParams<i64>,
) -> Result<Response> {
    Ok(message(
        StatusCode::OK,
        service::respond_in_app(&state, user.id, id, false).await?,
    ))
}

/// Filters of the admins' meeting list.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct AdminMeetingQuery {
    /// proposed, confirmed, declined, cancelled or completed.
    state: Option<String>,
    /// pending, accepted or rejected.
    substitute_status: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

/// Every meeting with its substitute status (admins only), by id.
#[utoipa::path(get, path = "/admin/meetings", tag = "Admins", security(("bearer" = [])), params(AdminMeetingQuery),
    responses((status = 200, body = Vec<Meeting>), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse)))]
pub async fn admin_meetings(
    State(state): State<AppState>,
    user: AuthUser,
    QueryParams(query): QueryParams,
) -> Result<axum::Json<Vec<Meeting>>> {
    let rows = service::admin_list(&state, user.id, &query).await?;
    Ok(meetings(&state, rows))
}

fn page_frame(title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><title>{title}</title>
<style>body{{font-family:sans-serif;max-width:32em;margin:3em auto;padding:0 1em;line-height:1.5}}
input,button{{font-size:1em;padding:.4em;margin:.3em 0;width:100%;box-sizing:border-box}}.error{{color:#a00}}dt{{font-weight:bold}}</style>
</head><body><h1>{title}</h1>
{body}
</body></html>"#,
        title = escape(title)
    )
}

fn invitation_html(meeting: &MeetingRow, decision: &str) -> String {
    let name = |n: &Option<String>| escape(n.as_deref().unwrap_or("(deleted member)"));
    let verb = if decision == "accept" {
        "Accept"
    } else {
        "Decline"
    };
    let body = format!(
        r#"<p>{mentor} asks you to mentor {mentee} in their place at this meeting:</p>
<dl><dt>When</dt><dd>{when}</dd><dt>Where</dt><dd>{place}</dd><dt>Mentor</dt><dd>{mentor}</dd><dt>Mentee</dt><dd>{mentee}</dd></dl>
<form id="login">
<p>Log in as <strong>{invitee}</strong> to answer.</p>
<label>Username or e-mail<input name="username" autocomplete="username" required></label>
<label>Password<input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Log in</button>
</form>
<button id="answer" hidden>{verb} the invitation</button>
<p id="result" role="status"></p>
<script>
let token = null;
const result = document.getElementById('result');
document.getElementById('login').addEventListener('submit', async (event) => {{
  event.preventDefault();
  const form = new FormData(event.target);
  const response = await fetch('/login', {{method: 'POST', headers: {{'Content-Type': 'application/json'}},
    body: JSON.stringify({{username: form.get('username'), password: form.get('password')}})}});
  const body = await response.json();
  if (!response.ok) {{ result.textContent = body.message; return; }}
  token = body.access_token;
  event.target.hidden = true;
  document.getElementById('answer').hidden = false;
  result.textContent = '';
}});
document.getElementById('answer').addEventListener('click', async (event) => {{
  event.target.disabled = true;
  const response = await fetch(location.pathname + location.search, {{method: 'POST', headers: {{'Authorization': 'Bearer ' + token}}}});
  const body = await response.json();
  result.textContent = body.message;
  if (!response.ok) event.target.disabled = false;
}});
</script>"#,
        mentor = name(&meeting.mentor_name),
        mentee = name(&meeting.mentee_name),
        invitee = name(&meeting.substitute_name),
        when = escape(&service::when(meeting.start_date, meeting.end_date)),
        place = escape(meeting.place.as_deref().unwrap_or("to be decided")),
    );
    page_frame("Substitute mentor invitation", &body)
}
