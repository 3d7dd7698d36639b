//! The one error type of the API. Every failure becomes `{"message", "code"}` JSON with the
//! contract's status; anything unexpected is logged with its cause chain and shown as a bare 500.

use std::borrow::Cow;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;

use crate::domain::messages::{self, Message};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}", .0.message)]
    Api(ApiError),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// An error the client caused or may act on.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: Cow<'static, str>,
    pub message: Cow<'static, str>,
    /// Per-field details, as the reference's payload validation gives them.
    pub errors: Option<Box<Value>>,
    /// Seconds, sent as `Retry-After` (throttling, overload).
    pub retry_after: Option<u64>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(status: StatusCode, message: Message) -> Error {
        Error::Api(ApiError {
            status,
            code: Cow::Borrowed(message.code),
            message: Cow::Borrowed(message.text),
            errors: None,
            retry_after: None,
        })
    }

    /// An error whose text is computed (length rules name the field and its limits).
    pub fn with_text(status: StatusCode, code: &'static str, text: String) -> Error {
        Error::Api(ApiError {
            status,
            code: Cow::Borrowed(code),
            message: Cow::Owned(text),
            errors: None,
            retry_after: None,
        })
    }

    pub fn bad_request(message: Message) -> Error {
        Error::new(StatusCode::BAD_REQUEST, message)
    }
    pub fn unauthorized(message: Message) -> Error {
        Error::new(StatusCode::UNAUTHORIZED, message)
    }
    pub fn forbidden(message: Message) -> Error {
        Error::new(StatusCode::FORBIDDEN, message)
    }
    pub fn not_found(message: Message) -> Error {
        Error::new(StatusCode::NOT_FOUND, message)
    }
    pub fn conflict(message: Message) -> Error {
        Error::new(StatusCode::CONFLICT, message)
    }

    /// The reference's payload-validation failure: 400 with an `errors` object per field.
    pub fn payload_validation(errors: Value) -> Error {
        let mut error = Error::bad_request(messages::INPUT_PAYLOAD_VALIDATION_FAILED);
        if let Error::Api(api) = &mut error {
            api.errors = Some(Box::new(errors));
        }
        error
    }

    pub fn with_retry_after(mut self, seconds: u64) -> Error {
        if let Error::Api(api) = &mut self {
            api.retry_after = Some(seconds);
        }
        self
    }

    /// The status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            Error::Api(api) => api.status,
            Error::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable code of an API error.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Api(api) => Some(&api.code),
            Error::Unexpected(_) => None,
        }
    }
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Error {
        Error::Unexpected(anyhow::Error::new(err).context("database error"))
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    message: &'a str,
    code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<&'a Value>,
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        match self {
            Error::Api(api) => {
                let body = ErrorBody {
                    message: &api.message,
                    code: &api.code,
                    errors: api.errors.as_deref(),
                };
                let mut response = (api.status, axum::Json(body)).into_response();
                if let Some(seconds) = api.retry_after {
                    response
                        .headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
                }
                response
            }
            Error::Unexpected(err) => {
                tracing::error!(error = format!("{err:#}"), "unexpected error");
                Error::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    messages::INTERNAL_SERVER_ERROR,
                )
                .into_response()
            }
        }
    }
}

/// The body of every successful write: `{"message": "..."}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MessageBody {
    pub message: &'static str,
}

impl From<Message> for MessageBody {
    fn from(message: Message) -> MessageBody {
        MessageBody {
            message: message.text,
        }
    }
}

/// The body of every error: the reference's `message` plus a stable `code`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorResponse {
    /// Human-readable text, identical to the reference server's.
    pub message: String,
    /// Stable machine-readable name of the error.
    pub code: String,
    /// Per-field details of a payload validation failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<std::collections::BTreeMap<String, String>>,
}
