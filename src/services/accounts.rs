//! Registration, e-mail verification, login, token refresh and logout, password change and reset.

use crate::domain::accounts::{
    Credentials, EmailAddress, PasswordChange, PasswordReset, REFRESH_TOKEN_TTL_SECS,
    RESET_VALID_SECS, Registration, THROTTLE_PER_ACCOUNT, THROTTLE_PER_LOGIN_AND_IP,
    THROTTLE_WINDOW_SECS, TokenPair, VERIFICATION_VALID_SECS, retry_after_secs,
};
use crate::domain::clock::Timestamp;
use crate::domain::messages::{self, Message};
use crate::error::{Error, ErrorKind, Result};
use crate::mail::Outgoing;
use crate::security::jwt::{self, TokenError, TokenType};
use crate::security::{random_token, token_hash};
use crate::services::require_verified_user;
use crate::state::{AppState, UnitOfWork};
use crate::store::tokens::{EmailTokenPurpose, RefreshUse, TokenUse};
use crate::store::{self, Constraint, OnConstraint};

/// `POST /register`.
pub async fn register(state: &AppState, new_user: Registration) -> Result<Message> {
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

    let mut work = state.unit_of_work().await?;
    let is_admin = state.config.first_user_is_admin && !store::users::any_exists(work.tx()).await?;
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
    let user_id = match store::users::insert(work.tx(), &record).await {
        Err(err) if Constraint::of(&err) == Some(Constraint::UsernameTaken) => {
            return Err(Error::conflict(
                messages::USER_USES_A_USERNAME_THAT_ALREADY_EXISTS,
            ));
        }
        other => other.on_constraint(Constraint::EmailTaken, || {
            Error::conflict(messages::USER_USES_AN_EMAIL_ID_THAT_ALREADY_EXISTS)
        })?,
    };
    queue_verification(
        state,
        &mut work,
        user_id,
        &new_user.name,
        &new_user.email,
        now,
    )
    .await?;
    work.commit().await?;
    tracing::info!(user_id, "account registered");
    Ok(messages::USER_WAS_CREATED_SUCCESSFULLY)
}

async fn queue_verification(
    state: &AppState,
    work: &mut UnitOfWork<'_>,
    user_id: i64,
    name: &str,
    email: &str,
    now: Timestamp,
) -> Result<()> {
    let token = random_token();
    store::tokens::replace_email_token(
        work.tx(),
        user_id,
        EmailTokenPurpose::VerifyEmail,
        &token_hash(&token),
        now,
        now + VERIFICATION_VALID_SECS,
    )
    .await?;
    let link = format!("{}/user/confirm_email/{token}", state.config.public_url);
    work.queue_mail(Outgoing {
        template: "verify_email",
        recipient: email,
        context: serde_json::json!({
            "name": name, "link": link, "valid_days": (VERIFICATION_VALID_SECS / 86_400.0) as i64,
        }),
        calendar: None,
    })
}

/// `GET /user/confirm_email/<token>`.
pub async fn confirm_email(state: &AppState, token: &str) -> Result<Message> {
    let now = state.clock.now();
    let mut work = state.unit_of_work().await?;
    let outcome = store::tokens::use_email_token(
        work.tx(),
        EmailTokenPurpose::VerifyEmail,
        &token_hash(token),
        now,
    )
    .await?;
    let message = match outcome {
        TokenUse::Consumed { user_id } => {
            if store::users::set_verified(work.tx(), user_id, now).await? == 1 {
                tracing::info!(user_id, "e-mail verified");
                messages::ACCOUNT_ALREADY_CONFIRMED_AND_THANKS
            } else {
                messages::ACCOUNT_ALREADY_CONFIRMED
            }
        }
        // A second click on the link changes nothing and says so, as the reference does.
        TokenUse::AlreadyUsed { .. } => messages::ACCOUNT_ALREADY_CONFIRMED,
        TokenUse::Invalid => {
            return Err(Error::invalid(messages::EMAIL_EXPIRED_OR_TOKEN_IS_INVALID));
        }
    };
    work.commit().await?;
    Ok(message)
}

/// `POST /user/resend_email`: the same answer for unknown, unverified and verified addresses
/// (no account enumeration); only an unverified account gets a new link.
pub async fn resend_verification(state: &AppState, address: EmailAddress) -> Result<Message> {
    if let Some(user) = store::users::find_by_email(&state.db, &address.email).await?
        && !user.is_email_verified
    {
        let now = state.clock.now();
        let mut work = state.unit_of_work().await?;
        queue_verification(state, &mut work, user.id, &user.name, &user.email, now).await?;
        work.commit().await?;
    }
    Ok(messages::VERIFICATION_EMAIL_REQUESTED)
}

/// `POST /login`, with throttling kept in the database so every instance sees it.
pub async fn login(
    state: &AppState,
    credentials: Credentials,
    client_ip: &str,
) -> Result<TokenPair> {
    let login_key = credentials.throttle_key();
    let user = if credentials.is_email() {
        store::users::find_by_email(&state.db, &credentials.username).await?
    } else {
        store::users::find_by_username(&state.db, &credentials.username).await?
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
        tracing::warn!(user_id, client_ip, "login throttled");
        return Err(Error::new(
            ErrorKind::TooManyRequests,
            messages::TOO_MANY_LOGIN_ATTEMPTS,
        )
        .with_retry_after(retry_after_secs(oldest, now)));
    }

    let verification = match &user {
        Some(user) => {
            state
                .hasher
                .verify(&credentials.password, &user.password_hash)
                .await?
        }
        None => state.hasher.verify_dummy(&credentials.password).await?,
    };
    let user = match user {
        Some(user) if verification.matches => user,
        _ => {
            let forget_before = now - 3_600.0;
            let mut work = state.unit_of_work().await?;
            store::tokens::record_login_failure(
                work.tx(),
                &login_key,
                client_ip,
                user_id,
                now,
                forget_before,
            )
            .await?;
            work.commit().await?;
            tracing::warn!(user_id, client_ip, "login failed");
            return Err(Error::unauthenticated(messages::WRONG_USERNAME_OR_PASSWORD));
        }
    };
    if !user.is_email_verified {
        return Err(Error::forbidden(
            messages::USER_HAS_NOT_VERIFIED_EMAIL_BEFORE_LOGIN,
        ));
    }
    let stronger = match verification.needs_rehash {
        true => Some(state.hasher.hash(&credentials.password).await?),
        false => None,
    };

    let family_id = uuid::Uuid::new_v4().to_string();
    let mut work = state.unit_of_work().await?;
    store::tokens::clear_login_failures(work.tx(), &login_key, client_ip).await?;
    if let Some(stronger) = &stronger {
        store::users::upgrade_password_hash(work.tx(), user.id, &user.password_hash, stronger)
            .await?;
    }
    store::tokens::create_refresh_family(work.tx(), &family_id, user.id, now).await?;
    let pair = issue_pair(state, &mut work, user.id, &family_id, now).await?;
    work.commit().await?;
    tracing::info!(user_id = user.id, "login succeeded");
    Ok(pair)
}

async fn issue_pair(
    state: &AppState,
    work: &mut UnitOfWork<'_>,
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
        work.tx(),
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

/// The contract's 401 for a token that is expired or invalid.
pub fn token_error(err: TokenError) -> Error {
    match err {
        TokenError::Expired => Error::unauthenticated(messages::TOKEN_HAS_EXPIRED),
        TokenError::Invalid => Error::unauthenticated(messages::TOKEN_IS_INVALID),
    }
}

/// The member an access token names, if it is valid now (the API's bearer authentication).
pub fn authenticate(state: &AppState, access_token: &str) -> Result<i64> {
    jwt::verify(
        &state.keys.jwt,
        access_token,
        TokenType::Access,
        state.clock.now(),
    )
    .map(|claims| claims.identity)
    .map_err(token_error)
}

/// Checks a refresh token's signature, type and age; the 401 messages are the contract's.
fn verify_refresh(state: &AppState, token: &str, now: Timestamp) -> Result<()> {
    jwt::verify(&state.keys.jwt, token, TokenType::Refresh, now)
        .map(|_| ())
        .map_err(token_error)
}

/// `POST /refresh`: rotates the refresh token. A token presented twice means it was stolen or
/// replayed: its whole family is revoked.
pub async fn refresh(state: &AppState, refresh_token: &str) -> Result<TokenPair> {
    let now = state.clock.now();
    verify_refresh(state, refresh_token, now)?;
    let mut work = state.unit_of_work().await?;
    match store::tokens::use_refresh_token(work.tx(), &token_hash(refresh_token), now).await? {
        RefreshUse::Rotated { family_id, user_id } => {
            let pair = issue_pair(state, &mut work, user_id, &family_id, now).await?;
            work.commit().await?;
            Ok(pair)
        }
        RefreshUse::Replayed { family_id } => {
            store::tokens::revoke_family(work.tx(), &family_id, now).await?;
            work.commit().await?;
            tracing::warn!(family_id, "refresh token reused: family revoked");
            Err(Error::unauthenticated(messages::TOKEN_IS_INVALID))
        }
        RefreshUse::Unknown => Err(Error::unauthenticated(messages::TOKEN_IS_INVALID)),
    }
}

/// `POST /logout`: revokes the refresh token's family.
pub async fn logout(state: &AppState, refresh_token: &str) -> Result<Message> {
    let now = state.clock.now();
    verify_refresh(state, refresh_token, now)?;
    let mut work = state.unit_of_work().await?;
    let family = store::tokens::live_family_of(work.tx(), &token_hash(refresh_token), now)
        .await?
        .ok_or_else(|| Error::unauthenticated(messages::TOKEN_IS_INVALID))?;
    store::tokens::revoke_family(work.tx(), &family, now).await?;
    work.commit().await?;
    Ok(messages::LOGGED_OUT)
}

/// `PUT /user/change_password`. Every refresh family of the user is revoked.
pub async fn change_password(
    state: &AppState,
    user_id: i64,
    change: PasswordChange,
) -> Result<Message> {
    let user = require_verified_user(state, user_id).await?;
    if !state
        .hasher
        .verify(&change.current_password, &user.password_hash)
        .await?
        .matches
    {
        return Err(Error::invalid(messages::USER_ENTERED_INCORRECT_PASSWORD));
    }
    let hash = state.hasher.hash(&change.new_password).await?;
    let now = state.clock.now();
    let mut work = state.unit_of_work().await?;
    store::users::set_password_hash(work.tx(), user_id, &hash).await?;
    store::tokens::revoke_all_families(work.tx(), user_id, now).await?;
    work.commit().await?;
    tracing::info!(user_id, "password changed");
    Ok(messages::PASSWORD_SUCCESSFULLY_UPDATED)
}

/// `POST /user/forgot_password`: the same answer whatever the address; a verified account gets
/// a one-hour, single-use link that replaces any earlier one.
pub async fn forgot_password(state: &AppState, address: EmailAddress) -> Result<Message> {
    if let Some(user) = store::users::find_by_email(&state.db, &address.email).await?
        && user.is_email_verified
    {
        let now = state.clock.now();
        let token = random_token();
        let mut work = state.unit_of_work().await?;
        store::tokens::replace_email_token(
            work.tx(),
            user.id,
            EmailTokenPurpose::ResetPassword,
            &token_hash(&token),
            now,
            now + RESET_VALID_SECS,
        )
        .await?;
        let link = format!("{}/user/reset_password/{token}", state.config.public_url);
        work.queue_mail(Outgoing {
            template: "reset_password",
            recipient: &user.email,
            context: serde_json::json!({"name": user.name, "link": link}),
            calendar: None,
        })?;
        work.commit().await?;
    }
    Ok(messages::PASSWORD_RESET_REQUESTED)
}

/// `POST /user/reset_password`.
pub async fn reset_password(state: &AppState, reset: PasswordReset) -> Result<Message> {
    let hash = state.hasher.hash(&reset.new_password).await?;
    let now = state.clock.now();
    let mut work = state.unit_of_work().await?;
    let TokenUse::Consumed { user_id } = store::tokens::use_email_token(
        work.tx(),
        EmailTokenPurpose::ResetPassword,
        &token_hash(&reset.token),
        now,
    )
    .await?
    else {
        return Err(Error::invalid(messages::PASSWORD_RESET_TOKEN_INVALID));
    };
    store::users::set_password_hash(work.tx(), user_id, &hash).await?;
    store::tokens::revoke_all_families(work.tx(), user_id, now).await?;
    work.commit().await?;
    tracing::info!(user_id, "password reset");
    Ok(messages::PASSWORD_RESET_DONE)
}
