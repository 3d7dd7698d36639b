//! Granting and revoking admin status.

use serde_json::Value;

use crate::app::AppState;
use crate::domain::messages::{self, Message};
use crate::domain::users::{JsonType, SchemaCheck};
use crate::error::{Error, Result};
use crate::store::{self, users::UserRow};

fn target_id(body: Option<&Value>) -> Result<i64> {
    let empty = serde_json::Map::new();
    let object = body.and_then(Value::as_object).unwrap_or(&empty);
    let mut schema = SchemaCheck::new(object);
    schema.required("user_id", JsonType::Integer);
    schema.finish()?;
    object["user_id"]
        .as_i64()
        .ok_or_else(|| Error::not_found(messages::USER_DOES_NOT_EXIST))
}

/// The caller, who must still exist (the reference answered 500 otherwise).
async fn caller(state: &AppState, user_id: i64) -> Result<UserRow> {
    store::users::find_by_id(&state.db, user_id)
        .await?
        .ok_or_else(|| Error::not_found(messages::USER_DOES_NOT_EXIST))
}

/// Locks the set of admins for the transaction and checks the caller is one of them, so the
/// check still holds when the change commits (two admins revoking each other at once must not
/// both succeed). Returns the admins' ids.
async fn lock_admins_as(tx: &mut store::Tx, me: i64, not_admin: Message) -> Result<Vec<i64>> {
    let admins = store::users::lock_admins(tx).await?;
    if admins.contains(&me) {
        Ok(admins)
    } else {
        Err(Error::forbidden(not_admin))
    }
}

/// `POST /admin/new`.
pub async fn grant(state: &AppState, me: i64, body: Option<&Value>) -> Result<Message> {
    let target = target_id(body)?;
    if !caller(state, me).await?.is_admin {
        return Err(Error::forbidden(messages::USER_ASSIGN_NOT_ADMIN));
    }
    if target == me {
        return Err(Error::forbidden(
            messages::USER_CANNOT_BE_ASSIGNED_ADMIN_BY_USER,
        ));
    }
    let mut tx = state.db.begin().await?;
    lock_admins_as(&mut tx, me, messages::USER_ASSIGN_NOT_ADMIN).await?;
    let user = store::users::lock_by_id(&mut tx, target)
        .await?
        .ok_or_else(|| Error::not_found(messages::USER_DOES_NOT_EXIST))?;
    if user.is_admin {
        return Err(Error::bad_request(messages::USER_IS_ALREADY_AN_ADMIN));
    }
    store::users::set_admin(&mut tx, target, true).await?;
    tx.commit().await?;
    tracing::info!(by = me, user_id = target, "admin status granted");
    Ok(messages::USER_IS_NOW_AN_ADMIN)
}

/// `POST /admin/remove`. The last admin cannot revoke themself.
pub async fn revoke(state: &AppState, me: i64, body: Option<&Value>) -> Result<Message> {
    let target = target_id(body)?;
    if !caller(state, me).await?.is_admin {
        return Err(Error::forbidden(messages::USER_REVOKE_NOT_ADMIN));
    }
    let mut tx = state.db.begin().await?;
    let admins = lock_admins_as(&mut tx, me, messages::USER_REVOKE_NOT_ADMIN).await?;
    if target == me && admins.len() <= 1 {
        return Err(Error::forbidden(messages::USER_CANNOT_REVOKE_ADMIN_STATUS));
    }
    let user = store::users::lock_by_id(&mut tx, target)
        .await?
        .ok_or_else(|| Error::not_found(messages::USER_DOES_NOT_EXIST))?;
    if !user.is_admin {
        return Err(Error::bad_request(messages::USER_IS_NOT_AN_ADMIN));
    }
    store::users::set_admin(&mut tx, target, false).await?;
    tx.commit().await?;
    tracing::info!(by = me, user_id = target, "admin status revoked");
    Ok(messages::USER_ADMIN_STATUS_WAS_REVOKED)
}

/// `GET /admins`: every admin but the caller.
pub async fn list(state: &AppState, me: i64) -> Result<Vec<UserRow>> {
    if !caller(state, me).await.map(|u| u.is_admin).unwrap_or(false) {
        return Err(Error::forbidden(messages::USER_IS_NOT_AN_ADMIN));
    }
    Ok(store::users::admins_except(&state.db, me).await?)
}

/// `mentorship admin grant <username-or-email>`: the operator's way to make the first admin.
pub async fn grant_by_operator(state: &AppState, who: &str) -> anyhow::Result<UserRow> {
    let user = match store::users::find_by_username(&state.db, who).await? {
        Some(user) => Some(user),
        None => store::users::find_by_email(&state.db, who).await?,
    };
    let user = user.ok_or_else(|| anyhow::anyhow!("no user has the username or e-mail {who:?}"))?;
    let mut tx = state.db.begin().await?;
    store::users::set_admin(&mut tx, user.id, true).await?;
    tx.commit().await?;
    tracing::info!(user_id = user.id, "admin status granted by the operator");
    Ok(user)
}
