//! Meetings and substitute mentors: the times a meeting may have, its states, the commands
//! that propose and change meetings, what the API shows of them, and their iCalendar form.

use serde::Serialize;
use serde_json::Value;

use crate::domain::clock::Timestamp;
use crate::domain::json::{self, FromJson, field_not_valid, number_or_nan};
use crate::domain::messages::{self, Message};
use crate::domain::rules::{self, TextRule};
use crate::error::{Error, Result};

/// A meeting lasts at most this long.
pub const MAX_DURATION_SECS: f64 = 8.0 * 3_600.0;
/// Invitation links expire this long after the invitation (or when the meeting starts).
pub const INVITATION_VALID_SECS: f64 = 7.0 * 86_400.0;

/// Checks a proposed start and end against `now`.
pub fn check_times(start: f64, end: f64, now: Timestamp) -> Result<(), Message> {
    let plausible = |t: f64| t.is_finite() && (0.0..253_402_300_800.0).contains(&t);
    if !plausible(start) || !plausible(end) {
        return Err(messages::MEETING_DATES_INVALID);
    }
    if start <= now {
        return Err(messages::MEETING_START_IN_PAST);
    }
    if end <= start {
        return Err(messages::MEETING_END_BEFORE_START);
    }
    if end - start > MAX_DURATION_SECS {
        return Err(messages::MEETING_TOO_LONG);
    }
    Ok(())
}

/// A meeting's stored state. `completed` is not stored: it is a confirmed meeting whose end
/// has passed, so no job has to move it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeetingState {
    Proposed,
    Confirmed,
    Declined,
    Cancelled,
}

impl MeetingState {
    pub const ALL: [MeetingState; 4] = [
        MeetingState::Proposed,
        MeetingState::Confirmed,
        MeetingState::Declined,
        MeetingState::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MeetingState::Proposed => "proposed",
            MeetingState::Confirmed => "confirmed",
            MeetingState::Declined => "declined",
            MeetingState::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<MeetingState> {
        MeetingState::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The state the API shows: `completed` once a confirmed meeting has ended.
    pub fn shown(self, end_date: Timestamp, now: Timestamp) -> &'static str {
        if self == MeetingState::Confirmed && end_date <= now {
            "completed"
        } else {
            self.as_str()
        }
    }
}

/// Where a meeting's substitute invitation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubstituteStatus {
    Pending,
    Accepted,
    Rejected,
}

impl SubstituteStatus {
    pub const ALL: [SubstituteStatus; 3] = [
        SubstituteStatus::Pending,
        SubstituteStatus::Accepted,
        SubstituteStatus::Rejected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SubstituteStatus::Pending => "pending",
            SubstituteStatus::Accepted => "accepted",
            SubstituteStatus::Rejected => "rejected",
        }
    }

    pub fn parse(text: &str) -> Option<SubstituteStatus> {
        SubstituteStatus::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// What someone does to a meeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeetingAction {
    Edit,
    Accept,
    Decline,
    Cancel,
}

/// The meeting state machine: the proposer edits a proposal; the other party accepts or
/// declines it; either party cancels a proposed or confirmed meeting before it starts.
pub fn transition(
    state: MeetingState,
    action: MeetingAction,
    is_proposer: bool,
    started: bool,
) -> Result<MeetingState> {
    use MeetingState::*;
    match action {
        MeetingAction::Edit | MeetingAction::Accept | MeetingAction::Decline => {
            if action == MeetingAction::Edit && !is_proposer {
                return Err(Error::forbidden(messages::ONLY_PROPOSER_CAN_EDIT_MEETING));
            }
            if action != MeetingAction::Edit && is_proposer {
                return Err(Error::forbidden(messages::CANT_ANSWER_OWN_MEETING));
            }
            if state != Proposed {
                return Err(Error::conflict(messages::MEETING_NOT_PROPOSED));
            }
            if started {
                return Err(Error::conflict(messages::MEETING_ALREADY_STARTED));
            }
            Ok(match action {
                MeetingAction::Accept => Confirmed,
                MeetingAction::Decline => Declined,
                _ => Proposed,
            })
        }
        MeetingAction::Cancel => {
            if !matches!(state, Proposed | Confirmed) {
                return Err(Error::conflict(messages::MEETING_NOT_CANCELLABLE));
            }
            if started {
                return Err(Error::conflict(messages::MEETING_ALREADY_STARTED));
            }
            Ok(Cancelled)
        }
    }
}

/// A meeting's proposed details: start and end (UNIX seconds, in the future, at most 8 hours
/// apart), and an optional place and notes.
#[derive(Debug, Clone, utoipa::ToSchema)]
pub struct MeetingDetails {
    // NaN when something other than a number was sent (`MeetingDetails::check_times`).
    pub start_date: f64,
    pub end_date: f64,
    /// A room, an address or a URL.
    #[schema(schema_with = rules::schema::meeting_place)]
    pub place: Option<String>,
    #[schema(schema_with = rules::schema::meeting_notes)]
    pub notes: Option<String>,
}

impl FromJson for MeetingDetails {
    fn from_json(body: Option<&Value>) -> Result<MeetingDetails> {
        let object = json::object(body);
        let time = |key: &str, missing: Message| -> Result<f64> {
            match object.get(key) {
                None | Some(Value::Null) => Err(Error::invalid(missing)),
                Some(value) => Ok(number_or_nan(value)),
            }
        };
        let start_date = time("start_date", messages::START_DATE_FIELD_IS_MISSING)?;
        let end_date = time("end_date", messages::END_DATE_FIELD_IS_MISSING)?;
        let text = |rule: TextRule| -> Result<Option<String>> {
            match object.get(rule.field) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
                Some(Value::String(s)) => {
                    rule.check_length(s)?;
                    Ok(Some(s.clone()))
                }
                Some(_) => Err(field_not_valid(rule.field)),
            }
        };
        Ok(MeetingDetails {
            start_date,
            end_date,
            place: text(rules::MEETING_PLACE)?,
            notes: text(rules::MEETING_NOTES)?,
        })
    }
}

impl MeetingDetails {
    pub fn check_times(&self, now: Timestamp) -> Result<()> {
        check_times(self.start_date, self.end_date, now).map_err(Error::invalid)
    }
}

/// Whom the titular mentor invites as substitute.
#[derive(Debug, Clone, Copy, utoipa::ToSchema)]
pub struct SubstituteInvitation {
    /// A verified member available to mentor, neither the mentor nor the mentee.
    pub user_id: i64,
}

impl FromJson for SubstituteInvitation {
    fn from_json(body: Option<&Value>) -> Result<SubstituteInvitation> {
        match body.and_then(|b| b.get("user_id")) {
            None | Some(Value::Null) => Err(Error::invalid(messages::USER_ID_FIELD_IS_MISSING)),
            Some(value) => value
                .as_i64()
                .map(|user_id| SubstituteInvitation { user_id })
                .ok_or_else(|| field_not_valid("user_id")),
        }
    }
}

/// A meeting state as the admins' list filters it: a stored state, or `completed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListedState {
    Proposed,
    /// Confirmed and not over.
    Confirmed,
    Declined,
    Cancelled,
    /// Confirmed and over.
    Completed,
}

/// `GET /admin/meetings`: filters and page.
#[derive(Debug, Clone, PartialEq)]
pub struct MeetingFilter {
    pub state: Option<ListedState>,
    pub substitute_status: Option<SubstituteStatus>,
    pub page: crate::domain::Page,
}

impl MeetingFilter {
    pub fn from_query(query: &std::collections::HashMap<String, String>) -> Result<MeetingFilter> {
        let value = |key: &str| {
            query
                .get(key)
                .map(|v| v.trim().to_ascii_lowercase())
                .filter(|v| !v.is_empty())
        };
        let invalid = || Error::invalid(messages::INVALID_MEETING_FILTER);
        let state = match value("state").as_deref() {
            None => None,
            Some("proposed") => Some(ListedState::Proposed),
            Some("confirmed") => Some(ListedState::Confirmed),
            Some("declined") => Some(ListedState::Declined),
            Some("cancelled") => Some(ListedState::Cancelled),
            Some("completed") => Some(ListedState::Completed),
            Some(_) => return Err(invalid()),
        };
        let substitute_status = match value("substitute_status") {
            None => None,
            Some(text) => Some(SubstituteStatus::parse(&text).ok_or_else(invalid)?),
        };
        Ok(MeetingFilter {
            state,
            substitute_status,
            page: crate::domain::Page::from_query(query),
        })
    }
}

impl utoipa::IntoParams for MeetingFilter {
    fn into_params(
        _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        use crate::domain::query_param;
        use utoipa::openapi::schema::Type;
        let mut params = vec![
            query_param(
                "state",
                Type::String,
                "proposed, confirmed, declined, cancelled or completed.",
            ),
            query_param(
                "substitute_status",
                Type::String,
                "pending, accepted or rejected.",
            ),
        ];
        params.extend(<crate::domain::Page as utoipa::IntoParams>::into_params(
            || None,
        ));
        params
    }
}

/// Someone named on a meeting.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Person {
    pub id: Option<i64>,
    pub name: Option<String>,
}

/// A meeting of a relation.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Meeting {
    pub id: i64,
    pub relation_id: i64,
    pub proposer_id: i64,
    /// UNIX seconds.
    pub start_date: Timestamp,
    pub end_date: Timestamp,
    pub place: Option<String>,
    pub notes: Option<String>,
    /// proposed, confirmed, declined, cancelled or completed (a confirmed meeting that has ended).
    pub state: &'static str,
    /// The titular mentor: the relation's mentor.
    pub mentor: Person,
    pub mentee: Person,
    /// The invited or accepted substitute mentor.
    pub substitute: Option<Person>,
    /// pending, accepted or rejected.
    pub substitute_status: Option<&'static str>,
    pub substitute_invited_at: Option<Timestamp>,
    pub substitute_responded_at: Option<Timestamp>,
}

/// A meeting after a change, with the `message` every write answers with.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MeetingChanged {
    pub message: &'static str,
    #[serde(flatten)]
    pub meeting: Meeting,
}

/// What the page of a live invitation link shows: the meeting, who invites whom, and the
/// decision the link carries.
#[derive(Debug, Clone, Serialize)]
pub struct InvitationSummary {
    pub mentor: Option<String>,
    pub mentee: Option<String>,
    pub invitee: Option<String>,
    pub when: String,
    pub place: Option<String>,
    /// `accept` or `reject`.
    pub decision: &'static str,
}

/// How a meeting's time reads in an e-mail: `Tue 1 Dec 2026, 10:00-11:00 UTC`.
pub fn when(start: Timestamp, end: Timestamp) -> String {
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

/// An iCalendar event for a meeting, for calendar apps to add, update or remove it.
pub struct CalendarEvent<'a> {
    pub uid: String,
    pub sequence: i64,
    pub start: f64,
    pub end: f64,
    pub stamp: f64,
    pub summary: &'a str,
    pub location: Option<&'a str>,
    pub description: Option<&'a str>,
    pub cancelled: bool,
}

fn ics_time(at: f64) -> String {
    chrono::DateTime::from_timestamp(at as i64, 0)
        .map(|t| t.format("%Y%m%dT%H%M%SZ").to_string())
        .unwrap_or_default()
}

/// Escapes a TEXT value (RFC 5545 §3.3.11).
fn ics_text(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,")
        .replace("\r\n", "\\n")
        .replace(['\n', '\r'], "\\n")
}

impl CalendarEvent<'_> {
    pub fn to_ics(&self) -> String {
        let method = if self.cancelled { "CANCEL" } else { "REQUEST" };
        let status = if self.cancelled {
            "CANCELLED"
        } else {
            "CONFIRMED"
        };
        let mut lines = vec![
            "BEGIN:VCALENDAR".to_owned(),
            "VERSION:2.0".to_owned(),
            "PRODID:-//Mentorship System//Meetings//EN".to_owned(),
            format!("METHOD:{method}"),
            "BEGIN:VEVENT".to_owned(),
            format!("UID:{}", self.uid),
            format!("SEQUENCE:{}", self.sequence),
            format!("DTSTAMP:{}", ics_time(self.stamp)),
            format!("DTSTART:{}", ics_time(self.start)),
            format!("DTEND:{}", ics_time(self.end)),
            format!("SUMMARY:{}", ics_text(self.summary)),
            format!("STATUS:{status}"),
        ];
        if let Some(location) = self.location {
            lines.push(format!("LOCATION:{}", ics_text(location)));
        }
        if let Some(description) = self.description {
            lines.push(format!("DESCRIPTION:{}", ics_text(description)));
        }
        lines.push("END:VEVENT".to_owned());
        lines.push("END:VCALENDAR".to_owned());
        let mut out = String::new();
        for line in lines {
            out.push_str(&fold(&line));
            out.push_str("\r\n");
        }
        out
    }
}

/// Folds a content line at 75 octets, as RFC 5545 asks.
fn fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 8);
    let mut width = 0;
    for ch in line.chars() {
        if width + ch.len_utf8() > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(ch);
        width += ch.len_utf8();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meeting_times_must_be_future_ordered_and_at_most_eight_hours() {
        let now = 1_000_000.0;
        assert_eq!(
            check_times(now - 1.0, now + 60.0, now),
            Err(messages::MEETING_START_IN_PAST)
        );
        assert_eq!(
            check_times(now + 60.0, now + 60.0, now),
            Err(messages::MEETING_END_BEFORE_START)
        );
        assert_eq!(
            check_times(now + 60.0, now + 60.0 + MAX_DURATION_SECS + 1.0, now),
            Err(messages::MEETING_TOO_LONG)
        );
        assert!(check_times(now + 60.0, now + 60.0 + MAX_DURATION_SECS, now).is_ok());
    }

    #[test]
    fn only_the_other_party_answers_and_only_the_proposer_edits() {
        use MeetingAction::*;
        use MeetingState::*;
        assert_eq!(
            transition(Proposed, Accept, false, false).unwrap(),
            Confirmed
        );
        assert_eq!(
            transition(Proposed, Decline, false, false).unwrap(),
            Declined
        );
        assert!(transition(Proposed, Accept, true, false).is_err());
        assert!(transition(Proposed, Edit, false, false).is_err());
        assert_eq!(transition(Proposed, Edit, true, false).unwrap(), Proposed);
        assert!(transition(Confirmed, Edit, true, false).is_err());
        assert_eq!(
            transition(Confirmed, Cancel, true, false).unwrap(),
            Cancelled
        );
        assert!(
            transition(Confirmed, Cancel, false, true).is_err(),
            "started"
        );
        assert!(transition(Declined, Cancel, false, false).is_err());
    }

    #[test]
    fn an_event_folds_long_lines_and_escapes_text() {
        let event = CalendarEvent {
            uid: "meeting-1@example.org".into(),
            sequence: 2,
            start: 1_800_000_000.0,
            end: 1_800_003_600.0,
            stamp: 1_799_000_000.0,
            summary: "Mentorship meeting; Ada, Bob",
            location: Some(&"x".repeat(100)),
            description: Some("line one\nline two"),
            cancelled: true,
        };
        let ics = event.to_ics();
        assert!(ics.contains("METHOD:CANCEL\r\n"));
        assert!(ics.contains("SUMMARY:Mentorship meeting\\; Ada\\, Bob\r\n"));
        assert!(ics.contains("DESCRIPTION:line one\\nline two\r\n"));
        assert!(ics.lines().all(|l| l.len() <= 75));
        assert!(ics.contains("DTSTART:20270115T080000Z"));
    }
}
