//! Substitute mentors: the history of a meeting's invitations, and the candidates a titular
//! mentor chooses from.

use super::{Conn, Db, Tx, with_conn, with_db, with_tx};
use crate::domain::clock::Timestamp;
use crate::domain::meetings::{
    InvitationStatus, MAX_DURATION_SECS, MeetingState, SubstituteStatus,
};

/// An invitation of a meeting's history, with the invitee's name.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InvitationRow {
    pub id: i64,
    pub meeting_id: i64,
    pub invitee_id: Option<i64>,
    pub invitee_name: Option<String>,
    pub invitee_email: Option<String>,
    pub status: InvitationStatus,
    pub invited_at: f64,
    pub expires_at: f64,
    pub ended_at: Option<f64>,
}

const INVITATION_SELECT: &str = "SELECT i.id, i.meeting_id, i.invitee_id, u.name AS invitee_name,
        u.email AS invitee_email, i.status, i.invited_at, i.expires_at, i.ended_at
    FROM substitute_invitations i LEFT JOIN users u ON u.id = i.invitee_id";

/// Records a new invitation; the live one (if any) must have been ended first (a unique index
/// allows one live invitation per meeting).
pub async fn record_invitation(
    tx: &mut Tx,
    meeting_id: i64,
    invitee_id: i64,
    nonce_hash: &str,
    now: Timestamp,
    expires_at: Timestamp,
) -> Result<i64, sqlx::Error> {
    with_tx!(tx, |c| {
        sqlx::query_scalar::<_, i64>(
        "INSERT INTO substitute_invitations (meeting_id, invitee_id, nonce_hash, status, invited_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id"
    )
    .bind(meeting_id)
    .bind(invitee_id)
    .bind(nonce_hash)
    .bind(InvitationStatus::Pending)
    .bind(now)
    .bind(expires_at)
    .fetch_one(c)
    .await
    })
}

/// Ends the meeting's live (pending or accepted) invitation with `status`; returns it as it
/// was, if there was one.
pub async fn end_live_invitation(
    tx: &mut Tx,
    meeting_id: i64,
    status: InvitationStatus,
    now: Timestamp,
) -> Result<Option<InvitationRow>, sqlx::Error> {
    let live = with_tx!(tx, |c| sqlx::query_as::<_, InvitationRow>(
        sqlx::AssertSqlSafe(format!(
            "{INVITATION_SELECT} WHERE i.meeting_id = $1 AND i.status IN ($2, $3)"
        ))
    )
    .bind(meeting_id)
    .bind(InvitationStatus::Pending)
    .bind(InvitationStatus::Accepted)
    .fetch_optional(&mut *c)
    .await)?;
    let Some(live) = live else { return Ok(None) };
    // An accepted invitation that ends keeps its acceptance as history too: `ended_at` says
    // when the substitution ended.
    with_tx!(tx, |c| sqlx::query(
        "UPDATE substitute_invitations SET status = $2, ended_at = $3 WHERE id = $1"
    )
    .bind(live.id)
    .bind(status)
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(Some(live))
}

/// Records the invitee's answer to the live invitation (accepted stays live).
pub async fn record_answer(
    tx: &mut Tx,
    meeting_id: i64,
    accepted: bool,
    now: Timestamp,
) -> Result<u64, sqlx::Error> {
    let (status, ended_at) = if accepted {
        (InvitationStatus::Accepted, None)
    } else {
        (InvitationStatus::Rejected, Some(now))
    };
    with_tx!(tx, |c| sqlx::query(
        "UPDATE substitute_invitations SET status = $2, ended_at = $3
         WHERE meeting_id = $1 AND status = $4"
    )
    .bind(meeting_id)
    .bind(status)
    .bind(ended_at)
    .bind(InvitationStatus::Pending)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
}

/// The invitations of a meeting, oldest first.
pub async fn history(db: &Db, meeting_id: i64) -> Result<Vec<InvitationRow>, sqlx::Error> {
    with_db!(db, |c| sqlx::query_as::<_, InvitationRow>(
        sqlx::AssertSqlSafe(format!(
            "{INVITATION_SELECT} WHERE i.meeting_id = $1 ORDER BY i.id"
        ))
    )
    .bind(meeting_id)
    .fetch_all(c)
    .await)
}

/// The invitation a link's nonce belongs to.
pub async fn by_nonce(
    conn: impl Into<Conn<'_>>,
    meeting_id: i64,
    nonce_hash: &str,
) -> Result<Option<InvitationRow>, sqlx::Error> {
    with_conn!(conn.into(), |c| sqlx::query_as::<_, InvitationRow>(
        sqlx::AssertSqlSafe(format!(
            "{INVITATION_SELECT} WHERE i.meeting_id = $1 AND i.nonce_hash = $2"
        ))
    )
    .bind(meeting_id)
    .bind(nonce_hash)
    .fetch_optional(c)
    .await)
}

/// Pending invitations whose time ran out (7 days, or their meeting started), up to `limit`:
/// marked expired, and cleared from their meetings. Returns them, to tell the invitees.
pub async fn expire_lapsed(
    tx: &mut Tx,
    now: Timestamp,
    limit: i64,
) -> Result<Vec<InvitationRow>, sqlx::Error> {
    let lapsed = with_tx!(tx, |c| {
        sqlx::query_as::<_, InvitationRow>(sqlx::AssertSqlSafe(
        format!(
            "{INVITATION_SELECT} WHERE i.status = $1 AND i.expires_at < $2 ORDER BY i.expires_at {}",
            super::limit_offset(limit, 0)
        )
    ))
    .bind(InvitationStatus::Pending)
    .bind(now)
    .fetch_all(&mut *c)
    .await
    })?;
    if lapsed.is_empty() {
        return Ok(lapsed);
    }
    let ids = super::id_list(&lapsed.iter().map(|i| i.id).collect::<Vec<_>>());
    let meetings = super::id_list(&lapsed.iter().map(|i| i.meeting_id).collect::<Vec<_>>());
    with_tx!(tx, |c| sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE substitute_invitations SET status = $1, ended_at = $2 WHERE id IN ({ids})"
    )))
    .bind(InvitationStatus::Expired)
    .bind(now)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    with_tx!(tx, |c| sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE meetings SET substitute_user_id = NULL, substitute_status = NULL,
             substitute_invited_at = NULL, substitute_responded_at = NULL,
             substitute_nonce_hash = NULL, updated_at = $2
         WHERE id IN ({meetings}) AND substitute_status = $1"
    )))
    .bind(SubstituteStatus::Pending)
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(lapsed)
}

/// A candidate with the figures that rank them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CandidateRow {
    pub id: i64,
    pub name: String,
    pub username: String,
    pub photo_url: Option<String>,
    pub skills: Option<String>,
    pub interests: Option<String>,
    /// Confirmed meetings ahead that they attend as mentor or substitute.
    pub commitments: i64,
}

/// Candidates of the pool `ids` who are free during [start, end): verified, available to
/// mentor, not `exclude` (the meeting's parties), and attending no confirmed meeting that
/// overlaps it; each with their upcoming commitments. One query for the whole pool.
pub async fn free_candidates(
    db: &Db,
    ids: &[i64],
    exclude: &[i64],
    start: Timestamp,
    end: Timestamp,
    now: Timestamp,
) -> Result<Vec<CandidateRow>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let in_pool = super::in_json_list(db.is_postgres(), "u.id", 6, "bigint");
    let excluded = super::in_json_list(db.is_postgres(), "u.id", 7, "bigint");
    // A mentor attends a confirmed meeting as its titular mentor when no substitute accepted
    // it, or as the substitute who did; each way has its own index.
    let sql = format!(
        "SELECT u.id, u.name, u.username, u.photo_url, u.skills, u.interests,
                (SELECT COUNT(*) FROM meetings c WHERE c.mentor_id = u.id AND c.state = $1
                    AND (c.substitute_status IS NULL OR c.substitute_status <> $2)
                    AND c.start_date > $5)
                + (SELECT COUNT(*) FROM meetings cs WHERE cs.substitute_user_id = u.id
                    AND cs.substitute_status = $2 AND cs.state = $1 AND cs.start_date > $5)
                AS commitments
         FROM users u
         WHERE {in_pool} AND NOT ({excluded})
           AND u.is_email_verified AND u.available_to_mentor
           AND NOT EXISTS (SELECT 1 FROM meetings o WHERE o.mentor_id = u.id AND o.state = $1
                   AND (o.substitute_status IS NULL OR o.substitute_status <> $2)
                   AND o.start_date < $4 AND o.start_date > $8 AND o.end_date > $3)
           AND NOT EXISTS (SELECT 1 FROM meetings os WHERE os.substitute_user_id = u.id
                   AND os.substitute_status = $2 AND os.state = $1
                   AND os.start_date < $4 AND os.start_date > $8 AND os.end_date > $3)"
    );
    with_db!(db, |c| sqlx::query_as::<_, CandidateRow>(
        sqlx::AssertSqlSafe(sql.clone())
    )
    .bind(MeetingState::Confirmed)
    .bind(SubstituteStatus::Accepted)
    .bind(start)
    .bind(end)
    .bind(now)
    .bind(super::json_list(ids))
    .bind(super::json_list(exclude))
    // An overlapping meeting started at most the longest meeting before this one: a bounded
    // range of each mentor's meetings, whatever their history.
    .bind(start - MAX_DURATION_SECS)
    .fetch_all(c)
    .await)
}

/// How many mentors are read per word of the mentee's: a word shared by many mentors
/// (`python`) adds at most this many of them, so a request reads a bounded number of rows at
/// any size of program. The pool they make up is then ranked exactly.
const POSTINGS_PER_WORD: i64 = 250;

/// The mentors (verified, available) sharing the most of `words`, up to `limit`, by the number
/// of words they share, then id. One statement text per number of words, so each is prepared
/// once.
pub async fn best_matching(db: &Db, words: &[String], limit: i64) -> Result<Vec<i64>, sqlx::Error> {
    if words.is_empty() {
        return Ok(Vec::new());
    }
    // A word may be in both the skills and the interests of a mentor: one posting each.
    let postings: Vec<String> = (1..=words.len())
        .map(|n| {
            format!(
                "SELECT * FROM (SELECT user_id FROM mentor_words WHERE word = ${n}
                 GROUP BY user_id ORDER BY user_id {}) AS w{n}",
                super::limit_offset(POSTINGS_PER_WORD, 0)
            )
        })
        .collect();
    let sql = format!(
        "SELECT user_id FROM ({}) AS hits GROUP BY user_id
         ORDER BY COUNT(*) DESC, user_id {}",
        postings.join(" UNION ALL "),
        super::limit_offset(limit, 0)
    );
    with_db!(db, |c| {
        let mut query = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.clone()));
        for word in words {
            query = query.bind(word);
        }
        query.fetch_all(c).await
    })
}

/// Verified mentors who are available, by id, skipping `skip`, up to `limit`: the rest of the
/// pool when too few share a word.
pub async fn available_mentors(db: &Db, skip: &[i64], limit: i64) -> Result<Vec<i64>, sqlx::Error> {
    let skipped = super::in_json_list(db.is_postgres(), "id", 1, "bigint");
    let sql = format!(
        "SELECT id FROM users WHERE is_email_verified AND available_to_mentor AND NOT ({skipped})
         ORDER BY id {}",
        super::limit_offset(limit, 0)
    );
    with_db!(db, |c| sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(
        sql.clone()
    ))
    .bind(super::json_list(skip))
    .fetch_all(c)
    .await)
}

/// Replaces a member's words: those of their skills and interests if they are a verified
/// member available to mentor, none otherwise.
pub async fn refresh_words(tx: &mut Tx, user_id: i64) -> Result<(), sqlx::Error> {
    with_tx!(tx, |c| sqlx::query(
        "DELETE FROM mentor_words WHERE user_id = $1"
    )
    .bind(user_id)
    .execute(&mut *c)
    .await
    .map(|_| ()))?;
    let profile = with_tx!(tx, |c| {
        sqlx::query_as::<_, (Option<String>, Option<String>)>(
            "SELECT skills, interests FROM users
         WHERE id = $1 AND is_email_verified AND available_to_mentor",
        )
        .bind(user_id)
        .fetch_optional(&mut *c)
        .await
    })?;
    let Some((skills, interests)) = profile else {
        return Ok(());
    };
    insert_words(tx, user_id, skills.as_deref(), interests.as_deref()).await
}

async fn insert_words(
    tx: &mut Tx,
    user_id: i64,
    skills: Option<&str>,
    interests: Option<&str>,
) -> Result<(), sqlx::Error> {
    use crate::domain::users::profile_words;
    for (source, text) in [("skills", skills), ("interests", interests)] {
        for word in profile_words(text.unwrap_or_default()) {
            with_tx!(tx, |c| sqlx::query(
                "INSERT INTO mentor_words (word, user_id, source) VALUES ($1, $2, $3)
                 ON CONFLICT DO NOTHING"
            )
            .bind(&word)
            .bind(user_id)
            .bind(source)
            .execute(c)
            .await
            .map(|_| ()))?;
        }
    }
    Ok(())
}

/// Fills `mentor_words` for the members after `after` (by id), up to `limit` of them; returns
/// the last id done, or `None` when there were none left (the backfill of migration 0010).
pub async fn backfill_words_step(
    tx: &mut Tx,
    after: i64,
    limit: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let mentors = with_tx!(tx, |c| sqlx::query_as::<
        _,
        (i64, Option<String>, Option<String>),
    >(sqlx::AssertSqlSafe(format!(
        "SELECT id, skills, interests FROM users
             WHERE id > $1 AND is_email_verified AND available_to_mentor
             ORDER BY id {}",
        super::limit_offset(limit, 0)
    )))
    .bind(after)
    .fetch_all(&mut *c)
    .await)?;
    let last = mentors.last().map(|m| m.0);
    for (id, skills, interests) in mentors {
        insert_words(tx, id, skills.as_deref(), interests.as_deref()).await?;
    }
    Ok(last)
}

/// The invitations `user_id` received, and those sent for the meetings they are the titular
/// mentor of (their data export): (received, sent), by id.
pub async fn of_member(
    db: &Db,
    user_id: i64,
) -> Result<(Vec<InvitationRow>, Vec<InvitationRow>), sqlx::Error> {
    let received = with_db!(db, |c| sqlx::query_as::<_, InvitationRow>(
        sqlx::AssertSqlSafe(format!(
            "{INVITATION_SELECT} WHERE i.invitee_id = $1 ORDER BY i.id"
        ))
    )
    .bind(user_id)
    .fetch_all(c)
    .await)?;
    let sent = with_db!(db, |c| {
        sqlx::query_as::<_, InvitationRow>(
        sqlx::AssertSqlSafe(format!(
            "{INVITATION_SELECT} WHERE i.meeting_id IN (SELECT id FROM meetings WHERE mentor_id = $1)
             ORDER BY i.id"
        ))
    )
    .bind(user_id)
    .fetch_all(c)
    .await
    })?;
    Ok((received, sent))
}
