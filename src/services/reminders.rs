//! The `remind-meetings` job: a reminder a day before each confirmed meeting and another an
//! hour before, to the mentee and to whoever attends as mentor, each exactly once (per
//! meeting, person, kind and start time) whatever the instances, restarts or overlapping runs.
//! It also retires the substitute invitations whose time ran out.

use crate::domain::clock::Timestamp;
use crate::domain::meetings::{when, zone};
use crate::error::Result;
use crate::mail::Outgoing;
use crate::state::AppState;
use crate::store;

const BATCH: i64 = 500;
const HOUR: f64 = 3_600.0;
const DAY: f64 = 86_400.0;

/// Runs the job as if the clock read `now`; returns how many reminders it queued.
pub async fn remind_meetings(state: &AppState, now: Timestamp) -> Result<u64> {
    super::substitutes::expire_lapsed(state, now).await?;
    let mut sent = 0;
    // An hour before, and a day before (unless the meeting is within the hour: its hour
    // reminder says it all).
    for (kind, from, until) in [("hour", now, now + HOUR), ("day", now + HOUR, now + DAY)] {
        // Batches of meetings in start order, from a cursor (strictly after `from`): each
        // batch reads only new rows.
        let mut after = (from, i64::MAX);
        loop {
            let mut work = state.unit_of_work().await?;
            let meetings = store::reminders::next_meetings(work.tx(), after, until, BATCH).await?;
            let Some(&(last_id, last_start)) = meetings.last() else {
                break;
            };
            after = (last_start, last_id);
            let ids: Vec<i64> = meetings.iter().map(|(id, _)| *id).collect();
            let due = store::reminders::due(work.tx(), kind, &ids).await?;
            for reminder in &due {
                // Recorded first, in the same transaction: a run that lost the race to
                // another finds the reminder recorded and sends nothing.
                if !store::reminders::record(work.tx(), reminder, kind, now).await? {
                    continue;
                }
                let hours = ((reminder.start_date - now) / HOUR).ceil().max(1.0) as i64;
                let lead = match hours {
                    1 => "within the hour".to_owned(),
                    n => format!("in {n} hours"),
                };
                work.queue_mail(Outgoing {
                    template: "meeting_reminder",
                    recipient: &reminder.email,
                    context: serde_json::json!({
                        "name": reminder.name, "other": reminder.other_name, "lead": lead,
                        "when": when(reminder.start_date, reminder.end_date, zone(reminder.zone.as_deref())),
                        "place": reminder.place,
                    }),
                    calendar: None,
                })?;
                sent += 1;
            }
            work.commit().await?;
            if (meetings.len() as i64) < BATCH {
                break;
            }
        }
    }
    tracing::info!(sent, "meeting reminders queued");
    Ok(sent)
}
