//! Queries on `user_preferences`.

use super::{Db, Tx, with_db, with_tx};

/// A member's stored preferences; `None` when they never changed them (the defaults apply).
pub async fn get(db: &Db, user_id: i64) -> Result<Option<(String, bool)>, sqlx::Error> {
    with_db!(db, |c| sqlx::query_as::<_, (String, bool)>(
        "SELECT timezone, meeting_reminders FROM user_preferences WHERE user_id = $1"
    )
    .bind(user_id)
    .fetch_optional(c)
    .await)
}

/// Changes the given preferences, keeping the others (the defaults for a first change).
pub async fn update(
    tx: &mut Tx,
    user_id: i64,
    timezone: Option<&str>,
    meeting_reminders: Option<bool>,
) -> Result<(String, bool), sqlx::Error> {
    with_tx!(tx, |c| sqlx::query_as::<_, (String, bool)>(
        "INSERT INTO user_preferences (user_id, timezone, meeting_reminders)
         VALUES ($1, COALESCE($2, 'UTC'), COALESCE($3, TRUE))
         ON CONFLICT (user_id) DO UPDATE SET
             timezone = COALESCE($2, user_preferences.timezone),
             meeting_reminders = COALESCE($3, user_preferences.meeting_reminders)
         RETURNING timezone, meeting_reminders"
    )
    .bind(user_id)
    .bind(timezone)
    .bind(meeting_reminders)
    .fetch_one(c)
    .await)
}
