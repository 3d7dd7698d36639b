//! Idempotent retries (`Idempotency-Key`): claiming a member's key before their request runs,
//! and storing or replaying its answer. The HTTP layer calls these around the handler; the
//! unit of work marks the key committed in the change's own transaction.

use crate::domain::idempotency::{self, Decision};
use crate::error::Result;
use crate::state::AppState;
use crate::store;
pub use crate::store::idempotency::StoredAnswer;

/// What a request with a key may do.
#[derive(Debug)]
pub enum Claim {
    /// The key is this request's: run it, then [`complete`] or [`release`].
    Run,
    /// The same request was answered: send this again.
    Replay(StoredAnswer),
    /// The key was used for another request (422).
    Mismatch,
    /// The first request with this key has not answered yet (409).
    Busy,
}

/// Claims `key` of `user_id` for a request with `fingerprint`.
pub async fn claim(state: &AppState, user_id: i64, key: &str, fingerprint: &str) -> Result<Claim> {
    let now = state.clock.now();
    let mut work = state.unit_of_work().await?;
    if store::idempotency::claim(work.tx(), user_id, key, fingerprint, now).await? {
        work.commit().await?;
        return Ok(Claim::Run);
    }
    let Some(stored) = store::idempotency::find(work.tx(), user_id, key).await? else {
        // Purged between the two statements: the next retry claims it.
        return Ok(Claim::Busy);
    };
    let claim = match idempotency::decide(&stored, fingerprint, now) {
        Decision::Reclaim => {
            if store::idempotency::reclaim(work.tx(), user_id, key, &stored, fingerprint, now)
                .await?
            {
                Claim::Run
            } else {
                Claim::Busy
            }
        }
        Decision::Replay => match store::idempotency::answer(&state.db, user_id, key).await? {
            Some(answer) => Claim::Replay(answer),
            None => Claim::Busy,
        },
        Decision::Mismatch => Claim::Mismatch,
        Decision::Busy => Claim::Busy,
    };
    work.commit().await?;
    Ok(claim)
}

/// Stores the answer of the request that holds `key`.
pub async fn complete(
    state: &AppState,
    user_id: i64,
    key: &str,
    answer: &StoredAnswer,
) -> Result<()> {
    let mut work = state.unit_of_work().await?;
    store::idempotency::complete(work.tx(), user_id, key, answer).await?;
    work.commit().await
}

/// After a failure a retry may cure (throttled, unauthenticated, a server error): frees `key`
/// if its request changed nothing, so a retry runs anew; if it did commit a change, its answer
/// is stored like any other, so a retry never acts twice.
pub async fn release(
    state: &AppState,
    user_id: i64,
    key: &str,
    answer: &StoredAnswer,
) -> Result<()> {
    let mut work = state.unit_of_work().await?;
    if !store::idempotency::release(work.tx(), user_id, key).await? {
        store::idempotency::complete(work.tx(), user_id, key, answer).await?;
    }
    work.commit().await
}
