//! The audit trail's use cases: checking the chain (`mentorship audit verify`), the admins'
//! view of it (`GET /admin/audit`) and pruning it to `AUDIT_RETENTION`.

use crate::domain::audit::{AuditEvent, AuditQuery, Event, Fault, StoredEvent, Verifier};
use crate::domain::clock::Timestamp;
use crate::domain::messages;
use crate::error::{Error, Result};
use crate::services::is_admin;
use crate::state::AppState;
use crate::store;

/// Events read per query while verifying.
const VERIFY_BATCH: i64 = 2_000;
/// Events deleted per transaction while pruning.
const PRUNE_BATCH: i64 = 5_000;

/// What a verification found.
#[derive(Debug)]
pub enum Verification {
    /// The chain is whole: this many events checked, from the anchor to the head.
    Intact { checked: u64, first: i64, last: i64 },
    /// The first bad event.
    Broken(Fault),
}

/// Checks the whole kept chain, from the anchor to the head, in one snapshot of the database
/// (so pruning or appends running meanwhile cannot make a whole chain look broken).
pub async fn verify(state: &AppState) -> Result<Verification> {
    let mut snapshot = state.db.begin_snapshot().await?;
    let ((head_seq, head_hash), (anchor_seq, anchor_hash)) =
        store::audit::head_and_anchor(&mut snapshot).await?;
    let mut verifier = Verifier::new(anchor_seq, &anchor_hash);
    loop {
        let batch =
            store::audit::chain_after(&mut snapshot, verifier.last_seq(), VERIFY_BATCH).await?;
        for event in &batch {
            if let Err(fault) = verifier.check(event) {
                return Ok(Verification::Broken(fault));
            }
        }
        if (batch.len() as i64) < VERIFY_BATCH {
            break;
        }
    }
    let last = verifier.last_seq();
    Ok(match verifier.finish(head_seq, &head_hash) {
        Ok(checked) => Verification::Intact {
            checked,
            first: anchor_seq + 1,
            last,
        },
        Err(fault) => Verification::Broken(fault),
    })
}

/// The `purge-expired` job's part: deletes events older than `AUDIT_RETENTION` (none when it
/// is unset), oldest first, moving the anchor so the kept chain still verifies.
pub async fn prune(state: &AppState, now: Timestamp) -> Result<u64> {
    let Some(retention) = state.config.audit_retention else {
        return Ok(0);
    };
    let before = now - retention.as_secs_f64();
    let mut deleted = 0;
    loop {
        let mut work = state.unit_of_work().await?;
        let count = store::audit::prune(work.tx(), before, PRUNE_BATCH).await?;
        work.commit().await?;
        deleted += count;
        if count < PRUNE_BATCH as u64 {
            return Ok(deleted);
        }
    }
}

/// A member's own events (their data export), oldest first.
pub async fn of_member(state: &AppState, user_id: i64) -> Result<Vec<StoredEvent>> {
    Ok(store::audit::of_member(&state.db, user_id).await?)
}

/// `GET /admin/audit`: a page of events, newest first (admins only).
pub async fn list(state: &AppState, me: i64, query: AuditQuery) -> Result<Vec<AuditEvent>> {
    if !is_admin(state, me).await? {
        return Err(Error::forbidden(messages::USER_IS_NOT_AN_ADMIN));
    }
    let filter = store::audit::EventFilter {
        actor_id: query.actor_id,
        action: query.action,
        subject: query.subject,
        since: query.since,
        until: query.until,
    };
    let rows = store::audit::list(&state.db, &filter, query.page.limit, query.page.offset).await?;
    Ok(rows.into_iter().map(AuditEvent::from).collect())
}

/// Records an event that no other change carries (a console page that only shows something,
/// say). A change records its events on its own unit of work instead
/// ([`UnitOfWork::audit`](crate::state::UnitOfWork::audit)), so the two commit together.
pub async fn record(state: &AppState, event: Event) -> Result<()> {
    let mut work = state.unit_of_work().await?;
    work.audit(event);
    work.commit().await
}
