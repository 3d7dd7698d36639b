//! Mentorship relations: the request/accept workflow and the completion job.

use crate::app::AppState;
use crate::domain::clock::{Timestamp, day_month_year};
use crate::mail;
use crate::store;

const COMPLETION_BATCH: i64 = 500;

/// The daily job: completes every ACCEPTED relation whose end date has passed, in batches,
/// and tells both parties. Idempotent: a second run finds nothing to do.
pub async fn complete_expired(state: &AppState, now: Timestamp) -> anyhow::Result<u64> {
    let mut completed = 0u64;
    loop {
        let mut tx = state.db.begin().await?;
        let batch = store::relations::complete_due(&mut tx, now, COMPLETION_BATCH).await?;
        for relation in &batch {
            for party in &relation.parties {
                let other = relation
                    .parties
                    .iter()
                    .find(|p| p.user_id != party.user_id)
                    .map_or("your former partner", |p| p.name.as_str());
                let context = serde_json::json!({
                    "name": party.name, "other": other, "end_date": day_month_year(relation.end_date),
                });
                mail::queue(&mut tx, "relation_completed", &party.email, context, now).await?;
            }
        }
        state.commit_with_mail(tx).await?;
        completed += batch.len() as u64;
        if (batch.len() as i64) < COMPLETION_BATCH {
            break;
        }
    }
    Ok(completed)
}
