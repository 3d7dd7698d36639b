//! The console's reads: the overview's counts and their snapshot, and the pages of relations,
//! meetings, mail and job runs. Every list is one query, bounded, in an indexed order.

use super::{Db, Tx, with_db, with_tx};
use crate::domain::clock::Timestamp;
use crate::domain::meetings::{InvitationStatus, MeetingState};

// ---- The overview's snapshot ------------------------------------------------------------

/// The stored figures (JSON) and when they were counted; `None` before the first count.
pub async fn snapshot(db: &Db) -> Result<Option<(String, Timestamp)>, sqlx::Error> {
    with_db!(db, |c| sqlx::query_as::<_, (String, Timestamp)>(
        "SELECT figures, computed_at FROM console_snapshot WHERE id = 1"
    )
    .fetch_optional(c)
    .await)
}

/// Takes the lease on counting the figures again, if they were counted before `stale_before`
/// and nobody holds the lease: true for one caller across instances.
pub async fn claim_snapshot(
    tx: &mut Tx,
    now: Timestamp,
    stale_before: Timestamp,
    lease_until: Timestamp,
) -> Result<bool, sqlx::Error> {
    with_tx!(tx, |c| sqlx::query(
        "INSERT INTO console_snapshot (id, figures, computed_at, lease_until) VALUES (1, '', 0, $3)
         ON CONFLICT (id) DO UPDATE SET lease_until = excluded.lease_until
             WHERE console_snapshot.computed_at < $2
               AND (console_snapshot.lease_until IS NULL OR console_snapshot.lease_until < $1)"
    )
    .bind(now)
    .bind(stale_before)
    .bind(lease_until)
    .execute(c)
    .await
    .map(|r| r.rows_affected() == 1))
}

pub async fn store_snapshot(
    tx: &mut Tx,
    figures: &str,
    computed_at: Timestamp,
) -> Result<(), sqlx::Error> {
    with_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO console_snapshot (id, figures, computed_at, lease_until) VALUES (1, $1, $2, NULL)
         ON CONFLICT (id) DO UPDATE SET figures = excluded.figures,
             computed_at = excluded.computed_at, lease_until = NULL"
    )
    .bind(figures)
    .bind(computed_at)
    .execute(c)
    .await
    .map(|_| ())
    })
}

/// Members: verified, unverified, available to mentor, needing mentoring.
pub async fn count_members(db: &Db) -> Result<(i64, i64, i64, i64), sqlx::Error> {
    with_db!(db, |c| sqlx::query_as::<_, (i64, i64, i64, i64)>(
        "SELECT COUNT(*) FILTER (WHERE is_email_verified),
                COUNT(*) FILTER (WHERE NOT is_email_verified),
                COUNT(*) FILTER (WHERE available_to_mentor),
                COUNT(*) FILTER (WHERE need_mentoring)
         FROM users"
    )
    .fetch_one(c)
    .await)
}

/// Relations by stored state number.
pub async fn count_relations(db: &Db) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    with_db!(db, |c| sqlx::query_as::<_, (i64, i64)>(
        "SELECT state, COUNT(*) FROM mentorship_relations GROUP BY state"
    )
    .fetch_all(c)
    .await)
}

/// Confirmed meetings starting in `[from, to)`.
pub async fn count_meetings_between(
    db: &Db,
    from: Timestamp,
    to: Timestamp,
) -> Result<i64, sqlx::Error> {
    with_db!(db, |c| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM meetings
         WHERE state = 'confirmed' AND start_date >= $1 AND start_date < $2"
    )
    .bind(from)
    .bind(to)
    .fetch_one(c)
    .await)
}

/// Substitute invitations by status.
pub async fn count_invitations(db: &Db) -> Result<Vec<(String, i64)>, sqlx::Error> {
    with_db!(db, |c| sqlx::query_as::<_, (String, i64)>(
        "SELECT status, COUNT(*) FROM substitute_invitations GROUP BY status"
    )
    .fetch_all(c)
    .await)
}

/// Meetings that ever had a substitute invited, and those a substitute attends (or attended).
pub async fn count_substituted_meetings(db: &Db) -> Result<(i64, i64), sqlx::Error> {
    with_db!(db, |c| sqlx::query_as::<_, (i64, i64)>(
        "SELECT (SELECT COUNT(DISTINCT meeting_id) FROM substitute_invitations),
                (SELECT COUNT(*) FROM meetings WHERE substitute_status = 'accepted')"
    )
    .fetch_one(c)
    .await)
}

// ---- Relations and meetings -------------------------------------------------------------

/// A relation as the console lists it (without its notes).
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct RelationListRow {
    pub id: i64,
    pub state: i64,
    pub mentor_id: Option<i64>,
    pub mentor: Option<String>,
    pub mentee_id: Option<i64>,
    pub mentee: Option<String>,
    pub creation_date: f64,
    pub start_date: Option<f64>,
    pub end_date: f64,
}

const RELATION_COLUMNS: &str = "r.id, r.state, r.mentor_id, mu.username AS mentor, r.mentee_id,
        eu.username AS mentee, r.creation_date, r.start_date, r.end_date
    FROM mentorship_relations r
    LEFT JOIN users mu ON mu.id = r.mentor_id
    LEFT JOIN users eu ON eu.id = r.mentee_id";

/// Relations with ids below `before`, newest first, of one state or all.
///
/// A page of one state takes its ids from the (state, id) index alone, the state written into
/// the statement (a number from an enum, never input text). Asked for the rows directly,
/// PostgreSQL walked the primary key down from the newest relation, filtering on state, and
/// read half a million rows to fill a page of a state only old relations have (80 ms); the ids
/// alone are an index-only scan it prefers (0.7 ms with the rows).
pub async fn relations(
    db: &Db,
    state: Option<i64>,
    before: i64,
    limit: i64,
) -> Result<Vec<RelationListRow>, sqlx::Error> {
    let limit = super::limit_offset(limit, 0);
    let sql = match state {
        Some(n) => format!(
            "SELECT {RELATION_COLUMNS} WHERE r.id IN (
                 SELECT id FROM mentorship_relations WHERE state = {n} AND id < $1
                 ORDER BY id DESC {limit})
             ORDER BY r.id DESC"
        ),
        None => format!("SELECT {RELATION_COLUMNS} WHERE r.id < $1 ORDER BY r.id DESC {limit}"),
    };
    with_db!(db, |c| sqlx::query_as::<_, RelationListRow>(
        sqlx::AssertSqlSafe(sql.clone())
    )
    .bind(before)
    .fetch_all(c)
    .await)
}

/// A member's relations, newest first.
pub async fn relations_of(
    db: &Db,
    user_id: i64,
    limit: i64,
) -> Result<Vec<RelationListRow>, sqlx::Error> {
    // Two indexed halves (mentor, mentee) rather than an OR the planners may scan for.
    let sql = format!(
        "SELECT * FROM (SELECT {RELATION_COLUMNS} WHERE r.mentor_id = $1
         UNION ALL SELECT {RELATION_COLUMNS} WHERE r.mentee_id = $1) AS both_sides
         ORDER BY id DESC {}",
        super::limit_offset(limit, 0)
    );
    with_db!(db, |c| sqlx::query_as::<_, RelationListRow>(
        sqlx::AssertSqlSafe(sql.clone())
    )
    .bind(user_id)
    .fetch_all(c)
    .await)
}

/// A meeting as the console lists it: no place, no notes (the parties' private matter).
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct MeetingListRow {
    pub id: i64,
    pub relation_id: i64,
    pub start_date: f64,
    pub end_date: f64,
    pub state: String,
    pub mentor_id: Option<i64>,
    pub mentor: Option<String>,
    pub mentee_id: Option<i64>,
    pub mentee: Option<String>,
    pub substitute_id: Option<i64>,
    pub substitute: Option<String>,
    /// The status of the meeting's latest invitation, if it ever had one.
    pub invitation_status: Option<String>,
}

const MEETING_COLUMNS: &str = "m.id, m.relation_id, m.start_date, m.end_date, m.state,
        m.mentor_id, mu.username AS mentor, m.mentee_id, eu.username AS mentee,
        m.substitute_user_id AS substitute_id, su.username AS substitute,
        (SELECT i.status FROM substitute_invitations i WHERE i.meeting_id = m.id
         ORDER BY i.id DESC LIMIT 1) AS invitation_status
    FROM meetings m
    LEFT JOIN users mu ON mu.id = m.mentor_id
    LEFT JOIN users eu ON eu.id = m.mentee_id
    LEFT JOIN users su ON su.id = m.substitute_user_id";

/// Meetings with ids below `before`, newest first; of one state, and with an invitation of
/// one status, or any. The state and status are written into the statement, as in
/// [`relations`] (names from enums, never input text), so each gets its own plan.
///
/// With a status, the page's ids come from the invitations' (status, meeting) index, walked
/// down from `before`: few meetings have invitations, and a walk over every meeting checking
/// each for one would read them all to fill a page.
pub async fn meetings(
    db: &Db,
    state: Option<MeetingState>,
    invitation_status: Option<InvitationStatus>,
    before: i64,
    limit: i64,
) -> Result<Vec<MeetingListRow>, sqlx::Error> {
    let limit = super::limit_offset(limit, 0);
    let sql = match (state, invitation_status) {
        (_, Some(status)) => {
            let status = status.as_str();
            let state_condition =
                state.map_or(String::new(), |s| format!("AND s.state = '{}'", s.as_str()));
            format!(
                "SELECT {MEETING_COLUMNS} WHERE m.id IN (
                     SELECT DISTINCT i.meeting_id FROM substitute_invitations i
                     JOIN meetings s ON s.id = i.meeting_id
                     WHERE i.status = '{status}' AND i.meeting_id < $1 {state_condition}
                     ORDER BY i.meeting_id DESC {limit})
                 ORDER BY m.id DESC"
            )
        }
        // The ids from the (state, id) index alone, as in [`relations`].
        (Some(state), None) => format!(
            "SELECT {MEETING_COLUMNS} WHERE m.id IN (
                 SELECT id FROM meetings WHERE state = '{}' AND id < $1
                 ORDER BY id DESC {limit})
             ORDER BY m.id DESC",
            state.as_str()
        ),
        (None, None) => {
            format!("SELECT {MEETING_COLUMNS} WHERE m.id < $1 ORDER BY m.id DESC {limit}")
        }
    };
    with_db!(db, |c| sqlx::query_as::<_, MeetingListRow>(
        sqlx::AssertSqlSafe(sql.clone())
    )
    .bind(before)
    .fetch_all(c)
    .await)
}

/// One meeting, as the console shows it.
pub async fn meeting(db: &Db, id: i64) -> Result<Option<MeetingListRow>, sqlx::Error> {
    with_db!(db, |c| sqlx::query_as::<_, MeetingListRow>(
        sqlx::AssertSqlSafe(format!("SELECT {MEETING_COLUMNS} WHERE m.id = $1"))
    )
    .bind(id)
    .fetch_optional(c)
    .await)
}

/// A member's meetings (as mentor, mentee or substitute), latest start first.
pub async fn meetings_of(
    db: &Db,
    user_id: i64,
    limit: i64,
) -> Result<Vec<MeetingListRow>, sqlx::Error> {
    let sql = format!(
        "SELECT * FROM (SELECT {MEETING_COLUMNS} WHERE m.mentor_id = $1
         UNION ALL SELECT {MEETING_COLUMNS} WHERE m.mentee_id = $1
         UNION ALL SELECT {MEETING_COLUMNS} WHERE m.substitute_user_id = $1) AS mine
         ORDER BY start_date DESC {}",
        super::limit_offset(limit, 0)
    );
    with_db!(db, |c| sqlx::query_as::<_, MeetingListRow>(
        sqlx::AssertSqlSafe(sql.clone())
    )
    .bind(user_id)
    .fetch_all(c)
    .await)
}

// ---- Mail ---------------------------------------------------------------------------------

/// An outbox row as the console shows it. The payload is read only for a mail's recipient and
/// subject (by the service): its body holds live links, which the console never shows.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxListRow {
    pub id: i64,
    pub kind: String,
    pub payload: String,
    pub created_at: f64,
    pub attempts: i64,
    pub next_attempt_at: f64,
    pub last_error: Option<String>,
    pub dead_at: Option<f64>,
}

const OUTBOX_COLUMNS: &str =
    "id, kind, payload, created_at, attempts, next_attempt_at, last_error, dead_at FROM outbox";

/// Rows neither delivered nor given up on, oldest first.
pub async fn unsent(db: &Db, limit: i64) -> Result<Vec<OutboxListRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {OUTBOX_COLUMNS} WHERE sent_at IS NULL AND dead_at IS NULL
         ORDER BY created_at, id {}",
        super::limit_offset(limit, 0)
    );
    with_db!(db, |c| sqlx::query_as::<_, OutboxListRow>(
        sqlx::AssertSqlSafe(sql.clone())
    )
    .fetch_all(c)
    .await)
}

/// Dead letters, latest first.
pub async fn dead(db: &Db, limit: i64) -> Result<Vec<OutboxListRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {OUTBOX_COLUMNS} WHERE dead_at IS NOT NULL ORDER BY dead_at DESC {}",
        super::limit_offset(limit, 0)
    );
    with_db!(db, |c| sqlx::query_as::<_, OutboxListRow>(
        sqlx::AssertSqlSafe(sql.clone())
    )
    .fetch_all(c)
    .await)
}

/// Brings dead letters back to the queue, due now: one (`Some(id)`) or all. Returns how many.
pub async fn retry_dead(tx: &mut Tx, id: Option<i64>, now: Timestamp) -> Result<u64, sqlx::Error> {
    let which = if id.is_some() { "AND id = $2" } else { "" };
    let sql = format!(
        "UPDATE outbox SET dead_at = NULL, attempts = 0, next_attempt_at = $1, claimed_until = NULL
         WHERE dead_at IS NOT NULL AND sent_at IS NULL {which}"
    );
    with_tx!(tx, |c| sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
        .bind(now)
        .bind(id.unwrap_or_default())
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
}

// ---- Jobs ---------------------------------------------------------------------------------

/// A run of a job (a claimed tick).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct JobRunRow {
    pub tick: f64,
    pub started_at: f64,
    pub finished_at: Option<f64>,
    pub affected: Option<i64>,
    pub lease_until: Option<f64>,
}

/// A job's latest runs, latest first (the primary key's order).
pub async fn job_runs(db: &Db, job: &str, limit: i64) -> Result<Vec<JobRunRow>, sqlx::Error> {
    let sql = format!(
        "SELECT tick, started_at, finished_at, affected, lease_until FROM job_runs
         WHERE job = $1 ORDER BY tick DESC {}",
        super::limit_offset(limit, 0)
    );
    with_db!(db, |c| sqlx::query_as::<_, JobRunRow>(sqlx::AssertSqlSafe(
        sql.clone()
    ))
    .bind(job)
    .fetch_all(c)
    .await)
}
