//! Meeting reminders: which are due, and which were sent (`meeting_reminders`), so that each
//! goes once per meeting, person, kind and start time.

use super::{Tx, with_tx};
use crate::domain::clock::Timestamp;
use crate::domain::meetings::{MeetingState, SubstituteStatus};

/// A reminder to send: the meeting, and the person to remind.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueReminder {
    pub meeting_id: i64,
    pub start_date: f64,
    pub end_date: f64,
    pub place: Option<String>,
    pub user_id: i64,
    pub email: String,
    pub name: String,
    pub zone: Option<String>,
    /// The other person at the meeting.
    pub other_name: Option<String>,
}

/// Confirmed meetings starting after `from` and at or before `until`, with the people who
/// attend (the mentee, and the substitute who accepted or else the titular mentor) and want
/// reminders, that have no reminder of `kind` for this start yet; up to `limit`.
pub async fn due(
    tx: &mut Tx,
    kind: &str,
    from: Timestamp,
    until: Timestamp,
    limit: i64,
) -> Result<Vec<DueReminder>, sqlx::Error> {
    // Each meeting twice: once for its mentee, once for whoever attends as mentor.
    let sql = format!(
        "SELECT m.id AS meeting_id, m.start_date, m.end_date, m.place, u.id AS user_id, u.email,
                u.name, p.timezone AS zone, o.name AS other_name
         FROM meetings m
         CROSS JOIN (SELECT 0 AS side UNION ALL SELECT 1) AS sides
         JOIN users u ON u.id = CASE WHEN sides.side = 0 THEN m.mentee_id
                                     WHEN m.substitute_status = $5 THEN m.substitute_user_id
                                     ELSE m.mentor_id END
         LEFT JOIN users o ON o.id = CASE WHEN sides.side = 1 THEN m.mentee_id
                                          WHEN m.substitute_status = $5 THEN m.substitute_user_id
                                          ELSE m.mentor_id END
         LEFT JOIN user_preferences p ON p.user_id = u.id
         WHERE m.state = $4 AND m.start_date > $2 AND m.start_date <= $3
           AND (p.meeting_reminders IS NULL OR p.meeting_reminders)
           AND NOT EXISTS (SELECT 1 FROM meeting_reminders r WHERE r.meeting_id = m.id
                   AND r.user_id = u.id AND r.kind = $1 AND r.start_date = m.start_date)
         ORDER BY m.start_date, m.id, u.id {}",
        super::limit_offset(limit, 0)
    );
    with_tx!(tx, |c| sqlx::query_as::<_, DueReminder>(
        sqlx::AssertSqlSafe(sql.clone())
    )
    .bind(kind)
    .bind(from)
    .bind(until)
    .bind(MeetingState::Confirmed)
    .bind(SubstituteStatus::Accepted)
    .fetch_all(c)
    .await)
}

/// Records that a reminder went; false if it had been recorded already (another run was
/// first), in which case it must not be sent again.
pub async fn record(
    tx: &mut Tx,
    reminder: &DueReminder,
    kind: &str,
    now: Timestamp,
) -> Result<bool, sqlx::Error> {
    with_tx!(tx, |c| sqlx::query(
        "INSERT INTO meeting_reminders (meeting_id, user_id, kind, start_date, sent_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING"
    )
    .bind(reminder.meeting_id)
    .bind(reminder.user_id)
    .bind(kind)
    .bind(reminder.start_date)
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.rows_affected() == 1))
}
