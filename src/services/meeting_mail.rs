//! Who hears of a change to a meeting, and how: each e-mail shows the meeting's time in its
//! recipient's zone, and carries the meeting's calendar event when the recipient's calendar
//! should add, update or remove it. Calendars that had the event always get the change: a
//! cancellation reaches everyone who had it.

use chrono_tz::Tz;

use crate::domain::calendar::{Attendee, MeetingEvent, Method};
use crate::domain::clock::Timestamp;
use crate::domain::meetings::{when, zone};
use crate::error::Result;
use crate::mail::Outgoing;
use crate::state::{AppState, UnitOfWork};
use crate::store::meetings::MeetingRow;

/// Someone to tell: their address, name and time zone.
#[derive(Debug, Clone)]
pub struct Recipient {
    pub user_id: i64,
    pub email: String,
    pub name: String,
    pub zone: Tz,
}

fn recipient(
    id: Option<i64>,
    email: &Option<String>,
    name: &Option<String>,
    zone_name: &Option<String>,
) -> Option<Recipient> {
    Some(Recipient {
        user_id: id?,
        email: email.clone()?,
        name: name.clone()?,
        zone: zone(zone_name.as_deref()),
    })
}

pub fn mentor(m: &MeetingRow) -> Option<Recipient> {
    recipient(m.mentor_id, &m.mentor_email, &m.mentor_name, &m.mentor_zone)
}

pub fn mentee(m: &MeetingRow) -> Option<Recipient> {
    recipient(m.mentee_id, &m.mentee_email, &m.mentee_name, &m.mentee_zone)
}

/// The invited or accepted substitute.
pub fn substitute(m: &MeetingRow) -> Option<Recipient> {
    recipient(
        m.substitute_user_id,
        &m.substitute_email,
        &m.substitute_name,
        &m.substitute_zone,
    )
}

/// Whoever attends as mentor: the substitute who accepted, else the titular mentor.
pub fn attending_mentor(m: &MeetingRow) -> Option<Recipient> {
    match m.accepted_substitute() {
        Some(_) => substitute(m),
        None => mentor(m),
    }
}

/// The party of the relation other than `me`, and `me`'s name.
pub fn other_party(m: &MeetingRow, me: i64) -> Option<(Recipient, String)> {
    if m.mentor_id == Some(me) {
        Some((mentee(m)?, m.mentor_name.clone().unwrap_or_default()))
    } else {
        Some((mentor(m)?, m.mentee_name.clone().unwrap_or_default()))
    }
}

/// Everyone whose calendar has a confirmed meeting's event: the mentee and whoever attends as
/// mentor.
pub fn calendar_holders(m: &MeetingRow) -> Vec<Recipient> {
    [mentee(m), attending_mentor(m)]
        .into_iter()
        .flatten()
        .collect()
}

/// The meeting as a calendar event, as it stands.
pub fn event(state: &AppState, m: &MeetingRow, now: Timestamp) -> MeetingEvent {
    let host = url::Url::parse(&state.config.public_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "localhost".into());
    let attending = attending_mentor(m);
    let summary = format!(
        "Mentorship meeting: {} and {}",
        attending.as_ref().map_or("mentor", |r| r.name.as_str()),
        m.mentee_name.as_deref().unwrap_or("mentee")
    );
    MeetingEvent {
        uid: format!("meeting-{}@{host}", m.id),
        sequence: m.revision,
        start: m.start_date,
        end: m.end_date,
        stamp: now,
        summary,
        location: m.place.clone(),
        description: m.notes.clone(),
        organizer: state.config.mail_from.email.to_string(),
        attendees: calendar_holders(m)
            .into_iter()
            .map(|r| Attendee {
                email: r.email,
                name: r.name,
            })
            .collect(),
    }
}

/// Queues `template` to `to` about meeting `m`: the template gets `name`, `when` (in `to`'s
/// zone), `place`, `notes`, and the values of `extra`; with `calendar`, the meeting's event.
pub fn notify(
    state: &AppState,
    work: &mut UnitOfWork<'_>,
    m: &MeetingRow,
    to: &Recipient,
    template: &'static str,
    extra: serde_json::Value,
    calendar: Option<Method>,
) -> Result<()> {
    let mut context = serde_json::json!({
        "name": to.name,
        "when": when(m.start_date, m.end_date, to.zone),
        "place": m.place,
        "notes": m.notes,
    });
    if let (Some(context), serde_json::Value::Object(extra)) = (context.as_object_mut(), extra) {
        context.extend(extra);
    }
    let now = state.clock.now();
    work.queue_mail(Outgoing {
        template,
        recipient: &to.email,
        context,
        calendar: calendar.map(|method| event(state, m, now).to_ics(method)),
    })
}

/// Tells everyone whose calendar has meeting `m` that it is cancelled, with a `CANCEL`;
/// `reason` says why, and `skip` is who needs no mail. `m` is the cancelled meeting (its
/// revision already raised); only a meeting that was confirmed was in anyone's calendar.
pub fn tell_cancelled(
    state: &AppState,
    work: &mut UnitOfWork<'_>,
    m: &MeetingRow,
    was_confirmed: bool,
    reason: &str,
    skip: Option<i64>,
) -> Result<()> {
    if !was_confirmed {
        return Ok(());
    }
    for holder in calendar_holders(m) {
        if Some(holder.user_id) == skip {
            continue;
        }
        let other = if Some(holder.user_id) == m.mentee_id {
            attending_mentor(m).map(|r| r.name)
        } else {
            m.mentee_name.clone()
        };
        notify(
            state,
            work,
            m,
            &holder,
            "meeting_removed",
            serde_json::json!({"other": other, "reason": reason}),
            Some(Method::Cancel),
        )?;
    }
    Ok(())
}
