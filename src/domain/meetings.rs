//! Meeting rules: the times a meeting may have, its states, and its iCalendar form.

use crate::domain::clock::Timestamp;
use crate::domain::messages::{self, Message};

/// A meeting lasts at most this long.
pub const MAX_DURATION_SECS: f64 = 8.0 * 3_600.0;
/// Invitation links expire this long after the invitation (or when the meeting starts).
pub const INVITATION_VALID_SECS: f64 = 7.0 * 86_400.0;
pub const PLACE_MAX: usize = 300;
pub const NOTES_MAX: usize = 1_000;

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
    pub fn parse(text: &str) -> Option<MeetingState> {
        Some(match text {
            "proposed" => MeetingState::Proposed,
            "confirmed" => MeetingState::Confirmed,
            "declined" => MeetingState::Declined,
            "cancelled" => MeetingState::Cancelled,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MeetingState::Proposed => "proposed",
            MeetingState::Confirmed => "confirmed",
            MeetingState::Declined => "declined",
            MeetingState::Cancelled => "cancelled",
        }
    }
}

/// The state the API shows: `completed` once a confirmed meeting has ended.
pub fn shown_state(stored: &str, end_date: f64, now: Timestamp) -> &str {
    if stored == "confirmed" && end_date <= now {
        "completed"
    } else {
        stored
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
) -> Result<MeetingState, (u16, Message)> {
    use MeetingState::*;
    match action {
        MeetingAction::Edit | MeetingAction::Accept | MeetingAction::Decline => {
            if action == MeetingAction::Edit && !is_proposer {
                return Err((403, messages::ONLY_PROPOSER_CAN_EDIT_MEETING));
            }
            if action != MeetingAction::Edit && is_proposer {
                return Err((403, messages::CANT_ANSWER_OWN_MEETING));
            }
            if state != Proposed {
                return Err((409, messages::MEETING_NOT_PROPOSED));
            }
            if started {
                return Err((409, messages::MEETING_ALREADY_STARTED));
            }
            Ok(match action {
                MeetingAction::Accept => Confirmed,
                MeetingAction::Decline => Declined,
                _ => Proposed,
            })
        }
        MeetingAction::Cancel => {
            if !matches!(state, Proposed | Confirmed) {
                return Err((409, messages::MEETING_NOT_CANCELLABLE));
            }
            if started {
                return Err((409, messages::MEETING_ALREADY_STARTED));
            }
            Ok(Cancelled)
        }
    }
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
        assert_eq!(transition(Proposed, Accept, false, false), Ok(Confirmed));
        assert_eq!(transition(Proposed, Decline, false, false), Ok(Declined));
        assert!(transition(Proposed, Accept, true, false).is_err());
        assert!(transition(Proposed, Edit, false, false).is_err());
        assert_eq!(transition(Proposed, Edit, true, false), Ok(Proposed));
        assert!(transition(Confirmed, Edit, true, false).is_err());
        assert_eq!(transition(Confirmed, Cancel, true, false), Ok(Cancelled));
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
