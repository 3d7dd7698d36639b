//! The outbox: messages a change must send, queued in the change's own transaction (by the
//! unit of work, [`crate::state::UnitOfWork`]) and delivered afterwards by one worker that
//! dispatches each row by its kind. A crash never loses a message nor sends one for a change
//! that did not commit; instances never deliver one twice.
//!
//! Mail is the first kind. A new kind (a webhook, an export) adds a variant to [`Message`] and
//! its delivery to [`worker::Worker::deliver`].

pub mod worker;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::mail::Mail;

/// A message to deliver.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// A rendered mail, sent as it is.
    Mail(Mail),
    /// A request for an account mail (verification or password reset) to an address, handled
    /// by the worker: whether the address has an account, and whether it may get another
    /// mail, is decided there, so the request that asked answers alike, and as fast, for every
    /// address.
    AccountMail(AccountMailRequest),
}

/// The kind stored with a mail.
pub const MAIL: &str = "mail";
/// The kind stored with an account mail request.
pub const ACCOUNT_MAIL: &str = "account_mail";

/// Which account mail an address asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountMailPurpose {
    VerifyEmail,
    ResetPassword,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountMailRequest {
    pub purpose: AccountMailPurpose,
    pub email: String,
}

impl Message {
    pub fn kind(&self) -> &'static str {
        match self {
            Message::Mail(_) => MAIL,
            Message::AccountMail(_) => ACCOUNT_MAIL,
        }
    }

    /// The address the message goes to, lower-cased: stored beside the payload so that a
    /// member who leaves has their unsent mail found by an index, not by reading every row.
    pub fn recipient(&self) -> String {
        match self {
            Message::Mail(mail) => mail.recipient.to_lowercase(),
            Message::AccountMail(request) => request.email.to_lowercase(),
        }
    }

    /// The payload stored with the row.
    pub fn payload(&self) -> String {
        match self {
            Message::Mail(mail) => serde_json::to_string(mail),
            Message::AccountMail(request) => serde_json::to_string(request),
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
            ACCOUNT_MAIL => Ok(Message::AccountMail(parse(payload)?)),
            other => anyhow::bail!("unknown outbox kind {other:?}"),
        }
    }
}
