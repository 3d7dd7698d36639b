//! How errors are answered over HTTP: the one place where an error's kind becomes a status
//! code. The JSON API answers `{"message", "code"}` (with `errors` for the reference's payload
//! validation and `Retry-After` when it applies); web pages answer an HTML page
//! ([`super::web::PageError`]).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;

use crate::domain::messages::{self, Message};
use crate::error::{Error, ErrorKind, Rejection};

/// The status of each kind of error.
pub fn status(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::Invalid => StatusCode::BAD_REQUEST,
        ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorKind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorKind::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::Unavailable | ErrorKind::Timeout => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// The refusal an error is shown as: an unexpected error is logged with its cause chain here,
/// and shown as a bare "Internal Server Error".
pub fn shown(error: Error) -> (StatusCode, Rejection) {
    match error {
        Error::Rejected(rejection) => (status(rejection.kind), rejection),
        Error::Unexpected(err) => {
            tracing::error!(error = format!("{err:#}"), "unexpected error");
            let message = messages::INTERNAL_SERVER_ERROR;
            let rejection = Rejection {
                kind: ErrorKind::Unavailable,
                code: message.code.into(),
                message: message.text.into(),
                errors: None,
                retry_after: None,
            };
            (StatusCode::INTERNAL_SERVER_ERROR, rejection)
        }
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
        let (status, rejection) = shown(self);
        let body = ErrorBody {
            message: &rejection.message,
            code: &rejection.code,
            errors: rejection.errors.as_deref(),
        };
        let mut response = (status, axum::Json(body)).into_response();
        if let Some(seconds) = rejection.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// An error made here rather than by a service (the framework's own refusals).
pub fn error(status: StatusCode, message: Message) -> Error {
    let kind = match status {
        StatusCode::UNAUTHORIZED => ErrorKind::Unauthenticated,
        StatusCode::FORBIDDEN => ErrorKind::Forbidden,
        StatusCode::NOT_FOUND => ErrorKind::NotFound,
        StatusCode::CONFLICT => ErrorKind::Conflict,
        StatusCode::PAYLOAD_TOO_LARGE => ErrorKind::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorKind::UnsupportedMediaType,
        StatusCode::TOO_MANY_REQUESTS => ErrorKind::TooManyRequests,
        StatusCode::SERVICE_UNAVAILABLE => ErrorKind::Timeout,
        _ => ErrorKind::Invalid,
    };
    Error::new(kind, message)
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
