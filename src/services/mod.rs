//! Business workflows: one function per use case, owning its checks (in the contract's order),
//! its transaction and the mail it queues. HTTP handlers, the CLI and the tests call these.

pub mod accounts;
pub mod admin;
pub mod meetings;
pub mod relations;
pub mod tasks;
pub mod users;

use crate::app::AppState;
use crate::domain::messages;
use crate::error::{Error, Result};
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

/// A JSON body's text field: `None` when absent, null, empty or not a string.
pub fn text_field<'a>(body: Option<&'a serde_json::Value>, key: &str) -> Option<&'a str> {
    body.and_then(|b| b.get(key))
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
}
