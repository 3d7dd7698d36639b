//! The claim table of scheduled jobs.

use super::{Db, Tx, with_db, with_tx};
use crate::domain::clock::Timestamp;

/// Claims one tick of a job, leased to the caller until `lease_until`. True for exactly one
/// caller per (job, tick) across instances, unless the holder's lease ran out before it finished
/// (it died mid-run): then the next caller takes the tick over.
pub async fn claim_tick(
    tx: &mut Tx,
    job: &str,
    tick: Timestamp,
    now: Timestamp,
    lease_until: Timestamp,
) -> Result<bool, sqlx::Error> {
    with_tx!(tx, |c| {
        sqlx::query(
            "INSERT INTO job_runs (job, tick, started_at, lease_until) VALUES ($1, $2, $3, $4)
             ON CONFLICT (job, tick) DO UPDATE
                 SET started_at = excluded.started_at, lease_until = excluded.lease_until
                 WHERE job_runs.finished_at IS NULL
                     AND (job_runs.lease_until IS NULL OR job_runs.lease_until < excluded.started_at)",
        )
        .bind(job)
        .bind(tick)
        .bind(now)
        .bind(lease_until)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}

/// Extends the lease of a tick still running (or, after a failure, sets when to retry it).
pub async fn renew_lease(
    tx: &mut Tx,
    job: &str,
    tick: Timestamp,
    lease_until: Timestamp,
) -> Result<(), sqlx::Error> {
    with_tx!(tx, |c| sqlx::query(
        "UPDATE job_runs SET lease_until = $3 WHERE job = $1 AND tick = $2 AND finished_at IS NULL"
    )
    .bind(job)
    .bind(tick)
    .bind(lease_until)
    .execute(c)
    .await
    .map(|_| ()))
}

/// Ticks claimed but never finished whose lease has run out, oldest first.
pub async fn abandoned_ticks(
    db: &Db,
    now: Timestamp,
) -> Result<Vec<(String, Timestamp)>, sqlx::Error> {
    with_db!(db, |c| sqlx::query_as::<_, (String, Timestamp)>(
        "SELECT job, tick FROM job_runs
         WHERE finished_at IS NULL AND (lease_until IS NULL OR lease_until < $1) ORDER BY tick"
    )
    .bind(now)
    .fetch_all(c)
    .await)
}

pub async fn finish_tick(
    tx: &mut Tx,
    job: &str,
    tick: Timestamp,
    now: Timestamp,
    affected: i64,
) -> Result<(), sqlx::Error> {
    with_tx!(tx, |c| sqlx::query(
        "UPDATE job_runs SET finished_at = $3, affected = $4 WHERE job = $1 AND tick = $2"
    )
    .bind(job)
    .bind(tick)
    .bind(now)
    .bind(affected)
    .execute(c)
    .await
    .map(|_| ()))
}
