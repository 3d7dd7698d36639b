//! Meetings and substitute invitations.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::message;
use crate::domain::Page;
use crate::domain::meetings::{
    Candidate, CandidateQuery, Invitation, Meeting, MeetingChanged, MeetingDetails, MeetingFilter,
    NotesChange, SubstituteInvitation,
};
use crate::domain::messages::{self, Message};
use crate::error::Result;
use crate::http::error::{ErrorResponse, MessageBody};
use crate::http::extract::{
    AuthUser, ClientIp, Command, MaybeAuthUser, PageForm, PathParams, QueryParams,
};
use crate::http::private;
use crate::http::web;
use crate::services::meetings as service;
use crate::services::substitutes;
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(propose))
        .routes(routes!(list_for_relation))
        .routes(routes!(upcoming))
        .routes(routes!(get_meeting, edit_meeting))
        .routes(routes!(accept_meeting))
        .routes(routes!(decline_meeting))
        .routes(routes!(cancel_meeting))
        .routes(routes!(change_notes))
        .routes(routes!(substitute_candidates))
        .routes(routes!(invite_substitute, end_substitution))
        .routes(routes!(invitation_history))
        .routes(routes!(respond_by_link))
        .routes(routes!(pending_invitations))
        .routes(routes!(accept_invitation))
        .routes(routes!(reject_invitation))
        .routes(routes!(admin_meetings))
}

/// A meeting after a change, with the message of the change.
fn changed(status: StatusCode, message: Message, meeting: Meeting) -> Response {
    let body = MeetingChanged {
        message: message.text,
        meeting,
    };
    (status, axum::Json(body)).into_response()
}

/// Proposes a meeting in an accepted relation; the other party is e-mailed.
#[utoipa::path(post, path = "/mentorship_relation/{relation_id}/meeting", tag = "Meetings", request_body = MeetingDetails,
    security(("bearer" = [])), params(("relation_id" = i64, Path)),
    responses((status = 201, body = MeetingChanged), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 413, body = ErrorResponse)))]
pub async fn propose(
    State(state): State<AppState>,
    user: AuthUser,
    PathParams(id): PathParams<i64>,
    Command(details): Command<MeetingDetails>,
) -> Result<Response> {
    let meeting = service::propose(&state, user.id, id, details).await?;
    Ok(changed(
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
    Ok(axum::Json(
        service::for_relation(&state, user.id, id).await?,
    ))
}

/// The caller's meetings not over yet, as mentor, mentee or substitute, soonest first.
#[utoipa::path(get, path = "/meetings", tag = "Meetings", security(("bearer" = [])), params(Page),
    responses((status = 200, body = Vec<Meeting>), (status = 401, body = ErrorResponse)))]
pub async fn upcoming(
    State(state): State<AppState>,
    user: AuthUser,
    QueryParams(query): QueryParams,
) -> Result<axum::Json<Vec<Meeting>>> {
    let page = Page::from_query(&query);
    Ok(axum::Json(service::upcoming(&state, user.id, page).await?))
}

/// One meeting: for its parties, its substitute and admins.
#[utoipa::path(get, path = "/meeting/{meeting_id}", tag = "Meetings", security(("bearer" = [])), params(("meeting_id" = i64, Path)),
    responses((status = 200, body = Meeting), (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
pub async fn get_meeting(
    State(state): State<AppState>,
    user: AuthUser,
    PathParams(id): PathParams<i64>,
) -> Result<axum::Json<Meeting>> {
    Ok(axum::Json(service::get(&state, user.id, id).await?))
}

/// Changes a proposed meeting (its proposer only); the other party is e-mailed.
#[utoipa::path(put, path = "/meeting/{meeting_id}", tag = "Meetings", request_body = MeetingDetails, security(("bearer" = [])),
    params(("meeting_id" = i64, Path)),
    responses((status = 200, body = MeetingChanged), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 409, body = ErrorResponse), (status = 413, body = ErrorResponse)))]
pub async fn edit_meeting(
    State(state): State<AppState>,
    user: AuthUser,
    PathParams(id): PathParams<i64>,
    Command(details): Command<MeetingDetails>,
) -> Result<Response> {
    let meeting = service::edit(&state, user.id, id, details).await?;
    Ok(changed(
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
        StatusCode::OK,
        messages::MEETING_WAS_CANCELLED,
        meeting,
    ))
}

/// Invites a substitute mentor, free at that time, to a confirmed, future meeting (its titular
/// mentor only). The invitee is e-mailed signed accept and reject links; a new invitation
/// voids earlier links (and its invitee is told).
#[utoipa::path(post, path = "/meeting/{meeting_id}/substitute", tag = "Substitutes", request_body = SubstituteInvitation,
    security(("bearer" = [])), params(("meeting_id" = i64, Path)),
    responses((status = 201, body = MeetingChanged), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 409, body = ErrorResponse), (status = 413, body = ErrorResponse)))]
pub async fn invite_substitute(
    State(state): State<AppState>,
    user: AuthUser,
    PathParams(id): PathParams<i64>,
    Command(invitation): Command<SubstituteInvitation>,
) -> Result<Response> {
    let meeting = substitutes::invite(&state, user.id, id, invitation).await?;
    Ok(changed(
        StatusCode::CREATED,
        messages::SUBSTITUTE_WAS_INVITED,
        meeting,
    ))
}

/// Ends a substitution: before an answer, the titular mentor withdraws the invitation (its links
/// stop working); after an acceptance and before the meeting starts, the titular mentor takes
/// the meeting back or the substitute steps back. Everyone concerned is told, and calendars
/// follow.
#[utoipa::path(delete, path = "/meeting/{meeting_id}/substitute", tag = "Substitutes", security(("bearer" = [])),
    params(("meeting_id" = i64, Path)),
    responses((status = 200, body = MeetingChanged), (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse),
        (status = 404, body = ErrorResponse), (status = 409, body = ErrorResponse)))]
pub async fn end_substitution(
    State(state): State<AppState>,
    user: AuthUser,
    PathParams(id): PathParams<i64>,
) -> Result<Response> {
    let meeting = substitutes::end(&state, user.id, id).await?;
    Ok(changed(
        StatusCode::OK,
        messages::INVITATION_WAS_WITHDRAWN,
        meeting,
    ))
}

/// The mentors who could stand in at a meeting (its titular mentor only): verified, available
/// to mentor, free at that time; ranked by the words their skills and interests share with the
/// mentee's, then by fewest upcoming meetings.
#[utoipa::path(get, path = "/meeting/{meeting_id}/substitute_candidates", tag = "Substitutes", security(("bearer" = [])),
    params(("meeting_id" = i64, Path), CandidateQuery),
    responses((status = 200, body = Vec<Candidate>), (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse),
        (status = 404, body = ErrorResponse), (status = 409, body = ErrorResponse, description = "Not confirmed, or started")))]
pub async fn substitute_candidates(
    State(state): State<AppState>,
    user: AuthUser,
    PathParams(id): PathParams<i64>,
    QueryParams(query): QueryParams,
) -> Result<axum::Json<Vec<Candidate>>> {
    let query = CandidateQuery::from_query(&query);
    Ok(axum::Json(
        substitutes::candidates(&state, user.id, id, query).await?,
    ))
}

/// Changes the notes of a confirmed meeting that has not ended (either party); the others are
/// told, and their calendars updated.
#[utoipa::path(put, path = "/meeting/{meeting_id}/notes", tag = "Meetings", request_body = NotesChange, security(("bearer" = [])),
    params(("meeting_id" = i64, Path)),
    responses((status = 200, body = MeetingChanged), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 409, body = ErrorResponse), (status = 413, body = ErrorResponse)))]
pub async fn change_notes(
    State(state): State<AppState>,
    user: AuthUser,
    PathParams(id): PathParams<i64>,
    Command(change): Command<NotesChange>,
) -> Result<Response> {
    let meeting = service::change_notes(&state, user.id, id, change).await?;
    Ok(changed(
        StatusCode::OK,
        messages::MEETING_NOTES_UPDATED,
        meeting,
    ))
}

/// Every substitute invitation of a meeting, oldest first, with what became of it (admins only).
#[utoipa::path(get, path = "/admin/meetings/{meeting_id}/invitations", tag = "Admins", security(("bearer" = [])),
    params(("meeting_id" = i64, Path)),
    responses((status = 200, body = Vec<Invitation>), (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse),
        (status = 404, body = ErrorResponse)))]
pub async fn invitation_history(
    State(state): State<AppState>,
    user: AuthUser,
    PathParams(id): PathParams<i64>,
) -> Result<axum::Json<Vec<Invitation>>> {
    Ok(axum::Json(substitutes::history(&state, user.id, id).await?))
}

/// Answers the invitation: the invited member, logged in (bearer token), once. (The page the
/// link opens posts its login form here, and gets a page back.)
#[utoipa::path(post, path = "/meeting/{meeting_id}/substitute/{decision}", tag = "Substitutes", security(("bearer" = [])),
    params(("meeting_id" = i64, Path), ("decision" = String, Path, description = "accept or reject"),
        ("invitee" = i64, Query), ("nonce" = String, Query), ("exp" = i64, Query), ("kid" = String, Query), ("signature" = String, Query)),
    responses((status = 200, body = MessageBody), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse, description = "Invalid or expired link, or another user"),
        (status = 404, body = ErrorResponse), (status = 409, body = ErrorResponse, description = "Already answered or no longer valid")))]
pub async fn respond_by_link(
    State(state): State<AppState>,
    MaybeAuthUser(caller): MaybeAuthUser,
    ClientIp(client): ClientIp,
    PathParams((id, decision)): PathParams<(i64, String)>,
    RawQuery(query): RawQuery,
    PageForm(form): PageForm,
) -> Response {
    let query = query.unwrap_or_default();
    if let Some(form) = form {
        return web::invitation_submitted(&state, client, (id, &decision, &query), form).await;
    }
    let outcome = substitutes::respond_by_link(&state, caller, id, &decision, &query).await;
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
    Ok(axum::Json(substitutes::pending(&state, user.id).await?))
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
        substitutes::respond_in_app(&state, user.id, id, true).await?,
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
        substitutes::respond_in_app(&state, user.id, id, false).await?,
    ))
}

/// Every meeting with its substitute status (admins only), by id; without the relations' place
/// and notes, which are the parties' own.
#[utoipa::path(get, path = "/admin/meetings", tag = "Admins", security(("bearer" = [])), params(MeetingFilter),
    responses((status = 200, body = Vec<Meeting>), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse)))]
pub async fn admin_meetings(
    State(state): State<AppState>,
    user: AuthUser,
    QueryParams(query): QueryParams,
) -> Result<axum::Json<Vec<Meeting>>> {
    Ok(axum::Json(
        service::admin_list(&state, user.id, &query).await?,
    ))
}
