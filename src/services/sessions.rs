//! Browser sessions of the web layer (the console; the member web app later): sign-in with the
//! same password check and throttling as `POST /login`, a server-side row per browser that
//! sign-out deletes, idle and absolute expiry, and the CSRF token of the session's forms.

use std::net::IpAddr;

use crate::domain::accounts::Credentials;
use crate::domain::messages::{self, Message};
use crate::domain::sessions::{self, Audience};
use crate::error::{Error, Result};
use crate::security::{constant_time_eq, random_token, token_hash};
use crate::state::AppState;
use crate::store;

/// A session just opened: the token goes into the cookie and nowhere else.
pub struct OpenedSession {
    pub token: String,
    pub user_id: i64,
}

/// A signed-in browser, as every request of its session sees it.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: i64,
    pub user_id: i64,
    pub username: String,
    csrf_token: String,
}

impl Session {
    /// The token every form of the session carries.
    pub fn csrf_token(&self) -> &str {
        &self.csrf_token
    }

    /// Whether a submitted form carries this session's token (compared in constant time).
    pub fn check_csrf(&self, submitted: &str) -> Result<()> {
        if constant_time_eq(submitted.as_bytes(), self.csrf_token.as_bytes()) {
            Ok(())
        } else {
            tracing::warn!(
                user_id = self.user_id,
                "form refused: CSRF token missing or wrong"
            );
            Err(Error::forbidden(messages::CONSOLE_FORM_EXPIRED))
        }
    }
}

/// Signs a member in: [`super::accounts::check_credentials`] (throttled, verified members only),
/// then, for the console, admins only.
pub async fn sign_in(
    state: &AppState,
    credentials: &Credentials,
    client: IpAddr,
    audience: Audience,
) -> Result<OpenedSession> {
    let user = super::accounts::check_credentials(state, credentials, client).await?;
    if audience == Audience::Console && !user.is_admin {
        tracing::warn!(user_id = user.id, "console sign-in refused: not an admin");
        return Err(Error::forbidden(messages::CONSOLE_ADMINS_ONLY));
    }
    let token = random_token();
    let csrf_token = random_token();
    let now = state.clock.now();
    let mut work = state.unit_of_work().await?;
    store::sessions::insert(
        work.tx(),
        &store::sessions::NewSession {
            token_hash: &token_hash(&token),
            user_id: user.id,
            audience: audience.as_str(),
            csrf_token: &csrf_token,
            now,
            expires_at: sessions::expires_at(now, now),
        },
    )
    .await?;
    work.commit().await?;
    tracing::info!(user_id = user.id, audience = audience.as_str(), "signed in");
    Ok(OpenedSession {
        token,
        user_id: user.id,
    })
}

/// The live session a cookie's token names, its idle deadline moved (at most once a minute).
/// A console session whose member is no longer an admin is refused (and ended).
pub async fn authenticate(state: &AppState, token: &str, audience: Audience) -> Result<Session> {
    let now = state.clock.now();
    let expired = || Error::unauthenticated(messages::CONSOLE_SIGN_IN_REQUIRED);
    let row = store::sessions::find_live(&state.db, &token_hash(token), audience.as_str(), now)
        .await?
        .ok_or_else(expired)?;
    if audience == Audience::Console && !row.is_admin {
        let mut work = state.unit_of_work().await?;
        store::sessions::delete(work.tx(), row.id).await?;
        work.commit().await?;
        return Err(Error::forbidden(messages::CONSOLE_ADMINS_ONLY));
    }
    if sessions::needs_touch(row.last_seen_at, now) {
        let mut work = state.unit_of_work().await?;
        let expires_at = sessions::expires_at(row.created_at, now);
        store::sessions::touch(work.tx(), row.id, now, expires_at).await?;
        work.commit().await?;
    }
    Ok(Session {
        id: row.id,
        user_id: row.user_id,
        username: row.username,
        csrf_token: row.csrf_token,
    })
}

/// Ends this browser's session.
pub async fn sign_out(state: &AppState, session: &Session) -> Result<Message> {
    let mut work = state.unit_of_work().await?;
    store::sessions::delete(work.tx(), session.id).await?;
    work.commit().await?;
    tracing::info!(user_id = session.user_id, "signed out");
    Ok(messages::CONSOLE_SIGNED_OUT)
}

/// Ends every session of the member, on every browser.
pub async fn sign_out_everywhere(state: &AppState, session: &Session) -> Result<Message> {
    let mut work = state.unit_of_work().await?;
    let ended = store::sessions::delete_for_user(work.tx(), session.user_id).await?;
    work.commit().await?;
    tracing::info!(user_id = session.user_id, ended, "signed out everywhere");
    Ok(messages::CONSOLE_SIGNED_OUT_EVERYWHERE)
}
