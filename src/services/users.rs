//! Profiles and the member directory.

use std::collections::HashMap;

use serde_json::Value;

use crate::app::AppState;
use crate::domain::messages::{self, Message};
use crate::domain::users;
use crate::error::{Error, Result};
use crate::mail;
use crate::services::require_verified_user;
use crate::store::{self, users::PublicUserRow, users::UserFilter, users::UserRow};

/// `GET /user`.
pub async fn me(state: &AppState, user_id: i64) -> Result<UserRow> {
    require_verified_user(state, user_id).await
}

/// `PUT /user`.
pub async fn update_me(state: &AppState, user_id: i64, body: Option<&Value>) -> Result<Message> {
    let update = users::parse_profile_update(body)?;
    require_verified_user(state, user_id).await?;
    let taken = || Error::bad_request(messages::USER_USES_A_USERNAME_THAT_ALREADY_EXISTS);
    if let Some(username) = &update.username {
        // Keeping one's own username is not a conflict (the reference said it was).
        if store::users::username_taken_by_other(&state.db, username, user_id).await? {
            return Err(taken());
        }
    }
    let mut tx = state.db.begin().await?;
    store::users::update_profile(&mut tx, user_id, &update)
        .await
        .map_err(|err| match store::violated_constraint(&err).as_deref() {
            Some(name) if name.contains("users_username_lower_key") => taken(),
            _ => Error::from(err),
        })?;
    tx.commit().await?;
    Ok(messages::USER_SUCCESSFULLY_UPDATED)
}

/// `DELETE /user`. The other party's relations stay readable (the deleted party shows as
/// null); a current relation is cancelled and the other party told; pending requests go.
pub async fn delete_me(state: &AppState, user_id: i64) -> Result<Message> {
    require_verified_user(state, user_id).await?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    // The admins first: the lock order of every change to the set of admins.
    let admins = store::users::lock_admins(&mut tx).await?;
    let user = store::users::lock_by_id(&mut tx, user_id)
        .await?
        .ok_or_else(|| Error::not_found(messages::USER_DOES_NOT_EXIST))?;
    if user.is_admin && admins.len() <= 1 {
        return Err(Error::bad_request(messages::USER_CANT_DELETE));
    }
    let ended = store::relations::end_relations_of_leaving_users(&mut tx, &[user_id], now).await?;
    for partner in &ended {
        mail::queue(
            &mut tx,
            "relation_partner_left",
            &partner.email,
            serde_json::json!({"name": partner.name}),
            now,
        )
        .await?;
    }
    store::users::delete(&mut tx, user_id).await?;
    state.commit_with_mail(tx).await?;
    tracing::info!(user_id, "account deleted");
    Ok(messages::USER_SUCCESSFULLY_DELETED)
}

/// The largest page of the directory.
pub const MAX_PER_PAGE: i64 = 50;

/// Page and filters of `GET /users` as the reference reads them: values that are not integers
/// fall back to the defaults, `per_page` is capped at 50, a negative one means 20.
pub fn parse_directory_query(
    query: &HashMap<String, String>,
    requester: i64,
    verified_only: bool,
) -> (UserFilter, i64, i64) {
    let int = |key: &str, default: i64| {
        query
            .get(key)
            .and_then(|v| v.trim().parse::<i64>().ok())
            .unwrap_or(default)
    };
    let page = int("page", 1).max(1);
    let per_page = match int("per_page", 10) {
        n if n < 0 => 20,
        n => n.min(MAX_PER_PAGE),
    };
    let flag = |key: &str| match query.get(key).map(|v| v.to_ascii_lowercase()).as_deref() {
        Some("true" | "1") => Some(true),
        Some("false" | "0") => Some(false),
        _ => None,
    };
    let search = query
        .get("search")
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty());
    let filter = UserFilter {
        exclude_id: requester,
        verified_only,
        search,
        need_mentoring: flag("need_mentoring"),
        available_to_mentor: flag("available_to_mentor"),
    };
    (filter, per_page, (page - 1).saturating_mul(per_page))
}

/// `GET /users` and `GET /users/verified`.
pub async fn directory(
    state: &AppState,
    requester: i64,
    verified_only: bool,
    query: &HashMap<String, String>,
) -> Result<Vec<PublicUserRow>> {
    let (filter, limit, offset) = parse_directory_query(query, requester, verified_only);
    // Names and usernames hold no control character but whitespace, so a search for another
    // one finds no one. PostgreSQL's search key joins the two with such a character (chr(1)),
    // which must not let a match span them; and its text cannot hold NUL at all.
    let impossible = filter
        .search
        .as_deref()
        .is_some_and(|text| text.chars().any(|c| c.is_control() && !c.is_whitespace()));
    if limit == 0 || impossible {
        return Ok(Vec::new());
    }
    Ok(store::users::list_public(&state.db, &filter, limit, offset).await?)
}

/// `GET /users/<id>`.
pub async fn public_profile(state: &AppState, user_id: i64) -> Result<PublicUserRow> {
    let user = store::users::public_by_id(&state.db, user_id)
        .await?
        .ok_or_else(|| Error::not_found(messages::USER_DOES_NOT_EXIST))?;
    if !user.is_email_verified {
        return Err(Error::forbidden(
            messages::USER_HAS_NOT_VERIFIED_EMAIL_BEFORE_LOGIN,
        ));
    }
    Ok(user)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn directory_paging_follows_the_reference() {
        let (_, limit, offset) = parse_directory_query(&query(&[]), 1, false);
        assert_eq!((limit, offset), (10, 0));
        let (_, limit, offset) =
            parse_directory_query(&query(&[("page", "3"), ("per_page", "500")]), 1, false);
        assert_eq!((limit, offset), (50, 100));
        let (_, limit, offset) =
            parse_directory_query(&query(&[("page", "-2"), ("per_page", "-1")]), 1, false);
        assert_eq!((limit, offset), (20, 0));
        let (_, limit, _) = parse_directory_query(&query(&[("per_page", "abc")]), 1, false);
        assert_eq!(limit, 10);
    }
}
