//! The relation state machine and the request rules, as pure functions.

use crate::domain::messages::{self, Message};

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
    pub fn from_i64(value: i64) -> Option<RelationState> {
        Some(match value {
            1 => RelationState::Pending,
            2 => RelationState::Accepted,
            3 => RelationState::Rejected,
            4 => RelationState::Cancelled,
            5 => RelationState::Completed,
            _ => return None,
        })
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
/// reference's order, so the first failing one gives the contract's message and status
/// (`Err((status, message))`). `Ok(None)` means the relation is deleted.
pub fn transition(
    state: RelationState,
    action: Action,
    role: Role,
) -> Result<Option<RelationState>, (u16, Message)> {
    use RelationState::*;
    match action {
        Action::Accept | Action::Reject => {
            if state != Pending {
                return Err((403, messages::NOT_PENDING_STATE_RELATION));
            }
            let accept = action == Action::Accept;
            match role {
                Role::Sender if accept => Err((403, messages::CANT_ACCEPT_MENTOR_REQ_SENT_BY_USER)),
                Role::Sender => Err((403, messages::USER_CANT_REJECT_REQUEST_SENT_BY_USER)),
                Role::Uninvolved | Role::System if accept => {
                    Err((403, messages::CANT_ACCEPT_UNINVOLVED_MENTOR_RELATION))
                }
                Role::Uninvolved | Role::System => {
                    Err((403, messages::CANT_REJECT_UNINVOLVED_RELATION_REQUEST))
                }
                Role::Receiver => Ok(Some(if accept { Accepted } else { Rejected })),
            }
        }
        Action::Cancel => {
            if state != Accepted {
                return Err((403, messages::UNACCEPTED_STATE_RELATION));
            }
            match role {
                Role::Sender | Role::Receiver => Ok(Some(Cancelled)),
                Role::Uninvolved | Role::System => {
                    Err((403, messages::CANT_CANCEL_UNINVOLVED_REQUEST))
                }
            }
        }
        Action::Delete => {
            if state != Pending {
                return Err((403, messages::NOT_PENDING_STATE_RELATION));
            }
            match role {
                Role::Sender => Ok(None),
                _ => Err((403, messages::CANT_DELETE_UNINVOLVED_REQUEST)),
            }
        }
        Action::Complete => match (state, role) {
            (Accepted, Role::System) => Ok(Some(Completed)),
            _ => Err((403, messages::UNACCEPTED_STATE_RELATION)),
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
