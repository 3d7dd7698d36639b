//! Meetings inside a relation, and mentor substitutes invited by signed e-mail links.
//!
//! Each workflow owns its checks, its unit of work and the mail it queues. Answering an
//! invitation is one conditional update, so a link works once, whatever races it.

use std::collections::HashMap;

use crate::domain::Page;
use crate::domain::clock::{Timestamp, iso_naive};
use crate::domain::meetings::{
    self as rules, CalendarEvent, INVITATION_VALID_SECS, InvitationSummary, Meeting, MeetingAction,
    MeetingDetails, MeetingFilter, MeetingState, Person, SubstituteInvitation, when,
};
use crate::domain::messages::{self, Message};
use crate::domain::relations::RelationState;
use crate::error::{Error, Result};
use crate::mail::Outgoing;
use crate::security::signed_link::{Decision, InvitationLink};
use crate::security::{random_token, token_hash};
use crate::services::{is_admin, require_verified_user};
use crate::state::{AppState, UnitOfWork};
use crate::store::{self, meetings::MeetingRow};

/// A meeting as the API shows it at `now`.
pub fn meeting_view(m: MeetingRow, now: Timestamp) -> Meeting {
    Meeting {
        id: m.id,
        relation_id: m.relation_id,
        proposer_id: m.proposer_id,
        start_date: m.start_date,
        end_date: m.end_date,
        state: m.state.shown(m.end_date, now),
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
        substitute_status: m.substitute_status.map(|s| s.as_str()),
        substitute_invited_at: m.substitute_invited_at,
        substitute_responded_at: m.substitute_responded_at,
    }
}

fn views(state: &AppState, rows: Vec<MeetingRow>) -> Vec<Meeting> {
    let now = state.clock.now();
    rows.into_iter().map(|m| meeting_view(m, now)).collect()
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

/// The e-mail and name of the party other than `me`, and `me`'s name.
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

/// Tells the other party what `me` did, with the meeting's calendar event (`Some(cancelled)`)
/// or without one (`None`).
fn tell_other_party(
    state: &AppState,
    work: &mut UnitOfWork<'_>,
    meeting: &MeetingRow,
    me: i64,
    template: &'static str,
    calendar_cancelled: Option<bool>,
    now: Timestamp,
) -> Result<()> {
    let Some((email, name, actor)) = other_party(meeting, me) else {
        return Ok(());
    };
    work.queue_mail(Outgoing {
        template,
        recipient: &email,
        context: serde_json::json!({
            "name": name, "other": actor, "when": when(meeting.start_date, meeting.end_date),
            "place": meeting.place, "notes": meeting.notes,
        }),
        calendar: calendar_cancelled.map(|cancelled| calendar(state, meeting, cancelled, now)),
    })
}

/// A meeting the caller may act on as a party of its relation, locked.
async fn lock_as_party(work: &mut UnitOfWork<'_>, me: i64, meeting_id: i64) -> Result<MeetingRow> {
    let meeting = store::meetings::find(work.tx(), meeting_id)
        .await?
        .ok_or_else(|| Error::not_found(messages::MEETING_DOES_NOT_EXIST))?;
    if !meeting.is_party(me) {
        return Err(Error::forbidden(messages::NOT_INVOLVED_IN_MEETING));
    }
    Ok(meeting)
}

/// The meeting again, as the unit of work now sees it.
async fn reread(work: &mut UnitOfWork<'_>, meeting_id: i64) -> Result<MeetingRow> {
    store::meetings::find(work.tx(), meeting_id)
        .await?
        .ok_or_else(|| {
            anyhow::anyhow!("meeting {meeting_id} vanished inside its transaction").into()
        })
}

/// `POST /mentorship_relation/<id>/meeting`: either party proposes a meeting.
pub async fn propose(
    state: &AppState,
    me: i64,
    relation_id: i64,
    details: MeetingDetails,
) -> Result<Meeting> {
    let now = state.clock.now();
    details.check_times(now)?;
    require_verified_user(state, me).await?;
    let mut work = state.unit_of_work().await?;
    let relation = store::relations::find(work.tx(), relation_id)
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
    if relation.state != RelationState::Accepted {
        return Err(Error::forbidden(messages::UNACCEPTED_STATE_RELATION));
    }
    let new = store::meetings::NewMeeting {
        relation_id,
        mentor_id,
        mentee_id,
        proposer_id: me,
        start_date: details.start_date,
        end_date: details.end_date,
        place: details.place.as_deref(),
        notes: details.notes.as_deref(),
        now,
    };
    let id = store::meetings::insert(work.tx(), &new).await?;
    let meeting = reread(&mut work, id).await?;
    tell_other_party(
        state,
        &mut work,
        &meeting,
        me,
        "meeting_proposed",
        None,
        now,
    )?;
    work.commit().await?;
    Ok(meeting_view(meeting, now))
}

/// `GET /mentorship_relation/<id>/meetings`.
pub async fn for_relation(state: &AppState, me: i64, relation_id: i64) -> Result<Vec<Meeting>> {
    require_verified_user(state, me).await?;
    let relation = store::relations::find(&state.db, relation_id)
        .await?
        .ok_or_else(|| Error::not_found(messages::MENTORSHIP_RELATION_DOES_NOT_EXIST))?;
    if !relation.involves(me) {
        return Err(Error::forbidden(
            messages::USER_NOT_INVOLVED_IN_THIS_MENTOR_RELATION,
        ));
    }
    let rows = store::meetings::for_relation(&state.db, relation_id).await?;
    Ok(views(state, rows))
}

/// `GET /meetings`: the caller's meetings not over yet, as mentor, mentee or substitute.
pub async fn upcoming(state: &AppState, me: i64, page: Page) -> Result<Vec<Meeting>> {
    let rows =
        store::meetings::upcoming_for(&state.db, me, state.clock.now(), page.limit, page.offset)
            .await?;
    Ok(views(state, rows))
}

/// `GET /meeting/<id>`: the parties, the substitute (invited or accepted) and admins may read it.
pub async fn get(state: &AppState, me: i64, meeting_id: i64) -> Result<Meeting> {
    let meeting = store::meetings::find(&state.db, meeting_id)
        .await?
        .ok_or_else(|| Error::not_found(messages::MEETING_DOES_NOT_EXIST))?;
    let substitute = meeting.substitute_user_id == Some(me)
        && meeting.substitute_status != Some(rules::SubstituteStatus::Rejected);
    if meeting.is_party(me) || substitute || is_admin(state, me).await? {
        Ok(meeting_view(meeting, state.clock.now()))
    } else {
        Err(Error::forbidden(messages::NOT_INVOLVED_IN_MEETING))
    }
}

/// `PUT /meeting/<id>`: the proposer changes a meeting still proposed.
pub async fn edit(
    state: &AppState,
    me: i64,
    meeting_id: i64,
    details: MeetingDetails,
) -> Result<Meeting> {
    let now = state.clock.now();
    details.check_times(now)?;
    let mut work = state.unit_of_work().await?;
    let meeting = lock_as_party(&mut work, me, meeting_id).await?;
    rules::transition(
        meeting.state,
        MeetingAction::Edit,
        meeting.proposer_id == me,
        meeting.start_date <= now,
    )?;
    store::meetings::update_details(
        work.tx(),
        meeting_id,
        details.start_date,
        details.end_date,
        details.place.as_deref(),
        details.notes.as_deref(),
        now,
    )
    .await?;
    let meeting = reread(&mut work, meeting_id).await?;
    tell_other_party(
        state,
        &mut work,
        &meeting,
        me,
        "meeting_changed",
        Some(false),
        now,
    )?;
    work.commit().await?;
    Ok(meeting_view(meeting, now))
}

/// `PUT /meeting/<id>/accept` and `/decline`: the party who did not propose answers.
pub async fn answer(state: &AppState, me: i64, meeting_id: i64, accept: bool) -> Result<Meeting> {
    let now = state.clock.now();
    let mut work = state.unit_of_work().await?;
    let meeting = lock_as_party(&mut work, me, meeting_id).await?;
    let action = if accept {
        MeetingAction::Accept
    } else {
        MeetingAction::Decline
    };
    let next = rules::transition(
        meeting.state,
        action,
        meeting.proposer_id == me,
        meeting.start_date <= now,
    )?;
    if next == MeetingState::Confirmed
        && let Some(mentor_id) = meeting.mentor_id
    {
        // Confirmations are serialized per mentor: the overlap check and the update are one step.
        store::users::lock_by_id(work.tx(), mentor_id).await?;
        if store::meetings::delivers_overlapping(
            work.tx(),
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
    store::meetings::change_state(work.tx(), meeting_id, meeting.state, next, now).await?;
    let meeting = reread(&mut work, meeting_id).await?;
    let (template, calendar) = if accept {
        ("meeting_confirmed", Some(false))
    } else {
        ("meeting_declined", None)
    };
    tell_other_party(state, &mut work, &meeting, me, template, calendar, now)?;
    work.commit().await?;
    Ok(meeting_view(meeting, now))
}

/// `PUT /meeting/<id>/cancel`: either party, before the meeting starts.
pub async fn cancel(state: &AppState, me: i64, meeting_id: i64) -> Result<Meeting> {
    let now = state.clock.now();
    let mut work = state.unit_of_work().await?;
    let meeting = lock_as_party(&mut work, me, meeting_id).await?;
    let next = rules::transition(
        meeting.state,
        MeetingAction::Cancel,
        meeting.proposer_id == me,
        meeting.start_date <= now,
    )?;
    store::meetings::change_state(work.tx(), meeting_id, meeting.state, next, now).await?;
    let meeting = reread(&mut work, meeting_id).await?;
    tell_other_party(
        state,
        &mut work,
        &meeting,
        me,
        "meeting_cancelled",
        Some(true),
        now,
    )?;
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
        work.queue_mail(Outgoing {
            template: "meeting_cancelled",
            recipient: email,
            context: serde_json::json!({
                "name": name, "other": actor, "when": when(meeting.start_date, meeting.end_date),
            }),
            calendar: Some(calendar(state, &meeting, true, now)),
        })?;
    }
    work.commit().await?;
    Ok(meeting_view(meeting, now))
}

/// `POST /meeting/<id>/substitute`: the titular mentor of a confirmed, future meeting invites
/// another mentor. A new invitation replaces the previous one and kills its links.
pub async fn invite_substitute(
    state: &AppState,
    me: i64,
    meeting_id: i64,
    invitation: SubstituteInvitation,
) -> Result<Meeting> {
    let invitee_id = invitation.user_id;
    let now = state.clock.now();
    let mut work = state.unit_of_work().await?;
    let meeting = lock_as_party(&mut work, me, meeting_id).await?;
    if meeting.mentor_id != Some(me) {
        return Err(Error::forbidden(messages::ONLY_TITULAR_MENTOR_CAN_INVITE));
    }
    if invitee_id == me {
        return Err(Error::invalid(messages::CANT_INVITE_YOURSELF));
    }
    if meeting.mentee_id == Some(invitee_id) {
        return Err(Error::invalid(messages::CANT_INVITE_MENTEE));
    }
    if meeting.state != MeetingState::Confirmed {
        return Err(Error::conflict(messages::MEETING_NOT_CONFIRMED));
    }
    if meeting.start_date <= now {
        return Err(Error::conflict(messages::MEETING_ALREADY_STARTED));
    }
    if meeting.accepted_substitute().is_some() {
        return Err(Error::conflict(messages::SUBSTITUTE_ALREADY_ACCEPTED));
    }
    let invitee = store::users::lock_by_id(work.tx(), invitee_id)
        .await?
        .ok_or_else(|| Error::not_found(messages::USER_DOES_NOT_EXIST))?;
    if !invitee.is_email_verified {
        return Err(Error::invalid(messages::SUBSTITUTE_NOT_VERIFIED));
    }
    if !invitee.available_to_mentor {
        return Err(Error::invalid(messages::SUBSTITUTE_NOT_AVAILABLE));
    }

    let nonce = random_token()[..22].to_owned();
    store::meetings::invite(work.tx(), meeting_id, invitee_id, &token_hash(&nonce), now).await?;
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
    work.queue_mail(Outgoing {
        template: "substitute_invitation",
        recipient: &invitee.email,
        context: serde_json::json!({
            "name": invitee.name,
            "mentor": meeting.mentor_name, "mentee": meeting.mentee_name,
            "when": when(meeting.start_date, meeting.end_date), "place": meeting.place,
            "accept_link": link(Decision::Accept).url(&state.config.public_url, key),
            "reject_link": link(Decision::Reject).url(&state.config.public_url, key),
            "expires": iso_naive(expires_at as f64).replace('T', " ")[..16].to_owned() + " UTC",
        }),
        calendar: None,
    })?;
    let meeting = reread(&mut work, meeting_id).await?;
    work.commit().await?;
    tracing::info!(meeting_id, invitee_id, "substitute invited");
    Ok(meeting_view(meeting, now))
}

/// `DELETE /meeting/<id>/substitute`: the titular mentor withdraws a pending invitation.
pub async fn withdraw_substitute(state: &AppState, me: i64, meeting_id: i64) -> Result<Meeting> {
    let now = state.clock.now();
    let mut work = state.unit_of_work().await?;
    let meeting = lock_as_party(&mut work, me, meeting_id).await?;
    if meeting.mentor_id != Some(me) {
        return Err(Error::forbidden(messages::ONLY_TITULAR_MENTOR_CAN_INVITE));
    }
    if store::meetings::withdraw_invitation(work.tx(), meeting_id, now).await? == 0 {
        return Err(Error::conflict(messages::NO_PENDING_INVITATION));
    }
    let meeting = reread(&mut work, meeting_id).await?;
    work.commit().await?;
    Ok(meeting_view(meeting, now))
}

/// `GET /substitute_invitations`.
pub async fn pending_invitations(state: &AppState, me: i64) -> Result<Vec<Meeting>> {
    let rows = store::meetings::pending_invitations_for(&state.db, me, state.clock.now()).await?;
    Ok(views(state, rows))
}

/// What a signed link found, checked in order up to (not including) who the caller is: shape
/// and signature, then expiry. Every shape or signature failure gives the same answer.
fn check_link(
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

/// What the page an invitation link opens shows, once the link checks out. Changes nothing
/// (mail scanners open links).
pub async fn invitation_summary(
    state: &AppState,
    meeting_id: i64,
    decision: &str,
    raw_query: &str,
) -> Result<InvitationSummary> {
    let link = check_link(state, meeting_id, decision, raw_query)?;
    let meeting = store::meetings::find(&state.db, meeting_id)
        .await?
        .ok_or_else(|| Error::not_found(messages::MEETING_DOES_NOT_EXIST))?;
    // A link no longer live (answered, withdrawn, replaced by a newer invitation, or its
    // meeting cancelled or started) shows nothing of the meeting: one sentence says so.
    let live = meeting.pending_invitee() == Some(link.invitee_id)
        && meeting.substitute_nonce_hash.as_deref() == Some(token_hash(&link.nonce).as_str())
        && meeting.state == MeetingState::Confirmed
        && meeting.start_date > state.clock.now();
    if !live {
        return Err(Error::conflict(messages::INVITATION_NOT_PENDING));
    }
    Ok(InvitationSummary {
        when: when(meeting.start_date, meeting.end_date),
        mentor: meeting.mentor_name,
        mentee: meeting.mentee_name,
        invitee: meeting.substitute_name,
        place: meeting.place,
        decision: link.decision.as_str(),
    })
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
    let meeting = store::meetings::find(&state.db, meeting_id)
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
    let mut work = state.unit_of_work().await?;
    let meeting = store::meetings::find(work.tx(), meeting_id)
        .await?
        .ok_or_else(|| Error::not_found(messages::MEETING_DOES_NOT_EXIST))?;
    if accept && meeting.pending_invitee() == Some(me) {
        store::users::lock_by_id(work.tx(), me).await?;
        if store::meetings::delivers_overlapping(
            work.tx(),
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
    if store::meetings::answer_invitation(work.tx(), meeting_id, me, nonce_hash, accept, now)
        .await?
        == 0
    {
        return Err(Error::conflict(messages::INVITATION_NOT_PENDING));
    }
    let meeting = reread(&mut work, meeting_id).await?;
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
        work.queue_mail(Outgoing {
            template: if accept {
                "substitute_accepted"
            } else {
                "substitute_rejected"
            },
            recipient: mentor_email,
            context: with_name(&meeting.mentor_name),
            calendar: None,
        })?;
    }
    if accept && let Some(mentee_email) = &meeting.mentee_email {
        work.queue_mail(Outgoing {
            template: "substitute_mentee_notice",
            recipient: mentee_email,
            context: with_name(&meeting.mentee_name),
            calendar: Some(calendar(state, &meeting, false, now)),
        })?;
    }
    work.commit().await?;
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
) -> Result<Vec<Meeting>> {
    if !is_admin(state, me).await? {
        return Err(Error::forbidden(messages::USER_IS_NOT_AN_ADMIN));
    }
    let filter = MeetingFilter::from_query(query)?;
    let rows = store::meetings::list_all(&state.db, &filter, state.clock.now()).await?;
    Ok(views(state, rows))
}
