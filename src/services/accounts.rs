//! Registration, e-mail verification, login, token refresh and logout, password change and reset.

use std::net::IpAddr;

use crate::domain::accounts::{
    Credentials, EmailAddress, PasswordChange, PasswordReset, REFRESH_TOKEN_TTL_SECS,
    RESET_VALID_SECS, Registration, TokenPair, VERIFICATION_VALID_SECS,
};
use crate::domain::audit::{self, Event};
use crate::domain::clock::Timestamp;
use crate::domain::limits::{self, RateDecision};
use crate::domain::messages::{self, Message};
use crate::error::{Error, ErrorKind, Result};
use crate::mail::Outgoing;
use crate::outbox::{self, AccountMailPurpose, AccountMailRequest};
use crate::security::jwt::{self, TokenError, TokenType};
use crate::security::{random_token, token_hash};
use crate::services::require_verified_user;
use crate::state::{AppState, Erasure, UnitOfWork};
use crate::store::tokens::{EmailTokenPurpose, RefreshUse, TokenUse};
use crate::store::users::UserRow;
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
    work.audit(Event::new(
        Some(user_id),
        "account.register",
        audit::user(user_id),
    ));
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
                store::substitutes::refresh_words(work.tx(), user_id).await?;
                store::users::refresh_skills(work.tx(), user_id).await?;
                work.audit(Event::new(
                    Some(user_id),
                    "email.verify",
                    audit::user(user_id),
                ));
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

/// `POST /user/resend_email`: the same answer, as fast, for unknown, unverified and verified
/// addresses (no account enumeration); only an unverified account gets a new link, at most 3
/// an hour ([`send_account_mail`] decides, behind the outbox).
pub async fn resend_verification(state: &AppState, address: EmailAddress) -> Result<Message> {
    request_account_mail(state, AccountMailPurpose::VerifyEmail, address).await?;
    Ok(messages::VERIFICATION_EMAIL_REQUESTED)
}

/// Queues the request for an account mail. The request answers before anything is known of
/// the address: the same work, the same answer, whatever the address.
async fn request_account_mail(
    state: &AppState,
    purpose: AccountMailPurpose,
    address: EmailAddress,
) -> Result<()> {
    let mut work = state.unit_of_work().await?;
    work.queue(outbox::Message::AccountMail(AccountMailRequest {
        purpose,
        email: address.email,
    }));
    work.commit().await
}

/// Handles a request for an account mail, from the outbox (exactly once: the request's row is
/// marked done in the same transaction). An unverified account gets a new verification link,
/// a verified one a password reset link; at most 3 of each kind an hour per address; any other
/// address gets nothing.
pub async fn send_account_mail(
    state: &AppState,
    request_id: i64,
    request: &AccountMailRequest,
) -> Result<()> {
    let now = state.clock.now();
    let user = store::users::find_by_email(&state.db, &request.email).await?;
    let mut work = state.unit_of_work().await?;
    store::outbox::mark_sent(work.tx(), request_id, now).await?;
    let wanted = match (&user, request.purpose) {
        (Some(user), AccountMailPurpose::VerifyEmail) => !user.is_email_verified,
        (Some(user), AccountMailPurpose::ResetPassword) => user.is_email_verified,
        (None, _) => false,
    };
    if let (Some(user), true) = (user, wanted) {
        let key = format!("mail:{:?}:{}", request.purpose, user.email.to_lowercase());
        match store::rate_limits::hit(work.tx(), &key, &limits::MAILS_PER_ADDRESS, now).await? {
            RateDecision::Refused { .. } => {
                tracing::warn!(user_id = user.id, purpose = ?request.purpose, "account mail refused: too many this hour");
            }
            RateDecision::Allowed => match request.purpose {
                AccountMailPurpose::VerifyEmail => {
                    queue_verification(state, &mut work, user.id, &user.name, &user.email, now)
                        .await?;
                }
                AccountMailPurpose::ResetPassword => {
                    queue_reset(state, &mut work, user.id, &user.name, &user.email, now).await?;
                }
            },
        }
    }
    work.commit().await
}

/// `POST /login`: tokens for a member whose credentials check out ([`check_credentials`]).
pub async fn login(
    state: &AppState,
    credentials: Credentials,
    client: IpAddr,
) -> Result<TokenPair> {
    let user = check_credentials(state, &credentials, client).await?;
    let family_id = uuid::Uuid::new_v4().to_string();
    let now = state.clock.now();
    let mut work = state.unit_of_work().await?;
    store::tokens::create_refresh_family(work.tx(), &family_id, user.id, now).await?;
    let pair = issue_pair(state, &mut work, user.id, &family_id, now).await?;
    work.audit(Event::new(
        Some(user.id),
        "login.success",
        audit::user(user.id),
    ));
    work.commit().await?;
    tracing::info!(user_id = user.id, "login succeeded");
    Ok(pair)
}

/// Counts a guess at a password against each of `keys`' limits, in one step and before the
/// password is looked at: 429 with `Retry-After` once any limit is spent. Login and password
/// change count on the same per-account key, so a stolen access token guesses no faster.
async fn throttle_password_guess(state: &AppState, keys: &[(&str, &limits::Limit)]) -> Result<()> {
    let now = state.clock.now();
    let mut work = state.unit_of_work().await?;
    for (key, limit) in keys {
        if let RateDecision::Refused { retry_after_secs } =
            store::rate_limits::hit(work.tx(), key, limit, now).await?
        {
            // Dropping the unit of work forgets the hits counted before this refusal.
            return Err(Error::new(
                ErrorKind::TooManyRequests,
                messages::TOO_MANY_LOGIN_ATTEMPTS,
            )
            .with_retry_after(retry_after_secs));
        }
    }
    work.commit().await
}

/// The verified member these credentials name, if the password is right: what logging in
/// checks, for the API and for the pages that ask for a password.
///
/// Throttled before the password is looked at (a right one included): per account and client
/// address, and per account from anywhere, counted in the database so every instance sees the
/// same counts, and counted and checked in one step, so concurrent attempts never slip past
/// the limit. An unknown login is counted and checked exactly like an account, so the throttle
/// tells no one which accounts exist.
pub async fn check_credentials(
    state: &AppState,
    credentials: &Credentials,
    client: IpAddr,
) -> Result<UserRow> {
    let user = if credentials.is_email() {
        store::users::find_by_email(&state.db, &credentials.username).await?
    } else {
        store::users::find_by_username(&state.db, &credentials.username).await?
    };
    let user_id = user.as_ref().map(|u| u.id);
    // Username and e-mail of one account count as one.
    let account = match &user {
        Some(user) => format!("user:{}", user.id),
        None => format!("login:{}", credentials.throttle_key()),
    };
    let address_key = format!("login-address:{account}:{client}");
    let throttled = throttle_password_guess(
        state,
        &[
            (&address_key, &limits::LOGIN_PER_ADDRESS),
            (
                &format!("login-account:{account}"),
                &limits::LOGIN_PER_ACCOUNT,
            ),
        ],
    )
    .await;
    // The subject names the account, never the text typed for an unknown one.
    let subject = user_id.map_or_else(|| "login:unknown".to_owned(), audit::user);
    if let Err(err) = throttled {
        tracing::warn!(user_id, %client, "login throttled");
        record_throttled(state, &subject).await?;
        return Err(err);
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
            tracing::warn!(user_id, %client, "login failed");
            let mut work = state.unit_of_work().await?;
            work.audit(Event::new(None, "login.failure", subject));
            work.commit().await?;
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
    let mut work = state.unit_of_work().await?;
    // The owner got in: their address starts afresh.
    store::rate_limits::clear(work.tx(), &address_key).await?;
    if let Some(stronger) = &stronger {
        store::users::upgrade_password_hash(work.tx(), user.id, &user.password_hash, stronger)
            .await?;
    }
    work.commit().await?;
    Ok(user)
}

/// Counts a throttled sign-in; the first of its hour is an audit event, the rest are counted,
/// so a flood of guesses cannot flood the trail.
async fn record_throttled(state: &AppState, subject: &str) -> Result<()> {
    let event = Event::new(None, "login.throttled", subject.to_owned());
    super::audit::record_throttled(state, subject, event).await
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
    let account_key = format!("login-account:user:{user_id}");
    throttle_password_guess(state, &[(&account_key, &limits::LOGIN_PER_ACCOUNT)]).await?;
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
    // A new password signs every browser out too, whoever held the old one.
    store::sessions::delete_for_user(work.tx(), user_id).await?;
    work.audit(Event::new(
        Some(user_id),
        "password.change",
        audit::user(user_id),
    ));
    work.commit().await?;
    tracing::info!(user_id, "password changed");
    Ok(messages::PASSWORD_SUCCESSFULLY_UPDATED)
}

/// `POST /user/forgot_password`: the same answer, as fast, whatever the address; a verified
/// account gets a one-hour, single-use link that replaces any earlier one, at most 3 an hour.
pub async fn forgot_password(state: &AppState, address: EmailAddress) -> Result<Message> {
    request_account_mail(state, AccountMailPurpose::ResetPassword, address).await?;
    Ok(messages::PASSWORD_RESET_REQUESTED)
}

async fn queue_reset(
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
        EmailTokenPurpose::ResetPassword,
        &token_hash(&token),
        now,
        now + RESET_VALID_SECS,
    )
    .await?;
    let link = format!("{}/user/reset_password/{token}", state.config.public_url);
    work.queue_mail(Outgoing {
        template: "reset_password",
        recipient: email,
        context: serde_json::json!({"name": name, "link": link}),
        calendar: None,
    })
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
    // A new password signs every browser out too, whoever held the old one.
    store::sessions::delete_for_user(work.tx(), user_id).await?;
    work.audit(Event::new(
        Some(user_id),
        "password.reset",
        audit::user(user_id),
    ));
    work.commit().await?;
    tracing::info!(user_id, "password reset");
    Ok(messages::PASSWORD_RESET_DONE)
}

/// Accounts still unverified this long after registering are deleted.
pub const UNVERIFIED_ACCOUNT_LIFETIME_SECS: f64 = 30.0 * 86_400.0;
/// Accounts deleted per transaction, so the job holds no long lock.
const DELETE_BATCH: i64 = 500;

/// The delete-unverified-users job: deletes accounts never verified within 30 days, in
/// batches, and erases what is kept of them elsewhere, as when a member leaves. Their pending
/// requests go with them, so nothing dangles.
pub async fn delete_never_verified(state: &AppState, now: Timestamp) -> Result<u64> {
    let cutoff = now - UNVERIFIED_ACCOUNT_LIFETIME_SECS;
    let mut deleted = 0;
    loop {
        let mut work = state.unit_of_work().await?;
        let accounts = store::users::unverified_before(work.tx(), cutoff, DELETE_BATCH).await?;
        let ids: Vec<i64> = accounts.iter().map(|(id, _, _)| *id).collect();
        if ids.is_empty() {
            break;
        }
        let count = store::users::delete_unverified(work.tx(), &ids).await?;
        for (id, email, username) in accounts {
            work.audit(
                Event::new(None, "account.delete", audit::user(id))
                    .with(serde_json::json!({"reason": "never_verified"})),
            );
            // Their unsent mail and throttling windows go too, as when a member leaves.
            work.erase(Erasure {
                user_id: id,
                email,
                username,
            });
        }
        work.commit().await?;
        deleted += count;
        if (ids.len() as i64) < DELETE_BATCH {
            break;
        }
    }
    tracing::info!(deleted, "deleted accounts never verified");
    Ok(deleted)
}
