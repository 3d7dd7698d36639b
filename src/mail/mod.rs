//! E-mail: templates rendered into the outbox inside the caller's transaction, and a delivery
//! worker that sends them (design.md §4). A request never talks to the mail server.

pub mod templates;
pub mod worker;

use serde::Serialize;

use crate::domain::clock::Timestamp;
use crate::store::{self, Tx};

/// Renders `template` for `recipient` and queues it in `tx`, so the mail exists if and only if
/// the change it reports is committed.
pub async fn queue(
    tx: &mut Tx,
    template: &str,
    recipient: &str,
    context: impl Serialize,
    now: Timestamp,
) -> anyhow::Result<()> {
    queue_with_calendar(tx, template, recipient, context, None, now).await
}

/// As [`queue`], with an iCalendar attachment.
pub async fn queue_with_calendar(
    tx: &mut Tx,
    template: &str,
    recipient: &str,
    context: impl Serialize,
    calendar: Option<&str>,
    now: Timestamp,
) -> anyhow::Result<()> {
    let rendered = templates::render(template, context)?;
    store::outbox::enqueue(
        tx,
        &[store::outbox::NewMail {
            template,
            recipient,
            subject: &rendered.subject,
            body_text: &rendered.text,
            body_html: &rendered.html,
            calendar,
        }],
        now,
    )
    .await?;
    Ok(())
}

/// A mail to render and queue with [`queue_many`].
pub struct Outgoing<'a> {
    pub template: &'static str,
    pub recipient: &'a str,
    pub context: serde_json::Value,
}

/// Renders and queues many mails in `tx` at once (the jobs' notices), as [`queue`] does one.
pub async fn queue_many(tx: &mut Tx, mails: &[Outgoing<'_>], now: Timestamp) -> anyhow::Result<()> {
    let rendered = mails
        .iter()
        .map(|mail| templates::render(mail.template, &mail.context))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let rows: Vec<store::outbox::NewMail> = mails
        .iter()
        .zip(&rendered)
        .map(|(mail, rendered)| store::outbox::NewMail {
            template: mail.template,
            recipient: mail.recipient,
            subject: &rendered.subject,
            body_text: &rendered.text,
            body_html: &rendered.html,
            calendar: None,
        })
        .collect();
    store::outbox::enqueue(tx, &rows, now).await?;
    Ok(())
}
