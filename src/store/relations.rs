//! Queries on `mentorship_relations` and `current_relations`.

use super::{Conn, Db, Tx, tasks::TaskRow, with_conn, with_db, with_tx};
use crate::domain::clock::Timestamp;
use crate::domain::relations::RelationState;

/// Someone to tell about a change: their e-mail and name.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Contact {
    pub user_id: i64,
    pub email: String,
    pub name: String,
}

/// What ending a leaving member's relations did.
#[derive(Debug, Default)]
pub struct EndedRelations {
    /// The other parties of the cancelled current relations, to be told.
    pub partners: Vec<Contact>,
    /// The current relations cancelled.
    pub cancelled: Vec<i64>,
}

/// Before an account is deleted: its current relation is cancelled and its pending requests
/// are deleted, so nothing dangles.
pub async fn end_relations_of_leaving_users(
    tx: &mut Tx,
    user_ids: &[i64],
) -> Result<EndedRelations, sqlx::Error> {
    let mut ended = EndedRelations::default();
    for &user_id in user_ids {
        let current = with_tx!(tx, |c| sqlx::query_as::<_, (i64, Option<i64>)>(
            "SELECT r.id, CASE WHEN r.mentor_id = $1 THEN r.mentee_id ELSE r.mentor_id END
             FROM current_relations cr JOIN mentorship_relations r ON r.id = cr.relation_id
             WHERE cr.user_id = $1"
        )
        .bind(user_id)
        .fetch_optional(&mut *c)
        .await)?;
        if let Some((relation_id, partner_id)) = current {
            with_tx!(tx, |c| sqlx::query(
                "UPDATE mentorship_relations SET state = $2 WHERE id = $1 AND state = $3"
            )
            .bind(relation_id)
            .bind(RelationState::Cancelled)
            .bind(RelationState::Accepted)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected()))?;
            with_tx!(tx, |c| sqlx::query(
                "DELETE FROM current_relations WHERE relation_id = $1"
            )
            .bind(relation_id)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected()))?;
            ended.cancelled.push(relation_id);
            if let Some(partner_id) = partner_id {
                let contact = with_tx!(tx, |c| sqlx::query_as::<_, Contact>(
                    "SELECT id AS user_id, email, name FROM users WHERE id = $1"
                )
                .bind(partner_id)
                .fetch_optional(&mut *c)
                .await)?;
                ended.partners.extend(contact);
            }
        }
        with_tx!(tx, |c| {
            sqlx::query("DELETE FROM mentorship_relations WHERE state = $2 AND (mentor_id = $1 OR mentee_id = $1)")
            .bind(user_id)
            .bind(RelationState::Pending)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
        })?;
    }
    Ok(ended)
}

/// A relation the completion job just completed, with both parties to tell.
#[derive(Debug, Clone)]
pub struct CompletedRelation {
    pub id: i64,
    pub end_date: f64,
    pub parties: Vec<Contact>,
}

/// Completes up to `limit` ACCEPTED relations whose end date is before `now`, frees their
/// parties, and returns them. PostgreSQL instances skip rows another run has locked.
pub async fn complete_due(
    tx: &mut Tx,
    now: Timestamp,
    limit: i64,
) -> Result<Vec<CompletedRelation>, sqlx::Error> {
    let lock = if tx.is_postgres() {
        "FOR UPDATE OF r SKIP LOCKED"
    } else {
        ""
    };
    // The parties come with the relations: a second query by a list of 500 ids cost more to
    // plan (and, on PostgreSQL, to start parallel workers for) than to run. The state is
    // written into the SQL, not bound: the planner must see that it matches the condition of
    // the partial index of due relations (`WHERE state = 2`) to use it.
    let accepted = RelationState::Accepted.number();
    let due = with_tx!(tx, |c| {
        sqlx::query_as::<_, DueRow>(sqlx::AssertSqlSafe(format!(
            "SELECT r.id, r.end_date,
                    mu.id AS mentor_id, mu.email AS mentor_email, mu.name AS mentor_name,
                    eu.id AS mentee_id, eu.email AS mentee_email, eu.name AS mentee_name
             FROM mentorship_relations r
             LEFT JOIN users mu ON mu.id = r.mentor_id
             LEFT JOIN users eu ON eu.id = r.mentee_id
             WHERE r.state = {accepted} AND r.end_date < $1 ORDER BY r.end_date {} {lock}",
            super::limit_offset(limit, 0)
        )))
        .bind(now)
        .fetch_all(&mut *c)
        .await
    })?;
    if due.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = due.iter().map(|row| row.id).collect();
    let list = super::id_list(&ids);
    with_tx!(tx, |c| sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE mentorship_relations SET state = $1 WHERE state = $2 AND id IN ({list})"
    )))
    .bind(RelationState::Completed)
    .bind(RelationState::Accepted)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    with_tx!(tx, |c| sqlx::query(sqlx::AssertSqlSafe(format!(
        "DELETE FROM current_relations WHERE relation_id IN ({list})"
    )))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(due.into_iter().map(DueRow::into_completed).collect())
}

/// A due relation and its parties (a deleted party's columns are null).
#[derive(sqlx::FromRow)]
struct DueRow {
    id: i64,
    end_date: f64,
    mentor_id: Option<i64>,
    mentor_email: Option<String>,
    mentor_name: Option<String>,
    mentee_id: Option<i64>,
    mentee_email: Option<String>,
    mentee_name: Option<String>,
}

impl DueRow {
    fn into_completed(self) -> CompletedRelation {
        let party = |user_id: Option<i64>, email: Option<String>, name: Option<String>| {
            Some(Contact {
                user_id: user_id?,
                email: email?,
                name: name?,
            })
        };
        let parties = [
            party(self.mentor_id, self.mentor_email, self.mentor_name),
            party(self.mentee_id, self.mentee_email, self.mentee_name),
        ];
        CompletedRelation {
            id: self.id,
            end_date: self.end_date,
            parties: parties.into_iter().flatten().collect(),
        }
    }
}

/// A relation with the names the API shows; a deleted party has null id and name.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RelationRow {
    pub id: i64,
    pub mentor_id: Option<i64>,
    pub mentee_id: Option<i64>,
    pub action_user_id: i64,
    pub creation_date: f64,
    pub accept_date: Option<f64>,
    pub start_date: Option<f64>,
    pub end_date: f64,
    pub state: RelationState,
    pub notes: String,
    pub mentor_name: Option<String>,
    pub mentor_photo_url: Option<String>,
    pub mentee_name: Option<String>,
    pub mentee_photo_url: Option<String>,
}

impl RelationRow {
    pub fn involves(&self, user_id: i64) -> bool {
        self.mentor_id == Some(user_id) || self.mentee_id == Some(user_id)
    }
}

const RELATION_SELECT: &str =
    "SELECT r.id, r.mentor_id, r.mentee_id, r.action_user_id, r.creation_date,
        r.accept_date, r.start_date, r.end_date, r.state, r.notes,
        mu.name AS mentor_name, mu.photo_url AS mentor_photo_url,
        eu.name AS mentee_name, eu.photo_url AS mentee_photo_url
    FROM mentorship_relations r
    LEFT JOIN users mu ON mu.id = r.mentor_id
    LEFT JOIN users eu ON eu.id = r.mentee_id";

pub struct NewRelation<'a> {
    pub mentor_id: i64,
    pub mentee_id: i64,
    pub action_user_id: i64,
    pub now: Timestamp,
    pub end_date: Timestamp,
    pub notes: &'a str,
}

pub async fn insert(tx: &mut Tx, relation: &NewRelation<'_>) -> Result<i64, sqlx::Error> {
    with_tx!(tx, |c| {
        sqlx::query_scalar::<_, i64>(
        "INSERT INTO mentorship_relations (mentor_id, mentee_id, action_user_id, creation_date, end_date, state, notes)
         VALUES ($1, $2, $3, $4, $5, $7, $6) RETURNING id"
    )
    .bind(relation.mentor_id)
    .bind(relation.mentee_id)
    .bind(relation.action_user_id)
    .bind(relation.now)
    .bind(relation.end_date)
    .bind(relation.notes)
    .bind(RelationState::Pending)
    .fetch_one(c)
    .await
    })
}

/// A relation, row-locked on PostgreSQL when read in a transaction (SQLite's write
/// transaction already excludes other writers).
pub async fn find(conn: impl Into<Conn<'_>>, id: i64) -> Result<Option<RelationRow>, sqlx::Error> {
    let conn = conn.into();
    let lock = match &conn {
        Conn::Tx(tx) if tx.is_postgres() => " FOR UPDATE OF r",
        _ => "",
    };
    with_conn!(conn, |c| sqlx::query_as::<_, RelationRow>(
        sqlx::AssertSqlSafe(format!("{RELATION_SELECT} WHERE r.id = $1{lock}"))
    )
    .bind(id)
    .fetch_optional(c)
    .await)
}

/// Which relations of a user to list.
#[derive(Debug, Clone, Copy)]
pub enum RelationScope {
    All(Option<RelationState>),
    EndedBefore(Timestamp),
    PendingEndingAfter(Timestamp),
}

impl RelationScope {
    /// The values bound to `$2` (state), `$3` (ended before) and `$4` (ending after) of
    /// [`list_for_user_sql`]; a `None` leaves its condition out.
    pub fn binds(self) -> (Option<RelationState>, Option<Timestamp>, Option<Timestamp>) {
        match self {
            RelationScope::All(state) => (state, None, None),
            RelationScope::EndedBefore(at) => (None, Some(at), None),
            RelationScope::PendingEndingAfter(at) => (Some(RelationState::Pending), None, Some(at)),
        }
    }
}

/// A user's relations: those where they mentor first, then those where they are mentored.
pub async fn list_for_user(
    db: &Db,
    user_id: i64,
    scope: RelationScope,
) -> Result<Vec<RelationRow>, sqlx::Error> {
    let (state, ended_before, ending_after) = scope.binds();
    with_db!(db, |c| sqlx::query_as::<_, RelationRow>(
        sqlx::AssertSqlSafe(list_for_user_sql())
    )
    .bind(user_id)
    .bind(state)
    .bind(ended_before)
    .bind(ending_after)
    .fetch_all(c)
    .await)
}

/// The query of [`list_for_user`] (`$1` the user, then [`RelationScope::binds`]), public for
/// the plan checks (`EXPLAIN`) of the tests.
pub fn list_for_user_sql() -> String {
    format!(
        "{RELATION_SELECT} WHERE (r.mentor_id = $1 OR r.mentee_id = $1)
           AND ($2 IS NULL OR r.state = $2) AND ($3 IS NULL OR r.end_date < $3)
           AND ($4 IS NULL OR r.end_date > $4)
         ORDER BY CASE WHEN r.mentor_id = $1 THEN 0 ELSE 1 END, r.id"
    )
}

pub async fn current_of(db: &Db, user_id: i64) -> Result<Option<RelationRow>, sqlx::Error> {
    with_db!(db, |c| {
        sqlx::query_as::<_, RelationRow>(sqlx::AssertSqlSafe(format!(
        "{RELATION_SELECT} JOIN current_relations cr ON cr.relation_id = r.id WHERE cr.user_id = $1"
    )))
    .bind(user_id)
    .fetch_optional(c)
    .await
    })
}

pub async fn in_current_relation(tx: &mut Tx, user_id: i64) -> Result<bool, sqlx::Error> {
    with_tx!(tx, |c| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM current_relations WHERE user_id = $1"
    )
    .bind(user_id)
    .fetch_one(c)
    .await)
    .map(|n| n > 0)
}

/// Accepts a pending relation: the state, the dates, and a row per party in
/// `current_relations`, whose key refuses a second current relation even under races.
pub async fn accept(
    tx: &mut Tx,
    relation_id: i64,
    mentor_id: i64,
    mentee_id: i64,
    now: Timestamp,
) -> Result<u64, sqlx::Error> {
    let changed = with_tx!(tx, |c| {
        sqlx::query(
        "UPDATE mentorship_relations SET state = $3, accept_date = $2, start_date = $2 WHERE id = $1 AND state = $4"
    )
    .bind(relation_id)
    .bind(now)
    .bind(RelationState::Accepted)
    .bind(RelationState::Pending)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected())
    })?;
    with_tx!(tx, |c| sqlx::query(
        "INSERT INTO current_relations (user_id, relation_id) VALUES ($1, $3), ($2, $3)"
    )
    .bind(mentor_id)
    .bind(mentee_id)
    .bind(relation_id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(changed)
}

/// Moves a relation from one state to another. Ending an accepted one frees both parties.
pub async fn change_state(
    tx: &mut Tx,
    relation_id: i64,
    from: RelationState,
    to: RelationState,
) -> Result<u64, sqlx::Error> {
    let changed = with_tx!(tx, |c| sqlx::query(
        "UPDATE mentorship_relations SET state = $3 WHERE id = $1 AND state = $2"
    )
    .bind(relation_id)
    .bind(from)
    .bind(to)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    if from == RelationState::Accepted {
        with_tx!(tx, |c| sqlx::query(
            "DELETE FROM current_relations WHERE relation_id = $1"
        )
        .bind(relation_id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    }
    Ok(changed)
}

pub async fn delete(tx: &mut Tx, relation_id: i64) -> Result<u64, sqlx::Error> {
    with_tx!(tx, |c| sqlx::query(
        "DELETE FROM mentorship_relations WHERE id = $1 AND state = $2"
    )
    .bind(relation_id)
    .bind(RelationState::Pending)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
}

/// What `/home` shows of a user: their name, how many of their relations are in each state
/// (pending, accepted, rejected, cancelled, completed), and their last achievements.
#[derive(Debug, Clone)]
pub struct HomeSummary {
    pub name: String,
    pub pending: i64,
    pub accepted: i64,
    pub rejected: i64,
    pub cancelled: i64,
    pub completed: i64,
    /// Done tasks of the user's relations as the reference lists them: relations where they
    /// mentor, then where they are mentored, by relation and task id; the last three.
    pub achievements: Vec<TaskRow>,
}

#[derive(sqlx::FromRow)]
struct HomeRow {
    name: String,
    pending: i64,
    accepted: i64,
    rejected: i64,
    cancelled: i64,
    completed: i64,
    relation_id: Option<i64>,
    task_id: Option<i64>,
    description: Option<String>,
    created_at: Option<f64>,
    completed_at: Option<f64>,
}

/// The [`HomeSummary`] of a user, `None` if there is no such user. One query, one row per
/// achievement (or one row without), since every round trip to the database costs a wake-up
/// on each side: three queries made `/home` the slowest read.
pub async fn home_summary(db: &Db, user_id: i64) -> Result<Option<HomeSummary>, sqlx::Error> {
    let rows = with_db!(db, |c| sqlx::query_as::<_, HomeRow>(
        "WITH counts AS (
             SELECT COUNT(*) FILTER (WHERE state = $2) AS pending,
                    COUNT(*) FILTER (WHERE state = $3) AS accepted,
                    COUNT(*) FILTER (WHERE state = $4) AS rejected,
                    COUNT(*) FILTER (WHERE state = $5) AS cancelled,
                    COUNT(*) FILTER (WHERE state = $6) AS completed
             FROM mentorship_relations WHERE mentor_id = $1 OR mentee_id = $1),
         done AS (
             SELECT t.relation_id, t.id, t.description, t.created_at, t.completed_at,
                    CASE WHEN r.mentor_id = $1 THEN 0 ELSE 1 END AS side
             FROM tasks t JOIN mentorship_relations r ON r.id = t.relation_id
             WHERE t.is_done AND (r.mentor_id = $1 OR r.mentee_id = $1)
             ORDER BY side DESC, t.relation_id DESC, t.id DESC
             LIMIT 3)
         SELECT u.name, c.pending, c.accepted, c.rejected, c.cancelled, c.completed,
                d.relation_id, d.id AS task_id, d.description, d.created_at, d.completed_at
         FROM users u CROSS JOIN counts c LEFT JOIN done d ON TRUE
         WHERE u.id = $1
         ORDER BY d.side DESC, d.relation_id DESC, d.id DESC"
    )
    .bind(user_id)
    .bind(RelationState::Pending)
    .bind(RelationState::Accepted)
    .bind(RelationState::Rejected)
    .bind(RelationState::Cancelled)
    .bind(RelationState::Completed)
    .fetch_all(c)
    .await)?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let (name, pending, accepted, rejected, cancelled, completed) = (
        first.name.clone(),
        first.pending,
        first.accepted,
        first.rejected,
        first.cancelled,
        first.completed,
    );
    // Fetched last first, to take the last three; put back in list order.
    let achievements = rows
        .into_iter()
        .rev()
        .filter_map(|row| {
            Some(TaskRow {
                relation_id: row.relation_id?,
                id: row.task_id?,
                description: row.description?,
                is_done: true,
                created_at: row.created_at?,
                completed_at: row.completed_at,
            })
        })
        .collect();
    Ok(Some(HomeSummary {
        name,
        pending,
        accepted,
        rejected,
        cancelled,
        completed,
        achievements,
    }))
}

pub async fn contact(tx: &mut Tx, user_id: Option<i64>) -> Result<Option<Contact>, sqlx::Error> {
    let Some(user_id) = user_id else {
        return Ok(None);
    };
    with_tx!(tx, |c| sqlx::query_as::<_, Contact>(
        "SELECT id AS user_id, email, name FROM users WHERE id = $1"
    )
    .bind(user_id)
    .fetch_optional(c)
    .await)
}
