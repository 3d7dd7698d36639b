//! Mentorship relations: sending, answering, cancelling and listing requests, and the daily
//! completion job. Each workflow runs its checks in the contract's order inside one unit of
//! work and queues its e-mail there.

use crate::domain::audit::{self, Event};
use crate::domain::clock::{Timestamp, day_month_year};
use crate::domain::messages::{self, Message};
use crate::domain::relations::{
    Action, CurrentRelation, Party, Relation, RelationList, RelationState, Role, SendRequest,
    transition,
};
use crate::error::{Error, Result};
use crate::mail::Outgoing;
use crate::services::require_verified_user;
use crate::state::{AppState, UnitOfWork};
use crate::store::relations::{RelationRow, RelationScope};
use crate::store::{self, Constraint, OnConstraint};

const COMPLETION_BATCH: i64 = 500;

/// `POST /mentorship_relation/send_request`.
pub async fn send_request(state: &AppState, me: i64, request: SendRequest) -> Result<Message> {
    let now = state.clock.now();
    let request = request.check(me, now)?;

    let mut work = state.unit_of_work().await?;
    // Both locked in id order, so two opposite requests never deadlock.
    let mut ids: Vec<i64> = [request.mentor_id, request.mentee_id]
        .into_iter()
        .flatten()
        .collect();
    ids.sort_unstable();
    let mut parties = Vec::with_capacity(2);
    for id in ids {
        parties.extend(store::users::lock_by_id(work.tx(), id).await?);
    }
    let party = |id: Option<i64>| id.and_then(|id| parties.iter().find(|u| u.id == id));
    let mentor = party(request.mentor_id)
        .ok_or_else(|| Error::not_found(messages::MENTOR_DOES_NOT_EXIST))?;
    if !mentor.available_to_mentor {
        return Err(Error::invalid(messages::MENTOR_NOT_AVAILABLE_TO_MENTOR));
    }
    let mentee = party(request.mentee_id)
        .ok_or_else(|| Error::not_found(messages::MENTEE_DOES_NOT_EXIST))?;
    if !mentee.need_mentoring {
        return Err(Error::invalid(messages::MENTEE_NOT_AVAIL_TO_BE_MENTORED));
    }
    let (sender, receiver) = if me == mentor.id {
        (mentor, mentee)
    } else {
        (mentee, mentor)
    };
    if !receiver.is_email_verified {
        return Err(Error::invalid(messages::RECIPIENT_EMAIL_NOT_VERIFIED));
    }
    if store::relations::in_current_relation(work.tx(), mentor.id).await? {
        return Err(Error::invalid(messages::MENTOR_ALREADY_IN_A_RELATION));
    }
    if store::relations::in_current_relation(work.tx(), mentee.id).await? {
        return Err(Error::invalid(messages::MENTEE_ALREADY_IN_A_RELATION));
    }
    let new = store::relations::NewRelation {
        mentor_id: mentor.id,
        mentee_id: mentee.id,
        action_user_id: me,
        now,
        end_date: request.end_date,
        notes: &request.notes,
    };
    let relation_id = store::relations::insert(work.tx(), &new)
        .await
        .on_constraint(Constraint::PendingRequestExists, || {
            Error::conflict(messages::PENDING_REQUEST_ALREADY_EXISTS)
        })?;
    work.audit(
        Event::new(Some(me), "relation.send", audit::relation(relation_id)).with(
            serde_json::json!({"mentor_id": mentor.id, "mentee_id": mentee.id, "state": "PENDING"}),
        ),
    );
    let role_phrase = if me == mentor.id {
        "to be your mentor"
    } else {
        "you to be their mentor"
    };
    let mail = Outgoing {
        template: "relation_requested",
        recipient: &receiver.email,
        context: serde_json::json!({
            "name": receiver.name, "sender": sender.name, "role_phrase": role_phrase,
            "end_date": day_month_year(request.end_date), "notes": request.notes,
        }),
        calendar: None,
    };
    work.queue_mail(mail)?;
    work.commit().await?;
    Ok(messages::MENTORSHIP_RELATION_WAS_SENT_SUCCESSFULLY)
}

/// `GET /mentorship_relations[/past|/pending]`.
pub async fn list(state: &AppState, me: i64, which: RelationList) -> Result<Vec<Relation>> {
    require_verified_user(state, me).await?;
    relations_of(state, me, which).await
}

async fn relations_of(state: &AppState, me: i64, which: RelationList) -> Result<Vec<Relation>> {
    let now = state.clock.now();
    let scope = match which {
        RelationList::All(relation_state) => RelationScope::All(relation_state),
        RelationList::Past => RelationScope::EndedBefore(now),
        RelationList::Pending => RelationScope::PendingEndingAfter(now),
    };
    let rows = store::relations::list_for_user(&state.db, me, scope).await?;
    Ok(rows.into_iter().map(|row| relation_view(row, me)).collect())
}

/// `GET /mentorship_relations?relation_state=...`: the caller is checked before the filter,
/// as in the reference.
pub async fn list_in_state(
    state: &AppState,
    me: i64,
    relation_state: Option<&str>,
) -> Result<Vec<Relation>> {
    require_verified_user(state, me).await?;
    relations_of(state, me, RelationList::with_state(relation_state)?).await
}

/// `GET /mentorship_relations/current`.
pub async fn current(state: &AppState, me: i64) -> Result<CurrentRelation> {
    require_verified_user(state, me).await?;
    Ok(match store::relations::current_of(&state.db, me).await? {
        Some(row) => CurrentRelation::Relation(relation_view(row, me)),
        None => CurrentRelation::None {
            message: messages::NOT_IN_MENTORED_RELATION_CURRENTLY.text,
        },
    })
}

/// A relation as the lists show it to `me`; a deleted party is `{"id": null, "name": null}`.
pub fn relation_view(r: RelationRow, me: i64) -> Relation {
    Relation {
        id: r.id,
        action_user_id: r.action_user_id,
        sent_by_me: r.action_user_id == me,
        mentor: Party {
            id: r.mentor_name.as_ref().and(r.mentor_id),
            name: r.mentor_name,
        },
        mentee: Party {
            id: r.mentee_name.as_ref().and(r.mentee_id),
            name: r.mentee_name,
        },
        creation_date: r.creation_date,
        accept_date: r.accept_date,
        start_date: r.start_date,
        end_date: r.end_date,
        state: r.state.number(),
        notes: r.notes,
    }
}

fn role_of(relation: &RelationRow, me: i64) -> Role {
    if relation.action_user_id == me && relation.involves(me) {
        Role::Sender
    } else if relation.involves(me) {
        Role::Receiver
    } else {
        Role::Uninvolved
    }
}

/// Loads a relation, locked, for an action and runs the state machine on it.
async fn prepare(
    work: &mut UnitOfWork<'_>,
    me: i64,
    relation_id: i64,
    action: Action,
) -> Result<(RelationRow, Option<RelationState>)> {
    let relation = store::relations::find(work.tx(), relation_id)
        .await?
        .ok_or_else(|| Error::not_found(messages::MENTORSHIP_RELATION_REQUEST_DOES_NOT_EXIST))?;
    let next =
        transition(relation.state, action, role_of(&relation, me)).map_err(Error::forbidden)?;
    Ok((relation, next))
}

fn other_party(relation: &RelationRow, me: i64) -> Option<i64> {
    if relation.mentor_id == Some(me) {
        relation.mentee_id
    } else {
        relation.mentor_id
    }
}

/// How an accept attempt ended.
enum AcceptAttempt {
    Accepted,
    /// A concurrent accept put one of the parties in another relation first.
    LostRace,
}

/// `PUT /mentorship_relation/<id>/accept`. Two racing accepts that would put one user in two
/// relations cannot both commit: `current_relations` is keyed by user. The loser tries again,
/// and is answered as if it had come second.
pub async fn accept(state: &AppState, me: i64, relation_id: i64) -> Result<Message> {
    require_verified_user(state, me).await?;
    // The second attempt sees the winner's commit and refuses with the contract's message; a
    // third race in a row would be a bug, not contention.
    for _ in 0..2 {
        if let AcceptAttempt::Accepted = try_accept(state, me, relation_id).await? {
            return Ok(messages::MENTORSHIP_RELATION_WAS_ACCEPTED_SUCCESSFULLY);
        }
    }
    Err(anyhow::anyhow!("accepting relation {relation_id} lost two races in a row").into())
}

async fn try_accept(state: &AppState, me: i64, relation_id: i64) -> Result<AcceptAttempt> {
    let now = state.clock.now();
    let mut work = state.unit_of_work().await?;
    let (relation, _) = prepare(&mut work, me, relation_id, Action::Accept).await?;
    if store::relations::in_current_relation(work.tx(), me).await? {
        return Err(Error::forbidden(
            messages::USER_IS_INVOLVED_IN_A_MENTORSHIP_RELATION,
        ));
    }
    let (Some(mentor_id), Some(mentee_id)) = (relation.mentor_id, relation.mentee_id) else {
        return Err(Error::not_found(
            messages::MENTORSHIP_RELATION_REQUEST_DOES_NOT_EXIST,
        ));
    };
    if mentor_id == me && store::relations::in_current_relation(work.tx(), mentee_id).await? {
        return Err(Error::invalid(messages::MENTEE_ALREADY_IN_A_RELATION));
    }
    if mentee_id == me && store::relations::in_current_relation(work.tx(), mentor_id).await? {
        return Err(Error::invalid(messages::MENTOR_ALREADY_IN_A_RELATION));
    }
    match store::relations::accept(work.tx(), relation_id, mentor_id, mentee_id, now).await {
        Err(err) if Constraint::of(&err) == Some(Constraint::AlreadyInCurrentRelation) => {
            return Ok(AcceptAttempt::LostRace);
        }
        other => other?,
    };
    notify(&mut work, &relation, me, "relation_accepted").await?;
    work.audit(
        Event::new(Some(me), "relation.accept", audit::relation(relation_id))
            .with(serde_json::json!({"state": "ACCEPTED"})),
    );
    work.commit().await?;
    Ok(AcceptAttempt::Accepted)
}

/// E-mails the other party of `relation` about what `me` did.
async fn notify(
    work: &mut UnitOfWork<'_>,
    relation: &RelationRow,
    me: i64,
    template: &'static str,
) -> Result<()> {
    let Some(recipient) = store::relations::contact(work.tx(), other_party(relation, me)).await?
    else {
        return Ok(());
    };
    let actor = if relation.mentor_id == Some(me) {
        &relation.mentor_name
    } else {
        &relation.mentee_name
    };
    work.queue_mail(Outgoing {
        template,
        recipient: &recipient.email,
        context: serde_json::json!({
            "name": recipient.name, "other": actor.clone().unwrap_or_default(),
            "end_date": day_month_year(relation.end_date),
        }),
        calendar: None,
    })
}

/// `PUT /mentorship_relation/<id>/reject`.
pub async fn reject(state: &AppState, me: i64, relation_id: i64) -> Result<Message> {
    change(state, me, relation_id, Action::Reject, "relation_rejected").await?;
    Ok(messages::MENTORSHIP_RELATION_WAS_REJECTED_SUCCESSFULLY)
}

/// `PUT /mentorship_relation/<id>/cancel`.
pub async fn cancel(state: &AppState, me: i64, relation_id: i64) -> Result<Message> {
    change(state, me, relation_id, Action::Cancel, "relation_cancelled").await?;
    Ok(messages::MENTORSHIP_RELATION_WAS_CANCELLED_SUCCESSFULLY)
}

async fn change(
    state: &AppState,
    me: i64,
    relation_id: i64,
    action: Action,
    template: &'static str,
) -> Result<()> {
    require_verified_user(state, me).await?;
    let now = state.clock.now();
    let mut work = state.unit_of_work().await?;
    let (relation, next) = prepare(&mut work, me, relation_id, action).await?;
    let next =
        next.ok_or_else(|| Error::Unexpected(anyhow::anyhow!("{action:?} has a next state")))?;
    store::relations::change_state(work.tx(), relation_id, relation.state, next).await?;
    if relation.state == RelationState::Accepted {
        super::meetings::cancel_for_ended_relations(state, &mut work, &[relation_id], now).await?;
    }
    notify(&mut work, &relation, me, template).await?;
    work.audit(
        Event::new(Some(me), action.audit_name(), audit::relation(relation_id))
            .with(serde_json::json!({"from": relation.state.number(), "to": next.number()})),
    );
    work.commit().await
}

/// `DELETE /mentorship_relation/<id>`: the sender withdraws a pending request; its recipient
/// is told.
pub async fn delete(state: &AppState, me: i64, relation_id: i64) -> Result<Message> {
    require_verified_user(state, me).await?;
    let mut work = state.unit_of_work().await?;
    let (relation, _) = prepare(&mut work, me, relation_id, Action::Delete).await?;
    store::relations::delete(work.tx(), relation_id).await?;
    notify(&mut work, &relation, me, "relation_request_withdrawn").await?;
    work.audit(Event::new(
        Some(me),
        "relation.delete",
        audit::relation(relation_id),
    ));
    work.commit().await?;
    Ok(messages::MENTORSHIP_RELATION_WAS_DELETED_SUCCESSFULLY)
}

/// The daily job: completes every ACCEPTED relation whose end date has passed, in batches,
/// and tells both parties. Idempotent: a second run finds nothing to do.
pub async fn complete_expired(state: &AppState, now: Timestamp) -> Result<u64> {
    let mut completed = 0u64;
    loop {
        let mut work = state.unit_of_work().await?;
        let batch = store::relations::complete_due(work.tx(), now, COMPLETION_BATCH).await?;
        let ids: Vec<i64> = batch.iter().map(|relation| relation.id).collect();
        for id in &ids {
            work.audit(
                Event::new(None, "relation.complete", audit::relation(*id))
                    .with(serde_json::json!({"state": "COMPLETED"})),
            );
        }
        super::meetings::cancel_for_ended_relations(state, &mut work, &ids, now).await?;
        for relation in &batch {
            for party in &relation.parties {
                let other = relation
                    .parties
                    .iter()
                    .find(|p| p.user_id != party.user_id)
                    .map_or("your former partner", |p| p.name.as_str());
                work.queue_mail(Outgoing {
                    template: "relation_completed",
                    recipient: &party.email,
                    context: serde_json::json!({
                        "name": party.name, "other": other,
                        "end_date": day_month_year(relation.end_date),
                    }),
                    calendar: None,
                })?;
            }
        }
        work.commit().await?;
        completed += batch.len() as u64;
        if (batch.len() as i64) < COMPLETION_BATCH {
            break;
        }
    }
    Ok(completed)
}
