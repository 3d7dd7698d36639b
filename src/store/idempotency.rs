//! `idempotency_keys`: a member's keys, claimed by insertion, marked by the change's own
//! transaction, completed with the answer.

use super::{Db, Tx, with_db, with_tx};
use crate::domain::clock::Timestamp;
use crate::domain::idempotency::{KeyState, StoredKey};

/// A stored answer.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredAnswer {
    pub status: i64,
    pub content_type: Option<String>,
    pub body: String,
}

/// Claims a key: true when this call inserted it (no other request holds it).
pub async fn claim(
    tx: &mut Tx,
    user_id: i64,
    key: &str,
    fingerprint: &str,
    now: Timestamp,
) -> Result<bool, sqlx::Error> {
    with_tx!(tx, |c| sqlx::query(
        "INSERT INTO idempotency_keys (user_id, key, fingerprint, state, created_at)
         VALUES ($1, $2, $3, 'in_flight', $4) ON CONFLICT (user_id, key) DO NOTHING"
    )
    .bind(user_id)
    .bind(key)
    .bind(fingerprint)
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.rows_affected() == 1))
}

/// The stored key, if any.
pub async fn find(tx: &mut Tx, user_id: i64, key: &str) -> Result<Option<StoredKey>, sqlx::Error> {
    let row = with_tx!(tx, |c| sqlx::query_as::<_, (String, String, f64)>(
        "SELECT fingerprint, state, created_at FROM idempotency_keys
         WHERE user_id = $1 AND key = $2"
    )
    .bind(user_id)
    .bind(key)
    .fetch_optional(c)
    .await)?;
    Ok(row.and_then(|(fingerprint, state, created_at)| {
        Some(StoredKey {
            fingerprint,
            state: KeyState::parse(&state)?,
            created_at,
        })
    }))
}

/// Takes over a stored key that was free again, if it still is as `seen` (two retries racing
/// for it: one wins). True when this call took it.
pub async fn reclaim(
    tx: &mut Tx,
    user_id: i64,
    key: &str,
    seen: &StoredKey,
    fingerprint: &str,
    now: Timestamp,
) -> Result<bool, sqlx::Error> {
    with_tx!(tx, |c| sqlx::query(
        "UPDATE idempotency_keys
         SET fingerprint = $3, state = 'in_flight', status = NULL, content_type = NULL,
             body = NULL, created_at = $4
         WHERE user_id = $1 AND key = $2 AND state = $5 AND created_at = $6"
    )
    .bind(user_id)
    .bind(key)
    .bind(fingerprint)
    .bind(now)
    .bind(seen.state.as_str())
    .bind(seen.created_at)
    .execute(c)
    .await
    .map(|r| r.rows_affected() == 1))
}

/// The stored answer of a completed key.
pub async fn answer(db: &Db, user_id: i64, key: &str) -> Result<Option<StoredAnswer>, sqlx::Error> {
    with_db!(db, |c| sqlx::query_as::<_, StoredAnswer>(
        "SELECT status, content_type, body FROM idempotency_keys
         WHERE user_id = $1 AND key = $2 AND state = 'completed'"
    )
    .bind(user_id)
    .bind(key)
    .fetch_optional(c)
    .await)
}

/// Marks the key's request as having committed its change, inside that change's transaction.
pub async fn mark_committed(tx: &mut Tx, user_id: i64, key: &str) -> Result<(), sqlx::Error> {
    with_tx!(tx, |c| sqlx::query(
        "UPDATE idempotency_keys SET state = 'committed'
         WHERE user_id = $1 AND key = $2 AND state = 'in_flight'"
    )
    .bind(user_id)
    .bind(key)
    .execute(c)
    .await
    .map(|_| ()))
}

/// Stores the answer of the key's request.
pub async fn complete(
    tx: &mut Tx,
    user_id: i64,
    key: &str,
    answer: &StoredAnswer,
) -> Result<(), sqlx::Error> {
    with_tx!(tx, |c| sqlx::query(
        "UPDATE idempotency_keys SET state = 'completed', status = $3, content_type = $4,
             body = $5
         WHERE user_id = $1 AND key = $2 AND state IN ('in_flight', 'committed')"
    )
    .bind(user_id)
    .bind(key)
    .bind(answer.status)
    .bind(&answer.content_type)
    .bind(&answer.body)
    .execute(c)
    .await
    .map(|_| ()))
}

/// Frees a key whose request changed nothing (it failed in a way a retry may not): a retry
/// runs anew.
/// False when the request had committed a change: the key is not freed then.
pub async fn release(tx: &mut Tx, user_id: i64, key: &str) -> Result<bool, sqlx::Error> {
    with_tx!(tx, |c| sqlx::query(
        "DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND state = 'in_flight'"
    )
    .bind(user_id)
    .bind(key)
    .execute(c)
    .await
    .map(|r| r.rows_affected() == 1))
}

/// Deletes a member's keys and stored answers (their erasure).
pub async fn forget_member(tx: &mut Tx, user_id: i64) -> Result<u64, sqlx::Error> {
    with_tx!(tx, |c| sqlx::query(
        "DELETE FROM idempotency_keys WHERE user_id = $1"
    )
    .bind(user_id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
}
