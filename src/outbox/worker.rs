//! Delivers the outbox: claims due rows with a lease, hands each to the delivery of its kind,
//! marks it sent, and retries failures with backoff. It wakes when a transaction that queued a
//! message commits, and polls as well, for messages queued by other instances.

use std::time::Duration;

use tokio::sync::watch;

use super::Message;
use crate::mail::transport::{Failure, Transport};
use crate::state::AppState;
use crate::store;

/// How long a claimed row is reserved for its worker; longer than any delivery may take.
const LEASE_SECS: f64 = 120.0;
const BATCH: i64 = 20;
const POLL_EVERY: Duration = Duration::from_secs(2);
/// A row that failed this often is given up on (after about forty minutes of retries): it
/// stays in the outbox, dead, with its last error, for an operator to look at and retry.
pub const MAX_ATTEMPTS: i64 = 12;

/// Waits 1, 2, 4, ... seconds after successive failures, at most ten minutes: a mail server
/// back from a short outage gets its mail within seconds.
fn backoff_secs(attempts: i64) -> f64 {
    let exp = (attempts - 1).clamp(0, 20) as i32;
    2f64.powi(exp).min(600.0)
}

pub struct Worker {
    pub state: AppState,
    pub mail: Transport,
}

impl Worker {
    /// Runs until `shutdown` turns true; a delivery in flight is finished first.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        loop {
            let delivered_a_full_batch = match self.deliver_due().await {
                Ok(count) => count as i64 == BATCH,
                Err(err) => {
                    tracing::warn!(error = format!("{err:#}"), "outbox delivery round failed");
                    false
                }
            };
            if *shutdown.borrow() {
                return;
            }
            if delivered_a_full_batch {
                continue;
            }
            tokio::select! {
                _ = self.state.outbox_wake.notified() => {}
                _ = tokio::time::sleep(POLL_EVERY) => {}
                _ = shutdown.changed() => return,
            }
        }
    }

    /// Delivers every due row once; returns how many were claimed.
    pub async fn deliver_due(&self) -> anyhow::Result<usize> {
        let db = &self.state.db;
        let clock = &self.state.clock;
        let now = clock.now();
        let mut tx = db.begin().await?;
        let batch = store::outbox::claim_due(&mut tx, now, now + LEASE_SECS, BATCH).await?;
        tx.commit().await?;
        for row in &batch {
            let outcome = match Message::from_row(&row.kind, &row.payload) {
                Ok(message) => self.deliver(row.id, &message).await,
                Err(err) => Err(Failure::Permanent(err)),
            };
            let mut tx = db.begin().await?;
            match outcome {
                Ok(()) => {
                    store::outbox::mark_sent(&mut tx, row.id, clock.now()).await?;
                    tracing::info!(outbox_id = row.id, kind = %row.kind, "outbox message delivered");
                }
                Err(failure) => {
                    let gives_up = failure.is_permanent() || row.attempts >= MAX_ATTEMPTS;
                    let error = format!("{:#}", failure.error());
                    if gives_up {
                        tracing::error!(outbox_id = row.id, kind = %row.kind, attempts = row.attempts,
                            error, "outbox message given up on");
                        store::outbox::mark_dead(&mut tx, row.id, &error, clock.now()).await?;
                    } else {
                        let retry_at = clock.now() + backoff_secs(row.attempts);
                        tracing::warn!(outbox_id = row.id, kind = %row.kind, attempts = row.attempts,
                            error, "outbox message not delivered; will retry");
                        store::outbox::mark_failed(&mut tx, row.id, &error, retry_at).await?;
                    }
                }
            }
            tx.commit().await?;
        }
        Ok(batch.len())
    }

    /// Delivers one message, by its kind.
    async fn deliver(&self, row_id: i64, message: &Message) -> Result<(), Failure> {
        match message {
            Message::Mail(mail) => self.mail.send(mail).await,
            Message::AccountMail(request) => {
                crate::services::accounts::send_account_mail(&self.state, row_id, request)
                    .await
                    .map_err(|err| Failure::Retry(err.into()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff_secs(1), 1.0);
        assert!(backoff_secs(3) > backoff_secs(2));
        assert_eq!(backoff_secs(50), 600.0);
    }
}
