//! The ways mail leaves: SMTP, a folder of `.eml` files, or the log (the default, so a newcomer
//! sees the verification link in the console).

use std::time::Duration;

use anyhow::Context;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart, header::ContentType};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::Mail;
use crate::config::MailTransport;
use crate::domain::calendar::method_of;

const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a delivery failed: for now (try again later) or for good.
#[derive(Debug)]
pub enum Failure {
    /// A mail server down, a timeout, a refusal for now (4xx).
    Retry(anyhow::Error),
    /// An address that cannot be mailed, or a permanent refusal (5xx): retrying cannot help.
    Permanent(anyhow::Error),
}

impl Failure {
    pub fn is_permanent(&self) -> bool {
        matches!(self, Failure::Permanent(_))
    }

    pub fn error(&self) -> &anyhow::Error {
        match self {
            Failure::Retry(err) | Failure::Permanent(err) => err,
        }
    }
}

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

    pub async fn send(&self, mail: &Mail) -> Result<(), Failure> {
        if let Way::Log = &self.way {
            tracing::info!(
                to = %mail.recipient,
                subject = %mail.subject,
                "e-mail (SMTP_URL is unset, so it is printed instead of sent):\n{}",
                mail.text
            );
            return Ok(());
        }
        let message = build_message(&self.from, mail).map_err(Failure::Permanent)?;
        match &self.way {
            Way::Smtp(smtp) => smtp.send(message).await.map(|_| ()).map_err(|err| {
                let permanent = err.is_permanent();
                let err = anyhow::Error::new(err).context("SMTP delivery failed");
                if permanent {
                    Failure::Permanent(err)
                } else {
                    Failure::Retry(err)
                }
            }),
            Way::Folder(folder) => folder
                .send(message)
                .await
                .map(|_| ())
                .context("writing the .eml file failed")
                .map_err(Failure::Retry),
            Way::Log => Ok(()),
        }
    }

    /// Whether mail goes to the log (development only: links in it are secrets).
    pub fn is_log(&self) -> bool {
        matches!(self.way, Way::Log)
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
        Some(ics) => {
            // RFC 6047: the part's `method` parameter equals the calendar's METHOD.
            let method = method_of(ics).unwrap_or("PUBLISH");
            MultiPart::mixed().multipart(alternative).singlepart(
                Attachment::new("meeting.ics".to_owned()).body(
                    ics.clone(),
                    ContentType::parse(&format!("text/calendar; charset=utf-8; method={method}"))?,
                ),
            )
        }
    };
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(mail.subject.clone())
        .multipart(body)
        .context("building the e-mail")
}
