//! What the operations endpoints read: readiness and the gauges of `/metrics`.

use crate::metrics::Snapshot;
use crate::outbox;
use crate::state::AppState;
use crate::store;

/// Readiness: whether the instance should get traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    /// Shutting down: the load balancer should take the instance out.
    Draining,
    /// The database does not answer.
    DatabaseDown,
}

pub async fn readiness(state: &AppState) -> Readiness {
    if state.is_draining() {
        return Readiness::Draining;
    }
    match state.db.ping().await {
        Ok(()) => Readiness::Ready,
        Err(err) => {
            tracing::warn!(error = %err, "readiness: the database does not answer");
            Readiness::DatabaseDown
        }
    }
}

/// The gauges read at each scrape of `/metrics`.
pub async fn metrics_snapshot(state: &AppState) -> Snapshot {
    let now = state.clock.now();
    let outbox = match store::outbox::backlog(&state.db, outbox::MAIL).await {
        Ok(backlog) => Some(crate::metrics::OutboxGauges {
            unsent: backlog.unsent,
            oldest_unsent_age: backlog.oldest_unsent_at.map_or(0.0, |t| (now - t).max(0.0)),
            dead: backlog.dead,
        }),
        Err(err) => {
            tracing::warn!(error = %err, "metrics: the outbox could not be read");
            None
        }
    };
    let (pool_connections, pool_idle) = state.db.pool_stats();
    Snapshot {
        outbox,
        pool_connections,
        pool_idle,
    }
}
