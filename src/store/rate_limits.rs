//! Hits per key and window (`rate_limits`): login throttling and the caps on mail-sending
//! endpoints. Counting a hit and checking the limit is one statement.

use super::{Tx, with_tx};
use crate::domain::clock::Timestamp;
use crate::domain::limits::{Limit, RateDecision};

/// Counts a hit on `key` at `now` if `limit` allows it, atomically: an upsert that only counts
/// while under the limit, so of concurrent hits at most the limit are allowed.
pub async fn hit(
    tx: &mut Tx,
    key: &str,
    limit: &Limit,
    now: Timestamp,
) -> Result<RateDecision, sqlx::Error> {
    let window_start = limit.window_start(now);
    // Past its free hits, a limit with spacing still allows one hit per `spacing` seconds.
    let spacing = limit.spacing_secs;
    let counted = with_tx!(tx, |c| sqlx::query_scalar::<_, i64>(
        "INSERT INTO rate_limits (key, window_start, hits, last_hit_at) VALUES ($1, $2, 1, $3)
         ON CONFLICT (key, window_start) DO UPDATE
             SET hits = rate_limits.hits + 1, last_hit_at = excluded.last_hit_at
             WHERE rate_limits.hits < $4
                OR ($5 IS NOT NULL AND rate_limits.last_hit_at <= excluded.last_hit_at - $5)
         RETURNING hits"
    )
    .bind(key)
    .bind(window_start)
    .bind(now)
    .bind(limit.max_hits)
    .bind(spacing)
    .fetch_optional(&mut *c)
    .await)?;
    if counted.is_some() {
        return Ok(RateDecision::Allowed);
    }
    let last_hit_at = with_tx!(tx, |c| sqlx::query_scalar::<_, f64>(
        "SELECT last_hit_at FROM rate_limits WHERE key = $1 AND window_start = $2"
    )
    .bind(key)
    .bind(window_start)
    .fetch_one(c)
    .await)?;
    Ok(limit.refusal(now, last_hit_at))
}

/// Forgets the hits on `key` (a successful login clears its address's count).
pub async fn clear(tx: &mut Tx, key: &str) -> Result<u64, sqlx::Error> {
    with_tx!(tx, |c| sqlx::query(
        "DELETE FROM rate_limits WHERE key = $1"
    )
    .bind(key)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
}

/// Deletes the throttling windows whose key names `login` (an address or username, as typed
/// at a sign-in or asked a mail for): the erasure of a member who left. The keys are those
/// the services build (`login-account:login:<login>`, `login-address:login:<login>:<client>`,
/// `mail:<purpose>:<address>`), matched exactly, so no one else's window goes.
pub async fn forget(tx: &mut Tx, login: &str) -> Result<u64, sqlx::Error> {
    let login = login.to_lowercase();
    with_tx!(tx, |c| sqlx::query(
        "DELETE FROM rate_limits WHERE key IN ($1, $2, $3) OR key LIKE $4 ESCAPE '\\'"
    )
    .bind(format!("login-account:login:{login}"))
    .bind(format!("mail:VerifyEmail:{login}"))
    .bind(format!("mail:ResetPassword:{login}"))
    .bind(format!(
        "login-address:login:{}:%",
        super::like_escape(&login)
    ))
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
}
