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

/// The next confirmed meetings, in start order, starting at or before `until` and after
/// `after` (a start and an id: a cursor, so each batch of a run reads only new rows), up to
/// `limit`: `(id, start_date)`.
pub async fn next_meetings(
    tx: &mut Tx,
    after: (Timestamp, i64),
    until: Timestamp,
    limit: i64,
) -> Result<Vec<(i64, f64)>, sqlx::Error> {
    let sql = format!(
        "SELECT id, start_date FROM meetings
         WHERE state = $1 AND start_date <= $2
           AND (start_date > $3 OR (start_date = $3 AND id > $4))
         ORDER BY start_date, id {}",
        super::limit_offset(limit, 0)
    );
    with_tx!(tx, |c| sqlx::query_as::<_, (i64, f64)>(
        sqlx::AssertSqlSafe(sql.clone())
    )
    .bind(MeetingState::Confirmed)
    .bind(until)
    .bind(after.0)
    .bind(after.1)
    .fetch_all(c)
    .await)
}

/// The reminders of `kind` not yet sent for the meetings `ids`: one to the mentee and one to
/// whoever attends as mentor (the substitute who accepted, else the titular mentor), for those
/// who want reminders.
pub async fn due(tx: &mut Tx, kind: &str, ids: &[i64]) -> Result<Vec<DueReminder>, sqlx::Error> {
    let in_batch = super::in_json_list(tx.is_postgres(), "m.id", 4, "bigint");
    // Each meeting twice: once for its mentee, once for whoever attends as mentor.
    let sql = format!(
        "SELECT m.id AS meeting_id, m.start_date, m.end_date, m.place, u.id AS user_id, u.email,
                u.name, p.timezone AS zone, o.name AS other_name
         FROM meetings m
         CROSS JOIN (SELECT 0 AS side UNION ALL SELECT 1) AS sides
         JOIN users u ON u.id = CASE WHEN sides.side = 0 THEN m.mentee_id
                                     WHEN m.substitute_status = $3 THEN m.substitute_user_id
                                     ELSE m.mentor_id END
         LEFT JOIN users o ON o.id = CASE WHEN sides.side = 1 THEN m.mentee_id
                                          WHEN m.substitute_status = $3 THEN m.substitute_user_id
                                          ELSE m.mentor_id END
         LEFT JOIN user_preferences p ON p.user_id = u.id
         WHERE {in_batch} AND m.state = $2
           AND (p.meeting_reminders IS NULL OR p.meeting_reminders)
           AND NOT EXISTS (SELECT 1 FROM meeting_reminders r WHERE r.meeting_id = m.id
                   AND r.user_id = u.id AND r.kind = $1 AND r.start_date = m.start_date)
         ORDER BY m.start_date, m.id, u.id"
    );
    with_tx!(tx, |c| sqlx::query_as::<_, DueReminder>(
        sqlx::AssertSqlSafe(sql.clone())
    )
    .bind(kind)
    .bind(MeetingState::Confirmed)
    .bind(SubstituteStatus::Accepted)
    .bind(super::json_list(ids))
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
