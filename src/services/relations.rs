//! Mentorship relations: sending, answering, cancelling and listing requests, and the daily
//! completion job. Each workflow runs its checks in the contract's order inside one transaction
//! and queues its e-mail there.

use axum::http::StatusCode;
use serde_json::Value;

use crate::app::AppState;
use crate::domain::clock::{Timestamp, day_month_year};
use crate::domain::messages::{self, Message};
use crate::domain::relations::{Action, RelationState, Role, check_end_date, transition};
use crate::domain::users::{check_max_length, field_not_valid};
use crate::error::{Error, Result};
use crate::mail;
use crate::services::require_verified_user;
use crate::store::{self, Tx, relations::RelationRow, relations::RelationScope};

const COMPLETION_BATCH: i64 = 500;
const NOTES_MAX: usize = 400;

/// Whether an id as sent is the caller's: a JSON number equal to it (the reference compares
/// with Python's `==`, so `2.0` is the caller 2 and `"2"` is not).
fn is_caller(value: &Value, me: i64) -> bool {
    value.as_i64() == Some(me) || value.as_f64() == Some(me as f64)
}

/// The other party's id as sent: an integer, a whole float, or a string of digits (which the
/// reference's lookup tolerated). Anything else names no user.
fn other_party_id(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// `POST /mentorship_relation/send_request`.
pub async fn send_request(state: &AppState, me: i64, body: Option<&Value>) -> Result<Message> {
    let empty = Value::Object(Default::default());
    let body = body.filter(|b| b.is_object()).unwrap_or(&empty);
    let field =
        |key: &str, missing: Message| body.get(key).ok_or_else(|| Error::bad_request(missing));
    let mentor = field("mentor_id", messages::MENTOR_ID_FIELD_IS_MISSING)?;
    let mentee = field("mentee_id", messages::MENTEE_ID_FIELD_IS_MISSING)?;
    let end_date = field("end_date", messages::END_DATE_FIELD_IS_MISSING)?;
    let notes = field("notes", messages::NOTES_FIELD_IS_MISSING)?;
    if !is_caller(mentor, me) && !is_caller(mentee, me) {
        return Err(Error::bad_request(messages::MATCH_EITHER_MENTOR_OR_MENTEE));
    }
    let id_of = |value: &Value| {
        if is_caller(value, me) {
            Some(me)
        } else {
            other_party_id(value)
        }
    };
    let (mentor_id, mentee_id) = (id_of(mentor), id_of(mentee));
    if mentor_id == mentee_id {
        return Err(Error::bad_request(messages::MENTOR_ID_SAME_AS_MENTEE_ID));
    }
    let end_date = end_date
        .as_f64()
        .ok_or_else(|| Error::bad_request(messages::INVALID_END_DATE))?;
    let now = state.clock.now();
    check_end_date(end_date, now).map_err(Error::bad_request)?;
    let notes = match notes {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        _ => return Err(field_not_valid("notes")),
    };
    check_max_length("notes", &notes, NOTES_MAX)?;

    let mut tx = state.db.begin().await?;
    // Both locked in id order, so two opposite requests never deadlock.
    let mut ids: Vec<i64> = [mentor_id, mentee_id].into_iter().flatten().collect();
    ids.sort_unstable();
    let mut parties = Vec::with_capacity(2);
    for id in ids {
        parties.extend(store::users::lock_by_id(&mut tx, id).await?);
    }
    let party = |id: Option<i64>| id.and_then(|id| parties.iter().find(|u| u.id == id));
    let mentor =
        party(mentor_id).ok_or_else(|| Error::not_found(messages::MENTOR_DOES_NOT_EXIST))?;
    if !mentor.available_to_mentor {
        return Err(Error::bad_request(messages::MENTOR_NOT_AVAILABLE_TO_MENTOR));
    }
    let mentee =
        party(mentee_id).ok_or_else(|| Error::not_found(messages::MENTEE_DOES_NOT_EXIST))?;
    if !mentee.need_mentoring {
        return Err(Error::bad_request(
            messages::MENTEE_NOT_AVAIL_TO_BE_MENTORED,
        ));
    }
    let (sender, receiver) = if me == mentor.id {
        (mentor, mentee)
    } else {
        (mentee, mentor)
    };
    if !receiver.is_email_verified {
        return Err(Error::bad_request(messages::RECIPIENT_EMAIL_NOT_VERIFIED));
    }
    if store::relations::in_current_relation(&mut tx, mentor.id).await? {
        return Err(Error::bad_request(messages::MENTOR_ALREADY_IN_A_RELATION));
    }
    if store::relations::in_current_relation(&mut tx, mentee.id).await? {
        return Err(Error::bad_request(messages::MENTEE_ALREADY_IN_A_RELATION));
    }
    let new = store::relations::NewRelation {
        mentor_id: mentor.id,
        mentee_id: mentee.id,
        action_user_id: me,
        now,
        end_date,
        notes: &notes,
    };
    store::relations::insert(&mut tx, &new).await.map_err(
        |err| match store::violated_constraint(&err) {
            Some(name)
                if name.contains("pending_pair") || name.contains("mentorship_relations.") =>
            {
                Error::conflict(messages::PENDING_REQUEST_ALREADY_EXISTS)
            }
            _ => Error::from(err),
        },
    )?;
    let role_phrase = if me == mentor.id {
        "to be your mentor"
    } else {
        "you to be their mentor"
    };
    let context = serde_json::json!({
        "name": receiver.name, "sender": sender.name, "role_phrase": role_phrase,
        "end_date": day_month_year(end_date), "notes": notes,
    });
    mail::queue(&mut tx, "relation_requested", &receiver.email, context, now).await?;
    state.commit_with_mail(tx).await?;
    Ok(messages::MENTORSHIP_RELATION_WAS_SENT_SUCCESSFULLY)
}

/// Lists for `GET /mentorship_relations[...]`.
pub enum RelationList {
    All,
    Past,
    Pending,
}

pub async fn list(
    state: &AppState,
    me: i64,
    which: RelationList,
    relation_state: Option<&str>,
) -> Result<Vec<RelationRow>> {
    require_verified_user(state, me).await?;
    let now = state.clock.now();
    let scope = match which {
        RelationList::All => match relation_state.filter(|s| !s.is_empty()) {
            None => RelationScope::All(None),
            Some(name) => {
                let wanted = RelationState::from_name(name)
                    .ok_or_else(|| Error::bad_request(messages::INVALID_RELATION_STATE))?;
                RelationScope::All(Some(wanted as i64))
            }
        },
        RelationList::Past => RelationScope::EndedBefore(now),
        RelationList::Pending => RelationScope::PendingEndingAfter(now),
    };
    Ok(store::relations::list_for_user(&state.db, me, scope).await?)
}

/// `GET /mentorship_relations/current`.
pub async fn current(state: &AppState, me: i64) -> Result<Option<RelationRow>> {
    require_verified_user(state, me).await?;
    Ok(store::relations::current_of(&state.db, me).await?)
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

/// Loads a relation for an action and runs the state machine on it.
async fn prepare(
    state: &AppState,
    tx: &mut Tx,
    me: i64,
    relation_id: i64,
    action: Action,
) -> Result<(RelationRow, Option<RelationState>)> {
    let relation = store::relations::find(tx, relation_id)
        .await?
        .ok_or_else(|| Error::not_found(messages::MENTORSHIP_RELATION_REQUEST_DOES_NOT_EXIST))?;
    let current = RelationState::from_i64(relation.state).unwrap_or(RelationState::Completed);
    let next =
        transition(current, action, role_of(&relation, me)).map_err(|(status, message)| {
            Error::new(
                StatusCode::from_u16(status).unwrap_or(StatusCode::FORBIDDEN),
                message,
            )
        })?;
    let _ = state;
    Ok((relation, next))
}

fn other_party(relation: &RelationRow, me: i64) -> Option<i64> {
    if relation.mentor_id == Some(me) {
        relation.mentee_id
    } else {
        relation.mentor_id
    }
}

/// `PUT /mentorship_relation/<id>/accept`. Two racing accepts that would put one user in two
/// relations cannot both commit: `current_relations` is keyed by user. The loser is answered
/// as if it had come second.
pub async fn accept(state: &AppState, me: i64, relation_id: i64) -> Result<Message> {
    require_verified_user(state, me).await?;
    match try_accept(state, me, relation_id).await {
        Err(Error::Unexpected(err)) if is_current_relation_conflict(&err) => {
            try_accept(state, me, relation_id).await
        }
        other => other,
    }
}

fn is_current_relation_conflict(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<sqlx::Error>()
            .and_then(store::violated_constraint)
            .is_some_and(|name| name.contains("current_relations"))
    })
}

async fn try_accept(state: &AppState, me: i64, relation_id: i64) -> Result<Message> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let (relation, _) = prepare(state, &mut tx, me, relation_id, Action::Accept).await?;
    if store::relations::in_current_relation(&mut tx, me).await? {
        return Err(Error::forbidden(
            messages::USER_IS_INVOLVED_IN_A_MENTORSHIP_RELATION,
        ));
    }
    let (Some(mentor_id), Some(mentee_id)) = (relation.mentor_id, relation.mentee_id) else {
        return Err(Error::not_found(
            messages::MENTORSHIP_RELATION_REQUEST_DOES_NOT_EXIST,
        ));
    };
    if mentor_id == me && store::relations::in_current_relation(&mut tx, mentee_id).await? {
        return Err(Error::bad_request(messages::MENTEE_ALREADY_IN_A_RELATION));
    }
    if mentee_id == me && store::relations::in_current_relation(&mut tx, mentor_id).await? {
        return Err(Error::bad_request(messages::MENTOR_ALREADY_IN_A_RELATION));
    }
    store::relations::accept(&mut tx, relation_id, mentor_id, mentee_id, now)
        .await
        .map_err(|err| {
            Error::Unexpected(anyhow::Error::new(err).context("accepting a relation"))
        })?;
    notify(&mut tx, &relation, me, "relation_accepted", now).await?;
    state.commit_with_mail(tx).await?;
    Ok(messages::MENTORSHIP_RELATION_WAS_ACCEPTED_SUCCESSFULLY)
}

/// E-mails the other party of `relation` about what `me` did.
async fn notify(
    tx: &mut Tx,
    relation: &RelationRow,
    me: i64,
    template: &str,
    now: Timestamp,
) -> Result<()> {
    let Some(recipient) = store::relations::contact(tx, other_party(relation, me)).await? else {
        return Ok(());
    };
    let actor = if relation.mentor_id == Some(me) {
        &relation.mentor_name
    } else {
        &relation.mentee_name
    };
    let context = serde_json::json!({
        "name": recipient.name, "other": actor.clone().unwrap_or_default(),
        "end_date": day_month_year(relation.end_date),
    });
    mail::queue(tx, template, &recipient.email, context, now).await?;
    Ok(())
}

/// `PUT /mentorship_relation/<id>/reject`.
pub async fn reject(state: &AppState, me: i64, relation_id: i64) -> Result<Message> {
    change(
        state,
        me,
        relation_id,
        Action::Reject,
        "relation_rejected",
        messages::MENTORSHIP_RELATION_WAS_REJECTED_SUCCESSFULLY,
    )
    .await
}

/// `PUT /mentorship_relation/<id>/cancel`.
pub async fn cancel(state: &AppState, me: i64, relation_id: i64) -> Result<Message> {
    change(
        state,
        me,
        relation_id,
        Action::Cancel,
        "relation_cancelled",
        messages::MENTORSHIP_RELATION_WAS_CANCELLED_SUCCESSFULLY,
    )
    .await
}

async fn change(
    state: &AppState,
    me: i64,
    relation_id: i64,
    action: Action,
    template: &str,
    done: Message,
) -> Result<Message> {
    require_verified_user(state, me).await?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let (relation, next) = prepare(state, &mut tx, me, relation_id, action).await?;
    let next =
        next.ok_or_else(|| Error::Unexpected(anyhow::anyhow!("{action:?} has a next state")))?;
    store::relations::change_state(&mut tx, relation_id, relation.state, next as i64, now).await?;
    notify(&mut tx, &relation, me, template, now).await?;
    state.commit_with_mail(tx).await?;
    Ok(done)
}

/// `DELETE /mentorship_relation/<id>`: the sender withdraws a pending request.
pub async fn delete(state: &AppState, me: i64, relation_id: i64) -> Result<Message> {
    require_verified_user(state, me).await?;
    let mut tx = state.db.begin().await?;
    prepare(state, &mut tx, me, relation_id, Action::Delete).await?;
    store::relations::delete(&mut tx, relation_id).await?;
    tx.commit().await?;
    Ok(messages::MENTORSHIP_RELATION_WAS_DELETED_SUCCESSFULLY)
}

/// The daily job: completes every ACCEPTED relation whose end date has passed, in batches,
/// and tells both parties. Idempotent: a second run finds nothing to do.
pub async fn complete_expired(state: &AppState, now: Timestamp) -> anyhow::Result<u64> {
    let mut completed = 0u64;
    loop {
        let mut tx = state.db.begin().await?;
        let batch = store::relations::complete_due(&mut tx, now, COMPLETION_BATCH).await?;
        let mut notices = Vec::with_capacity(2 * batch.len());
        for relation in &batch {
            for party in &relation.parties {
                let other = relation
                    .parties
                    .iter()
                    .find(|p| p.user_id != party.user_id)
                    .map_or("your former partner", |p| p.name.as_str());
                notices.push(mail::Outgoing {
                    template: "relation_completed",
                    recipient: &party.email,
                    context: serde_json::json!({
                        "name": party.name, "other": other, "end_date": day_month_year(relation.end_date),
                    }),
                });
            }
        }
        mail::queue_many(&mut tx, &notices, now).await?;
        state.commit_with_mail(tx).await?;
        completed += batch.len() as u64;
        if (batch.len() as i64) < COMPLETION_BATCH {
            break;
        }
    }
    Ok(completed)
}
