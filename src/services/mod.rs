//! The use cases: one function per workflow, taking a typed command and returning a view. Each
//! owns its checks (in the contract's order), its unit of work (one transaction with the mail
//! it queues) and its log line. HTTP handlers, web pages, the CLI and the tests call these;
//! none of them knows HTTP.

pub mod accounts;
pub mod admin;
pub mod audit;
pub mod console;
pub mod export;
pub mod housekeeping;
pub mod idempotency;
pub mod meeting_mail;
pub mod meetings;
pub mod operations;
pub mod relations;
pub mod reminders;
pub mod sessions;
pub mod substitutes;
pub mod tasks;
pub mod users;

use crate::domain::messages;
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::{self, users::UserRow};

/// The reference's "verified-user check" on the caller: 404 when the account is gone,
/// 403 when its e-mail is not verified.
pub async fn require_verified_user(state: &AppState, user_id: i64) -> Result<UserRow> {
    let user = store::users::find_by_id(&state.db, user_id)
        .await?
        .ok_or_else(|| Error::not_found(messages::USER_DOES_NOT_EXIST))?;
    if !user.is_email_verified {
        return Err(Error::forbidden(
            messages::USER_HAS_NOT_VERIFIED_EMAIL_BEFORE_LOGIN,
        ));
    }
    Ok(user)
}

/// Whether the member exists and is an admin.
pub async fn is_admin(state: &AppState, user_id: i64) -> Result<bool> {
    Ok(store::users::find_by_id(&state.db, user_id)
        .await?
        .is_some_and(|user| user.is_admin))
}
