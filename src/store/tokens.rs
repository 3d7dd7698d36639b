//! One-time e-mail tokens and refresh-token families.

use super::{Conn, Tx, with_conn, with_tx};
use crate::domain::clock::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailTokenPurpose {
    VerifyEmail,
    ResetPassword,
}

impl EmailTokenPurpose {
    fn as_str(self) -> &'static str {
        match self {
            EmailTokenPurpose::VerifyEmail => "verify_email",
            EmailTokenPurpose::ResetPassword => "reset_password",
        }
    }
}

/// Stores a new token for (user, purpose), replacing any older one: only the newest link works.
pub async fn replace_email_token(
    tx: &mut Tx,
    user_id: i64,
    purpose: EmailTokenPurpose,
    token_hash: &str,
    now: Timestamp,
    expires_at: Timestamp,
) -> Result<(), sqlx::Error> {
    with_tx!(tx, |c| sqlx::query(
        "DELETE FROM email_tokens WHERE user_id = $1 AND purpose = $2"
    )
    .bind(user_id)
    .bind(purpose.as_str())
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    with_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO email_tokens (token_hash, user_id, purpose, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)"
    )
    .bind(token_hash)
    .bind(user_id)
    .bind(purpose.as_str())
    .bind(now)
    .bind(expires_at)
    .execute(c)
    .await
    .map(|_| ())
    })
}

/// What presenting an e-mail token found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenUse {
    /// The token was live and is now used up.
    Consumed { user_id: i64 },
    /// The token was used before (a second click on the same link).
    AlreadyUsed { user_id: i64 },
    /// Unknown, expired or replaced by a newer one.
    Invalid,
}

/// Uses a token up. Single use, even under races: only the transaction whose UPDATE marked it
/// gets `Consumed`.
pub async fn use_email_token(
    tx: &mut Tx,
    purpose: EmailTokenPurpose,
    token_hash: &str,
    now: Timestamp,
) -> Result<TokenUse, sqlx::Error> {
    let consumed = with_tx!(tx, |c| sqlx::query_scalar::<_, i64>(
        "UPDATE email_tokens SET used_at = $3
         WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at >= $3
         RETURNING user_id"
    )
    .bind(token_hash)
    .bind(purpose.as_str())
    .bind(now)
    .fetch_optional(&mut *c)
    .await)?;
    if let Some(user_id) = consumed {
        return Ok(TokenUse::Consumed { user_id });
    }
    let used = with_tx!(tx, |c| {
        sqlx::query_scalar::<_, i64>(
        "SELECT user_id FROM email_tokens WHERE token_hash = $1 AND purpose = $2 AND used_at IS NOT NULL"
    )
    .bind(token_hash)
    .bind(purpose.as_str())
    .fetch_optional(c)
    .await
    })?;
    Ok(
        used.map_or(TokenUse::Invalid, |user_id| TokenUse::AlreadyUsed {
            user_id,
        }),
    )
}

pub async fn create_refresh_family(
    tx: &mut Tx,
    family_id: &str,
    user_id: i64,
    now: Timestamp,
) -> Result<(), sqlx::Error> {
    with_tx!(tx, |c| sqlx::query(
        "INSERT INTO refresh_families (id, user_id, created_at) VALUES ($1, $2, $3)"
    )
    .bind(family_id)
    .bind(user_id)
    .bind(now)
    .execute(c)
    .await
    .map(|_| ()))
}

pub async fn insert_refresh_token(
    tx: &mut Tx,
    token_hash: &str,
    family_id: &str,
    now: Timestamp,
    expires_at: Timestamp,
) -> Result<(), sqlx::Error> {
    with_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, family_id, created_at, expires_at) VALUES ($1, $2, $3, $4)"
    )
    .bind(token_hash)
    .bind(family_id)
    .bind(now)
    .bind(expires_at)
    .execute(c)
    .await
    .map(|_| ())
    })
}

/// What presenting a refresh token found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshUse {
    /// The token was live and is now used: rotate within this family.
    Rotated {
        family_id: String,
        user_id: i64,
    },
    /// The token was already used (or its family revoked): a replay.
    Replayed {
        family_id: String,
    },
    Unknown,
}

/// Marks a refresh token used, atomically: of two concurrent uses only one rotates.
pub async fn use_refresh_token(
    tx: &mut Tx,
    token_hash: &str,
    now: Timestamp,
) -> Result<RefreshUse, sqlx::Error> {
    let rotated = with_tx!(tx, |c| sqlx::query_scalar::<_, String>(
        "UPDATE refresh_tokens SET used_at = $2
         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
           AND family_id IN (SELECT id FROM refresh_families WHERE revoked_at IS NULL)
         RETURNING family_id"
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(c)
    .await)?;
    if let Some(family_id) = rotated {
        let user_id = with_tx!(tx, |c| sqlx::query_scalar::<_, i64>(
            "SELECT user_id FROM refresh_families WHERE id = $1"
        )
        .bind(&family_id)
        .fetch_one(c)
        .await)?;
        return Ok(RefreshUse::Rotated { family_id, user_id });
    }
    let existing = with_tx!(tx, |c| sqlx::query_scalar::<_, String>(
        "SELECT family_id FROM refresh_tokens WHERE token_hash = $1"
    )
    .bind(token_hash)
    .fetch_optional(c)
    .await)?;
    Ok(match existing {
        Some(family_id) => RefreshUse::Replayed { family_id },
        None => RefreshUse::Unknown,
    })
}

/// The family of a live refresh token, if any (for logout).
pub async fn live_family_of(
    conn: impl Into<Conn<'_>>,
    token_hash: &str,
    now: Timestamp,
) -> Result<Option<String>, sqlx::Error> {
    with_conn!(conn.into(), |c| {
        sqlx::query_scalar::<_, String>(
        "SELECT t.family_id FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id
         WHERE t.token_hash = $1 AND t.used_at IS NULL AND t.expires_at > $2 AND f.revoked_at IS NULL"
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(c)
    .await
    })
}

pub async fn revoke_family(
    tx: &mut Tx,
    family_id: &str,
    now: Timestamp,
) -> Result<u64, sqlx::Error> {
    with_tx!(tx, |c| sqlx::query(
        "UPDATE refresh_families SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL"
    )
    .bind(family_id)
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
}

pub async fn revoke_all_families(
    tx: &mut Tx,
    user_id: i64,
    now: Timestamp,
) -> Result<u64, sqlx::Error> {
    with_tx!(tx, |c| sqlx::query(
        "UPDATE refresh_families SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL"
    )
    .bind(user_id)
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
}
