//! Registration, e-mail verification, login, token refresh and logout, password change and reset.

use axum::http::StatusCode;
use serde::Serialize;
use serde_json::Value;

use crate::app::AppState;
use crate::domain::clock::Timestamp;
use crate::domain::messages::{self, Message};
use crate::domain::users::{self, JsonType, SchemaCheck};
use crate::error::{Error, Result};
use crate::mail;
use crate::security::jwt::{self, TokenError, TokenType};
use crate::security::{random_token, token_hash};
use crate::services::{require_verified_user, text_field};
use crate::store::{self, tokens::EmailTokenPurpose, tokens::RefreshUse, tokens::TokenUse};

pub const VERIFICATION_VALID_SECS: f64 = 30.0 * 86_400.0;
pub const RESET_VALID_SECS: f64 = 3_600.0;
pub const REFRESH_TOKEN_TTL_SECS: i64 = 28 * 86_400;
/// Failed logins counted in this window.
pub const THROTTLE_WINDOW_SECS: f64 = 60.0;
/// Failures for one login from one address before it is throttled.
pub const THROTTLE_PER_LOGIN_AND_IP: i64 = 5;
/// Failures for one account from anywhere before it is throttled: a distributed guess is slowed
/// down too, without letting one stranger lock a member out with five tries.
pub const THROTTLE_PER_ACCOUNT: i64 = 20;

/// The answer to a login or a refresh.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    /// When the access token expires (UNIX seconds).
    pub access_expiry: f64,
    /// When the refresh token expires (UNIX seconds).
    pub refresh_expiry: f64,
}

/// `POST /register`.
pub async fn register(state: &AppState, body: Option<&Value>) -> Result<Message> {
    let new_user = users::parse_registration(body)?;
    if store::users::find_by_username(&state.db, &new_user.username)
        .await?
        .is_some()
    {
        return Err(Error::conflict(
            messages::USER_USES_A_USERNAME_THAT_ALREADY_EXISTS,
        ));
    }
    if store::users::find_by_email(&state.db, &new_user.email)
        .await?
        .is_some()
    {
        return Err(Error::conflict(
            messages::USER_USES_AN_EMAIL_ID_THAT_ALREADY_EXISTS,
        ));
    }
    let password_hash = state.hasher.hash(&new_user.password).await?;
    let now = state.clock.now();

    let mut tx = state.db.begin().await?;
    let is_admin = state.config.first_user_is_admin && !store::users::any_exists(&mut tx).await?;
    let record = store::users::NewUserRecord {
        name: &new_user.name,
        username: &new_user.username,
        email: &new_user.email,
        password_hash: &password_hash,
        registration_date: now,
        is_admin,
        need_mentoring: new_user.need_mentoring,
        available_to_mentor: new_user.available_to_mentor,
    };
    // The checks above answer the common case; the unique indexes decide races.
    let user_id = store::users::insert(&mut tx, &record)
        .await
        .map_err(|err| match store::violated_constraint(&err).as_deref() {
            Some(name) if name.contains("users_username_lower_key") => {
                Error::conflict(messages::USER_USES_A_USERNAME_THAT_ALREADY_EXISTS)
            }
            Some(name) if name.contains("users_email_lower_key") => {
                Error::conflict(messages::USER_USES_AN_EMAIL_ID_THAT_ALREADY_EXISTS)
            }
            _ => Error::from(err),
        })?;
    queue_verification(
        state,
        &mut tx,
        user_id,
        &new_user.name,
        &new_user.email,
        now,
    )
    .await?;
    state.commit_with_mail(tx).await?;
    tracing::info!(user_id, "account registered");
    Ok(messages::USER_WAS_CREATED_SUCCESSFULLY)
}

async fn queue_verification(
    state: &AppState,
    tx: &mut store::Tx,
    user_id: i64,
    name: &str,
    email: &str,
    now: Timestamp,
) -> Result<()> {
    let token = random_token();
    store::tokens::replace_email_token(
        tx,
        user_id,
        EmailTokenPurpose::VerifyEmail,
        &token_hash(&token),
        now,
        now + VERIFICATION_VALID_SECS,
    )
    .await?;
    let link = format!("{}/user/confirm_email/{token}", state.config.public_url);
    let context = serde_json::json!({
        "name": name, "link": link, "valid_days": (VERIFICATION_VALID_SECS / 86_400.0) as i64,
    });
    mail::queue(tx, "verify_email", email, context, now).await?;
    Ok(())
}

/// `GET /user/confirm_email/<token>`.
pub async fn confirm_email(state: &AppState, token: &str) -> Result<Message> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let outcome = store::tokens::use_email_token(
        &mut tx,
        EmailTokenPurpose::VerifyEmail,
        &token_hash(token),
        now,
    )
    .await?;
    let message = match outcome {
        TokenUse::Consumed { user_id } => {
            if store::users::set_verified(&mut tx, user_id, now).await? == 1 {
                tracing::info!(user_id, "e-mail verified");
                messages::ACCOUNT_ALREADY_CONFIRMED_AND_THANKS
            } else {
                messages::ACCOUNT_ALREADY_CONFIRMED
            }
        }
        // A second click on the link changes nothing and says so, as the reference does.
        TokenUse::AlreadyUsed { .. } => messages::ACCOUNT_ALREADY_CONFIRMED,
        TokenUse::Invalid => {
            return Err(Error::bad_request(
                messages::EMAIL_EXPIRED_OR_TOKEN_IS_INVALID,
            ));
        }
    };
    tx.commit().await?;
    Ok(message)
}

/// Reads the `email` field as the reference does: missing, then format.
fn email_field(body: Option<&Value>) -> Result<String> {
    let email = match body.and_then(|b| b.get("email")) {
        None | Some(Value::Null) => {
            return Err(Error::bad_request(messages::EMAIL_FIELD_IS_MISSING));
        }
        Some(Value::String(s)) if s.is_empty() => {
            return Err(Error::bad_request(messages::EMAIL_FIELD_IS_MISSING));
        }
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(Error::bad_request(messages::EMAIL_INPUT_BY_USER_IS_INVALID)),
    };
    if !users::is_valid_email(&email) {
        return Err(Error::bad_request(messages::EMAIL_INPUT_BY_USER_IS_INVALID));
    }
    Ok(email)
}

/// `POST /user/resend_email`: the same answer for unknown, unverified and verified addresses
/// (no account enumeration); only an unverified account gets a new link.
pub async fn resend_verification(state: &AppState, body: Option<&Value>) -> Result<Message> {
    let email = email_field(body)?;
    if let Some(user) = store::users::find_by_email(&state.db, &email).await?
        && !user.is_email_verified
    {
        let now = state.clock.now();
        let mut tx = state.db.begin().await?;
        queue_verification(state, &mut tx, user.id, &user.name, &user.email, now).await?;
        state.commit_with_mail(tx).await?;
    }
    Ok(messages::VERIFICATION_EMAIL_REQUESTED)
}

/// `POST /login`, with throttling kept in the database so every instance sees it.
pub async fn login(state: &AppState, body: Option<&Value>, client_ip: &str) -> Result<TokenPair> {
    let login = match body.and_then(|b| b.get("username")) {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => return Err(Error::bad_request(messages::USERNAME_FIELD_IS_MISSING)),
    };
    let password = match body.and_then(|b| b.get("password")) {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => return Err(Error::bad_request(messages::PASSWORD_FIELD_IS_MISSING)),
    };
    let login_key = login.to_lowercase();
    let user = if users::is_valid_email(&login) {
        store::users::find_by_email(&state.db, &login).await?
    } else {
        store::users::find_by_username(&state.db, &login).await?
    };
    let now = state.clock.now();
    let since = now - THROTTLE_WINDOW_SECS;
    let user_id = user.as_ref().map(|u| u.id);

    // Throttled logins are refused before the password is looked at, even a right one.
    let failures =
        store::tokens::login_failures(&state.db, &login_key, client_ip, user_id, since).await?;
    let oldest = if failures.by_login_and_ip >= THROTTLE_PER_LOGIN_AND_IP {
        failures.oldest_by_login_and_ip
    } else if failures.by_account >= THROTTLE_PER_ACCOUNT {
        failures.oldest_by_account
    } else {
        None
    };
    if let Some(oldest) = oldest {
        let retry_after = (oldest + THROTTLE_WINDOW_SECS - now).ceil().max(1.0) as u64;
        tracing::warn!(user_id, client_ip, "login throttled");
        return Err(Error::new(
            StatusCode::TOO_MANY_REQUESTS,
            messages::TOO_MANY_LOGIN_ATTEMPTS,
        )
        .with_retry_after(retry_after));
    }

    let verification = match &user {
        Some(user) => state.hasher.verify(&password, &user.password_hash).await?,
        None => state.hasher.verify_dummy(&password).await?,
    };
    let user = match user {
        Some(user) if verification.matches => user,
        _ => {
            let forget_before = now - 3_600.0;
            store::tokens::record_login_failure(
                &state.db,
                &login_key,
                client_ip,
                user_id,
                now,
                forget_before,
            )
            .await?;
            tracing::warn!(user_id, client_ip, "login failed");
            return Err(Error::unauthorized(messages::WRONG_USERNAME_OR_PASSWORD));
        }
    };
    if !user.is_email_verified {
        return Err(Error::forbidden(
            messages::USER_HAS_NOT_VERIFIED_EMAIL_BEFORE_LOGIN,
        ));
    }
    store::tokens::clear_login_failures(&state.db, &login_key, client_ip).await?;
    if verification.needs_rehash {
        let stronger = state.hasher.hash(&password).await?;
        store::users::upgrade_password_hash(&state.db, user.id, &user.password_hash, &stronger)
            .await?;
    }

    let family_id = uuid::Uuid::new_v4().to_string();
    let mut tx = state.db.begin().await?;
    store::tokens::create_refresh_family(&mut tx, &family_id, user.id, now).await?;
    let pair = issue_pair(state, &mut tx, user.id, &family_id, now).await?;
    tx.commit().await?;
    tracing::info!(user_id = user.id, "login succeeded");
    Ok(pair)
}

async fn issue_pair(
    state: &AppState,
    tx: &mut store::Tx,
    user_id: i64,
    family_id: &str,
    now: Timestamp,
) -> Result<TokenPair> {
    let access_ttl = state.config.access_token_ttl.as_secs() as i64;
    let (access_token, access) =
        jwt::issue(&state.keys.jwt, user_id, TokenType::Access, now, access_ttl);
    let (refresh_token, refresh) = jwt::issue(
        &state.keys.jwt,
        user_id,
        TokenType::Refresh,
        now,
        REFRESH_TOKEN_TTL_SECS,
    );
    store::tokens::insert_refresh_token(
        tx,
        &token_hash(&refresh_token),
        family_id,
        now,
        refresh.exp as f64,
    )
    .await?;
    Ok(TokenPair {
        access_token,
        refresh_token,
        access_expiry: access.exp as f64,
        refresh_expiry: refresh.exp as f64,
    })
}

/// Checks a refresh token's signature, type and age; the 401 messages are the contract's.
fn verify_refresh(state: &AppState, token: &str, now: Timestamp) -> Result<()> {
    jwt::verify(&state.keys.jwt, token, TokenType::Refresh, now)
        .map(|_| ())
        .map_err(|err| match err {
            TokenError::Expired => Error::unauthorized(messages::TOKEN_HAS_EXPIRED),
            TokenError::Invalid => Error::unauthorized(messages::TOKEN_IS_INVALID),
        })
}

/// `POST /refresh`: rotates the refresh token. A token presented twice means it was stolen or
/// replayed: its whole family is revoked.
pub async fn refresh(state: &AppState, refresh_token: &str) -> Result<TokenPair> {
    let now = state.clock.now();
    verify_refresh(state, refresh_token, now)?;
    let mut tx = state.db.begin().await?;
    match store::tokens::use_refresh_token(&mut tx, &token_hash(refresh_token), now).await? {
        RefreshUse::Rotated { family_id, user_id } => {
            let pair = issue_pair(state, &mut tx, user_id, &family_id, now).await?;
            tx.commit().await?;
            Ok(pair)
        }
        RefreshUse::Replayed { family_id } => {
            drop(tx);
            store::tokens::revoke_family(&state.db, &family_id, now).await?;
            tracing::warn!(family_id, "refresh token reused: family revoked");
            Err(Error::unauthorized(messages::TOKEN_IS_INVALID))
        }
        RefreshUse::Unknown => Err(Error::unauthorized(messages::TOKEN_IS_INVALID)),
    }
}

/// `POST /logout`: revokes the refresh token's family.
pub async fn logout(state: &AppState, refresh_token: &str) -> Result<Message> {
    let now = state.clock.now();
    verify_refresh(state, refresh_token, now)?;
    let family = store::tokens::live_family_of(&state.db, &token_hash(refresh_token), now)
        .await?
        .ok_or_else(|| Error::unauthorized(messages::TOKEN_IS_INVALID))?;
    store::tokens::revoke_family(&state.db, &family, now).await?;
    Ok(messages::LOGGED_OUT)
}

/// `PUT /user/change_password`. Every refresh family of the user is revoked.
pub async fn change_password(
    state: &AppState,
    user_id: i64,
    body: Option<&Value>,
) -> Result<Message> {
    let empty = serde_json::Map::new();
    let object = body.and_then(Value::as_object).unwrap_or(&empty);
    let mut schema = SchemaCheck::new(object);
    schema.required("current_password", JsonType::String);
    schema.required("new_password", JsonType::String);
    schema.finish()?;
    let current = object["current_password"].as_str().unwrap_or_default();
    let new = object["new_password"].as_str().unwrap_or_default();
    if current == new {
        return Err(Error::bad_request(messages::USER_ENTERED_CURRENT_PASSWORD));
    }
    users::check_password("new_password", new)?;
    let user = require_verified_user(state, user_id).await?;
    if !state
        .hasher
        .verify(current, &user.password_hash)
        .await?
        .matches
    {
        return Err(Error::bad_request(
            messages::USER_ENTERED_INCORRECT_PASSWORD,
        ));
    }
    let hash = state.hasher.hash(new).await?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    store::users::set_password_hash(&mut tx, user_id, &hash).await?;
    store::tokens::revoke_all_families(&mut tx, user_id, now).await?;
    tx.commit().await?;
    tracing::info!(user_id, "password changed");
    Ok(messages::PASSWORD_SUCCESSFULLY_UPDATED)
}

/// `POST /user/forgot_password`: the same answer whatever the address; a verified account gets
/// a one-hour, single-use link that replaces any earlier one.
pub async fn forgot_password(state: &AppState, body: Option<&Value>) -> Result<Message> {
    let email = email_field(body)?;
    if let Some(user) = store::users::find_by_email(&state.db, &email).await?
        && user.is_email_verified
    {
        let now = state.clock.now();
        let token = random_token();
        let mut tx = state.db.begin().await?;
        store::tokens::replace_email_token(
            &mut tx,
            user.id,
            EmailTokenPurpose::ResetPassword,
            &token_hash(&token),
            now,
            now + RESET_VALID_SECS,
        )
        .await?;
        let link = format!("{}/user/reset_password/{token}", state.config.public_url);
        mail::queue(
            &mut tx,
            "reset_password",
            &user.email,
            serde_json::json!({"name": user.name, "link": link}),
            now,
        )
        .await?;
        state.commit_with_mail(tx).await?;
    }
    Ok(messages::PASSWORD_RESET_REQUESTED)
}

/// `POST /user/reset_password`.
pub async fn reset_password(state: &AppState, body: Option<&Value>) -> Result<Message> {
    let token = text_field(body, "token")
        .ok_or_else(|| Error::bad_request(messages::PASSWORD_RESET_TOKEN_INVALID))?;
    let password = match body.and_then(|b| b.get("new_password")) {
        Some(Value::String(s)) if !s.is_empty() => s.as_str(),
        _ => return Err(Error::bad_request(messages::PASSWORD_FIELD_IS_MISSING)),
    };
    // The password is checked before the token is spent, so a typo does not burn the link.
    users::check_password("password", password)?;
    let hash = state.hasher.hash(password).await?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let TokenUse::Consumed { user_id } = store::tokens::use_email_token(
        &mut tx,
        EmailTokenPurpose::ResetPassword,
        &token_hash(token),
        now,
    )
    .await?
    else {
        return Err(Error::bad_request(messages::PASSWORD_RESET_TOKEN_INVALID));
    };
    store::users::set_password_hash(&mut tx, user_id, &hash).await?;
    store::tokens::revoke_all_families(&mut tx, user_id, now).await?;
    tx.commit().await?;
    tracing::info!(user_id, "password reset");
    Ok(messages::PASSWORD_RESET_DONE)
}
