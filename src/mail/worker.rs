//! Delivers queued mail: claims due outbox rows with a lease, sends them, marks them sent, and
//! retries failures with backoff. It wakes when a transaction that queued mail commits, and
//! polls as well, for mail queued by other instances.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart, header::ContentType};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::{Notify, watch};

use crate::config::MailTransport;
use crate::domain::clock::Clock;
use crate::store::{self, Db, outbox::OutboxRow};

/// How long a claimed mail is reserved for its worker; longer than any send may take.
const LEASE_SECS: f64 = 120.0;
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);
const BATCH: i64 = 20;
const POLL_EVERY: Duration = Duration::from_secs(2);

/// The configured way out.
#[derive(Clone)]
pub enum Transport {
    Log,
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Folder(AsyncFileTransport<Tokio1Executor>),
}

impl Transport {
    pub fn from_config(config: &MailTransport) -> anyhow::Result<Transport> {
        Ok(match config {
            MailTransport::Log => Transport::Log,
            MailTransport::Smtp(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .context("SMTP_URL is not usable")?
                    .timeout(Some(SMTP_TIMEOUT))
                    .build(),
            ),
            MailTransport::Folder(dir) => {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating the mail folder {}", dir.display()))?;
                Transport::Folder(AsyncFileTransport::new(dir))
            }
        })
    }

    async fn send(&self, from: &Mailbox, mail: &OutboxRow) -> anyhow::Result<()> {
        if let Transport::Log = self {
            tracing::info!(
                to = %mail.recipient,
                subject = %mail.subject,
                "e-mail (SMTP_URL is unset, so it is printed instead of sent):\n{}",
                mail.body_text
            );
            return Ok(());
        }
        let message = build_message(from, mail)?;
        match self {
            Transport::Smtp(smtp) => smtp
                .send(message)
                .await
                .map(|_| ())
                .context("SMTP delivery failed"),
            Transport::Folder(folder) => folder
                .send(message)
                .await
                .map(|_| ())
                .context("writing the .eml file failed"),
            Transport::Log => Ok(()),
        }
    }
}

fn build_message(from: &Mailbox, mail: &OutboxRow) -> anyhow::Result<Message> {
    let to: Mailbox = mail
        .recipient
        .parse()
        .context("the recipient is not a valid address")?;
    let alternative = MultiPart::alternative()
        .singlepart(SinglePart::plain(mail.body_text.clone()))
        .singlepart(SinglePart::html(mail.body_html.clone()));
    let body = match &mail.calendar {
        None => alternative,
        Some(ics) => MultiPart::mixed().multipart(alternative).singlepart(
            Attachment::new("meeting.ics".to_owned()).body(
                ics.clone(),
                ContentType::parse("text/calendar; charset=utf-8; method=REQUEST")?,
            ),
        ),
    };
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(mail.subject.clone())
        .multipart(body)
        .context("building the e-mail")
}

/// Waits 1, 2, 4, ... seconds after successive failures, at most ten minutes: a mail server
/// back from a short outage gets its mail within seconds.
fn backoff_secs(attempts: i64) -> f64 {
    let exp = (attempts - 1).clamp(0, 20) as i32;
    2f64.powi(exp).min(600.0)
}

pub struct Worker {
    pub db: Db,
    pub transport: Transport,
    pub from: Mailbox,
    pub clock: Clock,
    pub wake: Arc<Notify>,
}

impl Worker {
    /// Runs until `shutdown` turns true; mail in flight is finished first.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        loop {
            let sent_a_full_batch = match self.deliver_due().await {
                Ok(count) => count as i64 == BATCH,
                Err(err) => {
                    tracing::warn!(error = format!("{err:#}"), "mail delivery round failed");
                    false
                }
            };
            if *shutdown.borrow() {
                return;
            }
            if sent_a_full_batch {
                continue;
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(POLL_EVERY) => {}
                _ = shutdown.changed() => return,
            }
        }
    }

    /// Sends every due mail once; returns how many were claimed.
    pub async fn deliver_due(&self) -> anyhow::Result<usize> {
        let now = self.clock.now();
        let batch = store::outbox::claim_due(&self.db, now, now + LEASE_SECS, BATCH).await?;
        for mail in &batch {
            match self.transport.send(&self.from, mail).await {
                Ok(()) => {
                    store::outbox::mark_sent(&self.db, mail.id, self.clock.now()).await?;
                    tracing::info!(mail_id = mail.id, template = %mail.template, "e-mail sent");
                }
                Err(err) => {
                    let retry_at = self.clock.now() + backoff_secs(mail.attempts);
                    tracing::warn!(
                        mail_id = mail.id,
                        attempts = mail.attempts,
                        error = format!("{err:#}"),
                        "e-mail not sent; will retry"
                    );
                    store::outbox::mark_failed(&self.db, mail.id, &format!("{err:#}"), retry_at)
                        .await?;
                }
            }
        }
        Ok(batch.len())
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
