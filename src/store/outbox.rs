//! The mail outbox: rows queued with the change they report, claimed by delivery workers
//! with a lease so that several instances never send one mail twice.

use super::{Db, Tx, with_db, with_tx};
use crate::domain::clock::Timestamp;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxRow {
    pub id: i64,
    pub template: String,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub calendar: Option<String>,
    pub attempts: i64,
}

pub struct NewMail<'a> {
    pub template: &'a str,
    pub recipient: &'a str,
    pub subject: &'a str,
    pub body_text: &'a str,
    pub body_html: &'a str,
    pub calendar: Option<&'a str>,
}

/// Queues mails. On PostgreSQL many go in one statement: a job that tells thousands of
/// members at once would otherwise spend its time on one round trip per mail.
pub async fn enqueue(
    tx: &mut Tx,
    mails: &[NewMail<'_>],
    now: Timestamp,
) -> Result<(), sqlx::Error> {
    // 6 values a row: 500 rows stay far below PostgreSQL's limit on bound parameters. SQLite's
    // parser looks each `$n` up by name among those before it, so a statement of 3,000 costs
    // the square of that: the completion job over 100,000 relations spent most of its 19 s
    // parsing. A statement a row instead spent it handing each to SQLite's thread; 50 rows
    // a statement avoid both.
    let rows_per_statement = if tx.is_postgres() { 500 } else { 50 };
    for chunk in mails.chunks(rows_per_statement) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| {
                let p = 2 + 6 * i;
                format!(
                    "(${}, ${}, ${}, ${}, ${}, ${}, $1, $1)",
                    p,
                    p + 1,
                    p + 2,
                    p + 3,
                    p + 4,
                    p + 5
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO outbox (template, recipient, subject, body_text, body_html, calendar, created_at, next_attempt_at)
             VALUES {}",
            rows.join(", ")
        );
        with_tx!(tx, |c| {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .persistent(false)
                .bind(now);
            for mail in chunk {
                query = query
                    .bind(mail.template)
                    .bind(mail.recipient)
                    .bind(mail.subject)
                    .bind(mail.body_text)
                    .bind(mail.body_html)
                    .bind(mail.calendar);
            }
            query.execute(c).await.map(|_| ())
        })?;
    }
    Ok(())
}

/// Claims up to `limit` due mails until `lease_until`. A claim whose worker died expires and
/// the mail is claimed again; `SKIP LOCKED` keeps PostgreSQL workers off each other's rows.
pub async fn claim_due(
    db: &Db,
    now: Timestamp,
    lease_until: Timestamp,
    limit: i64,
) -> Result<Vec<OutboxRow>, sqlx::Error> {
    let lock = if db.is_postgres() {
        "FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    with_db!(db, |c| {
        sqlx::query_as::<_, OutboxRow>(sqlx::AssertSqlSafe(format!(
        "UPDATE outbox SET claimed_until = $2, attempts = attempts + 1
         WHERE id IN (
             SELECT id FROM outbox
             WHERE sent_at IS NULL AND next_attempt_at <= $1 AND (claimed_until IS NULL OR claimed_until < $1)
             ORDER BY next_attempt_at, id {} {lock})
         RETURNING id, template, recipient, subject, body_text, body_html, calendar, attempts",
        super::limit_offset(limit, 0)
    )))
    .bind(now)
    .bind(lease_until)
    .fetch_all(c)
    .await
    })
}

pub async fn mark_sent(db: &Db, id: i64, now: Timestamp) -> Result<(), sqlx::Error> {
    with_db!(db, |c| sqlx::query(
        "UPDATE outbox SET sent_at = $2, claimed_until = NULL, last_error = NULL WHERE id = $1"
    )
    .bind(id)
    .bind(now)
    .execute(c)
    .await
    .map(|_| ()))
}

pub async fn mark_failed(
    db: &Db,
    id: i64,
    error: &str,
    retry_at: Timestamp,
) -> Result<(), sqlx::Error> {
    with_db!(db, |c| {
        sqlx::query(
        "UPDATE outbox SET claimed_until = NULL, last_error = $2, next_attempt_at = $3 WHERE id = $1"
    )
    .bind(id)
    .bind(error)
    .bind(retry_at)
    .execute(c)
    .await
    .map(|_| ())
    })
}

/// Unsent mails and the creation time of the oldest, for health and metrics.
pub async fn backlog(db: &Db) -> Result<(i64, Option<f64>), sqlx::Error> {
    with_db!(db, |c| sqlx::query_as::<_, (i64, Option<f64>)>(
        "SELECT COUNT(*), MIN(created_at) FROM outbox WHERE sent_at IS NULL"
    )
    .fetch_one(c)
    .await)
}
