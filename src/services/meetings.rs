//! Meetings inside a relation: proposing, changing, answering and cancelling them, their notes,
//! and the lists that show them. Substitute mentors are in [`super::substitutes`].
//!
//! Each workflow owns its checks, its unit of work and the mail it queues; who is told, and
//! whose calendar follows, is [`super::meeting_mail`]'s business.

use std::collections::HashMap;

use crate::domain::Page;
use crate::domain::audit::{self, Event};
use crate::domain::calendar::Method;
use crate::domain::clock::Timestamp;
use crate::domain::meetings::{
    self as rules, InvitationStatus, Meeting, MeetingAction, MeetingDetails, MeetingFilter,
    MeetingState, NotesChange, Person, SubstituteStatus,
};
use crate::domain::messages;
use crate::domain::relations::RelationState;
use crate::error::{Error, Result};
use crate::services::meeting_mail::{self as mail, Recipient};
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

/// A meeting as someone outside it sees it (an admin running the program): the relation's
/// private data, its place and notes, left out.
fn outsider_view(m: MeetingRow, now: Timestamp) -> Meeting {
    let mut view = meeting_view(m, now);
    view.place = None;
    view.notes = None;
    view
}

fn views(state: &AppState, rows: Vec<MeetingRow>) -> Vec<Meeting> {
    let now = state.clock.now();
    rows.into_iter().map(|m| meeting_view(m, now)).collect()
}

/// A meeting the caller may act on as a party of its relation, locked.
pub(super) async fn lock_as_party(
    work: &mut UnitOfWork<'_>,
    me: i64,
    meeting_id: i64,
) -> Result<MeetingRow> {
    let meeting = store::meetings::find(work.tx(), meeting_id)
        .await?
        .ok_or_else(|| Error::not_found(messages::MEETING_DOES_NOT_EXIST))?;
    if !meeting.is_party(me) {
        return Err(Error::forbidden(messages::NOT_INVOLVED_IN_MEETING));
    }
    Ok(meeting)
}

/// The meeting again, as the unit of work now sees it.
pub(super) async fn reread(work: &mut UnitOfWork<'_>, meeting_id: i64) -> Result<MeetingRow> {
    store::meetings::find(work.tx(), meeting_id)
        .await?
        .ok_or_else(|| {
            anyhow::anyhow!("meeting {meeting_id} vanished inside its transaction").into()
        })
}

/// `POST /mentorship_relation/<id>/meeting`: either party proposes a meeting, which must lie
/// inside the relation. No calendar event yet: it is only proposed.
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
    rules::check_within_relation(details.end_date, relation.end_date)?;
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
    work.audit(
        Event::new(Some(me), "meeting.propose", audit::meeting(id))
            .with(serde_json::json!({"relation_id": relation_id})),
    );
    let meeting = reread(&mut work, id).await?;
    if let Some((other, actor)) = mail::other_party(&meeting, me) {
        let extra = serde_json::json!({"other": actor});
        mail::notify(
            state,
            &mut work,
            &meeting,
            &other,
            "meeting_proposed",
            extra,
            None,
        )?;
    }
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

/// `GET /meeting/<id>`: the parties and the substitute (invited or accepted) see everything;
/// an admin outside the relation sees it without its place and notes.
pub async fn get(state: &AppState, me: i64, meeting_id: i64) -> Result<Meeting> {
    let meeting = store::meetings::find(&state.db, meeting_id)
        .await?
        .ok_or_else(|| Error::not_found(messages::MEETING_DOES_NOT_EXIST))?;
    let substitute = meeting.substitute_user_id == Some(me)
        && meeting.substitute_status != Some(SubstituteStatus::Rejected);
    let now = state.clock.now();
    if meeting.is_party(me) || substitute {
        Ok(meeting_view(meeting, now))
    } else if is_admin(state, me).await? {
        Ok(outsider_view(meeting, now))
    } else {
        Err(Error::forbidden(messages::NOT_INVOLVED_IN_MEETING))
    }
}

/// A meeting as a calendar file (`.ics`) for the member web app's download: for its parties and
/// its substitute (invited or accepted), as their e-mailed invitations carry it; a cancelled
/// or declined meeting as a cancellation.
pub async fn calendar(state: &AppState, me: i64, meeting_id: i64) -> Result<String> {
    let meeting = store::meetings::find(&state.db, meeting_id)
        .await?
        .ok_or_else(|| Error::not_found(messages::MEETING_DOES_NOT_EXIST))?;
    let substitute = meeting.substitute_user_id == Some(me)
        && meeting.substitute_status != Some(SubstituteStatus::Rejected);
    if !meeting.is_party(me) && !substitute {
        return Err(Error::forbidden(messages::NOT_INVOLVED_IN_MEETING));
    }
    let method = match meeting.state {
        MeetingState::Cancelled | MeetingState::Declined => Method::Cancel,
        _ => Method::Request,
    };
    Ok(mail::event(state, &meeting, state.clock.now()).to_ics(method))
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
    let relation = store::relations::find(work.tx(), meeting.relation_id)
        .await?
        .ok_or_else(|| Error::not_found(messages::MENTORSHIP_RELATION_DOES_NOT_EXIST))?;
    rules::check_within_relation(details.end_date, relation.end_date)?;
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
    work.audit(Event::new(
        Some(me),
        "meeting.edit",
        audit::meeting(meeting_id),
    ));
    let meeting = reread(&mut work, meeting_id).await?;
    if let Some((other, actor)) = mail::other_party(&meeting, me) {
        let extra = serde_json::json!({"other": actor});
        mail::notify(
            state,
            &mut work,
            &meeting,
            &other,
            "meeting_changed",
            extra,
            None,
        )?;
    }
    work.commit().await?;
    Ok(meeting_view(meeting, now))
}

/// `PUT /meeting/<id>/accept` and `/decline`: the party who did not propose answers. Once
/// confirmed, the meeting goes into both parties' calendars.
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
    work.audit(
        Event::new(
            Some(me),
            if accept {
                "meeting.accept"
            } else {
                "meeting.decline"
            },
            audit::meeting(meeting_id),
        )
        .with(serde_json::json!({"from": meeting.state.as_str(), "to": next.as_str()})),
    );
    let meeting = reread(&mut work, meeting_id).await?;
    if let Some((proposer, actor)) = mail::other_party(&meeting, me) {
        if accept {
            let extra = serde_json::json!({"other": actor});
            mail::notify(
                state,
                &mut work,
                &meeting,
                &proposer,
                "meeting_confirmed",
                extra,
                Some(Method::Request),
            )?;
            let own = serde_json::json!({"other": proposer.name});
            if let Some((me_as_recipient, _)) = mail::other_party(&meeting, proposer.user_id) {
                mail::notify(
                    state,
                    &mut work,
                    &meeting,
                    &me_as_recipient,
                    "meeting_scheduled",
                    own,
                    Some(Method::Request),
                )?;
            }
        } else {
            let extra = serde_json::json!({"other": actor});
            mail::notify(
                state,
                &mut work,
                &meeting,
                &proposer,
                "meeting_declined",
                extra,
                None,
            )?;
        }
    }
    work.commit().await?;
    Ok(meeting_view(meeting, now))
}

/// `PUT /meeting/<id>/cancel`: either party, before the meeting starts. Everyone who had it
/// in a calendar gets the cancellation; a pending substitute invitation ends with it.
pub async fn cancel(state: &AppState, me: i64, meeting_id: i64) -> Result<Meeting> {
    let now = state.clock.now();
    let mut work = state.unit_of_work().await?;
    let before = lock_as_party(&mut work, me, meeting_id).await?;
    let next = rules::transition(
        before.state,
        MeetingAction::Cancel,
        before.proposer_id == me,
        before.start_date <= now,
    )?;
    store::meetings::change_state(work.tx(), meeting_id, before.state, next, now).await?;
    work.audit(
        Event::new(Some(me), "meeting.cancel", audit::meeting(meeting_id))
            .with(serde_json::json!({"from": before.state.as_str(), "to": next.as_str()})),
    );
    let meeting = reread(&mut work, meeting_id).await?;
    let was_confirmed = before.state == MeetingState::Confirmed;
    let actor = if meeting.mentor_id == Some(me) {
        meeting.mentor_name.clone()
    } else {
        meeting.mentee_name.clone()
    };
    let reason = format!("{} cancelled it", actor.as_deref().unwrap_or("a party"));
    mail::tell_cancelled(state, &mut work, &meeting, was_confirmed, &reason, None)?;
    // The other party of a meeting that was only proposed hears of it too (no calendar).
    if !was_confirmed && let Some((other, actor)) = mail::other_party(&meeting, me) {
        let extra = serde_json::json!({"other": actor});
        mail::notify(
            state,
            &mut work,
            &meeting,
            &other,
            "meeting_cancelled",
            extra,
            None,
        )?;
    }
    super::substitutes::close_pending_invitation(
        state,
        &mut work,
        &meeting,
        InvitationStatus::Cancelled,
    )
    .await?;
    work.commit().await?;
    Ok(meeting_view(meeting, now))
}

/// Cancels the meetings still ahead of relations that just ended (cancelled, completed, or a
/// party left), inside the caller's unit of work, and tells whoever had them in a calendar.
pub async fn cancel_for_ended_relations(
    state: &AppState,
    work: &mut UnitOfWork<'_>,
    relation_ids: &[i64],
    now: Timestamp,
) -> Result<()> {
    let cancelled = store::meetings::cancel_for_relations(work.tx(), relation_ids, now).await?;
    for mut meeting in cancelled {
        let was_confirmed = meeting.state == MeetingState::Confirmed;
        meeting.state = MeetingState::Cancelled;
        meeting.revision += 1;
        work.audit(
            Event::new(None, "meeting.cancel", audit::meeting(meeting.id))
                .with(serde_json::json!({"reason": "relation_ended"})),
        );
        let reason = "the mentorship relation ended";
        mail::tell_cancelled(state, work, &meeting, was_confirmed, reason, None)?;
        super::substitutes::close_pending_invitation(
            state,
            work,
            &meeting,
            InvitationStatus::Cancelled,
        )
        .await?;
    }
    Ok(())
}

/// `PUT /meeting/<id>/notes`: either party changes the notes of a confirmed meeting before it
/// ends; the others are told, and calendars get the new description.
pub async fn change_notes(
    state: &AppState,
    me: i64,
    meeting_id: i64,
    change: NotesChange,
) -> Result<Meeting> {
    let now = state.clock.now();
    let mut work = state.unit_of_work().await?;
    let meeting = lock_as_party(&mut work, me, meeting_id).await?;
    if meeting.state != MeetingState::Confirmed || meeting.end_date <= now {
        return Err(Error::conflict(messages::MEETING_NOT_CONFIRMED_FOR_NOTES));
    }
    store::meetings::update_notes(work.tx(), meeting_id, change.notes.as_deref(), now).await?;
    work.audit(Event::new(
        Some(me),
        "meeting.notes",
        audit::meeting(meeting_id),
    ));
    let meeting = reread(&mut work, meeting_id).await?;
    let holders: Vec<i64> = mail::calendar_holders(&meeting)
        .iter()
        .map(|r| r.user_id)
        .collect();
    let mut told: Vec<Recipient> = Vec::new();
    if let Some((other, _)) = mail::other_party(&meeting, me) {
        told.push(other);
    }
    if let Some(substitute) = mail::substitute(&meeting)
        && meeting.accepted_substitute().is_some()
        && substitute.user_id != me
    {
        told.push(substitute);
    }
    let actor = if meeting.mentor_id == Some(me) {
        meeting.mentor_name.clone()
    } else {
        meeting.mentee_name.clone()
    };
    for recipient in told {
        let calendar = holders
            .contains(&recipient.user_id)
            .then_some(Method::Request);
        let extra = serde_json::json!({"other": actor});
        mail::notify(
            state,
            &mut work,
            &meeting,
            &recipient,
            "meeting_notes_changed",
            extra,
            calendar,
        )?;
    }
    work.commit().await?;
    Ok(meeting_view(meeting, now))
}

/// `GET /admin/meetings`: every meeting, without the relations' place and notes.
pub async fn admin_list(
    state: &AppState,
    me: i64,
    query: &HashMap<String, String>,
) -> Result<Vec<Meeting>> {
    if !is_admin(state, me).await? {
        return Err(Error::forbidden(messages::USER_IS_NOT_AN_ADMIN));
    }
    let filter = MeetingFilter::from_query(query)?;
    let now = state.clock.now();
    let rows = store::meetings::list_all(&state.db, &filter, now).await?;
    Ok(rows.into_iter().map(|m| outsider_view(m, now)).collect())
}
