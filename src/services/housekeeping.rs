//! The `purge-expired` job: deletes what has served its purpose, so tables that every login,
//! mail or tick adds to stay bounded, and nothing secret outlives its use.

use crate::domain::clock::Timestamp;
use crate::error::Result;
use crate::state::AppState;
use crate::store;
use crate::store::housekeeping::Stale;

const DAY: f64 = 86_400.0;
/// Rows deleted per transaction.
const BATCH: i64 = 5_000;

/// How long each kind of row is kept once stale. Rate-limit windows last an hour at most; a
/// day keeps them for an investigation of the day's attacks. Expired links keep answering
/// "expired" (not "invalid") for a month, and refresh tokens are refused the same whether
/// expired or gone. Delivered rows have no content left; a week of them shows what went out.
fn kept_for(what: Stale) -> f64 {
    match what {
        Stale::RateLimitWindows => DAY,
        Stale::DeliveredMessages => 7.0 * DAY,
        Stale::EmailTokens => 30.0 * DAY,
        Stale::RefreshTokens => DAY,
        Stale::EmptyRefreshFamilies => DAY,
        Stale::JobRuns => 90.0 * DAY,
        // An expired session is refused already; nothing is learnt from keeping it.
        Stale::WebSessions => 0.0,
        // The counts behind the trail's `login.throttled` events: a quarter, like job runs.
        Stale::ThrottledSignIns => 90.0 * DAY,
        // A retry with the same key is answered for a day (docs/ARCHITECTURE.md).
        Stale::IdempotencyKeys => crate::domain::idempotency::KEPT_SECS,
    }
}

/// Runs the job as if the clock read `now`; returns how many rows it deleted.
pub async fn purge_expired(state: &AppState, now: Timestamp) -> Result<u64> {
    let mut deleted = 0;
    for what in Stale::ALL {
        let before = now - kept_for(what);
        loop {
            let mut work = state.unit_of_work().await?;
            let count = store::housekeeping::delete_stale(work.tx(), what, before, BATCH).await?;
            work.commit().await?;
            deleted += count;
            if count < BATCH as u64 {
                break;
            }
        }
    }
    deleted += super::audit::prune(state, now).await?;
    tracing::info!(deleted, "stale rows purged");
    Ok(deleted)
}
