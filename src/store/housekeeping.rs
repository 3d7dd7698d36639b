//! Deleting what has served its purpose (the `purge-expired` job): each call deletes at most
//! `limit` rows, so a job deletes in short transactions that never hold SQLite's write lock
//! long, and returns how many it deleted.

use super::{Tx, with_tx};
use crate::domain::clock::Timestamp;

/// What the job deletes, each with the condition that makes a row stale and the key that
/// names a row. The cut-off time is bound as `$1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stale {
    /// Rate-limit windows that started before the cut-off.
    RateLimitWindows,
    /// Messages delivered before the cut-off (their content is already gone: see
    /// `outbox::mark_sent`).
    DeliveredMessages,
    /// Verification and reset tokens that expired before the cut-off.
    EmailTokens,
    /// Refresh tokens that expired before the cut-off.
    RefreshTokens,
    /// Refresh-token families with no token left, created before the cut-off.
    EmptyRefreshFamilies,
    /// Job runs that finished before the cut-off.
    JobRuns,
    /// Browser sessions that expired (idle or absolute) before the cut-off.
    WebSessions,
    /// Counts of throttled sign-ins (`audit_throttled`) of windows before the cut-off.
    ThrottledSignIns,
    /// Idempotency keys claimed before the cut-off, with their stored answers.
    IdempotencyKeys,
}

impl Stale {
    pub const ALL: [Stale; 9] = [
        Stale::RateLimitWindows,
        Stale::DeliveredMessages,
        Stale::EmailTokens,
        Stale::RefreshTokens,
        Stale::EmptyRefreshFamilies,
        Stale::JobRuns,
        Stale::WebSessions,
        Stale::ThrottledSignIns,
        Stale::IdempotencyKeys,
    ];

    /// (table, key columns, condition on `$1`).
    fn query_parts(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Stale::RateLimitWindows => ("rate_limits", "key, window_start", "window_start < $1"),
            Stale::DeliveredMessages => ("outbox", "id", "sent_at < $1"),
            Stale::EmailTokens => ("email_tokens", "token_hash", "expires_at < $1"),
            Stale::RefreshTokens => ("refresh_tokens", "token_hash", "expires_at < $1"),
            Stale::EmptyRefreshFamilies => (
                "refresh_families",
                "id",
                "created_at < $1 AND NOT EXISTS
                     (SELECT 1 FROM refresh_tokens t WHERE t.family_id = refresh_families.id)",
            ),
            Stale::JobRuns => ("job_runs", "job, tick", "finished_at < $1"),
            Stale::WebSessions => ("web_sessions", "id", "expires_at < $1"),
            Stale::ThrottledSignIns => (
                "audit_throttled",
                "subject, window_start",
                "window_start < $1",
            ),
            Stale::IdempotencyKeys => ("idempotency_keys", "user_id, key", "created_at < $1"),
        }
    }
}

/// Deletes up to `limit` rows of `what` that went stale before `before`.
pub async fn delete_stale(
    tx: &mut Tx,
    what: Stale,
    before: Timestamp,
    limit: i64,
) -> Result<u64, sqlx::Error> {
    let (table, key, condition) = what.query_parts();
    let sql = format!(
        "DELETE FROM {table} WHERE ({key}) IN (SELECT {key} FROM {table} WHERE {condition} {})",
        super::limit_offset(limit, 0)
    );
    with_tx!(tx, |c| sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
        .bind(before)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
}
