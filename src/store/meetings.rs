//! Queries on `meetings`.

use super::{Conn, Db, Tx, with_conn, with_db, with_tx};
use crate::domain::clock::Timestamp;
use crate::domain::meetings::{
    ListedState, MAX_DURATION_SECS, MeetingFilter, MeetingState, SubstituteStatus,
};

/// A meeting with the names the API shows.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MeetingRow {
    pub id: i64,
    pub relation_id: i64,
    pub mentor_id: Option<i64>,
    pub mentee_id: Option<i64>,
    pub proposer_id: i64,
    pub start_date: f64,
    pub end_date: f64,
    pub place: Option<String>,
    pub notes: Option<String>,
    pub state: MeetingState,
    pub substitute_user_id: Option<i64>,
    pub substitute_status: Option<SubstituteStatus>,
    pub substitute_invited_at: Option<f64>,
    pub substitute_responded_at: Option<f64>,
    pub substitute_nonce_hash: Option<String>,
    pub revision: i64,
    pub mentor_name: Option<String>,
    pub mentor_email: Option<String>,
    pub mentee_name: Option<String>,
    pub mentee_email: Option<String>,
    pub substitute_name: Option<String>,
    pub substitute_email: Option<String>,
    /// The parties' and the substitute's time zones (`None`: UTC).
    pub mentor_zone: Option<String>,
    pub mentee_zone: Option<String>,
    pub substitute_zone: Option<String>,
}

impl MeetingRow {
    pub fn is_party(&self, user_id: i64) -> bool {
        self.mentor_id == Some(user_id) || self.mentee_id == Some(user_id)
    }

    /// The accepted substitute, who delivers the meeting instead of the titular mentor.
    pub fn accepted_substitute(&self) -> Option<i64> {
        (self.substitute_status == Some(SubstituteStatus::Accepted))
            .then_some(self.substitute_user_id)
            .flatten()
    }

    /// The invitee of a pending invitation.
    pub fn pending_invitee(&self) -> Option<i64> {
        (self.substitute_status == Some(SubstituteStatus::Pending))
            .then_some(self.substitute_user_id)
            .flatten()
    }
}

const MEETING_SELECT: &str = "SELECT m.id, m.relation_id, m.mentor_id, m.mentee_id, m.proposer_id, m.start_date,
        m.end_date, m.place, m.notes, m.state, m.substitute_user_id, m.substitute_status,
        m.substitute_invited_at, m.substitute_responded_at, m.substitute_nonce_hash, m.revision,
        mu.name AS mentor_name, mu.email AS mentor_email, eu.name AS mentee_name, eu.email AS mentee_email,
        su.name AS substitute_name, su.email AS substitute_email,
        mp.timezone AS mentor_zone, ep.timezone AS mentee_zone, sp.timezone AS substitute_zone
    FROM meetings m
    LEFT JOIN users mu ON mu.id = m.mentor_id
    LEFT JOIN users eu ON eu.id = m.mentee_id
    LEFT JOIN users su ON su.id = m.substitute_user_id
    LEFT JOIN user_preferences mp ON mp.user_id = m.mentor_id
    LEFT JOIN user_preferences ep ON ep.user_id = m.mentee_id
    LEFT JOIN user_preferences sp ON sp.user_id = m.substitute_user_id";

pub struct NewMeeting<'a> {
    pub relation_id: i64,
    pub mentor_id: i64,
    pub mentee_id: i64,
    pub proposer_id: i64,
    pub start_date: f64,
    pub end_date: f64,
    pub place: Option<&'a str>,
    pub notes: Option<&'a str>,
    pub now: Timestamp,
}

pub async fn insert(tx: &mut Tx, m: &NewMeeting<'_>) -> Result<i64, sqlx::Error> {
    with_tx!(tx, |c| {
        sqlx::query_scalar::<_, i64>(
        "INSERT INTO meetings (relation_id, mentor_id, mentee_id, proposer_id, start_date, end_date, place, notes,
             state, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $10, $9, $9) RETURNING id"
    )
    .bind(m.relation_id)
    .bind(m.mentor_id)
    .bind(m.mentee_id)
    .bind(m.proposer_id)
    .bind(m.start_date)
    .bind(m.end_date)
    .bind(m.place)
    .bind(m.notes)
    .bind(m.now)
    .bind(MeetingState::Proposed)
    .fetch_one(c)
    .await
    })
}

/// A meeting, row-locked on PostgreSQL when read in a transaction.
pub async fn find(conn: impl Into<Conn<'_>>, id: i64) -> Result<Option<MeetingRow>, sqlx::Error> {
    let conn = conn.into();
    let lock = match &conn {
        Conn::Tx(tx) if tx.is_postgres() => " FOR UPDATE OF m",
        _ => "",
    };
    with_conn!(conn, |c| sqlx::query_as::<_, MeetingRow>(
        sqlx::AssertSqlSafe(format!("{MEETING_SELECT} WHERE m.id = $1{lock}"))
    )
    .bind(id)
    .fetch_optional(c)
    .await)
}

pub async fn for_relation(db: &Db, relation_id: i64) -> Result<Vec<MeetingRow>, sqlx::Error> {
    with_db!(db, |c| sqlx::query_as::<_, MeetingRow>(
        sqlx::AssertSqlSafe(format!(
            "{MEETING_SELECT} WHERE m.relation_id = $1 ORDER BY m.start_date, m.id"
        ))
    )
    .bind(relation_id)
    .fetch_all(c)
    .await)
}

/// A user's meetings not yet over (proposed or confirmed), as mentor, mentee or accepted
/// substitute, soonest first.
pub async fn upcoming_for(
    db: &Db,
    user_id: i64,
    now: Timestamp,
    limit: i64,
    offset: i64,
) -> Result<Vec<MeetingRow>, sqlx::Error> {
    with_db!(db, |c| {
        sqlx::query_as::<_, MeetingRow>(sqlx::AssertSqlSafe(upcoming_sql(limit, offset)))
            .bind(user_id)
            .bind(now)
            .bind(MeetingState::Proposed)
            .bind(MeetingState::Confirmed)
            .bind(SubstituteStatus::Accepted)
            .fetch_all(c)
            .await
    })
}

/// The query of [`upcoming_for`] (binds: $1 user, $2 now, $3 proposed, $4 confirmed, $5 the
/// accepted substitute status), public for the plan checks (`EXPLAIN`) of the tests. Each
/// branch of the union has its own index.
pub fn upcoming_sql(limit: i64, offset: i64) -> String {
    format!(
        "{MEETING_SELECT} WHERE m.id IN (
             SELECT id FROM meetings WHERE mentor_id = $1 AND state IN ($3, $4) AND end_date > $2
             UNION SELECT id FROM meetings WHERE mentee_id = $1 AND state IN ($3, $4) AND end_date > $2
             UNION SELECT id FROM meetings WHERE substitute_user_id = $1 AND substitute_status = $5
                 AND state = $4 AND end_date > $2)
         ORDER BY m.start_date, m.id {}",
        super::limit_offset(limit, offset)
    )
}

/// Invitations waiting for this user's answer, for meetings still ahead.
pub async fn pending_invitations_for(
    db: &Db,
    user_id: i64,
    now: Timestamp,
) -> Result<Vec<MeetingRow>, sqlx::Error> {
    with_db!(db, |c| sqlx::query_as::<_, MeetingRow>(
        sqlx::AssertSqlSafe(format!(
            "{MEETING_SELECT} WHERE m.substitute_user_id = $1 AND m.substitute_status = $3
             AND m.state = $4 AND m.start_date > $2
         ORDER BY m.start_date, m.id"
        ))
    )
    .bind(user_id)
    .bind(now)
    .bind(SubstituteStatus::Pending)
    .bind(MeetingState::Confirmed)
    .fetch_all(c)
    .await)
}

/// The meetings ahead that this user is invited to, or has accepted to, stand in for,
/// row-locked on PostgreSQL (a leaving member's are released in the deletion's transaction).
pub async fn standing_in(
    tx: &mut Tx,
    user_id: i64,
    now: Timestamp,
) -> Result<Vec<MeetingRow>, sqlx::Error> {
    let lock = if tx.is_postgres() {
        " FOR UPDATE OF m"
    } else {
        ""
    };
    with_tx!(tx, |c| sqlx::query_as::<_, MeetingRow>(
        sqlx::AssertSqlSafe(format!(
            "{MEETING_SELECT} WHERE m.substitute_user_id = $1 AND m.substitute_status IN ($3, $4)
             AND m.state = $5 AND m.start_date > $2
         ORDER BY m.start_date, m.id{lock}"
        ))
    )
    .bind(user_id)
    .bind(now)
    .bind(SubstituteStatus::Pending)
    .bind(SubstituteStatus::Accepted)
    .bind(MeetingState::Confirmed)
    .fetch_all(c)
    .await)
}

pub async fn update_details(
    tx: &mut Tx,
    id: i64,
    start: f64,
    end: f64,
    place: Option<&str>,
    notes: Option<&str>,
    now: Timestamp,
) -> Result<u64, sqlx::Error> {
    with_tx!(tx, |c| {
        sqlx::query(
        "UPDATE meetings SET start_date = $2, end_date = $3, place = $4, notes = $5, updated_at = $6, revision = revision + 1
         WHERE id = $1 AND state = $7"
    )
    .bind(id)
    .bind(start)
    .bind(end)
    .bind(place)
    .bind(notes)
    .bind(now)
    .bind(MeetingState::Proposed)
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })
}

pub async fn change_state(
    tx: &mut Tx,
    id: i64,
    from: MeetingState,
    to: MeetingState,
    now: Timestamp,
) -> Result<u64, sqlx::Error> {
    with_tx!(tx, |c| {
        sqlx::query(
        "UPDATE meetings SET state = $3, updated_at = $4, revision = revision + 1 WHERE id = $1 AND state = $2"
    )
    .bind(id)
    .bind(from)
    .bind(to)
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })
}

/// Whether `mentor_id` already delivers a confirmed meeting overlapping [start, end): as the
/// titular mentor without an accepted substitute, or as an accepted substitute.
pub async fn delivers_overlapping(
    tx: &mut Tx,
    mentor_id: i64,
    start: f64,
    end: f64,
    except: i64,
) -> Result<bool, sqlx::Error> {
    with_tx!(tx, |c| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM meetings
         WHERE state = $5 AND id <> $4 AND start_date < $3 AND start_date > $7 AND end_date > $2
           AND ((mentor_id = $1 AND (substitute_status IS NULL OR substitute_status <> $6))
                OR (substitute_user_id = $1 AND substitute_status = $6))"
    )
    .bind(mentor_id)
    .bind(start)
    .bind(end)
    .bind(except)
    .bind(MeetingState::Confirmed)
    .bind(SubstituteStatus::Accepted)
    // A meeting that overlaps [start, end) started at most the longest meeting before it: a
    // bounded range of the start index, whatever the history.
    .bind(start - MAX_DURATION_SECS)
    .fetch_one(c)
    .await)
    .map(|n| n > 0)
}

/// Records a new invitation; it replaces any earlier one (and so its nonce and links).
pub async fn invite(
    tx: &mut Tx,
    id: i64,
    invitee: i64,
    nonce_hash: &str,
    now: Timestamp,
) -> Result<u64, sqlx::Error> {
    with_tx!(tx, |c| {
        sqlx::query(
        "UPDATE meetings SET substitute_user_id = $2, substitute_status = $5, substitute_invited_at = $4,
             substitute_responded_at = NULL, substitute_nonce_hash = $3, updated_at = $4
         WHERE id = $1"
    )
    .bind(id)
    .bind(invitee)
    .bind(nonce_hash)
    .bind(now)
    .bind(SubstituteStatus::Pending)
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })
}

/// Clears the meeting's current invitation if it is in status `from` (withdrawn, expired, or a
/// substitution ended): the meeting then has no substitute. Its history keeps what happened.
pub async fn clear_substitute(
    tx: &mut Tx,
    id: i64,
    from: SubstituteStatus,
    now: Timestamp,
) -> Result<u64, sqlx::Error> {
    with_tx!(tx, |c| {
        sqlx::query(
            "UPDATE meetings SET substitute_user_id = NULL, substitute_status = NULL,
                 substitute_invited_at = NULL, substitute_responded_at = NULL,
                 substitute_nonce_hash = NULL, updated_at = $2,
                 revision = revision + CASE WHEN $3 = $4 THEN 1 ELSE 0 END
             WHERE id = $1 AND substitute_status = $3",
        )
        .bind(id)
        .bind(now)
        .bind(from)
        .bind(SubstituteStatus::Accepted)
        .execute(c)
        .await
        .map(|r| r.rows_affected())
    })
}

/// Sets a confirmed meeting's notes; bumps its revision (its calendar event changes).
pub async fn update_notes(
    tx: &mut Tx,
    id: i64,
    notes: Option<&str>,
    now: Timestamp,
) -> Result<u64, sqlx::Error> {
    with_tx!(tx, |c| {
        sqlx::query(
            "UPDATE meetings SET notes = $2, updated_at = $3, revision = revision + 1
             WHERE id = $1 AND state = $4",
        )
        .bind(id)
        .bind(notes)
        .bind(now)
        .bind(MeetingState::Confirmed)
        .execute(c)
        .await
        .map(|r| r.rows_affected())
    })
}

/// Answers a pending invitation, only if it is still the one answered (`nonce_hash`, when the
/// answer comes from an e-mailed link) and the meeting is still confirmed and ahead. Zero rows
/// means someone was first, or the invitation changed: the caller refuses.
pub async fn answer_invitation(
    tx: &mut Tx,
    id: i64,
    invitee: i64,
    nonce_hash: Option<&str>,
    accepted: bool,
    now: Timestamp,
) -> Result<u64, sqlx::Error> {
    let status = if accepted {
        SubstituteStatus::Accepted
    } else {
        SubstituteStatus::Rejected
    };
    // An acceptance changes who attends: calendars see a new revision.
    let revision_step = i64::from(accepted);
    with_tx!(tx, |c| sqlx::query(
        "UPDATE meetings SET substitute_status = $3, substitute_responded_at = $5, updated_at = $5,
             revision = revision + $6
         WHERE id = $1 AND substitute_user_id = $2 AND substitute_status = $7
           AND ($4 IS NULL OR substitute_nonce_hash = $4)
           AND state = $8 AND start_date > $5"
    )
    .bind(id)
    .bind(invitee)
    .bind(status)
    .bind(nonce_hash)
    .bind(now)
    .bind(revision_step)
    .bind(SubstituteStatus::Pending)
    .bind(MeetingState::Confirmed)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
}

/// Cancels the meetings still ahead of relations that just ended, and returns them as they
/// were before (to tell who had them in a calendar).
pub async fn cancel_for_relations(
    tx: &mut Tx,
    relation_ids: &[i64],
    now: Timestamp,
) -> Result<Vec<MeetingRow>, sqlx::Error> {
    if relation_ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = super::id_list(relation_ids);
    let ahead = with_tx!(tx, |c| {
        sqlx::query_as::<_, MeetingRow>(sqlx::AssertSqlSafe(format!(
        "{MEETING_SELECT} WHERE m.relation_id IN ({list}) AND m.state IN ($2, $3) AND m.start_date > $1
         ORDER BY m.id"
    )))
    .bind(now)
    .bind(MeetingState::Proposed)
    .bind(MeetingState::Confirmed)
    .fetch_all(&mut *c)
    .await
    })?;
    if ahead.is_empty() {
        return Ok(ahead);
    }
    let ids = super::id_list(&ahead.iter().map(|m| m.id).collect::<Vec<_>>());
    with_tx!(tx, |c| {
        sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE meetings SET state = $2, updated_at = $1, revision = revision + 1 WHERE id IN ({ids})"
    )))
    .bind(now)
    .bind(MeetingState::Cancelled)
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })?;
    Ok(ahead)
}

/// One page of every meeting, by id, for the admins.
pub async fn list_all(
    db: &Db,
    filter: &MeetingFilter,
    now: Timestamp,
) -> Result<Vec<MeetingRow>, sqlx::Error> {
    // `completed` is a confirmed meeting that has ended; `confirmed` one that has not.
    let (stored, ended) = match filter.state {
        None => (None, None),
        Some(ListedState::Proposed) => (Some(MeetingState::Proposed), None),
        Some(ListedState::Confirmed) => (Some(MeetingState::Confirmed), Some(false)),
        Some(ListedState::Completed) => (Some(MeetingState::Confirmed), Some(true)),
        Some(ListedState::Declined) => (Some(MeetingState::Declined), None),
        Some(ListedState::Cancelled) => (Some(MeetingState::Cancelled), None),
    };
    with_db!(db, |c| sqlx::query_as::<_, MeetingRow>(
        sqlx::AssertSqlSafe(format!(
            "{MEETING_SELECT}
         WHERE ($1 IS NULL OR m.state = $1)
           AND ($2 IS NULL OR ($2 = (m.end_date <= $3)))
           AND ($4 IS NULL OR EXISTS (SELECT 1 FROM substitute_invitations i
                                       WHERE i.meeting_id = m.id AND i.status = $4))
         ORDER BY m.id {}",
            super::limit_offset(filter.page.limit, filter.page.offset)
        ))
    )
    .bind(stored)
    .bind(ended)
    .bind(now)
    .bind(filter.substitute_status)
    .fetch_all(c)
    .await)
}

/// Every meeting `user_id` is a party of or was invited to stand in for (their data export).
pub async fn of_member(db: &Db, user_id: i64) -> Result<Vec<MeetingRow>, sqlx::Error> {
    with_db!(db, |c| sqlx::query_as::<_, MeetingRow>(
        sqlx::AssertSqlSafe(format!(
            "{MEETING_SELECT} WHERE m.id IN (
                 SELECT id FROM meetings WHERE mentor_id = $1
                 UNION SELECT id FROM meetings WHERE mentee_id = $1
                 UNION SELECT id FROM meetings WHERE substitute_user_id = $1)
             ORDER BY m.id"
        ))
    )
    .bind(user_id)
    .fetch_all(c)
    .await)
}
