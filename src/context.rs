//! What the request behind a change says about where it came from (client address, request
//! id), carried to the unit of work without threading it through every service's arguments:
//! the HTTP layer runs each request inside [`scope`], and [`UnitOfWork`](crate::state::UnitOfWork)
//! reads it when it records audit events. Jobs and the CLI run outside any scope: their events
//! carry neither.

use std::future::Future;

use crate::domain::audit::Origin;

tokio::task_local! {
    static ORIGIN: Origin;
}

/// Runs `work` with `origin` as the origin of every change it makes.
pub async fn scope<F: Future>(origin: Origin, work: F) -> F::Output {
    ORIGIN.scope(origin, work).await
}

/// The origin of the change being made (empty outside a request).
pub fn origin() -> Origin {
    ORIGIN.try_with(Clone::clone).unwrap_or_default()
}
