//! The claim table of scheduled jobs.

use super::{Db, with_db};
use crate::domain::clock::Timestamp;

/// Claims one tick of a job. True for exactly one caller per (job, tick), across instances.
pub async fn claim_tick(
    db: &Db,
    job: &str,
    tick: Timestamp,
    now: Timestamp,
) -> Result<bool, sqlx::Error> {
    with_db!(db, |c| {
        sqlx::query(
        "INSERT INTO job_runs (job, tick, started_at) VALUES ($1, $2, $3) ON CONFLICT (job, tick) DO NOTHING"
    )
    .bind(job)
    .bind(tick)
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.rows_affected() == 1)
    })
}

pub async fn finish_tick(
    db: &Db,
    job: &str,
    tick: Timestamp,
    now: Timestamp,
    affected: i64,
) -> Result<(), sqlx::Error> {
    with_db!(db, |c| sqlx::query(
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
