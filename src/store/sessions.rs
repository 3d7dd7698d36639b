//! Browser sessions (`web_sessions`): rows keyed by the SHA-256 of the cookie's token.

use super::{Db, Tx, with_db, with_tx};
use crate::domain::clock::Timestamp;

/// A live session with what the web layer checks on every request.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    pub id: i64,
    pub user_id: i64,
    pub csrf_token: String,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    /// The member's admin flag now, not at sign-in: a revoked admin loses the console at once.
    pub is_admin: bool,
    pub username: String,
}

pub struct NewSession<'a> {
    pub token_hash: &'a str,
    pub user_id: i64,
    pub audience: &'a str,
    pub csrf_token: &'a str,
    pub now: Timestamp,
    pub expires_at: Timestamp,
}

pub async fn insert(tx: &mut Tx, s: &NewSession<'_>) -> Result<i64, sqlx::Error> {
    with_tx!(tx, |c| sqlx::query_scalar::<_, i64>(
        "INSERT INTO web_sessions
             (token_hash, user_id, audience, csrf_token, created_at, last_seen_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $5, $6) RETURNING id"
    )
    .bind(s.token_hash)
    .bind(s.user_id)
    .bind(s.audience)
    .bind(s.csrf_token)
    .bind(s.now)
    .bind(s.expires_at)
    .fetch_one(c)
    .await)
}

/// The session of this token hash for this audience, if it has not expired at `now`.
pub async fn find_live(
    db: &Db,
    token_hash: &str,
    audience: &str,
    now: Timestamp,
) -> Result<Option<SessionRow>, sqlx::Error> {
    with_db!(db, |c| sqlx::query_as::<_, SessionRow>(
        "SELECT s.id, s.user_id, s.csrf_token, s.created_at, s.last_seen_at, u.is_admin, u.username
         FROM web_sessions s JOIN users u ON u.id = s.user_id
         WHERE s.token_hash = $1 AND s.audience = $2 AND s.expires_at > $3"
    )
    .bind(token_hash)
    .bind(audience)
    .bind(now)
    .fetch_optional(c)
    .await)
}

/// Moves a session's idle deadline.
pub async fn touch(
    tx: &mut Tx,
    id: i64,
    now: Timestamp,
    expires_at: Timestamp,
) -> Result<(), sqlx::Error> {
    with_tx!(tx, |c| sqlx::query(
        "UPDATE web_sessions SET last_seen_at = $2, expires_at = $3 WHERE id = $1"
    )
    .bind(id)
    .bind(now)
    .bind(expires_at)
    .execute(c)
    .await
    .map(|_| ()))
}

pub async fn delete(tx: &mut Tx, id: i64) -> Result<u64, sqlx::Error> {
    with_tx!(tx, |c| sqlx::query(
        "DELETE FROM web_sessions WHERE id = $1"
    )
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
}

/// Ends every session of a member, on every browser.
pub async fn delete_for_user(tx: &mut Tx, user_id: i64) -> Result<u64, sqlx::Error> {
    with_tx!(tx, |c| sqlx::query(
        "DELETE FROM web_sessions WHERE user_id = $1"
    )
    .bind(user_id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
}
