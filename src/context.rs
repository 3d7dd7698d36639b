//! What the request behind a change says about it, carried to the unit of work without
//! threading it through every service's arguments: the HTTP layer runs each request inside
//! [`scope`], and [`UnitOfWork`](crate::state::UnitOfWork) reads it at commit: the origin
//! (client address, request id) for the audit events, and the idempotency key the request
//! holds, marked committed in the change's own transaction. Jobs and the CLI run outside any
//! scope: their events carry no origin.

use std::future::Future;

use crate::domain::audit::Origin;

/// The request's context.
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    pub origin: Origin,
    /// The member and the `Idempotency-Key` this request holds.
    pub idempotency: Option<(i64, String)>,
}

tokio::task_local! {
    static CONTEXT: RequestContext;
}

/// Runs `work` with `context` as the context of every change it makes.
pub async fn scope<F: Future>(context: RequestContext, work: F) -> F::Output {
    CONTEXT.scope(context, work).await
}

/// The context of the change being made (empty outside a request).
pub fn current() -> RequestContext {
    CONTEXT.try_with(Clone::clone).unwrap_or_default()
}

/// The origin of the change being made (empty outside a request).
pub fn origin() -> Origin {
    CONTEXT
        .try_with(|context| context.origin.clone())
        .unwrap_or_default()
}
