//! The audit trail's use cases: checking the chain (`mentorship audit verify`), the admins'
//! view of it (`GET /admin/audit`) and pruning it to `AUDIT_RETENTION`.

use crate::domain::audit::{AuditEvent, AuditQuery, Event, Fault, StoredEvent, Verifier};
use crate::domain::clock::Timestamp;
use crate::domain::messages;
use crate::error::{Error, Result};
use crate::services::is_admin;
use crate::state::AppState;
use crate::store;

/// How often the chainer looks for pending events nobody announced (a process that died
/// between a change's commit and its chaining, or a command-line run).
const CHAINER_SWEEP: std::time::Duration = std::time::Duration::from_secs(5);

/// How long the chainer lets changes gather once woken: the write mix's audited changes (about
/// 800 a second) are then chained some 15 at a time instead of one or two, and the chain's
/// transactions stop competing with the changes for the database. Nobody waits on it: readers
/// of the trail chain what is pending themselves.
const CHAINER_GATHER: std::time::Duration = std::time::Duration::from_millis(20);

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
///
/// Like every reader of the trail, it first chains the events still pending (committed but not
/// chained yet: [`run_chainer`]), so it sees every change committed before it started.
pub async fn verify(state: &AppState) -> Result<Verification> {
    state.chain_pending_audit().await?;
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
    state.chain_pending_audit().await?;
    Ok(store::audit::of_member(&state.db, user_id).await?)
}

/// `GET /admin/audit`: a page of events, newest first (admins only).
pub async fn list(state: &AppState, me: i64, query: AuditQuery) -> Result<Vec<AuditEvent>> {
    if !is_admin(state, me).await? {
        return Err(Error::forbidden(messages::USER_IS_NOT_AN_ADMIN));
    }
    state.chain_pending_audit().await?;
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

/// Records an event that a flood could repeat (a refused sign-in, a refused link) at most once
/// an hour per `key`: the first occurrence of the hour is `event`, with the window in its
/// detail; the others only add to the count in `audit_throttled`. So guessing cannot flood the
/// trail, and the count still shows how much was tried.
pub async fn record_throttled(state: &AppState, key: &str, event: Event) -> Result<()> {
    let window_start = (state.clock.now() / 3_600.0).floor() * 3_600.0;
    let mut work = state.unit_of_work().await?;
    if store::audit::count_throttled(work.tx(), key, window_start).await? == 1 {
        let mut event = event;
        if let serde_json::Value::Object(detail) = &mut event.detail {
            detail.insert("window_start".into(), window_start.into());
        }
        work.audit(event);
    }
    work.commit().await
}

/// Records an event that no other change carries (a console page that only shows something,
/// say). A change records its events on its own unit of work instead
/// ([`UnitOfWork::audit`](crate::state::UnitOfWork::audit)), so the two commit together.
pub async fn record(state: &AppState, event: Event) -> Result<()> {
    let mut work = state.unit_of_work().await?;
    work.audit(event);
    work.commit().await
}

/// PostgreSQL: chains pending audit events in the background. A change stages its events and
/// wakes this task after its commit (`UnitOfWork::commit`); the task chains whatever is
/// pending, in one transaction per batch, so changes committed while it works are chained
/// together in the next round. No request waits on the chain's lock. Every instance runs one
/// (the lock keeps them in turn); each also sweeps every few seconds, and once more when it
/// stops. On SQLite changes chain in their own transaction and this returns at once.
pub async fn run_chainer(state: AppState, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    if !state.db.is_postgres() {
        return;
    }
    loop {
        if let Err(error) = state.chain_pending_audit().await {
            tracing::warn!(%error, "audit events left pending; chaining again shortly");
        }
        let woken = tokio::select! {
            _ = state.audit_wake.notified() => true,
            _ = tokio::time::sleep(CHAINER_SWEEP) => false,
            _ = shutdown.wait_for(|stop| *stop) => break,
        };
        if woken {
            // A moment for the rest of a burst to commit, so one transaction chains it all.
            tokio::time::sleep(CHAINER_GATHER).await;
        }
    }
    if let Err(error) = state.chain_pending_audit().await {
        tracing::warn!(%error, "audit events left pending at shutdown");
    }
}
