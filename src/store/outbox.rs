//! The outbox: messages of any kind (a mail today), queued in the transaction of the change
//! they report and claimed by workers with a lease, so that several instances never act on one
//! twice and a crash never loses one.

use super::{Db, Tx, with_db, with_tx};
use crate::domain::clock::Timestamp;

/// A claimed outbox row: its kind says which handler reads its payload (JSON).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxRow {
    pub id: i64,
    pub kind: String,
    pub payload: String,
    pub attempts: i64,
}

/// A row to queue.
pub struct NewRow<'a> {
    pub kind: &'a str,
    pub payload: &'a str,
    /// The lower-cased address it goes to (erasure finds unsent mail by it).
    pub recipient: &'a str,
}

/// Queues rows. Many go in one statement: a job that tells thousands of members at once would
/// otherwise spend its time on one round trip per row.
pub async fn enqueue(tx: &mut Tx, rows: &[NewRow<'_>], now: Timestamp) -> Result<(), sqlx::Error> {
    // SQLite's parser looks each `$n` up by name among those before it, so a statement of
    // thousands of parameters costs the square of that: the completion job over 100,000
    // relations spent most of its 19 s parsing. A statement a row instead spent it handing
    // each to SQLite's thread; 50 rows a statement avoid both. PostgreSQL takes 500.
    let rows_per_statement = if tx.is_postgres() { 500 } else { 50 };
    for chunk in rows.chunks(rows_per_statement) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| format!("(${}, ${}, ${}, $1, $1)", 2 + 3 * i, 3 + 3 * i, 4 + 3 * i))
            .collect();
        let sql = format!(
            "INSERT INTO outbox (kind, payload, recipient, created_at, next_attempt_at) VALUES {}",
            values.join(", ")
        );
        with_tx!(tx, |c| {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .persistent(false)
                .bind(now);
            for row in chunk {
                query = query.bind(row.kind).bind(row.payload).bind(row.recipient);
            }
            query.execute(c).await.map(|_| ())
        })?;
    }
    Ok(())
}

/// Claims up to `limit` due rows until `lease_until`. A claim whose worker died expires and
/// the row is claimed again; `SKIP LOCKED` keeps PostgreSQL workers off each other's rows.
pub async fn claim_due(
    tx: &mut Tx,
    now: Timestamp,
    lease_until: Timestamp,
    limit: i64,
) -> Result<Vec<OutboxRow>, sqlx::Error> {
    let lock = if tx.is_postgres() {
        "FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    with_tx!(tx, |c| {
        sqlx::query_as::<_, OutboxRow>(sqlx::AssertSqlSafe(format!(
            "UPDATE outbox SET claimed_until = $2, attempts = attempts + 1
             WHERE id IN (
                 SELECT id FROM outbox
                 WHERE sent_at IS NULL AND dead_at IS NULL AND next_attempt_at <= $1
                   AND (claimed_until IS NULL OR claimed_until < $1)
                 ORDER BY next_attempt_at, id {} {lock})
             RETURNING id, kind, payload, attempts",
            super::limit_offset(limit, 0)
        )))
        .bind(now)
        .bind(lease_until)
        .fetch_all(c)
        .await
    })
}

/// Marks a row done: its message was delivered. Its payload is emptied: a delivered mail's
/// text holds links that may still be live (verification, reset, invitations), which nobody
/// reading the database should find; the row itself stays until the purge job, as the record
/// that it was delivered.
pub async fn mark_sent(tx: &mut Tx, id: i64, now: Timestamp) -> Result<(), sqlx::Error> {
    with_tx!(tx, |c| sqlx::query(
        "UPDATE outbox SET sent_at = $2, claimed_until = NULL, last_error = NULL, payload = '{}',
                recipient = NULL
         WHERE id = $1"
    )
    .bind(id)
    .bind(now)
    .execute(c)
    .await
    .map(|_| ()))
}

/// Records a failed attempt; the row is tried again at `retry_at`.
pub async fn mark_failed(
    tx: &mut Tx,
    id: i64,
    error: &str,
    retry_at: Timestamp,
) -> Result<(), sqlx::Error> {
    with_tx!(tx, |c| {
        sqlx::query(
            "UPDATE outbox SET claimed_until = NULL, last_error = $2, next_attempt_at = $3 WHERE id = $1",
        )
        .bind(id)
        .bind(error)
        .bind(retry_at)
        .execute(c)
        .await
        .map(|_| ())
    })
}

/// Gives up on a row: it failed for good, or too often. It stays, dead, with its last error,
/// until an operator retries it.
pub async fn mark_dead(
    tx: &mut Tx,
    id: i64,
    error: &str,
    now: Timestamp,
) -> Result<(), sqlx::Error> {
    with_tx!(tx, |c| sqlx::query(
        "UPDATE outbox SET claimed_until = NULL, last_error = $2, dead_at = $3 WHERE id = $1"
    )
    .bind(id)
    .bind(error)
    .bind(now)
    .execute(c)
    .await
    .map(|_| ()))
}

/// The state of a kind's queue, for health and metrics.
#[derive(Debug, Clone, Copy, Default, sqlx::FromRow)]
pub struct Backlog {
    /// Rows neither delivered nor dead.
    pub unsent: i64,
    /// When the oldest of them was queued.
    pub oldest_unsent_at: Option<f64>,
    /// Rows given up on.
    pub dead: i64,
}

pub async fn backlog(db: &Db, kind: &str) -> Result<Backlog, sqlx::Error> {
    with_db!(db, |c| sqlx::query_as::<_, Backlog>(
        "SELECT COUNT(*) FILTER (WHERE dead_at IS NULL) AS unsent,
                MIN(created_at) FILTER (WHERE dead_at IS NULL) AS oldest_unsent_at,
                COUNT(*) FILTER (WHERE dead_at IS NOT NULL) AS dead
         FROM outbox WHERE sent_at IS NULL AND kind = $1"
    )
    .bind(kind)
    .fetch_one(c)
    .await)
}

/// The state of the whole queue, every kind together (the console's overview).
pub async fn backlog_all(db: &Db) -> Result<Backlog, sqlx::Error> {
    with_db!(db, |c| sqlx::query_as::<_, Backlog>(
        "SELECT COUNT(*) FILTER (WHERE dead_at IS NULL) AS unsent,
                MIN(created_at) FILTER (WHERE dead_at IS NULL) AS oldest_unsent_at,
                COUNT(*) FILTER (WHERE dead_at IS NOT NULL) AS dead
         FROM outbox WHERE sent_at IS NULL"
    )
    .fetch_one(c)
    .await)
}

/// Discards every message not yet sent to `email` (a mail, or a request for an account mail):
/// the erasure of a member who left. Found by the recipient index, in any case.
pub async fn discard_unsent_to(tx: &mut Tx, email: &str) -> Result<u64, sqlx::Error> {
    with_tx!(tx, |c| sqlx::query(
        "DELETE FROM outbox WHERE sent_at IS NULL AND recipient = $1"
    )
    .bind(email.to_lowercase())
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
}
