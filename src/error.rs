//! The error of every use case, free of HTTP: what went wrong, in the contract's words, and of
//! which kind. `http` alone turns a kind into a status code and the error into
//! `{"message", "code"}` (or an HTML page on the web routes); the CLI prints it.

use std::borrow::Cow;

use serde_json::Value;

use crate::domain::messages::{self, Message};

/// What kind of refusal an error is; `http` maps each to one status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input breaks a rule (400).
    Invalid,
    /// No valid credentials (401).
    Unauthenticated,
    /// The caller may not do this (403).
    Forbidden,
    /// What the request names does not exist (404).
    NotFound,
    /// The request clashes with the current state (409).
    Conflict,
    /// The body is larger than the server takes (413).
    PayloadTooLarge,
    /// The body is not in a format the endpoint takes (415).
    UnsupportedMediaType,
    /// The input is well-formed but cannot be processed (422).
    Unprocessable,
    /// Too many attempts; see `retry_after` (429).
    TooManyRequests,
    /// The server cannot serve the request now; see `retry_after` (503).
    Unavailable,
    /// The request took too long (503 as well, with its own message).
    Timeout,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request cannot be done, for a reason the client can read and act on.
    #[error("{}", .0.message)]
    Rejected(Rejection),
    /// Anything else: logged with its cause chain, shown as a bare "Internal Server Error".
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// A refusal: its kind, the contract's message and a stable code.
#[derive(Debug)]
pub struct Rejection {
    pub kind: ErrorKind,
    pub code: Cow<'static, str>,
    pub message: Cow<'static, str>,
    /// Per-field details, as the reference's payload validation gives them.
    pub errors: Option<Box<Value>>,
    /// Seconds after which trying again may succeed (throttling, overload).
    pub retry_after: Option<u64>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, message: Message) -> Error {
        Error::Rejected(Rejection {
            kind,
            code: Cow::Borrowed(message.code),
            message: Cow::Borrowed(message.text),
            errors: None,
            retry_after: None,
        })
    }

    /// An error whose text is computed (length rules name the field and its limits).
    pub fn with_text(kind: ErrorKind, code: &'static str, text: String) -> Error {
        Error::Rejected(Rejection {
            kind,
            code: Cow::Borrowed(code),
            message: Cow::Owned(text),
            errors: None,
            retry_after: None,
        })
    }

    pub fn invalid(message: Message) -> Error {
        Error::new(ErrorKind::Invalid, message)
    }
    pub fn unauthenticated(message: Message) -> Error {
        Error::new(ErrorKind::Unauthenticated, message)
    }
    pub fn forbidden(message: Message) -> Error {
        Error::new(ErrorKind::Forbidden, message)
    }
    pub fn not_found(message: Message) -> Error {
        Error::new(ErrorKind::NotFound, message)
    }
    pub fn conflict(message: Message) -> Error {
        Error::new(ErrorKind::Conflict, message)
    }

    /// The reference's payload-validation failure: 400 with an `errors` object per field.
    pub fn payload_validation(errors: Value) -> Error {
        let mut error = Error::invalid(messages::INPUT_PAYLOAD_VALIDATION_FAILED);
        if let Error::Rejected(rejection) = &mut error {
            rejection.errors = Some(Box::new(errors));
        }
        error
    }

    pub fn with_retry_after(mut self, seconds: u64) -> Error {
        if let Error::Rejected(rejection) = &mut self {
            rejection.retry_after = Some(seconds);
        }
        self
    }

    /// The kind of a refusal; `None` for an unexpected error.
    pub fn kind(&self) -> Option<ErrorKind> {
        match self {
            Error::Rejected(rejection) => Some(rejection.kind),
            Error::Unexpected(_) => None,
        }
    }

    /// The stable code of a refusal.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Rejected(rejection) => Some(&rejection.code),
            Error::Unexpected(_) => None,
        }
    }
}

/// Seconds a client is told to wait when the database is unavailable.
const DATABASE_RETRY_AFTER_SECS: u64 = 5;

impl From<sqlx::Error> for Error {
    /// A database that is down, overloaded or locked makes the request fail fast with a 503 the
    /// client may retry; any other database error is unexpected.
    fn from(err: sqlx::Error) -> Error {
        if is_unavailable(&err) {
            tracing::warn!(error = %err, "the database is unavailable");
            return Error::new(ErrorKind::Unavailable, messages::DATABASE_UNAVAILABLE)
                .with_retry_after(DATABASE_RETRY_AFTER_SECS);
        }
        Error::Unexpected(anyhow::Error::new(err).context("database error"))
    }
}

/// Whether a database error means "not now" rather than "wrong": no connection in time, the
/// server unreachable or refusing connections, SQLite's file locked by another process.
fn is_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => true,
        sqlx::Error::Tls(_) => true,
        sqlx::Error::Database(db) => matches!(
            db.code().as_deref(),
            // SQLite: SQLITE_BUSY, SQLITE_LOCKED (and their extended codes).
            Some("5" | "6" | "261" | "262" | "517")
            // PostgreSQL: too many connections, shutting down, starting up.
                | Some("53300" | "57P01" | "57P02" | "57P03")
        ),
        _ => false,
    }
}
