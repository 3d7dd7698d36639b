//! The ways mail leaves: SMTP, a folder of `.eml` files, or the log (the default, so a newcomer
//! sees the verification link in the console).

use std::time::Duration;

use anyhow::Context;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart, header::ContentType};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::Mail;
use crate::config::MailTransport;

const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// The configured way out, with the sender address.
#[derive(Clone)]
pub struct Transport {
    way: Way,
    from: Mailbox,
}

#[derive(Clone)]
enum Way {
    Log,
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Folder(AsyncFileTransport<Tokio1Executor>),
}

impl Transport {
    pub fn from_config(config: &MailTransport, from: Mailbox) -> anyhow::Result<Transport> {
        let way = match config {
            MailTransport::Log => Way::Log,
            MailTransport::Smtp(url) => Way::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .context("SMTP_URL is not usable")?
                    .timeout(Some(SMTP_TIMEOUT))
                    .build(),
            ),
            MailTransport::Folder(dir) => {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating the mail folder {}", dir.display()))?;
                Way::Folder(AsyncFileTransport::new(dir))
            }
        };
        Ok(Transport { way, from })
    }

    pub async fn send(&self, mail: &Mail) -> anyhow::Result<()> {
        match &self.way {
            Way::Log => {
                tracing::info!(
                    to = %mail.recipient,
                    subject = %mail.subject,
                    "e-mail (SMTP_URL is unset, so it is printed instead of sent):\n{}",
                    mail.text
                );
                Ok(())
            }
            Way::Smtp(smtp) => smtp
                .send(build_message(&self.from, mail)?)
                .await
                .map(|_| ())
                .context("SMTP delivery failed"),
            Way::Folder(folder) => folder
                .send(build_message(&self.from, mail)?)
                .await
                .map(|_| ())
                .context("writing the .eml file failed"),
        }
    }
}

fn build_message(from: &Mailbox, mail: &Mail) -> anyhow::Result<Message> {
    let to: Mailbox = mail
        .recipient
        .parse()
        .context("the recipient is not a valid address")?;
    let alternative = MultiPart::alternative()
        .singlepart(SinglePart::plain(mail.text.clone()))
        .singlepart(SinglePart::html(mail.html.clone()));
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
