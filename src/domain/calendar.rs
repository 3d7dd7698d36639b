//! The iCalendar form of a meeting (RFC 5545), sent by e-mail as iMIP (RFC 6047): one stable
//! `UID` per meeting and a `SEQUENCE` that grows with every change, so calendar apps update
//! or remove the event they already have instead of adding another.

use icalendar::{Calendar, Component, EventLike, EventStatus, Property};

use crate::domain::clock::Timestamp;

/// What a calendar message asks of the calendar that receives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Add the event, or update it if its UID is known and its SEQUENCE higher.
    Request,
    /// Remove the event.
    Cancel,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Request => "REQUEST",
            Method::Cancel => "CANCEL",
        }
    }
}

/// Someone on the event: their address and name.
#[derive(Debug, Clone)]
pub struct Attendee {
    pub email: String,
    pub name: String,
}

/// A meeting as a calendar event.
#[derive(Debug, Clone)]
pub struct MeetingEvent {
    /// Stable for the meeting's whole life.
    pub uid: String,
    /// The meeting's revision: higher with every change.
    pub sequence: i64,
    pub start: Timestamp,
    pub end: Timestamp,
    /// When this version was made.
    pub stamp: Timestamp,
    pub summary: String,
    pub location: Option<String>,
    pub description: Option<String>,
    /// The program's sender address, which sends every update.
    pub organizer: String,
    /// Who attends: the mentee, and the titular mentor or their substitute.
    pub attendees: Vec<Attendee>,
}

fn utc(at: Timestamp) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_micros((at * 1e6) as i64).unwrap_or_default()
}

impl MeetingEvent {
    /// The whole `text/calendar` body for `method`.
    pub fn to_ics(&self, method: Method) -> String {
        let mut event = icalendar::Event::new();
        event
            .uid(&self.uid)
            .sequence(u32::try_from(self.sequence.max(0)).unwrap_or(u32::MAX))
            .timestamp(utc(self.stamp))
            .starts(utc(self.start))
            .ends(utc(self.end))
            .summary(&self.summary)
            .status(match method {
                Method::Request => EventStatus::Confirmed,
                Method::Cancel => EventStatus::Cancelled,
            })
            .append_property(Property::new(
                "ORGANIZER",
                format!("mailto:{}", self.organizer),
            ));
        if let Some(location) = &self.location {
            event.location(location);
        }
        if let Some(description) = &self.description {
            event.description(description);
        }
        for attendee in &self.attendees {
            event.attendee(
                icalendar::Attendee::new(format!("mailto:{}", attendee.email))
                    .cn(attendee.name.clone()),
            );
        }
        let mut calendar = Calendar::empty();
        calendar
            .append_property(Property::new("VERSION", "2.0"))
            .append_property(Property::new(
                "PRODID",
                "-//Mentorship System//Meetings//EN",
            ))
            .append_property(Property::new("METHOD", method.as_str()))
            .push(event.done());
        calendar.done().to_string()
    }
}

/// The `METHOD` of an iCalendar body, for the MIME part's `method` parameter, which must equal
/// it (RFC 6047).
pub fn method_of(ics: &str) -> Option<&str> {
    ics.lines()
        .find_map(|line| line.trim_end().strip_prefix("METHOD:"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> MeetingEvent {
        MeetingEvent {
            uid: "meeting-1@example.org".into(),
            sequence: 2,
            start: 1_800_000_000.0,
            end: 1_800_003_600.0,
            stamp: 1_799_000_000.0,
            summary: "Mentorship meeting; Ada, Bob".into(),
            location: Some("x".repeat(100)),
            description: Some("line one\nline two".into()),
            organizer: "no-reply@example.org".into(),
            attendees: vec![Attendee {
                email: "ada@example.org".into(),
                name: "Ada".into(),
            }],
        }
    }

    #[test]
    fn a_meeting_reads_back_with_its_uid_sequence_and_method() {
        for method in [Method::Request, Method::Cancel] {
            let ics = event().to_ics(method);
            let calendar: Calendar = ics.parse().expect("the calendar parses");
            assert_eq!(calendar.property_value("METHOD"), Some(method.as_str()));
            assert_eq!(method_of(&ics), Some(method.as_str()));
            let parsed = calendar.events().next().expect("one event");
            assert_eq!(parsed.get_uid(), Some("meeting-1@example.org"));
            assert_eq!(parsed.get_sequence(), Some(2));
            assert_eq!(parsed.get_summary(), Some("Mentorship meeting; Ada, Bob"));
            assert_eq!(parsed.get_description(), Some("line one\nline two"));
            assert!(ics.contains("DTSTART:20270115T080000Z"), "{ics}");
            assert!(ics.lines().all(|l| l.len() <= 75), "{ics}");
        }
        assert!(event().to_ics(Method::Cancel).contains("STATUS:CANCELLED"));
    }
}
