//! E-mail: the templates a service's mail is rendered with, inside its transaction, and the
//! transports that deliver it (SMTP, a folder of `.eml` files, or the log). Rendered mail
//! travels through the outbox ([`crate::outbox`]) as a [`Mail`]; a request never talks to the
//! mail server.

pub mod templates;
pub mod transport;

use serde::{Deserialize, Serialize};

/// A rendered mail, as the outbox keeps it until it is delivered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mail {
    /// The template it was rendered from (for the logs).
    pub template: String,
    pub recipient: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// An iCalendar attachment.
    pub calendar: Option<String>,
}

/// A mail to render: a template, its recipient, the values the template reads, and an
/// optional iCalendar attachment.
pub struct Outgoing<'a> {
    pub template: &'static str,
    pub recipient: &'a str,
    pub context: serde_json::Value,
    pub calendar: Option<String>,
}

impl Outgoing<'_> {
    /// Renders the mail.
    pub fn render(&self) -> anyhow::Result<Mail> {
        let rendered = templates::render(self.template, &self.context)?;
        Ok(Mail {
            template: self.template.to_owned(),
            recipient: self.recipient.to_owned(),
            subject: rendered.subject,
            text: rendered.text,
            html: rendered.html,
            calendar: self.calendar.clone(),
        })
    }
}
