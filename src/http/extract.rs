//! Extractors: they turn a request into what a handler passes on (a command, path ids, the
//! caller), and any malformed input into the contract's JSON errors, never the framework's text.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::error;
use crate::domain::json::FromJson;
use crate::domain::messages;
use crate::error::{Error, Result};
use crate::services;
use crate::state::AppState;

/// A command read from a JSON body with its own rules ([`FromJson`]). The body is read
/// leniently, as the reference does: an empty body or `null` is no body; malformed JSON is a
/// 400 and an oversized body a 413.
pub struct Command<T>(pub T);

impl<S: Send + Sync, T: FromJson> FromRequest<S> for Command<T> {
    type Rejection = Error;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let body = match json_body(request, state).await {
            Err(err)
                if T::NON_JSON_IS_NO_BODY
                    && err.code() == Some(messages::MALFORMED_REQUEST.code) =>
            {
                None
            }
            other => other?,
        };
        T::from_json(body.as_ref()).map(Command)
    }
}

/// The body as JSON: `None` when empty or `null`.
async fn json_body<S: Send + Sync>(request: Request, state: &S) -> Result<Option<Value>> {
    let bytes = Bytes::from_request(request, state)
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                error(StatusCode::PAYLOAD_TOO_LARGE, messages::PAYLOAD_TOO_LARGE)
            } else {
                Error::invalid(messages::MALFORMED_REQUEST)
            }
        })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Null) => Ok(None),
        // PostgreSQL text cannot hold NUL, and no field has a use for it: refused here, for
        // every body, rather than failing deep in a query.
        Ok(value) if contains_nul(&value) => Err(Error::invalid(messages::TEXT_CONTAINS_NUL)),
        Ok(value) => Ok(Some(value)),
        Err(_) => Err(Error::invalid(messages::MALFORMED_REQUEST)),
    }
}

/// Whether any string of `value`, key or value, holds the NUL character.
fn contains_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(contains_nul),
        Value::Object(fields) => fields
            .iter()
            .any(|(key, value)| key.contains('\0') || contains_nul(value)),
        _ => false,
    }
}

/// Path parameters; anything that does not parse (`/users/abc`) is a 404, as in the reference.
pub struct PathParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PathParams<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| PathParams(value))
            .map_err(|_| Error::not_found(messages::NOT_FOUND))
    }
}

/// Query parameters as text, leniently: each endpoint decides what a bad value means. A key
/// given twice keeps its first value, as in the reference.
pub struct QueryParams(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let mut params = HashMap::new();
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()).into_owned() {
            params.entry(key).or_insert(value);
        }
        Ok(QueryParams(params))
    }
}

fn bearer_token(parts: &Parts) -> Result<&str> {
    // An empty header counts as none, as in the reference.
    let header = parts
        .headers
        .get(header::AUTHORIZATION)
        .filter(|value| !value.as_bytes().trim_ascii().is_empty())
        .ok_or_else(|| Error::unauthenticated(messages::AUTHORISATION_TOKEN_IS_MISSING))?;
    header
        .to_str()
        .ok()
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .ok_or_else(|| Error::unauthenticated(messages::TOKEN_IS_INVALID))
}

/// The caller, from a valid access token. Scope always comes from here, never from the body.
#[derive(Debug, Clone, Copy)]
pub struct AuthUser {
    pub id: i64,
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer_token(parts)?;
        services::accounts::authenticate(state, token).map(|id| AuthUser { id })
    }
}

/// The outcome of authenticating a request, for routes that must check something else first
/// (signed links check the link before the caller). Never rejects by itself.
pub struct MaybeAuthUser(pub Result<i64>);

impl FromRequestParts<AppState> for MaybeAuthUser {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(MaybeAuthUser(
            AuthUser::from_request_parts(parts, state)
                .await
                .map(|user| user.id),
        ))
    }
}

/// The raw refresh token of `POST /refresh` and `POST /logout` (checked by the service).
pub struct RefreshToken(pub String);

impl<S: Send + Sync> FromRequestParts<S> for RefreshToken {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        bearer_token(parts).map(|token| RefreshToken(token.to_owned()))
    }
}

/// The client's address, for login throttling.
pub struct ClientIp(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip().to_string())
            .unwrap_or_else(|| "unknown".to_owned());
        Ok(ClientIp(ip))
    }
}
