//! Meetings inside a relation, and mentor substitutes invited by signed e-mail links.
//!
//! Each workflow owns its checks, its transaction and the mail it queues. Answering an
//! invitation is one conditional update, so a link works once, whatever races it.

use std::collections::HashMap;

use axum::http::StatusCode;
use serde_json::Value;

use crate::app::AppState;
use crate::domain::clock::Timestamp;
use crate::domain::meetings::{
    self as rules, CalendarEvent, INVITATION_VALID_SECS, MeetingAction, MeetingState, NOTES_MAX,
    PLACE_MAX,
};
use crate::domain::messages::{self, Message};
use crate::domain::relations::RelationState;
use crate::domain::users::{check_max_length, field_not_valid};
use crate::error::{Error, Result};
use crate::mail;
use crate::security::signed_link::{Decision, InvitationLink};
use crate::security::{random_token, token_hash};
use crate::services::require_verified_user;
use crate::store::{self, Tx, meetings::MeetingFilter, meetings::MeetingRow};

/// A meeting's proposed details, validated.
struct Details {
    start: f64,
    end: f64,
    place: Option<String>,
    notes: Option<String>,
}

fn optional_text(body: &Value, key: &str, max: usize) -> Result<Option<String>> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => {
            check_max_length(key, s, max)?;
            Ok(Some(s.clone()))
        }
        Some(_) => Err(field_not_valid(key)),
    }
}

fn parse_details(body: Option<&Value>, now: Timestamp) -> Result<Details> {
    let empty = Value::Object(Default::default());
    let body = body.filter(|b| b.is_object()).unwrap_or(&empty);
    let time = |key: &str, missing: Message| -> Result<f64> {
        match body.get(key) {
            None | Some(Value::Null) => Err(Error::bad_request(missing)),
            Some(value) => value
                .as_f64()
                .ok_or_else(|| Error::bad_request(messages::MEETING_DATES_INVALID)),
        }
    };
    let start = time("start_date", messages::START_DATE_FIELD_IS_MISSING)?;
    let end = time("end_date", messages::END_DATE_FIELD_IS_MISSING)?;
    rules::check_times(start, end, now).map_err(Error::bad_request)?;
    Ok(Details {
        start,
        end,
        place: optional_text(body, "place", PLACE_MAX)?,
        notes: optional_text(body, "notes", NOTES_MAX)?,
    })
}

/// How a meeting's time reads in an e-mail: `Tue 1 Dec 2026, 10:00-11:00 UTC`.
pub fn when(start: f64, end: f64) -> String {
    let format = |at: f64, pattern: &str| {
        chrono::DateTime::from_timestamp(at as i64, 0)
            .map(|t| t.format(pattern).to_string())
            .unwrap_or_default()
    };
    format!(
        "{}-{} UTC",
        format(start, "%a %-d %b %Y, %H:%M"),
        format(end, "%H:%M")
    )
}

fn calendar(state: &AppState, meeting: &MeetingRow, cancelled: bool, now: Timestamp) -> String {
    let host = url::Url::parse(&state.config.public_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "localhost".into());
    let summary = format!(
        "Mentorship meeting: {} and {}",
        meeting.mentor_name.as_deref().unwrap_or("mentor"),
        meeting.mentee_name.as_deref().unwrap_or("mentee")
    );
    CalendarEvent {
        uid: format!("meeting-{}@{host}", meeting.id),
        sequence: meeting.revision,
        start: meeting.start_date,
        end: meeting.end_date,
        stamp: now,
        summary: &summary,
        location: meeting.place.as_deref(),
        description: meeting.notes.as_deref(),
        cancelled,
    }
    .to_ics()
}

/// The e-mail and name of a party, other than `me`.
fn other_party(meeting: &MeetingRow, me: i64) -> Option<(String, String, String)> {
    let me_is_mentor = meeting.mentor_id == Some(me);
    let (email, name) = if me_is_mentor {
        (meeting.mentee_email.clone()?, meeting.mentee_name.clone()?)
    } else {
        (meeting.mentor_email.clone()?, meeting.mentor_name.clone()?)
    };
    let actor = if me_is_mentor {
        meeting.mentor_name.clone()
    } else {
        meeting.mentee_name.clone()
    };
    Some((email, name, actor.unwrap_or_default()))
}

async fn tell_other_party(
    state: &AppState,
    tx: &mut Tx,
    meeting: &MeetingRow,
    me: i64,
    template: &str,
    calendar_cancelled: Option<bool>,
    now: Timestamp,
) -> Result<()> {
    let Some((email, name, actor)) = other_party(meeting, me) else {
        return Ok(());
    };
    let context = serde_json::json!({
        "name": name, "other": actor, "when": when(meeting.start_date, meeting.end_date),
        "place": meeting.place, "notes": meeting.notes,
    });
    let ics = calendar_cancelled.map(|cancelled| calendar(state, meeting, cancelled, now));
    mail::queue_with_calendar(tx, template, &email, context, ics.as_deref(), now).await?;
    Ok(())
}

/// A meeting the caller may act on as a party of its relation.
async fn lock_as_party(tx: &mut Tx, me: i64, meeting_id: i64) -> Result<MeetingRow> {
    let meeting = store::meetings::lock(tx, meeting_id)
        .await?
        .ok_or_else(|| Error::not_found(messages::MEETING_DOES_NOT_EXIST))?;
    if !meeting.is_party(me) {
        return Err(Error::forbidden(messages::NOT_INVOLVED_IN_MEETING));
    }
    Ok(meeting)
}

fn status_error((status, message): (u16, Message)) -> Error {
    Error::new(
        StatusCode::from_u16(status).unwrap_or(StatusCode::CONFLICT),
        message,
    )
}

/// `POST /mentorship_relation/<id>/meeting`: either party proposes a meeting.
pub async fn propose(
    state: &AppState,
    me: i64,
    relation_id: i64,
    body: Option<&Value>,
) -> Result<MeetingRow> {
    let now = state.clock.now();
    let details = parse_details(body, now)?;
    require_verified_user(state, me).await?;
    let relation = store::relations::get(&state.db, relation_id)
        .await?
        .ok_or_else(|| Error::not_found(messages::MENTORSHIP_RELATION_DOES_NOT_EXIST))?;
    if !relation.involves(me) {
        return Err(Error::forbidden(
            messages::USER_NOT_INVOLVED_IN_THIS_MENTOR_RELATION,
        ));
    }
    let (Some(mentor_id), Some(mentee_id)) = (relation.mentor_id, relation.mentee_id) else {
        return Err(Error::forbidden(messages::UNACCEPTED_STATE_RELATION));
    };
    if relation.state != RelationState::Accepted as i64 {
        return Err(Error::forbidden(messages::UNACCEPTED_STATE_RELATION));
    }
    let mut tx = state.db.begin().await?;
    let new = store::meetings::NewMeeting {
        relation_id,
        mentor_id,
        mentee_id,
        proposer_id: me,
        start_date: details.start,
        end_date: details.end,
        place: details.place.as_deref(),
        notes: details.notes.as_deref(),
        now,
    };
    let id = store::meetings::insert(&mut tx, &new).await?;
    let meeting = store::meetings::lock(&mut tx, id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the new meeting is there"))?;
    tell_other_party(state, &mut tx, &meeting, me, "meeting_proposed", None, now).await?;
    state.commit_with_mail(tx).await?;
    Ok(meeting)
}

/// `GET /mentorship_relation/<id>/meetings`.
pub async fn for_relation(state: &AppState, me: i64, relation_id: i64) -> Result<Vec<MeetingRow>> {
    require_verified_user(state, me).await?;
    let relation = store::relations::get(&state.db, relation_id)
        .await?
        .ok_or_else(|| Error::not_found(messages::MENTORSHIP_RELATION_DOES_NOT_EXIST))?;
    if !relation.involves(me) {
        return Err(Error::forbidden(
            messages::USER_NOT_INVOLVED_IN_THIS_MENTOR_RELATION,
        ));
    }
    Ok(store::meetings::for_relation(&state.db, relation_id).await?)
}

pub const MAX_PER_PAGE: i64 = 100;

/// `page` (from 1) and `per_page` (default 20, at most 100) of a list.
pub fn page(query: &HashMap<String, String>) -> (i64, i64) {
    let int = |key: &str, default: i64| {
        query
            .get(key)
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(default)
    };
    let per_page = int("per_page", 20).clamp(0, MAX_PER_PAGE);
    let page = int("page", 1).max(1);
    (per_page, (page - 1).saturating_mul(per_page))
}

/// `GET /meetings`: the caller's meetings not over yet, as mentor, mentee or substitute.
pub async fn upcoming(
    state: &AppState,
    me: i64,
    query: &HashMap<String, String>,
) -> Result<Vec<MeetingRow>> {
    let (limit, offset) = page(query);
    Ok(store::meetings::upcoming_for(&state.db, me, state.clock.now(), limit, offset).await?)
}

/// `GET /meeting/<id>`: the parties, the substitute (invited or accepted) and admins may read it.
pub async fn get(state: &AppState, me: i64, meeting_id: i64) -> Result<MeetingRow> {
    let meeting = store::meetings::get(&state.db, meeting_id)
        .await?
        .ok_or_else(|| Error::not_found(messages::MEETING_DOES_NOT_EXIST))?;
    let substitute = meeting.substitute_user_id == Some(me)
        && meeting.substitute_status.as_deref() != Some("rejected");
    if meeting.is_party(me) || substitute {
        return Ok(meeting);
    }
    let is_admin = store::users::find_by_id(&state.db, me)
        .await?
        .is_some_and(|u| u.is_admin);
    if is_admin {
        Ok(meeting)
    } else {
        Err(Error::forbidden(messages::NOT_INVOLVED_IN_MEETING))
    }
}

/// `PUT /meeting/<id>`: the proposer changes a meeting still proposed.
pub async fn edit(
    state: &AppState,
    me: i64,
    meeting_id: i64,
    body: Option<&Value>,
) -> Result<MeetingRow> {
    let now = state.clock.now();
    let details = parse_details(body, now)?;
    let mut tx = state.db.begin().await?;
    let meeting = lock_as_party(&mut tx, me, meeting_id).await?;
    let stored = MeetingState::parse(&meeting.state).unwrap_or(MeetingState::Cancelled);
    rules::transition(
        stored,
        MeetingAction::Edit,
        meeting.proposer_id == me,
        meeting.start_date <= now,
    )
    .map_err(status_error)?;
    store::meetings::update_details(
        &mut tx,
        meeting_id,
        details.start,
        details.end,
        details.place.as_deref(),
        details.notes.as_deref(),
        now,
    )
    .await?;
    let meeting = store::meetings::lock(&mut tx, meeting_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the meeting is there"))?;
    tell_other_party(
        state,
        &mut tx,
        &meeting,
        me,
        "meeting_changed",
        Some(false),
        now,
    )
    .await?;
    state.commit_with_mail(tx).await?;
    Ok(meeting)
}

/// `PUT /meeting/<id>/accept` and `/decline`: the party who did not propose answers.
pub async fn answer(
    state: &AppState,
    me: i64,
    meeting_id: i64,
    accept: bool,
) -> Result<MeetingRow> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let meeting = lock_as_party(&mut tx, me, meeting_id).await?;
    let stored = MeetingState::parse(&meeting.state).unwrap_or(MeetingState::Cancelled);
    let action = if accept {
        MeetingAction::Accept
    } else {
        MeetingAction::Decline
    };
    let next = rules::transition(
        stored,
        action,
        meeting.proposer_id == me,
        meeting.start_date <= now,
    )
    .map_err(status_error)?;
    if next == MeetingState::Confirmed {
        // Serialize confirmations per mentor: the overlap check and the update are one step.
        if let Some(mentor_id) = meeting.mentor_id {
            store::users::lock_by_id(&mut tx, mentor_id).await?;
            if store::meetings::delivers_overlapping(
                &mut tx,
                mentor_id,
                meeting.start_date,
                meeting.end_date,
                meeting.id,
            )
            .await?
            {
                return Err(Error::conflict(messages::MENTOR_HAS_OVERLAPPING_MEETING));
            }
        }
    }
    store::meetings::change_state(&mut tx, meeting_id, &meeting.state, next.as_str(), now).await?;
    let meeting = store::meetings::lock(&mut tx, meeting_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the meeting is there"))?;
    let (template, calendar) = if accept {
        ("meeting_confirmed", Some(false))
    } else {
        ("meeting_declined", None)
    };
    tell_other_party(state, &mut tx, &meeting, me, template, calendar, now).await?;
    state.commit_with_mail(tx).await?;
    Ok(meeting)
}

/// `PUT /meeting/<id>/cancel`: either party, before the meeting starts.
pub async fn cancel(state: &AppState, me: i64, meeting_id: i64) -> Result<MeetingRow> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let meeting = lock_as_party(&mut tx, me, meeting_id).await?;
    let stored = MeetingState::parse(&meeting.state).unwrap_or(MeetingState::Cancelled);
    rules::transition(
        stored,
        MeetingAction::Cancel,
        meeting.proposer_id == me,
        meeting.start_date <= now,
    )
    .map_err(status_error)?;
    store::meetings::change_state(&mut tx, meeting_id, &meeting.state, "cancelled", now).await?;
    let meeting = store::meetings::lock(&mut tx, meeting_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the meeting is there"))?;
    tell_other_party(
        state,
        &mut tx,
        &meeting,
        me,
        "meeting_cancelled",
        Some(true),
        now,
    )
    .await?;
    if let (Some(_), Some(email), Some(name)) = (
        meeting.accepted_substitute(),
        &meeting.substitute_email,
        &meeting.substitute_name,
    ) {
        let actor = if meeting.mentor_id == Some(me) {
            &meeting.mentor_name
        } else {
            &meeting.mentee_name
        };
        let context = serde_json::json!({"name": name, "other": actor, "when": when(meeting.start_date, meeting.end_date)});
        let ics = calendar(state, &meeting, true, now);
        mail::queue_with_calendar(
            &mut tx,
            "meeting_cancelled",
            email,
            context,
            Some(&ics),
            now,
        )
        .await?;
    }
    state.commit_with_mail(tx).await?;
    Ok(meeting)
}

/// `POST /meeting/<id>/substitute`: the titular mentor of a confirmed, future meeting invites
/// another mentor. A new invitation replaces the previous one and kills its links.
pub async fn invite_substitute(
    state: &AppState,
    me: i64,
    meeting_id: i64,
    body: Option<&Value>,
) -> Result<MeetingRow> {
    let invitee_id = match body.and_then(|b| b.get("user_id")) {
        None | Some(Value::Null) => {
            return Err(Error::bad_request(messages::USER_ID_FIELD_IS_MISSING));
        }
        Some(value) => value.as_i64().ok_or_else(|| field_not_valid("user_id"))?,
    };
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let meeting = lock_as_party(&mut tx, me, meeting_id).await?;
    if meeting.mentor_id != Some(me) {
        return Err(Error::forbidden(messages::ONLY_TITULAR_MENTOR_CAN_INVITE));
    }
    if invitee_id == me {
        return Err(Error::bad_request(messages::CANT_INVITE_YOURSELF));
    }
    if meeting.mentee_id == Some(invitee_id) {
        return Err(Error::bad_request(messages::CANT_INVITE_MENTEE));
    }
    if meeting.state != "confirmed" {
        return Err(Error::conflict(messages::MEETING_NOT_CONFIRMED));
    }
    if meeting.start_date <= now {
        return Err(Error::conflict(messages::MEETING_ALREADY_STARTED));
    }
    if meeting.accepted_substitute().is_some() {
        return Err(Error::conflict(messages::SUBSTITUTE_ALREADY_ACCEPTED));
    }
    let invitee = store::users::lock_by_id(&mut tx, invitee_id)
        .await?
        .ok_or_else(|| Error::not_found(messages::USER_DOES_NOT_EXIST))?;
    if !invitee.is_email_verified {
        return Err(Error::bad_request(messages::SUBSTITUTE_NOT_VERIFIED));
    }
    if !invitee.available_to_mentor {
        return Err(Error::bad_request(messages::SUBSTITUTE_NOT_AVAILABLE));
    }

    let nonce = random_token()[..22].to_owned();
    store::meetings::invite(&mut tx, meeting_id, invitee_id, &token_hash(&nonce), now).await?;
    let expires_at = (now + INVITATION_VALID_SECS)
        .min(meeting.start_date)
        .floor() as i64;
    let link = |decision| InvitationLink {
        meeting_id,
        decision,
        invitee_id,
        nonce: nonce.clone(),
        expires_at,
        key_id: state.keys.signed_links_key_id.clone(),
    };
    let key = &state.keys.signed_links;
    let context = serde_json::json!({
        "name": invitee.name,
        "mentor": meeting.mentor_name, "mentee": meeting.mentee_name,
        "when": when(meeting.start_date, meeting.end_date), "place": meeting.place,
        "accept_link": link(Decision::Accept).url(&state.config.public_url, key),
        "reject_link": link(Decision::Reject).url(&state.config.public_url, key),
        "expires": crate::domain::clock::iso_naive(expires_at as f64).replace('T', " ")[..16].to_owned() + " UTC",
    });
    mail::queue(
        &mut tx,
        "substitute_invitation",
        &invitee.email,
        context,
        now,
    )
    .await?;
    let meeting = store::meetings::lock(&mut tx, meeting_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the meeting is there"))?;
    state.commit_with_mail(tx).await?;
    tracing::info!(meeting_id, invitee_id, "substitute invited");
    Ok(meeting)
}

/// `DELETE /meeting/<id>/substitute`: the titular mentor withdraws a pending invitation.
pub async fn withdraw_substitute(state: &AppState, me: i64, meeting_id: i64) -> Result<MeetingRow> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let meeting = lock_as_party(&mut tx, me, meeting_id).await?;
    if meeting.mentor_id != Some(me) {
        return Err(Error::forbidden(messages::ONLY_TITULAR_MENTOR_CAN_INVITE));
    }
    if store::meetings::withdraw_invitation(&mut tx, meeting_id, now).await? == 0 {
        return Err(Error::conflict(messages::NO_PENDING_INVITATION));
    }
    let meeting = store::meetings::lock(&mut tx, meeting_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the meeting is there"))?;
    tx.commit().await?;
    Ok(meeting)
}

/// `GET /substitute_invitations`.
pub async fn pending_invitations(state: &AppState, me: i64) -> Result<Vec<MeetingRow>> {
    Ok(store::meetings::pending_invitations_for(&state.db, me, state.clock.now()).await?)
}

/// What a signed link found, checked in security.md's order up to (not including) who the
/// caller is: shape and signature, then expiry.
pub fn check_link(
    state: &AppState,
    meeting_id: i64,
    decision: &str,
    raw_query: &str,
) -> Result<InvitationLink> {
    let invalid = || Error::forbidden(messages::INVITATION_LINK_INVALID);
    let decision = Decision::parse(decision).ok_or_else(invalid)?;
    let link = InvitationLink::verify(
        meeting_id,
        decision,
        raw_query,
        &state.keys.signed_links,
        &state.keys.signed_links_key_id,
    )
    .ok_or_else(|| {
        tracing::warn!(
            meeting_id,
            "substitute invitation link refused: bad shape or signature"
        );
        invalid()
    })?;
    if state.clock.now().floor() as i64 > link.expires_at {
        return Err(Error::forbidden(messages::INVITATION_LINK_EXPIRED));
    }
    Ok(link)
}

/// `POST` on an invitation link: signature, expiry, then the caller must be the invitee
/// (401 without a valid token, 403 for anyone else), then the answer, once.
/// `caller` is the outcome of authenticating the request, looked at only after the link.
pub async fn respond_by_link(
    state: &AppState,
    caller: Result<i64>,
    meeting_id: i64,
    decision: &str,
    raw_query: &str,
) -> Result<Message> {
    let link = check_link(state, meeting_id, decision, raw_query)?;
    let me = caller?;
    if me != link.invitee_id {
        return Err(Error::forbidden(messages::INVITATION_FOR_ANOTHER_USER));
    }
    respond(
        state,
        me,
        meeting_id,
        Some(&token_hash(&link.nonce)),
        link.decision == Decision::Accept,
    )
    .await
}

/// `PUT /substitute_invitations/<meeting_id>/accept|reject`: the invitee answers from the app.
pub async fn respond_in_app(
    state: &AppState,
    me: i64,
    meeting_id: i64,
    accept: bool,
) -> Result<Message> {
    let meeting = store::meetings::get(&state.db, meeting_id)
        .await?
        .ok_or_else(|| Error::not_found(messages::MEETING_DOES_NOT_EXIST))?;
    if meeting.substitute_user_id != Some(me) {
        return Err(Error::forbidden(messages::INVITATION_FOR_ANOTHER_USER));
    }
    respond(state, me, meeting_id, None, accept).await
}

/// Records the answer with one conditional update: of two racing answers one wins, the other
/// gets 409 and sends no mail.
async fn respond(
    state: &AppState,
    me: i64,
    meeting_id: i64,
    nonce_hash: Option<&str>,
    accept: bool,
) -> Result<Message> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let meeting = store::meetings::lock(&mut tx, meeting_id)
        .await?
        .ok_or_else(|| Error::not_found(messages::MEETING_DOES_NOT_EXIST))?;
    if accept && meeting.pending_invitee() == Some(me) {
        store::users::lock_by_id(&mut tx, me).await?;
        if store::meetings::delivers_overlapping(
            &mut tx,
            me,
            meeting.start_date,
            meeting.end_date,
            meeting.id,
        )
        .await?
        {
            return Err(Error::conflict(messages::SUBSTITUTE_IS_BUSY));
        }
    }
    if store::meetings::answer_invitation(&mut tx, meeting_id, me, nonce_hash, accept, now).await?
        == 0
    {
        return Err(Error::conflict(messages::INVITATION_NOT_PENDING));
    }
    let meeting = store::meetings::lock(&mut tx, meeting_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the meeting is there"))?;
    let substitute = meeting.substitute_name.clone().unwrap_or_default();
    let base = serde_json::json!({
        "substitute": substitute, "mentor": meeting.mentor_name, "mentee": meeting.mentee_name,
        "when": when(meeting.start_date, meeting.end_date),
    });
    let with_name = |name: &Option<String>| {
        let mut context = base.clone();
        context["name"] = serde_json::json!(name);
        context
    };
    if let Some(mentor_email) = &meeting.mentor_email {
        let template = if accept {
            "substitute_accepted"
        } else {
            "substitute_rejected"
        };
        mail::queue(
            &mut tx,
            template,
            mentor_email,
            with_name(&meeting.mentor_name),
            now,
        )
        .await?;
    }
    if accept && let Some(mentee_email) = &meeting.mentee_email {
        let ics = calendar(state, &meeting, false, now);
        mail::queue_with_calendar(
            &mut tx,
            "substitute_mentee_notice",
            mentee_email,
            with_name(&meeting.mentee_name),
            Some(&ics),
            now,
        )
        .await?;
    }
    state.commit_with_mail(tx).await?;
    tracing::info!(
        meeting_id,
        substitute = me,
        accepted = accept,
        "substitute invitation answered"
    );
    Ok(if accept {
        messages::SUBSTITUTE_ACCEPTED
    } else {
        messages::SUBSTITUTE_REJECTED
    })
}

/// `GET /admin/meetings`.
pub async fn admin_list(
    state: &AppState,
    me: i64,
    query: &HashMap<String, String>,
) -> Result<Vec<MeetingRow>> {
    let is_admin = store::users::find_by_id(&state.db, me)
        .await?
        .is_some_and(|u| u.is_admin);
    if !is_admin {
        return Err(Error::forbidden(messages::USER_IS_NOT_AN_ADMIN));
    }
    let pick = |key: &str, allowed: &[&str]| -> Result<Option<String>> {
        match query
            .get(key)
            .map(|v| v.trim().to_ascii_lowercase())
            .filter(|v| !v.is_empty())
        {
            None => Ok(None),
            Some(v) if allowed.contains(&v.as_str()) => Ok(Some(v)),
            Some(_) => Err(Error::bad_request(messages::INVALID_MEETING_FILTER)),
        }
    };
    let filter = MeetingFilter {
        state: pick(
            "state",
            &[
                "proposed",
                "confirmed",
                "declined",
                "cancelled",
                "completed",
            ],
        )?,
        substitute_status: pick("substitute_status", &["pending", "accepted", "rejected"])?,
    };
    let (limit, offset) = page(query);
    Ok(store::meetings::list_all(&state.db, &filter, state.clock.now(), limit, offset).await?)
}
