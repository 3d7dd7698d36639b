//! Substitute mentors: the titular mentor of a confirmed meeting chooses a candidate and
//! invites them; the invitee answers by a signed e-mail link or in the app; either may end the
//! substitution before the meeting. Every invitation is kept as history, and whoever is
//! concerned is told, with calendars following who attends.

use crate::domain::audit::{self, Event};
use crate::domain::calendar::Method;
use crate::domain::clock::Timestamp;
use crate::domain::meetings::{
    Candidate, CandidateProfile, CandidateQuery, INVITATION_VALID_SECS, Invitation,
    InvitationStatus, InvitationSummary, Meeting, MeetingState, Person, SubstituteInvitation,
    SubstituteStatus, moment, rank_candidates,
};
use crate::domain::messages::{self, Message};
use crate::domain::users::profile_words;
use crate::error::{Error, Result};
use crate::security::signed_link::{Decision, InvitationLink};
use crate::security::{random_token, token_hash};
use crate::services::is_admin;
use crate::services::meeting_mail as mail;
use crate::services::meetings::{lock_as_party, meeting_view, reread};
use crate::state::{AppState, UnitOfWork};
use crate::store::{self, meetings::MeetingRow, substitutes::InvitationRow};

/// How many candidates are ranked for a meeting at most: the best-matching mentors, then
/// others. Pages past them are empty (a search narrows the list instead).
const MAX_CANDIDATE_POOL: i64 = 200;
/// The pool is twice the candidates up to the page asked for, so that those busy at the time
/// or tied on words still leave a full page, ranked by commitments among more than the page.
const POOL_PER_SHOWN: i64 = 2;
/// How many words of the mentee's interests and skills the ranking looks for (the first ones).
const MAX_MENTEE_WORDS: usize = 12;
/// Pending invitations expired per transaction by the reminder job.
const EXPIRY_BATCH: i64 = 500;

/// Checks that `me` is the titular mentor of an open meeting (confirmed, not started).
fn require_titular_of_open_meeting(meeting: &MeetingRow, me: i64, now: Timestamp) -> Result<()> {
    if meeting.mentor_id != Some(me) {
        return Err(Error::forbidden(messages::ONLY_TITULAR_MENTOR_CAN_INVITE));
    }
    if meeting.state != MeetingState::Confirmed {
        return Err(Error::conflict(messages::MEETING_NOT_CONFIRMED));
    }
    if meeting.start_date <= now {
        return Err(Error::conflict(messages::MEETING_ALREADY_STARTED));
    }
    Ok(())
}

/// `GET /meeting/<id>/substitute_candidates`: verified mentors available to mentor, free at
/// the meeting's time, neither party; ranked by how many words their skills and interests
/// share with the mentee's interests and skills, then by fewest upcoming commitments.
///
/// The ranking covers a pool of twice the candidates up to the page asked for, at most
/// [`MAX_CANDIDATE_POOL`] mentors (those sharing the most words, then others), so a request
/// reads a bounded number of rows at any size of program, and the first page the fewest.
pub async fn candidates(
    state: &AppState,
    me: i64,
    meeting_id: i64,
    query: CandidateQuery,
) -> Result<Vec<Candidate>> {
    let now = state.clock.now();
    let meeting = store::meetings::find(&state.db, meeting_id)
        .await?
        .ok_or_else(|| Error::not_found(messages::MEETING_DOES_NOT_EXIST))?;
    if meeting.mentor_id != Some(me) {
        return Err(Error::forbidden(messages::ONLY_TITULAR_MENTOR_CAN_INVITE));
    }
    if meeting.state != MeetingState::Confirmed || meeting.start_date <= now {
        return Err(Error::conflict(messages::MEETING_NOT_OPEN_FOR_SUBSTITUTES));
    }
    let mentee = match meeting.mentee_id {
        Some(id) => store::users::find_by_id(&state.db, id).await?,
        None => None,
    };
    let mut words = Vec::new();
    if let Some(mentee) = &mentee {
        for text in [&mentee.interests, &mentee.skills].into_iter().flatten() {
            for word in profile_words(text) {
                if !words.contains(&word) && words.len() < MAX_MENTEE_WORDS {
                    words.push(word);
                }
            }
        }
    }
    let parties: Vec<i64> = [meeting.mentor_id, meeting.mentee_id]
        .into_iter()
        .flatten()
        .collect();
    let shown = query.page.offset.max(0) + query.page.limit.max(0);
    let pool_size = (shown * POOL_PER_SHOWN).min(MAX_CANDIDATE_POOL);
    let pool = match &query.search {
        Some(search) => {
            let filter = store::users::UserFilter {
                exclude_id: me,
                verified_only: true,
                search: Some(search.clone()),
                need_mentoring: None,
                available_to_mentor: Some(true),
                skills: Vec::new(),
            };
            store::users::list_public(&state.db, &filter, pool_size, 0)
                .await?
                .into_iter()
                .map(|u| u.id)
                .collect()
        }
        None => {
            let mut pool = store::substitutes::best_matching(&state.db, &words, pool_size).await?;
            let missing = pool_size - pool.len() as i64;
            if missing > 0 {
                let others =
                    store::substitutes::available_mentors(&state.db, &pool, missing).await?;
                pool.extend(others);
            }
            pool
        }
    };
    let free = store::substitutes::free_candidates(
        &state.db,
        &pool,
        &parties,
        meeting.start_date,
        meeting.end_date,
        now,
    )
    .await?;
    let pool = free
        .into_iter()
        .map(|row| CandidateProfile {
            id: row.id,
            name: row.name,
            username: row.username,
            photo_url: row.photo_url,
            skills: row.skills,
            interests: row.interests,
            commitments: row.commitments,
        })
        .collect();
    Ok(rank_candidates(&words, pool)
        .into_iter()
        .skip(query.page.offset.max(0) as usize)
        .take(query.page.limit.max(0) as usize)
        .collect())
}

/// `POST /meeting/<id>/substitute`: the titular mentor of a confirmed, future meeting invites
/// another mentor, free at that time. A new invitation replaces a pending one (its invitee is
/// told, and its links die).
pub async fn invite(
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
    require_titular_of_open_meeting(&meeting, me, now)?;
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
    if store::meetings::delivers_overlapping(
        work.tx(),
        invitee_id,
        meeting.start_date,
        meeting.end_date,
        meeting.id,
    )
    .await?
    {
        return Err(Error::conflict(messages::INVITEE_IS_BUSY));
    }
    // The invitation it replaces, if any, ends here; its invitee hears of it.
    close_pending_invitation(state, &mut work, &meeting, InvitationStatus::Replaced).await?;

    let nonce = random_token()[..22].to_owned();
    let nonce_hash = token_hash(&nonce);
    let expires_at = (now + INVITATION_VALID_SECS)
        .min(meeting.start_date)
        .floor();
    store::meetings::invite(work.tx(), meeting_id, invitee_id, &nonce_hash, now).await?;
    work.audit(
        Event::new(Some(me), "substitute.invite", audit::meeting(meeting_id))
            .with(serde_json::json!({"invitee_id": invitee_id})),
    );
    store::substitutes::record_invitation(
        work.tx(),
        meeting_id,
        invitee_id,
        &nonce_hash,
        now,
        expires_at,
    )
    .await?;
    let link = |decision| InvitationLink {
        meeting_id,
        decision,
        invitee_id,
        nonce: nonce.clone(),
        expires_at: expires_at as i64,
        key_id: state.keys.signed_links_key_id.clone(),
    };
    let key = &state.keys.signed_links;
    let meeting = reread(&mut work, meeting_id).await?;
    let to = mail::substitute(&meeting).ok_or_else(|| anyhow::anyhow!("the invitee is there"))?;
    let extra = serde_json::json!({
        "mentor": meeting.mentor_name, "mentee": meeting.mentee_name,
        "accept_link": link(Decision::Accept).url(&state.config.public_url, key),
        "reject_link": link(Decision::Reject).url(&state.config.public_url, key),
        "expires": moment(expires_at, to.zone),
    });
    mail::notify(
        state,
        &mut work,
        &meeting,
        &to,
        "substitute_invitation",
        extra,
        None,
    )?;
    work.commit().await?;
    tracing::info!(meeting_id, invitee_id, "substitute invited");
    Ok(meeting_view(meeting, now))
}

/// Ends the meeting's pending invitation, if there is one, with `status` (replaced, withdrawn,
/// cancelled), and tells its invitee. The meeting's own substitute columns are cleared.
pub async fn close_pending_invitation(
    state: &AppState,
    work: &mut UnitOfWork<'_>,
    meeting: &MeetingRow,
    status: InvitationStatus,
) -> Result<()> {
    let Some(invitee) = mail::substitute(meeting) else {
        return Ok(());
    };
    if meeting.pending_invitee().is_none() {
        return Ok(());
    }
    let now = state.clock.now();
    store::substitutes::end_live_invitation(work.tx(), meeting.id, status, now).await?;
    store::meetings::clear_substitute(work.tx(), meeting.id, SubstituteStatus::Pending, now)
        .await?;
    // A withdrawal is recorded by `end`, with the mentor who withdrew.
    if status != InvitationStatus::Withdrawn {
        work.audit(
            Event::new(None, "substitute.close", audit::meeting(meeting.id)).with(
                serde_json::json!({"status": status.as_str(), "invitee_id": invitee.user_id}),
            ),
        );
    }
    let outcome = match status {
        InvitationStatus::Replaced => "was replaced: the mentor invited someone else",
        InvitationStatus::Withdrawn => "was withdrawn by the mentor",
        _ => "has ended: the meeting was cancelled",
    };
    let extra = serde_json::json!({"mentor": meeting.mentor_name, "mentee": meeting.mentee_name, "outcome": outcome});
    mail::notify(
        state,
        work,
        meeting,
        &invitee,
        "invitation_closed",
        extra,
        None,
    )
}

/// `DELETE /meeting/<id>/substitute`: before an answer, the titular mentor withdraws the
/// invitation; after an acceptance and before the meeting starts, the titular mentor takes the
/// meeting back, or the substitute steps back. Everyone concerned is told; calendars follow.
pub async fn end(state: &AppState, me: i64, meeting_id: i64) -> Result<Meeting> {
    let now = state.clock.now();
    let mut work = state.unit_of_work().await?;
    let meeting = store::meetings::find(work.tx(), meeting_id)
        .await?
        .ok_or_else(|| Error::not_found(messages::MEETING_DOES_NOT_EXIST))?;
    let is_mentor = meeting.mentor_id == Some(me);
    let is_substitute = meeting.accepted_substitute() == Some(me);
    if !is_mentor && !is_substitute {
        return Err(
            if meeting.is_party(me) || meeting.substitute_user_id == Some(me) {
                Error::forbidden(messages::ONLY_MENTOR_OR_SUBSTITUTE_CAN_END)
            } else {
                Error::forbidden(messages::NOT_INVOLVED_IN_MEETING)
            },
        );
    }
    if meeting.pending_invitee().is_some() && is_mentor {
        close_pending_invitation(state, &mut work, &meeting, InvitationStatus::Withdrawn).await?;
        work.audit(
            Event::new(Some(me), "substitute.withdraw", audit::meeting(meeting_id))
                .with(serde_json::json!({"invitee_id": meeting.substitute_user_id})),
        );
        let meeting = reread(&mut work, meeting_id).await?;
        work.commit().await?;
        return Ok(meeting_view(meeting, now));
    }
    if meeting.accepted_substitute().is_none() {
        return Err(Error::conflict(messages::NO_PENDING_INVITATION));
    }
    if meeting.start_date <= now {
        return Err(Error::conflict(messages::MEETING_ALREADY_STARTED));
    }
    let status = if is_mentor {
        InvitationStatus::TakenBack
    } else {
        InvitationStatus::SteppedBack
    };
    let after = end_accepted(state, &mut work, &meeting, status, now).await?;
    work.audit(
        Event::new(Some(me), "substitute.end", audit::meeting(meeting_id))
            .with(serde_json::json!({"status": status.as_str()})),
    );
    work.commit().await?;
    tracing::info!(meeting_id, by = me, "substitution ended");
    Ok(meeting_view(after, now))
}

/// Ends an accepted substitution (taken back or stepped back) inside the caller's unit of
/// work: the titular mentor attends again, so their calendar gets the event back, the
/// mentee's the updated one, and the substitute's a cancellation.
async fn end_accepted(
    state: &AppState,
    work: &mut UnitOfWork<'_>,
    meeting: &MeetingRow,
    status: InvitationStatus,
    now: Timestamp,
) -> Result<MeetingRow> {
    let substitute = mail::substitute(meeting);
    store::substitutes::end_live_invitation(work.tx(), meeting.id, status, now).await?;
    store::meetings::clear_substitute(work.tx(), meeting.id, SubstituteStatus::Accepted, now)
        .await?;
    let after = reread(work, meeting.id).await?;
    let who = if status == InvitationStatus::TakenBack {
        "the mentor took the meeting back"
    } else {
        "the substitute stepped back"
    };
    if let Some(mentor) = mail::mentor(&after) {
        let extra = serde_json::json!({"role": "mentor", "who": who, "mentee": after.mentee_name});
        mail::notify(
            state,
            work,
            &after,
            &mentor,
            "substitution_ended",
            extra,
            Some(Method::Request),
        )?;
    }
    if let Some(mentee) = mail::mentee(&after) {
        let extra = serde_json::json!({"role": "mentee", "who": who, "mentor": after.mentor_name});
        mail::notify(
            state,
            work,
            &after,
            &mentee,
            "substitution_ended",
            extra,
            Some(Method::Request),
        )?;
    }
    if let Some(substitute) = substitute {
        let extra = serde_json::json!({"role": "substitute", "who": who, "mentor": after.mentor_name, "mentee": after.mentee_name});
        mail::notify(
            state,
            work,
            &after,
            &substitute,
            "substitution_ended",
            extra,
            Some(Method::Cancel),
        )?;
    }
    Ok(after)
}

/// A member who leaves no longer stands in for anyone: inside the deletion's unit of work,
/// their pending invitations count as declined and their accepted substitutions as stepped
/// back, and the titular mentors are told, so no meeting is left without a mentor.
pub async fn release_leaving_member(
    state: &AppState,
    work: &mut UnitOfWork<'_>,
    user_id: i64,
    now: Timestamp,
) -> Result<()> {
    for meeting in store::meetings::standing_in(work.tx(), user_id, now).await? {
        if meeting.accepted_substitute() == Some(user_id) {
            end_accepted(state, work, &meeting, InvitationStatus::SteppedBack, now).await?;
            work.audit(
                Event::new(Some(user_id), "substitute.end", audit::meeting(meeting.id)).with(
                    serde_json::json!({"status": "stepped_back", "reason": "account_deleted"}),
                ),
            );
            continue;
        }
        store::meetings::answer_invitation(work.tx(), meeting.id, user_id, None, false, now)
            .await?;
        work.audit(
            Event::new(
                Some(user_id),
                "substitute.reject",
                audit::meeting(meeting.id),
            )
            .with(serde_json::json!({"reason": "account_deleted"})),
        );
        store::substitutes::record_answer(work.tx(), meeting.id, false, now).await?;
        if let Some(mentor) = mail::mentor(&meeting) {
            let names = serde_json::json!({
                "substitute": meeting.substitute_name, "mentor": meeting.mentor_name,
                "mentee": meeting.mentee_name,
            });
            mail::notify(
                state,
                work,
                &meeting,
                &mentor,
                "substitute_rejected",
                names,
                None,
            )?;
        }
    }
    Ok(())
}

/// `GET /substitute_invitations`.
pub async fn pending(state: &AppState, me: i64) -> Result<Vec<Meeting>> {
    let now = state.clock.now();
    let rows = store::meetings::pending_invitations_for(&state.db, me, now).await?;
    Ok(rows.into_iter().map(|m| meeting_view(m, now)).collect())
}

/// `GET /admin/meetings/<id>/invitations`: every invitation of a meeting, oldest first.
pub async fn history(state: &AppState, me: i64, meeting_id: i64) -> Result<Vec<Invitation>> {
    if !is_admin(state, me).await? {
        return Err(Error::forbidden(messages::USER_IS_NOT_AN_ADMIN));
    }
    store::meetings::find(&state.db, meeting_id)
        .await?
        .ok_or_else(|| Error::not_found(messages::MEETING_DOES_NOT_EXIST))?;
    let rows = store::substitutes::history(&state.db, meeting_id).await?;
    Ok(rows.into_iter().map(invitation_view).collect())
}

pub fn invitation_view(row: InvitationRow) -> Invitation {
    Invitation {
        id: row.id,
        invitee: Person {
            id: row.invitee_name.as_ref().and(row.invitee_id),
            name: row.invitee_name,
        },
        status: row.status.as_str(),
        invited_at: row.invited_at,
        expires_at: row.expires_at,
        ended_at: row.ended_at,
    }
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
/// (mail scanners open links). A link no longer live shows nothing of the meeting: one
/// sentence says why (withdrawn, replaced, answered, expired, cancelled).
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
    let nonce_hash = token_hash(&link.nonce);
    let live = meeting.pending_invitee() == Some(link.invitee_id)
        && meeting.substitute_nonce_hash.as_deref() == Some(nonce_hash.as_str())
        && meeting.state == MeetingState::Confirmed
        && meeting.start_date > state.clock.now();
    if !live {
        let status = store::substitutes::by_nonce(&state.db, meeting_id, &nonce_hash)
            .await?
            .map(|invitation| invitation.status);
        let notice = match (status, meeting.state) {
            (_, MeetingState::Cancelled) => messages::INVITATION_MEETING_CANCELLED_NOTICE,
            (Some(status), _) if status != InvitationStatus::Pending => status.notice(),
            _ => messages::INVITATION_EXPIRED_NOTICE,
        };
        return Err(Error::conflict(notice));
    }
    let zone = mail::substitute(&meeting).map_or(chrono_tz::UTC, |r| r.zone);
    Ok(InvitationSummary {
        when: crate::domain::meetings::when(meeting.start_date, meeting.end_date, zone),
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
    let caller_id = caller.as_ref().ok().copied();
    let outcome = async {
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
    .await;
    // A refused attempt leaves a trace: which meeting, who (if anyone signed in) and why
    // (the error's code), never the link's signature or nonce. The first from a client address
    // in an hour is an event, the others from there are counted: trying links by the thousand
    // cannot flood the trail.
    if let Err(err) = &outcome
        && let Some(reason) = err.code()
    {
        let client = crate::context::origin().client.unwrap_or_default();
        let event = Event::new(
            caller_id,
            "substitute.link_refused",
            audit::meeting(meeting_id),
        )
        .with(serde_json::json!({"reason": reason}));
        super::audit::record_throttled(state, &format!("link_refused:{client}"), event).await?;
    }
    outcome
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
/// gets 409 and sends no mail. On an acceptance the substitute gets the event (and their
/// confirmation), the mentee the updated event naming the substitute, and the titular mentor
/// a cancellation.
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
    store::substitutes::record_answer(work.tx(), meeting_id, accept, now).await?;
    work.audit(
        Event::new(
            Some(me),
            if accept {
                "substitute.accept"
            } else {
                "substitute.reject"
            },
            audit::meeting(meeting_id),
        )
        .with(serde_json::json!({"by_link": nonce_hash.is_some()})),
    );
    let meeting = reread(&mut work, meeting_id).await?;
    let names = serde_json::json!({
        "substitute": meeting.substitute_name, "mentor": meeting.mentor_name,
        "mentee": meeting.mentee_name,
    });
    if let Some(mentor) = mail::mentor(&meeting) {
        let (template, calendar) = if accept {
            ("substitute_accepted", Some(Method::Cancel))
        } else {
            ("substitute_rejected", None)
        };
        mail::notify(
            state,
            &mut work,
            &meeting,
            &mentor,
            template,
            names.clone(),
            calendar,
        )?;
    }
    if accept {
        if let Some(mentee) = mail::mentee(&meeting) {
            mail::notify(
                state,
                &mut work,
                &meeting,
                &mentee,
                "substitute_mentee_notice",
                names.clone(),
                Some(Method::Request),
            )?;
        }
        if let Some(substitute) = mail::substitute(&meeting) {
            mail::notify(
                state,
                &mut work,
                &meeting,
                &substitute,
                "substitute_confirmation",
                names,
                Some(Method::Request),
            )?;
        }
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

/// Marks the pending invitations whose time ran out as expired, in batches (the reminder job
/// runs it): a status never stays pending after its invitation lapsed.
pub async fn expire_lapsed(state: &AppState, now: Timestamp) -> Result<u64> {
    let mut expired = 0;
    loop {
        let mut work = state.unit_of_work().await?;
        let batch = store::substitutes::expire_lapsed(work.tx(), now, EXPIRY_BATCH).await?;
        for expired in &batch {
            work.audit(
                Event::new(
                    None,
                    "substitute.expire",
                    audit::meeting(expired.meeting_id),
                )
                .with(serde_json::json!({"invitation_id": expired.id})),
            );
        }
        work.commit().await?;
        expired += batch.len() as u64;
        if (batch.len() as i64) < EXPIRY_BATCH {
            return Ok(expired);
        }
    }
}
