//! The audit trail's tables: events, the head of the chain (locked by every append, so the
//! chain stays linear across instances), the events waiting to be chained and the anchor
//! pruning leaves.

use super::{Conn, Db, Tx, in_json_list, json_list, values_list, with_conn, with_db, with_tx};
use crate::domain::audit::{StoredEvent, UnchainedEvent};
use crate::domain::clock::Timestamp;

/// An event row (the domain's type knows no SQL).
#[derive(sqlx::FromRow)]
struct EventRow {
    seq: i64,
    at: Timestamp,
    actor_id: Option<i64>,
    action: String,
    subject: String,
    request_id: Option<String>,
    detail_digest: String,
    prev_hash: String,
    hash: String,
    detail: Option<String>,
    client: Option<String>,
}

impl From<EventRow> for StoredEvent {
    fn from(r: EventRow) -> StoredEvent {
        StoredEvent {
            seq: r.seq,
            at: r.at,
            actor_id: r.actor_id,
            action: r.action,
            subject: r.subject,
            request_id: r.request_id,
            detail_digest: r.detail_digest,
            prev_hash: r.prev_hash,
            hash: r.hash,
            detail: r.detail,
            client: r.client,
        }
    }
}

fn events(rows: Vec<EventRow>) -> Vec<StoredEvent> {
    rows.into_iter().map(StoredEvent::from).collect()
}

const EVENT_COLUMNS: &str = "seq, at, actor_id, action, subject, request_id, detail_digest, \
    prev_hash, hash, detail, client";

/// Appends chained events; the head moves to the last one by trigger (`audit_events_head`).
pub async fn append(tx: &mut Tx, events: &[StoredEvent]) -> Result<(), sqlx::Error> {
    if events.is_empty() {
        return Ok(());
    }
    // 11 parameters a row; SQLite parses many parameters slowly (see `outbox::enqueue`).
    let rows_per_statement = if tx.is_postgres() { 400 } else { 40 };
    for chunk in events.chunks(rows_per_statement) {
        let sql = format!(
            "INSERT INTO audit_events ({EVENT_COLUMNS}) VALUES {}",
            values_list(chunk.len(), 11)
        );
        with_tx!(tx, |c| {
            let mut query =
                sqlx::query(sqlx::AssertSqlSafe(sql.clone())).persistent(chunk.len() == 1);
            for e in chunk {
                query = query
                    .bind(e.seq)
                    .bind(e.at)
                    .bind(e.actor_id)
                    .bind(&e.action)
                    .bind(&e.subject)
                    .bind(&e.request_id)
                    .bind(&e.detail_digest)
                    .bind(&e.prev_hash)
                    .bind(&e.hash)
                    .bind(&e.detail)
                    .bind(&e.client);
            }
            query.execute(c).await.map(|_| ())
        })?;
    }
    // The head follows by trigger (`audit_events_head`).
    Ok(())
}

/// The advisory lock that serializes chaining on PostgreSQL (any constant no other lock uses:
/// "audit" in ASCII). An advisory lock, not the head's row lock, so a chaining step that finds
/// nothing to chain writes nothing and its commit costs no WAL flush.
const CHAIN_LOCK: i64 = 0x0061_7564_6974;

/// PostgreSQL: takes the chaining lock until the transaction ends. SQLite's write transaction
/// already excludes every other writer.
pub async fn lock_chain(tx: &mut Tx) -> Result<(), sqlx::Error> {
    if let Tx::Postgres(t) = tx {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(CHAIN_LOCK)
            .execute(&mut **t)
            .await?;
    }
    Ok(())
}

/// The head of the chain, read without a lock (the caller holds [`lock_chain`]).
pub async fn head(tx: &mut Tx) -> Result<(i64, String), sqlx::Error> {
    with_tx!(tx, |c| sqlx::query_as::<_, (i64, String)>(
        "SELECT seq, hash FROM audit_head WHERE id = 1"
    )
    .fetch_one(c)
    .await)
}

/// Whether any event waits to be chained.
pub async fn any_pending(db: &Db) -> Result<bool, sqlx::Error> {
    with_db!(db, |c| sqlx::query_scalar::<_, bool>(
        "SELECT EXISTS (SELECT 1 FROM audit_pending)"
    )
    .fetch_one(c)
    .await)
}

/// Inserts a change's events into `audit_pending`, unchained, in order.
pub async fn stage(tx: &mut Tx, events: &[UnchainedEvent]) -> Result<(), sqlx::Error> {
    // 7 parameters a row; SQLite parses many parameters slowly (see `outbox::enqueue`).
    let rows_per_statement = if tx.is_postgres() { 400 } else { 40 };
    for chunk in events.chunks(rows_per_statement) {
        let sql = format!(
            "INSERT INTO audit_pending (at, actor_id, action, subject, request_id, detail, client)
             VALUES {}",
            values_list(chunk.len(), 7)
        );
        with_tx!(tx, |c| {
            let mut query =
                sqlx::query(sqlx::AssertSqlSafe(sql.clone())).persistent(chunk.len() == 1);
            for e in chunk {
                query = query
                    .bind(e.at)
                    .bind(e.actor_id)
                    .bind(&e.action)
                    .bind(&e.subject)
                    .bind(&e.request_id)
                    .bind(&e.detail)
                    .bind(&e.client);
            }
            query.execute(c).await.map(|_| ())
        })?;
    }
    Ok(())
}

/// A pending event row.
#[derive(sqlx::FromRow)]
struct PendingRow {
    id: i64,
    at: Timestamp,
    actor_id: Option<i64>,
    action: String,
    subject: String,
    request_id: Option<String>,
    detail: Option<String>,
    client: Option<String>,
}

/// Up to `limit` pending events, oldest first, with their ids.
pub async fn pending(tx: &mut Tx, limit: i64) -> Result<Vec<(i64, UnchainedEvent)>, sqlx::Error> {
    let sql = format!(
        "SELECT id, at, actor_id, action, subject, request_id, detail, client
         FROM audit_pending ORDER BY id {}",
        super::limit_offset(limit, 0)
    );
    let rows = with_tx!(tx, |c| sqlx::query_as::<_, PendingRow>(
        sqlx::AssertSqlSafe(sql.clone())
    )
    .fetch_all(c)
    .await)?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let event = UnchainedEvent {
                at: r.at,
                actor_id: r.actor_id,
                action: r.action,
                subject: r.subject,
                request_id: r.request_id,
                detail: r.detail,
                client: r.client,
            };
            (r.id, event)
        })
        .collect())
}

/// Deletes pending events once chained: exactly these ids (an event with a smaller id may
/// commit later than the ones read, and must stay for the next step).
pub async fn unstage(tx: &mut Tx, ids: &[i64]) -> Result<(), sqlx::Error> {
    let sql = format!(
        "DELETE FROM audit_pending WHERE {}",
        in_json_list(tx.is_postgres(), "id", 1, "BIGINT")
    );
    with_tx!(tx, |c| sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
        .bind(json_list(ids))
        .execute(c)
        .await
        .map(|_| ()))
}

/// Appends one event if the head is still `head` (seq, hash), in one statement: for SQLite,
/// whose writers are serialized, with the head this process saw last. False when another
/// process appended meanwhile (then nothing was written: lock the head and chain again).
pub async fn append_if_head(
    tx: &mut Tx,
    head: (i64, &str),
    e: &StoredEvent,
) -> Result<bool, sqlx::Error> {
    with_tx!(tx, |c| sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO audit_events ({EVENT_COLUMNS})
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11
         WHERE EXISTS (SELECT 1 FROM audit_head WHERE id = 1 AND seq = $12 AND hash = $13)"
    )))
    .bind(e.seq)
    .bind(e.at)
    .bind(e.actor_id)
    .bind(&e.action)
    .bind(&e.subject)
    .bind(&e.request_id)
    .bind(&e.detail_digest)
    .bind(&e.prev_hash)
    .bind(&e.hash)
    .bind(&e.detail)
    .bind(&e.client)
    .bind(head.0)
    .bind(head.1)
    .execute(c)
    .await
    .map(|r| r.rows_affected() == 1))
}

/// The head (seq, hash) and the anchor (seq, hash), as one snapshot sees them.
pub async fn head_and_anchor(
    conn: impl Into<Conn<'_>>,
) -> Result<((i64, String), (i64, String)), sqlx::Error> {
    let row = with_conn!(conn.into(), |c| sqlx::query_as::<
        _,
        (i64, String, i64, String),
    >(
        "SELECT h.seq, h.hash, a.seq, a.hash FROM audit_head h, audit_anchor a
         WHERE h.id = 1 AND a.id = 1"
    )
    .fetch_one(c)
    .await)?;
    Ok(((row.0, row.1), (row.2, row.3)))
}

/// Up to `limit` events after `after`, in chain order.
pub async fn chain_after(
    conn: impl Into<Conn<'_>>,
    after: i64,
    limit: i64,
) -> Result<Vec<StoredEvent>, sqlx::Error> {
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM audit_events WHERE seq > $1 ORDER BY seq {}",
        super::limit_offset(limit, 0)
    );
    with_conn!(conn.into(), |c| sqlx::query_as::<_, EventRow>(
        sqlx::AssertSqlSafe(sql.clone())
    )
    .bind(after)
    .fetch_all(c)
    .await)
    .map(events)
}

/// Which events an admin asks for.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub actor_id: Option<i64>,
    pub action: Option<String>,
    pub subject: Option<String>,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
}

/// A page of events, newest first. Each filter is bound (a missing one as NULL, which matches
/// everything), so the statement's text is one whatever the filters.
pub async fn list(
    conn: impl Into<Conn<'_>>,
    filter: &EventFilter,
    limit: i64,
    offset: i64,
) -> Result<Vec<StoredEvent>, sqlx::Error> {
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM audit_events
         WHERE ($1 IS NULL OR actor_id = $1) AND ($2 IS NULL OR action = $2)
           AND ($3 IS NULL OR subject = $3) AND ($4 IS NULL OR at >= $4)
           AND ($5 IS NULL OR at < $5)
         ORDER BY seq DESC {}",
        super::limit_offset(limit, offset)
    );
    let conn = conn.into();
    let postgres = match &conn {
        Conn::Db(db) => db.is_postgres(),
        Conn::Tx(tx) => tx.is_postgres(),
    };
    // PostgreSQL must know the type of a parameter that is only compared with NULL.
    let sql = if postgres {
        sql.replace("$1 IS NULL", "$1::BIGINT IS NULL")
            .replace("$2 IS NULL", "$2::TEXT IS NULL")
            .replace("$3 IS NULL", "$3::TEXT IS NULL")
            .replace("$4 IS NULL", "$4::DOUBLE PRECISION IS NULL")
            .replace("$5 IS NULL", "$5::DOUBLE PRECISION IS NULL")
    } else {
        sql
    };
    with_conn!(conn, |c| sqlx::query_as::<_, EventRow>(
        sqlx::AssertSqlSafe(sql.clone())
    )
    .bind(filter.actor_id)
    .bind(&filter.action)
    .bind(&filter.subject)
    .bind(filter.since)
    .bind(filter.until)
    .fetch_all(c)
    .await)
    .map(events)
}

/// Every event a member did or that names them, oldest first (their data export).
pub async fn of_member(
    conn: impl Into<Conn<'_>>,
    user_id: i64,
) -> Result<Vec<StoredEvent>, sqlx::Error> {
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM audit_events WHERE actor_id = $1
         UNION SELECT {EVENT_COLUMNS} FROM audit_events WHERE subject = $2
         ORDER BY seq"
    );
    with_conn!(conn.into(), |c| sqlx::query_as::<_, EventRow>(
        sqlx::AssertSqlSafe(sql.clone())
    )
    .bind(user_id)
    .bind(format!("user:{user_id}"))
    .fetch_all(c)
    .await)
    .map(events)
}

/// Erases the personal detail (JSON detail, client address) of every event a member did or
/// that names them, chained or pending; what the chain covers stays, so it still verifies.
/// (The erasing change's own events are erased before they are written.)
pub async fn erase_member(tx: &mut Tx, user_id: i64) -> Result<u64, sqlx::Error> {
    let mut erased = 0;
    // A union of two index lookups (actor, subject) rather than one scan for an OR.
    for (table, key) in [("audit_events", "seq"), ("audit_pending", "id")] {
        let sql = format!(
            "UPDATE {table} SET detail = NULL, client = NULL
             WHERE {key} IN (SELECT {key} FROM {table} WHERE actor_id = $1
                             UNION SELECT {key} FROM {table} WHERE subject = $2)"
        );
        erased += with_tx!(tx, |c| sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .bind(user_id)
            .bind(format!("user:{user_id}"))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
    }
    Ok(erased)
}

/// Deletes up to `limit` of the oldest events older than `before`, moving the anchor to the
/// last one deleted so the kept chain still verifies from there. Returns how many went.
pub async fn prune(tx: &mut Tx, before: Timestamp, limit: i64) -> Result<u64, sqlx::Error> {
    // The anchor row is locked first, so two pruning jobs take turns.
    let lock = if tx.is_postgres() { "FOR UPDATE" } else { "" };
    let (anchor_seq,) = with_tx!(tx, |c| sqlx::query_as::<_, (i64,)>(sqlx::AssertSqlSafe(
        format!("SELECT seq FROM audit_anchor WHERE id = 1 {lock}")
    ))
    .fetch_one(c)
    .await)?;
    let sql = format!(
        "SELECT seq, hash FROM audit_events WHERE seq > $1 AND at < $2 ORDER BY seq {}",
        super::limit_offset(limit, 0)
    );
    let doomed = with_tx!(tx, |c| sqlx::query_as::<_, (i64, String)>(
        sqlx::AssertSqlSafe(sql.clone())
    )
    .bind(anchor_seq)
    .bind(before)
    .fetch_all(c)
    .await)?;
    // Only a run without gaps from the anchor: events are appended in time order, but two
    // instances' clocks may differ a little; an event kept keeps everything after it.
    let mut last: Option<&(i64, String)> = None;
    for (i, row) in doomed.iter().enumerate() {
        if row.0 != anchor_seq + 1 + i as i64 {
            break;
        }
        last = Some(row);
    }
    let Some((last_seq, last_hash)) = last else {
        return Ok(0);
    };
    let deleted = with_tx!(tx, |c| sqlx::query(
        "DELETE FROM audit_events WHERE seq > $1 AND seq <= $2"
    )
    .bind(anchor_seq)
    .bind(last_seq)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    with_tx!(tx, |c| sqlx::query(
        "UPDATE audit_anchor SET seq = $1, hash = $2 WHERE id = 1"
    )
    .bind(last_seq)
    .bind(last_hash)
    .execute(c)
    .await
    .map(|_| ()))?;
    Ok(deleted)
}

/// Counts one throttled sign-in of `subject` in the window: how many so far (1 for the first).
pub async fn count_throttled(
    tx: &mut Tx,
    subject: &str,
    window_start: Timestamp,
) -> Result<i64, sqlx::Error> {
    with_tx!(tx, |c| sqlx::query_scalar::<_, i64>(
        "INSERT INTO audit_throttled (subject, window_start, refusals) VALUES ($1, $2, 1)
         ON CONFLICT (subject, window_start) DO UPDATE
         SET refusals = audit_throttled.refusals + 1
         RETURNING refusals"
    )
    .bind(subject)
    .bind(window_start)
    .fetch_one(c)
    .await)
}
