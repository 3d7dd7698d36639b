//! Mentorship relations: the state machine, the request rules, the request command and what
//! the API shows of a relation, as pure types and functions.

use serde::Serialize;
use serde_json::Value;

use crate::domain::clock::Timestamp;
use crate::domain::json::{self, FromJson, field_not_valid, number_or_nan};
use crate::domain::messages::{self, Message};
use crate::domain::rules;
use crate::domain::tasks::Task;
use crate::error::{Error, Result};

/// A relation's state; the API shows the number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelationState {
    Pending = 1,
    Accepted = 2,
    Rejected = 3,
    Cancelled = 4,
    Completed = 5,
}

impl RelationState {
    pub const ALL: [RelationState; 5] = [
        RelationState::Pending,
        RelationState::Accepted,
        RelationState::Rejected,
        RelationState::Cancelled,
        RelationState::Completed,
    ];

    /// The number stored and shown.
    pub fn number(self) -> i64 {
        self as i64
    }

    pub fn from_number(value: i64) -> Option<RelationState> {
        RelationState::ALL.into_iter().find(|s| s.number() == value)
    }

    /// `relation_state` query values, case-insensitive.
    pub fn from_name(name: &str) -> Option<RelationState> {
        Some(match name.to_ascii_uppercase().as_str() {
            "PENDING" => RelationState::Pending,
            "ACCEPTED" => RelationState::Accepted,
            "REJECTED" => RelationState::Rejected,
            "CANCELLED" => RelationState::Cancelled,
            "COMPLETED" => RelationState::Completed,
            _ => return None,
        })
    }
}

/// What a user does to a relation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Accept,
    Reject,
    Cancel,
    Delete,
    /// The daily job, when the end date has passed.
    Complete,
}

impl Action {
    /// The action's name in the audit trail.
    pub fn audit_name(self) -> &'static str {
        match self {
            Action::Accept => "relation.accept",
            Action::Reject => "relation.reject",
            Action::Cancel => "relation.cancel",
            Action::Delete => "relation.delete",
            Action::Complete => "relation.complete",
        }
    }
}

/// The caller's part in a relation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Sent the request.
    Sender,
    /// Received the request.
    Receiver,
    Uninvolved,
    /// The scheduler.
    System,
}

/// The state machine: PENDING -> ACCEPTED | REJECTED (receiver) | deleted (sender);
/// ACCEPTED -> CANCELLED (either party) | COMPLETED (the job). The checks run in the
/// reference's order, so the first failing one gives the contract's message. Every refusal is
/// a "forbidden", as in the reference. `Ok(None)` means the relation is deleted.
pub fn transition(
    state: RelationState,
    action: Action,
    role: Role,
) -> Result<Option<RelationState>, Message> {
    use RelationState::*;
    match action {
        Action::Accept | Action::Reject => {
            if state != Pending {
                return Err(messages::NOT_PENDING_STATE_RELATION);
            }
            let accept = action == Action::Accept;
            match role {
                Role::Sender if accept => Err(messages::CANT_ACCEPT_MENTOR_REQ_SENT_BY_USER),
                Role::Sender => Err(messages::USER_CANT_REJECT_REQUEST_SENT_BY_USER),
                Role::Uninvolved | Role::System if accept => {
                    Err(messages::CANT_ACCEPT_UNINVOLVED_MENTOR_RELATION)
                }
                Role::Uninvolved | Role::System => {
                    Err(messages::CANT_REJECT_UNINVOLVED_RELATION_REQUEST)
                }
                Role::Receiver => Ok(Some(if accept { Accepted } else { Rejected })),
            }
        }
        Action::Cancel => {
            if state != Accepted {
                return Err(messages::UNACCEPTED_STATE_RELATION);
            }
            match role {
                Role::Sender | Role::Receiver => Ok(Some(Cancelled)),
                Role::Uninvolved | Role::System => Err(messages::CANT_CANCEL_UNINVOLVED_REQUEST),
            }
        }
        Action::Delete => {
            if state != Pending {
                return Err(messages::NOT_PENDING_STATE_RELATION);
            }
            match role {
                Role::Sender => Ok(None),
                _ => Err(messages::CANT_DELETE_UNINVOLVED_REQUEST),
            }
        }
        Action::Complete => match (state, role) {
            (Accepted, Role::System) => Ok(Some(Completed)),
            _ => Err(messages::UNACCEPTED_STATE_RELATION),
        },
    }
}

/// A request's end date must be 4 to 24 weeks away.
pub const MIN_DURATION_SECS: f64 = 4.0 * 7.0 * 86_400.0;
pub const MAX_DURATION_SECS: f64 = 24.0 * 7.0 * 86_400.0;

/// Checks a requested end date against `now`, in the reference's order.
pub fn check_end_date(end_date: f64, now: f64) -> Result<(), Message> {
    // Outside the years 1 to 9999 the reference's datetime conversion fails; before that, a
    // date in the past is only "in the past".
    if !end_date.is_finite() || !(-62_135_596_800.0..253_402_300_800.0).contains(&end_date) {
        return Err(messages::INVALID_END_DATE);
    }
    if end_date < now {
        return Err(messages::END_TIME_BEFORE_PRESENT);
    }
    if end_date - now > MAX_DURATION_SECS {
        return Err(messages::MENTOR_TIME_GREATER_THAN_MAX_TIME);
    }
    if end_date - now < MIN_DURATION_SECS {
        return Err(messages::MENTOR_TIME_LESS_THAN_MIN_TIME);
    }
    Ok(())
}

/// How the other party's id was sent in a request: the reference compared the caller's id with
/// Python's `==` (so `2.0` is the caller 2 and `"2"` is not), but looked the other party up
/// tolerantly (a string of digits names a user).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PartyId {
    Number { integer: Option<i64>, float: f64 },
    Digits(i64),
    Other,
}

impl PartyId {
    fn from_json(value: &Value) -> PartyId {
        match value {
            Value::Number(n) => PartyId::Number {
                integer: n.as_i64(),
                float: n.as_f64().unwrap_or(f64::NAN),
            },
            Value::String(s) => s.parse().map_or(PartyId::Other, PartyId::Digits),
            _ => PartyId::Other,
        }
    }

    fn is(&self, me: i64) -> bool {
        match *self {
            PartyId::Number { integer, float } => integer == Some(me) || float == me as f64,
            _ => false,
        }
    }

    /// The user this names (the caller when it is the caller), if any.
    fn resolve(&self, me: i64) -> Option<i64> {
        if self.is(me) {
            return Some(me);
        }
        match *self {
            PartyId::Number { integer, float } => {
                integer.or_else(|| (float.fract() == 0.0).then_some(float as i64))
            }
            PartyId::Digits(id) => Some(id),
            PartyId::Other => None,
        }
    }
}

/// A mentorship request: the caller is the mentor or the mentee.
// Read as sent; `SendRequest::check` applies the rules that need the caller and the time.
#[derive(Debug, Clone, utoipa::ToSchema)]
pub struct SendRequest {
    #[schema(value_type = i64)]
    pub mentor_id: PartyId,
    #[schema(value_type = i64)]
    pub mentee_id: PartyId,
    /// UNIX seconds, 4 to 24 weeks from now.
    pub end_date: f64,
    // `None` when something other than a string was sent.
    #[schema(schema_with = rules::schema::relation_notes, required = true)]
    pub notes: Option<String>,
}

impl FromJson for SendRequest {
    /// Every field must be present before any is judged (the reference's first checks).
    fn from_json(body: Option<&Value>) -> Result<SendRequest> {
        let object = json::object(body);
        let mentor = json::present(object, "mentor_id", messages::MENTOR_ID_FIELD_IS_MISSING)?;
        let mentee = json::present(object, "mentee_id", messages::MENTEE_ID_FIELD_IS_MISSING)?;
        let end_date = json::present(object, "end_date", messages::END_DATE_FIELD_IS_MISSING)?;
        let notes = json::present(object, "notes", messages::NOTES_FIELD_IS_MISSING)?;
        Ok(SendRequest {
            mentor_id: PartyId::from_json(mentor),
            mentee_id: PartyId::from_json(mentee),
            end_date: number_or_nan(end_date),
            notes: match notes {
                Value::String(s) => Some(s.clone()),
                Value::Null => Some(String::new()),
                _ => None,
            },
        })
    }
}

/// A request that passed every rule that needs no database.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedRequest {
    /// `None` when the id names no possible user.
    pub mentor_id: Option<i64>,
    pub mentee_id: Option<i64>,
    pub end_date: Timestamp,
    pub notes: String,
}

impl SendRequest {
    /// The caller must be the mentor or the mentee, not both; then the end date; then notes.
    pub fn check(&self, me: i64, now: Timestamp) -> Result<CheckedRequest> {
        if !self.mentor_id.is(me) && !self.mentee_id.is(me) {
            return Err(Error::invalid(messages::MATCH_EITHER_MENTOR_OR_MENTEE));
        }
        let (mentor_id, mentee_id) = (self.mentor_id.resolve(me), self.mentee_id.resolve(me));
        if mentor_id == mentee_id {
            return Err(Error::invalid(messages::MENTOR_ID_SAME_AS_MENTEE_ID));
        }
        check_end_date(self.end_date, now).map_err(Error::invalid)?;
        let notes = self.notes.clone().ok_or_else(|| field_not_valid("notes"))?;
        rules::RELATION_NOTES.check_length(&notes)?;
        Ok(CheckedRequest {
            mentor_id,
            mentee_id,
            end_date: self.end_date,
            notes,
        })
    }
}

/// Which of a member's relations to list.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RelationList {
    /// Every relation, or those in one state.
    All(Option<RelationState>),
    /// Those whose end date has passed.
    Past,
    /// Pending requests whose end date is still ahead.
    Pending,
}

impl RelationList {
    /// `GET /mentorship_relations?relation_state=...`: any case; empty means every state.
    pub fn with_state(relation_state: Option<&str>) -> Result<RelationList> {
        match relation_state.filter(|s| !s.is_empty()) {
            None => Ok(RelationList::All(None)),
            Some(name) => RelationState::from_name(name)
                .map(|state| RelationList::All(Some(state)))
                .ok_or_else(|| Error::invalid(messages::INVALID_RELATION_STATE)),
        }
    }
}

/// A party of a relation; both null once that member deleted their account.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Party {
    pub id: Option<i64>,
    pub name: Option<String>,
}

/// A mentorship relation as the lists show it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Relation {
    pub id: i64,
    pub action_user_id: i64,
    /// The caller sent the request.
    pub sent_by_me: bool,
    pub mentor: Party,
    pub mentee: Party,
    pub creation_date: Timestamp,
    pub accept_date: Option<Timestamp>,
    pub start_date: Option<Timestamp>,
    pub end_date: Timestamp,
    /// 1 pending, 2 accepted, 3 rejected, 4 cancelled, 5 completed.
    pub state: i64,
    pub notes: String,
}

/// The current relation, or a message saying there is none (the apps tell them apart by shape).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum CurrentRelation {
    Relation(Relation),
    None { message: &'static str },
}

/// `GET /home`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HomeStatistics {
    pub name: String,
    pub pending_requests: i64,
    pub accepted_requests: i64,
    pub rejected_requests: i64,
    pub completed_relations: i64,
    pub cancelled_relations: i64,
    /// The latest three completed tasks, most recent first.
    pub achievements: Vec<Task>,
}

/// A party as `/dashboard` shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DashboardParty {
    pub id: Option<i64>,
    pub user_name: Option<String>,
    pub photo_url: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DashboardRelation {
    pub id: i64,
    pub action_user_id: i64,
    pub mentor: DashboardParty,
    pub mentee: DashboardParty,
    pub creation_date: Timestamp,
    pub accept_date: Option<Timestamp>,
    pub start_date: Option<Timestamp>,
    pub end_date: Timestamp,
    pub state: i64,
    pub notes: String,
}

#[derive(Debug, Serialize, Default, utoipa::ToSchema)]
pub struct ByState {
    pub accepted: Vec<DashboardRelation>,
    pub rejected: Vec<DashboardRelation>,
    pub completed: Vec<DashboardRelation>,
    pub cancelled: Vec<DashboardRelation>,
    pub pending: Vec<DashboardRelation>,
}

impl ByState {
    pub fn bucket(&mut self, state: RelationState) -> &mut Vec<DashboardRelation> {
        match state {
            RelationState::Pending => &mut self.pending,
            RelationState::Accepted => &mut self.accepted,
            RelationState::Rejected => &mut self.rejected,
            RelationState::Cancelled => &mut self.cancelled,
            RelationState::Completed => &mut self.completed,
        }
    }
}

#[derive(Debug, Serialize, Default, utoipa::ToSchema)]
pub struct SentReceived {
    pub sent: ByState,
    pub received: ByState,
}

/// `GET /dashboard`.
#[derive(Debug, Serialize, Default, utoipa::ToSchema)]
pub struct Dashboard {
    pub as_mentor: SentReceived,
    pub as_mentee: SentReceived,
    /// Present only when the caller has a current relation: its tasks not done yet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tasks_todo: Option<Vec<Task>>,
    /// Present only when the caller has a current relation: its tasks done.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tasks_done: Option<Vec<Task>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATES: [RelationState; 5] = [
        RelationState::Pending,
        RelationState::Accepted,
        RelationState::Rejected,
        RelationState::Cancelled,
        RelationState::Completed,
    ];
    const ACTIONS: [Action; 5] = [
        Action::Accept,
        Action::Reject,
        Action::Cancel,
        Action::Delete,
        Action::Complete,
    ];
    const ROLES: [Role; 4] = [Role::Sender, Role::Receiver, Role::Uninvolved, Role::System];

    #[test]
    fn only_the_documented_transitions_exist() {
        let mut allowed = Vec::new();
        for state in STATES {
            for action in ACTIONS {
                for role in ROLES {
                    if let Ok(next) = transition(state, action, role) {
                        allowed.push((state, action, role, next));
                    }
                }
            }
        }
        use RelationState::*;
        assert_eq!(
            allowed,
            vec![
                (Pending, Action::Accept, Role::Receiver, Some(Accepted)),
                (Pending, Action::Reject, Role::Receiver, Some(Rejected)),
                (Pending, Action::Delete, Role::Sender, None),
                (Accepted, Action::Cancel, Role::Sender, Some(Cancelled)),
                (Accepted, Action::Cancel, Role::Receiver, Some(Cancelled)),
                (Accepted, Action::Complete, Role::System, Some(Completed)),
            ]
        );
    }

    #[test]
    fn no_transition_leaves_a_final_state() {
        for state in [
            RelationState::Rejected,
            RelationState::Cancelled,
            RelationState::Completed,
        ] {
            for action in ACTIONS {
                for role in ROLES {
                    assert!(transition(state, action, role).is_err());
                }
            }
        }
    }

    #[test]
    fn end_dates_must_be_four_to_twenty_four_weeks_away() {
        let now = 1_800_000_000.0;
        assert_eq!(
            check_end_date(now - 1.0, now),
            Err(messages::END_TIME_BEFORE_PRESENT)
        );
        assert_eq!(
            check_end_date(now + MIN_DURATION_SECS - 1.0, now),
            Err(messages::MENTOR_TIME_LESS_THAN_MIN_TIME)
        );
        assert_eq!(
            check_end_date(now + MAX_DURATION_SECS + 1.0, now),
            Err(messages::MENTOR_TIME_GREATER_THAN_MAX_TIME)
        );
        assert_eq!(check_end_date(1e20, now), Err(messages::INVALID_END_DATE));
        assert!(check_end_date(now + MIN_DURATION_SECS, now).is_ok());
        assert!(check_end_date(now + MAX_DURATION_SECS, now).is_ok());
    }
}
