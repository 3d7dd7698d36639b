//! Granting and revoking admin status.

use crate::domain::admin::AdminTarget;
use crate::domain::audit::{self, Event};
use crate::domain::messages::{self, Message};
use crate::domain::users::PublicAdmin;
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::{self, Tx, users::UserRow};

/// Whether the caller, who must still exist (the reference answered 500 otherwise), is an admin.
async fn caller_is_admin(state: &AppState, user_id: i64) -> Result<bool> {
    store::users::find_by_id(&state.db, user_id)
        .await?
        .map(|user| user.is_admin)
        .ok_or_else(|| Error::not_found(messages::USER_DOES_NOT_EXIST))
}

/// Locks the set of admins for the transaction and checks the caller is one of them, so the
/// check still holds when the change commits (two admins revoking each other at once must not
/// both succeed). Returns the admins' ids.
async fn lock_admins_as(tx: &mut Tx, me: i64, not_admin: Message) -> Result<Vec<i64>> {
    let admins = store::users::lock_admins(tx).await?;
    if admins.contains(&me) {
        Ok(admins)
    } else {
        Err(Error::forbidden(not_admin))
    }
}

/// `POST /admin/new`.
pub async fn grant(state: &AppState, me: i64, target: AdminTarget) -> Result<Message> {
    let target = target.user_id;
    if !caller_is_admin(state, me).await? {
        return Err(Error::forbidden(messages::USER_ASSIGN_NOT_ADMIN));
    }
    if target == me {
        return Err(Error::forbidden(
            messages::USER_CANNOT_BE_ASSIGNED_ADMIN_BY_USER,
        ));
    }
    let mut work = state.unit_of_work().await?;
    lock_admins_as(work.tx(), me, messages::USER_ASSIGN_NOT_ADMIN).await?;
    let user = store::users::lock_by_id(work.tx(), target)
        .await?
        .ok_or_else(|| Error::not_found(messages::USER_DOES_NOT_EXIST))?;
    if user.is_admin {
        return Err(Error::invalid(messages::USER_IS_ALREADY_AN_ADMIN));
    }
    store::users::set_admin(work.tx(), target, true).await?;
    work.audit(Event::new(Some(me), "admin.grant", audit::user(target)));
    work.commit().await?;
    tracing::info!(by = me, user_id = target, "admin status granted");
    Ok(messages::USER_IS_NOW_AN_ADMIN)
}

/// `POST /admin/remove`. The last admin cannot revoke themself.
pub async fn revoke(state: &AppState, me: i64, target: AdminTarget) -> Result<Message> {
    let target = target.user_id;
    if !caller_is_admin(state, me).await? {
        return Err(Error::forbidden(messages::USER_REVOKE_NOT_ADMIN));
    }
    let mut work = state.unit_of_work().await?;
    let admins = lock_admins_as(work.tx(), me, messages::USER_REVOKE_NOT_ADMIN).await?;
    if target == me && admins.len() <= 1 {
        return Err(Error::forbidden(messages::USER_CANNOT_REVOKE_ADMIN_STATUS));
    }
    let user = store::users::lock_by_id(work.tx(), target)
        .await?
        .ok_or_else(|| Error::not_found(messages::USER_DOES_NOT_EXIST))?;
    if !user.is_admin {
        return Err(Error::invalid(messages::USER_IS_NOT_AN_ADMIN));
    }
    store::users::set_admin(work.tx(), target, false).await?;
    work.audit(Event::new(Some(me), "admin.revoke", audit::user(target)));
    work.commit().await?;
    tracing::info!(by = me, user_id = target, "admin status revoked");
    Ok(messages::USER_ADMIN_STATUS_WAS_REVOKED)
}

/// `GET /admins`: every admin but the caller.
pub async fn list(state: &AppState, me: i64) -> Result<Vec<PublicAdmin>> {
    // A caller whose account is gone is simply not an admin here, as in the reference.
    let is_admin = match caller_is_admin(state, me).await {
        Err(Error::Rejected(_)) => false,
        other => other?,
    };
    if !is_admin {
        return Err(Error::forbidden(messages::USER_IS_NOT_AN_ADMIN));
    }
    let admins = store::users::admins_except(&state.db, me).await?;
    Ok(admins.into_iter().map(admin_view).collect())
}

/// `mentorship admin grant <username-or-email>`: the operator's way to make the first admin.
pub async fn grant_by_operator(state: &AppState, who: &str) -> anyhow::Result<UserRow> {
    let user = match store::users::find_by_username(&state.db, who).await? {
        Some(user) => Some(user),
        None => store::users::find_by_email(&state.db, who).await?,
    };
    let user = user.ok_or_else(|| anyhow::anyhow!("no user has the username or e-mail {who:?}"))?;
    let mut work = state.unit_of_work().await?;
    store::users::set_admin(work.tx(), user.id, true).await?;
    work.audit(
        Event::new(None, "admin.grant", audit::user(user.id))
            .with(serde_json::json!({"by": "operator"})),
    );
    work.commit().await?;
    tracing::info!(user_id = user.id, "admin status granted by the operator");
    Ok(user)
}

fn admin_view(u: UserRow) -> PublicAdmin {
    PublicAdmin {
        id: u.id,
        username: u.username,
        name: u.name,
        slack_username: u.slack_username,
        bio: u.bio,
        location: u.location,
        occupation: u.occupation,
        organization: u.organization,
        skills: u.skills,
    }
}
