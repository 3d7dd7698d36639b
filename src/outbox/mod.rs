//! The outbox: messages a change must send, queued in the change's own transaction (by the
//! unit of work, [`crate::state::UnitOfWork`]) and delivered afterwards by one worker that
//! dispatches each row by its kind. A crash never loses a message nor sends one for a change
//! that did not commit; instances never deliver one twice.
//!
//! Mail is the first kind. A new kind (a webhook, an export) adds a variant to [`Message`] and
//! its delivery to [`worker::Worker::deliver`].

pub mod worker;

use serde::de::DeserializeOwned;

use crate::mail::Mail;

/// A message to deliver.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Mail(Mail),
}

/// The kind stored with a mail.
pub const MAIL: &str = "mail";

impl Message {
    pub fn kind(&self) -> &'static str {
        match self {
            Message::Mail(_) => MAIL,
        }
    }

    /// The payload stored with the row.
    pub fn payload(&self) -> String {
        match self {
            Message::Mail(mail) => serde_json::to_string(mail),
        }
        .expect("a message serializes")
    }

    /// Reads a stored row back.
    pub fn from_row(kind: &str, payload: &str) -> anyhow::Result<Message> {
        fn parse<T: DeserializeOwned>(payload: &str) -> anyhow::Result<T> {
            serde_json::from_str(payload).map_err(Into::into)
        }
        match kind {
            MAIL => Ok(Message::Mail(parse(payload)?)),
            other => anyhow::bail!("unknown outbox kind {other:?}"),
        }
    }
}
