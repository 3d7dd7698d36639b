//! `Idempotency-Key` on the JSON API: a retry with the same key and the same request gets the
//! first answer again (status and body) and changes nothing; the same key with another request
//! gets 422; a retry while the first is still running gets 409.
//!
//! Keys are per member, so only requests with a valid access token are keyed: the header is
//! ignored on the others (registration, login, refresh, logout, whose retries are harmless or
//! refused by their own rules) and on the pages' form posts. The key is claimed (an insert)
//! before the handler runs, marked committed by the change's own transaction, and the answer
//! stored after the handler has finished: if the process dies between the commit and that
//! store, retries get 409 until the key expires (24 h) rather than act a second time.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::BODY_LIMIT;
use super::error::error;
use super::extract::AuthUser;
use crate::context::{self, RequestContext};
use crate::domain::idempotency::{fingerprint, valid_key};
use crate::domain::messages;
use crate::error::{Error, ErrorKind};
use crate::services::idempotency::{self as service, Claim, StoredAnswer};
use crate::state::AppState;

/// The request header.
pub const HEADER: &str = "idempotency-key";
/// Set on a replayed answer.
pub const REPLAYED: &str = "idempotent-replayed";

pub async fn idempotent(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if !matches!(
        *request.method(),
        Method::POST | Method::PUT | Method::DELETE
    ) || !request.headers().contains_key(HEADER)
        || is_form(&request)
    {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    let Ok(user) = AuthUser::from_request_parts(&mut parts, &state).await else {
        return next.run(Request::from_parts(parts, body)).await;
    };
    let key = parts.headers.get(HEADER).map(HeaderValue::as_bytes);
    let Some(key) = key
        .filter(|key| valid_key(key))
        .and_then(|key| std::str::from_utf8(key).ok())
        .map(str::to_owned)
    else {
        return Error::invalid(messages::IDEMPOTENCY_KEY_INVALID).into_response();
    };
    let Ok(bytes) = axum::body::to_bytes(body, BODY_LIMIT).await else {
        return error(StatusCode::PAYLOAD_TOO_LARGE, messages::PAYLOAD_TOO_LARGE).into_response();
    };
    let target = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned());
    let fingerprint = fingerprint(parts.method.as_str(), &target, &bytes);
    match service::claim(&state, user.id, &key, &fingerprint).await {
        Err(err) => err.into_response(),
        Ok(Claim::Replay(answer)) => replay(answer),
        Ok(Claim::Mismatch) => {
            Error::new(ErrorKind::Unprocessable, messages::IDEMPOTENCY_KEY_REUSED).into_response()
        }
        Ok(Claim::Busy) => Error::conflict(messages::IDEMPOTENCY_KEY_IN_USE)
            .with_retry_after(1)
            .into_response(),
        Ok(Claim::Run) => {
            let context = RequestContext {
                idempotency: Some((user.id, key.clone())),
                ..context::current()
            };
            let request = Request::from_parts(parts, Body::from(bytes));
            let response = context::scope(context, next.run(request)).await;
            keep_answer(&state, user.id, &key, response).await
        }
    }
}

/// Stores the answer for retries and sends it.
async fn keep_answer(state: &AppState, user_id: i64, key: &str, response: Response) -> Response {
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let answer = StoredAnswer {
        status: i64::from(parts.status.as_u16()),
        content_type: parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: String::from_utf8_lossy(&bytes).into_owned(),
    };
    let curable = parts.status.is_server_error()
        || parts.status == StatusCode::TOO_MANY_REQUESTS
        || parts.status == StatusCode::UNAUTHORIZED;
    let stored = if curable {
        service::release(state, user_id, key, &answer).await
    } else {
        service::complete(state, user_id, key, &answer).await
    };
    if let Err(err) = stored {
        tracing::warn!(error = %err, "the answer of an idempotent request was not stored");
    }
    Response::from_parts(parts, Body::from(bytes))
}

fn replay(answer: StoredAnswer) -> Response {
    let status = u16::try_from(answer.status)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    let mut response = (status, Bytes::from(answer.body)).into_response();
    let headers = response.headers_mut();
    if let Some(value) = answer
        .content_type
        .and_then(|v| HeaderValue::from_str(&v).ok())
    {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(REPLAYED, HeaderValue::from_static("true"));
    response
}

/// A page's form post (the pages are not part of the JSON API).
fn is_form(request: &Request) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim_start().to_ascii_lowercase())
        .is_some_and(|v| {
            v.starts_with("application/x-www-form-urlencoded") || v.starts_with("multipart/")
        })
}
