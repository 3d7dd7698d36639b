//! Profiles, account deletion and the member directory.

use crate::domain::audit::{self, Event};
use crate::domain::clock::iso_naive;
use crate::domain::messages::{self, Message};
use crate::domain::users::{
    DirectoryQuery, Preferences, PreferencesUpdate, ProfileUpdate, PublicUser, UserProfile,
};
use crate::error::{Error, Result};
use crate::mail::Outgoing;
use crate::services::require_verified_user;
use crate::state::{AppState, Erasure};
use crate::store::users::{PublicUserRow, UserFilter, UserRow};
use crate::store::{self, Constraint, OnConstraint};

/// `GET /user`.
pub async fn me(state: &AppState, user_id: i64) -> Result<UserProfile> {
    require_verified_user(state, user_id)
        .await
        .map(profile_view)
}

/// `PUT /user`.
pub async fn update_me(state: &AppState, user_id: i64, update: ProfileUpdate) -> Result<Message> {
    require_verified_user(state, user_id).await?;
    let taken = || Error::invalid(messages::USER_USES_A_USERNAME_THAT_ALREADY_EXISTS);
    if let Some(username) = &update.username {
        // Keeping one's own username is not a conflict (the reference said it was).
        if store::users::username_taken_by_other(&state.db, username, user_id).await? {
            return Err(taken());
        }
    }
    let mut work = state.unit_of_work().await?;
    store::users::update_profile(work.tx(), user_id, &update)
        .await
        .on_constraint(Constraint::UsernameTaken, taken)?;
    store::substitutes::refresh_words(work.tx(), user_id).await?;
    store::users::refresh_skills(work.tx(), user_id).await?;
    work.commit().await?;
    Ok(messages::USER_SUCCESSFULLY_UPDATED)
}

/// `DELETE /user`. The other party's relations stay readable (the deleted party shows as
/// null); a current relation is cancelled and the other party told; pending requests go.
pub async fn delete_me(state: &AppState, user_id: i64) -> Result<Message> {
    require_verified_user(state, user_id).await?;
    let now = state.clock.now();
    let mut work = state.unit_of_work().await?;
    // The admins first: the lock order of every change to the set of admins.
    let admins = store::users::lock_admins(work.tx()).await?;
    let user = store::users::lock_by_id(work.tx(), user_id)
        .await?
        .ok_or_else(|| Error::not_found(messages::USER_DOES_NOT_EXIST))?;
    if user.is_admin && admins.len() <= 1 {
        return Err(Error::invalid(messages::USER_CANT_DELETE));
    }
    let ended = store::relations::end_relations_of_leaving_users(work.tx(), &[user_id]).await?;
    super::meetings::cancel_for_ended_relations(state, &mut work, &ended.cancelled, now).await?;
    super::substitutes::release_leaving_member(state, &mut work, user_id, now).await?;
    for partner in &ended.partners {
        work.queue_mail(Outgoing {
            template: "relation_partner_left",
            recipient: &partner.email,
            context: serde_json::json!({"name": partner.name}),
            calendar: None,
        })?;
    }
    store::users::delete(work.tx(), user_id).await?;
    work.audit(Event::new(
        Some(user_id),
        "account.delete",
        audit::user(user_id),
    ));
    work.erase(Erasure {
        user_id,
        email: user.email.clone(),
        username: user.username.clone(),
    });
    work.commit().await?;
    tracing::info!(user_id, "account deleted");
    Ok(messages::USER_SUCCESSFULLY_DELETED)
}

/// `GET /user/preferences`.
pub async fn preferences(state: &AppState, user_id: i64) -> Result<Preferences> {
    require_verified_user(state, user_id).await?;
    Ok(match store::preferences::get(&state.db, user_id).await? {
        Some((timezone, meeting_reminders)) => Preferences {
            timezone,
            meeting_reminders,
        },
        None => Preferences::default(),
    })
}

/// `PUT /user/preferences`: the given preferences change, the others stay.
pub async fn update_preferences(
    state: &AppState,
    user_id: i64,
    update: PreferencesUpdate,
) -> Result<Preferences> {
    require_verified_user(state, user_id).await?;
    let mut work = state.unit_of_work().await?;
    let (timezone, meeting_reminders) = store::preferences::update(
        work.tx(),
        user_id,
        update.timezone.map(|zone| zone.name()),
        update.meeting_reminders,
    )
    .await?;
    work.commit().await?;
    Ok(Preferences {
        timezone,
        meeting_reminders,
    })
}

/// `GET /users` and `GET /users/verified`: other members, by id.
pub async fn directory(
    state: &AppState,
    requester: i64,
    verified_only: bool,
    query: DirectoryQuery,
) -> Result<Vec<PublicUser>> {
    if query.finds_no_one() {
        return Ok(Vec::new());
    }
    let filter = UserFilter {
        exclude_id: requester,
        verified_only,
        search: query.search,
        need_mentoring: query.need_mentoring,
        available_to_mentor: query.available_to_mentor,
        skills: query.skills,
    };
    let rows = store::users::list_public(&state.db, &filter, query.limit, query.offset).await?;
    Ok(rows.into_iter().map(public_view).collect())
}

/// `GET /users/<id>`.
pub async fn public_profile(state: &AppState, user_id: i64) -> Result<PublicUser> {
    let user = store::users::public_by_id(&state.db, user_id)
        .await?
        .ok_or_else(|| Error::not_found(messages::USER_DOES_NOT_EXIST))?;
    if !user.is_email_verified {
        return Err(Error::forbidden(
            messages::USER_HAS_NOT_VERIFIED_EMAIL_BEFORE_LOGIN,
        ));
    }
    Ok(public_view(user))
}

fn profile_view(u: UserRow) -> UserProfile {
    UserProfile {
        id: u.id,
        name: u.name,
        username: u.username,
        email: u.email,
        terms_and_conditions_checked: u.terms_and_conditions_checked,
        is_admin: u.is_admin,
        registration_date: u.registration_date,
        is_email_verified: u.is_email_verified,
        email_verification_date: u.email_verification_date.map(iso_naive),
        bio: u.bio,
        location: u.location,
        occupation: u.occupation,
        organization: u.organization,
        slack_username: u.slack_username,
        social_media_links: u.social_media_links,
        skills: u.skills,
        interests: u.interests,
        resume_url: u.resume_url,
        photo_url: u.photo_url,
        need_mentoring: u.need_mentoring,
        available_to_mentor: u.available_to_mentor,
        current_mentorship_role: None,
        membership_status: None,
    }
}

fn public_view(u: PublicUserRow) -> PublicUser {
    PublicUser {
        id: u.id,
        username: u.username,
        name: u.name,
        slack_username: u.slack_username,
        bio: u.bio,
        location: u.location,
        occupation: u.occupation,
        organization: u.organization,
        interests: u.interests,
        skills: u.skills,
        need_mentoring: u.need_mentoring,
        available_to_mentor: u.available_to_mentor,
        is_available: u.is_available,
        registration_date: u.registration_date,
    }
}
