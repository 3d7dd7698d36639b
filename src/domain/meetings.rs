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

/// What became of a substitute invitation, as its history keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationStatus {
    /// Waiting for the invitee's answer.
    Pending,
    /// The invitee attends in the mentor's place.
    Accepted,
    Rejected,
    /// The mentor withdrew it before it was answered.
    Withdrawn,
    /// A newer invitation took its place before it was answered.
    Replaced,
    /// Not answered within 7 days, or before the meeting started.
    Expired,
    /// Its meeting was cancelled while it was live.
    Cancelled,
    /// Accepted, then the substitute stepped back before the meeting.
    SteppedBack,
    /// Accepted, then the mentor took the meeting back before it started.
    TakenBack,
}

impl InvitationStatus {
    pub const ALL: [InvitationStatus; 9] = [
        InvitationStatus::Pending,
        InvitationStatus::Accepted,
        InvitationStatus::Rejected,
        InvitationStatus::Withdrawn,
        InvitationStatus::Replaced,
        InvitationStatus::Expired,
        InvitationStatus::Cancelled,
        InvitationStatus::SteppedBack,
        InvitationStatus::TakenBack,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            InvitationStatus::Pending => "pending",
            InvitationStatus::Accepted => "accepted",
            InvitationStatus::Rejected => "rejected",
            InvitationStatus::Withdrawn => "withdrawn",
            InvitationStatus::Replaced => "replaced",
            InvitationStatus::Expired => "expired",
            InvitationStatus::Cancelled => "cancelled",
            InvitationStatus::SteppedBack => "stepped_back",
            InvitationStatus::TakenBack => "taken_back",
        }
    }

    pub fn parse(text: &str) -> Option<InvitationStatus> {
        InvitationStatus::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
    }

    /// The sentence a link of an invitation no longer pending shows.
    pub fn notice(self) -> Message {
        match self {
            InvitationStatus::Pending => messages::INVITATION_NOT_PENDING,
            InvitationStatus::Accepted | InvitationStatus::Rejected => {
                messages::INVITATION_ANSWERED_NOTICE
            }
            InvitationStatus::Withdrawn => messages::INVITATION_WITHDRAWN_NOTICE,
            InvitationStatus::Replaced => messages::INVITATION_REPLACED_NOTICE,
            InvitationStatus::Expired => messages::INVITATION_EXPIRED_NOTICE,
            InvitationStatus::Cancelled => messages::INVITATION_MEETING_CANCELLED_NOTICE,
            InvitationStatus::SteppedBack | InvitationStatus::TakenBack => {
                messages::INVITATION_ENDED_NOTICE
            }
        }
    }
}

/// One invitation of a meeting's history.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Invitation {
    pub id: i64,
    pub invitee: Person,
    /// pending, accepted, rejected, withdrawn, replaced, expired, cancelled, stepped_back or
    /// taken_back.
    pub status: &'static str,
    pub invited_at: Timestamp,
    /// When its links stop working (7 days after the invitation, or the meeting's start).
    pub expires_at: Timestamp,
    /// When it stopped being pending or accepted.
    pub ended_at: Option<Timestamp>,
}

/// A meeting must end before its relation does.
pub fn check_within_relation(meeting_end: Timestamp, relation_end: Timestamp) -> Result<()> {
    if meeting_end > relation_end {
        return Err(Error::invalid(messages::MEETING_AFTER_RELATION_END));
    }
    Ok(())
}

/// New notes for a confirmed meeting; an empty text or `null` clears them.
#[derive(Debug, Clone, utoipa::ToSchema)]
pub struct NotesChange {
    #[schema(schema_with = rules::schema::nullable::meeting_notes, required = true)]
    pub notes: Option<String>,
}

impl FromJson for NotesChange {
    fn from_json(body: Option<&Value>) -> Result<NotesChange> {
        let object = json::object(body);
        let notes = match object.get("notes") {
            None => return Err(Error::invalid(messages::NOTES_FIELD_MISSING_FOR_MEETING)),
            Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(Value::String(s)) => {
                rules::MEETING_NOTES.check_length(s)?;
                Some(s.clone())
            }
            Some(_) => return Err(field_not_valid("notes")),
        };
        Ok(NotesChange { notes })
    }
}

/// `GET /meeting/<id>/substitute_candidates`: an optional name to look for, and the page.
#[derive(Debug, Clone, PartialEq)]
pub struct CandidateQuery {
    /// Lower-cased text to find in the name or username.
    pub search: Option<String>,
    pub page: crate::domain::Page,
}

impl CandidateQuery {
    pub fn from_query(query: &std::collections::HashMap<String, String>) -> CandidateQuery {
        CandidateQuery {
            search: query
                .get("search")
                .map(|s| s.trim().to_lowercase())
                .filter(|s| !s.is_empty())
                .map(|s| s.chars().take(100).collect()),
            page: crate::domain::Page::from_query(query),
        }
    }
}

impl utoipa::IntoParams for CandidateQuery {
    fn into_params(
        _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        use crate::domain::query_param;
        use utoipa::openapi::schema::Type;
        let mut params = vec![query_param(
            "search",
            Type::String,
            "Text to find in the candidates' name or username, in any case.",
        )];
        params.extend(<crate::domain::Page as utoipa::IntoParams>::into_params(
            || None,
        ));
        params
    }
}

/// A mentor who could stand in at a meeting, and why they rank where they do.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Candidate {
    pub id: i64,
    pub name: String,
    pub username: String,
    pub photo_url: Option<String>,
    pub skills: Option<String>,
    pub interests: Option<String>,
    /// How many words of the mentee's interests and skills the candidate's skills and
    /// interests share (the ranking's first key; then fewest upcoming commitments).
    pub score: f64,
    /// What matched (`skills: rust`), and the candidate's upcoming commitments.
    pub reasons: Vec<String>,
}

/// A free mentor as the store finds them, before ranking.
#[derive(Debug, Clone)]
pub struct CandidateProfile {
    pub id: i64,
    pub name: String,
    pub username: String,
    pub photo_url: Option<String>,
    pub skills: Option<String>,
    pub interests: Option<String>,
    /// Confirmed meetings ahead that they attend as mentor or substitute.
    pub commitments: i64,
}

/// Ranks free mentors for a mentee whose interests and skills hold `wanted` (lower-cased
/// words, as [`crate::domain::users::profile_words`] splits them): by how many of those words
/// their skills and interests share, then by fewest upcoming commitments, then by id. Each
/// candidate says what matched and how busy they are.
pub fn rank_candidates(wanted: &[String], pool: Vec<CandidateProfile>) -> Vec<Candidate> {
    use crate::domain::users::profile_words;
    let mut ranked: Vec<(Candidate, i64)> = pool
        .into_iter()
        .map(|profile| {
            let mut shared: Vec<String> = Vec::new();
            let mut reasons = Vec::new();
            for (source, text) in [
                ("interests", &profile.interests),
                ("skills", &profile.skills),
            ] {
                let mut words = profile_words(text.as_deref().unwrap_or_default());
                words.retain(|word| wanted.contains(word));
                words.sort_unstable();
                for word in words {
                    reasons.push(format!("{source}: {word}"));
                    if !shared.contains(&word) {
                        shared.push(word);
                    }
                }
            }
            reasons.push(match profile.commitments {
                0 => "no upcoming meetings".to_owned(),
                1 => "1 upcoming meeting".to_owned(),
                n => format!("{n} upcoming meetings"),
            });
            let candidate = Candidate {
                id: profile.id,
                name: profile.name,
                username: profile.username,
                photo_url: profile.photo_url,
                skills: profile.skills,
                interests: profile.interests,
                score: shared.len() as f64,
                reasons,
            };
            (candidate, profile.commitments)
        })
        .collect();
    ranked.sort_by(|(a, a_load), (b, b_load)| {
        b.score
            .total_cmp(&a.score)
            .then(a_load.cmp(b_load))
            .then(a.id.cmp(&b.id))
    });
    ranked.into_iter().map(|(candidate, _)| candidate).collect()
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
    /// Meetings with an invitation in this status.
    pub substitute_status: Option<InvitationStatus>,
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
            Some(text) => Some(InvitationStatus::parse(&text).ok_or_else(invalid)?),
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

/// How a meeting's time reads in an e-mail to someone in `zone`, with the zone's offset:
/// `Tue 1 Dec 2026, 11:00-12:00 (UTC+01:00, Europe/Paris)`.
pub fn when(start: Timestamp, end: Timestamp, zone: chrono_tz::Tz) -> String {
    let local = |at: f64| {
        chrono::DateTime::from_timestamp(at as i64, 0)
            .unwrap_or_default()
            .with_timezone(&zone)
    };
    let (start, end) = (local(start), local(end));
    let end_text = if end.date_naive() == start.date_naive() {
        end.format("%H:%M").to_string()
    } else {
        end.format("%a %-d %b %Y, %H:%M").to_string()
    };
    format!(
        "{}-{} (UTC{}, {})",
        start.format("%a %-d %b %Y, %H:%M"),
        end_text,
        start.format("%:z"),
        zone.name()
    )
}

/// A moment as an e-mail to someone in `zone` shows it: `Tue 1 Dec 2026, 11:00 (UTC+01:00,
/// Europe/Paris)`.
pub fn moment(at: Timestamp, zone: chrono_tz::Tz) -> String {
    let local = chrono::DateTime::from_timestamp(at as i64, 0)
        .unwrap_or_default()
        .with_timezone(&zone);
    format!(
        "{} (UTC{}, {})",
        local.format("%a %-d %b %Y, %H:%M"),
        local.format("%:z"),
        zone.name()
    )
}

/// A member's zone from its stored name; an unknown one (never stored) reads as UTC.
pub fn zone(name: Option<&str>) -> chrono_tz::Tz {
    name.and_then(|n| n.parse().ok()).unwrap_or(chrono_tz::UTC)
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
    fn times_read_in_the_recipients_zone_with_its_offset() {
        let start = 1_800_000_000.0; // Fri 15 Jan 2027, 08:00 UTC
        assert_eq!(
            when(start, start + 3_600.0, chrono_tz::Europe::Paris),
            "Fri 15 Jan 2027, 09:00-10:00 (UTC+01:00, Europe/Paris)"
        );
        assert_eq!(
            when(start, start + 3_600.0, zone(None)),
            "Fri 15 Jan 2027, 08:00-09:00 (UTC+00:00, UTC)"
        );
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
}
