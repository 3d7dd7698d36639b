//! Extractors: they turn a request into what a handler passes on (a command, path ids, the
//! caller), and any malformed input into the contract's JSON errors, never the framework's text.

use std::collections::HashMap;
use std::net::IpAddr;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::error;
use super::serve::ConnectionInfo;
use crate::config::in_nets;
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
        refuse_form_types(&request)?;
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

/// A JSON command (from the apps), or the fields of one of our pages' forms (the pages work
/// without JavaScript: their forms post `application/x-www-form-urlencoded` to the same
/// action as the API, and get a page back).
pub enum JsonOrForm<T> {
    Json(T),
    Form(FormFields),
}

/// The fields of a submitted form; a field given twice keeps its first value.
#[derive(Debug, Default)]
pub struct FormFields(HashMap<String, String>);

impl FormFields {
    /// A field's value, `""` when absent.
    pub fn get(&self, name: &str) -> &str {
        self.0.get(name).map_or("", String::as_str)
    }
}

fn is_form(request: &Request) -> bool {
    content_type_essence(request).as_deref() == Some("application/x-www-form-urlencoded")
}

fn content_type_essence(request: &Request) -> Option<String> {
    let value = request.headers().get(header::CONTENT_TYPE)?.to_str().ok()?;
    Some(value.split(';').next()?.trim().to_ascii_lowercase())
}

pub async fn form_fields<S: Send + Sync>(request: Request, state: &S) -> Result<FormFields> {
    let bytes = Bytes::from_request(request, state)
        .await
        .map_err(|_| error(StatusCode::PAYLOAD_TOO_LARGE, messages::PAYLOAD_TOO_LARGE))?;
    let mut fields = HashMap::new();
    for (key, value) in url::form_urlencoded::parse(&bytes).into_owned() {
        fields.entry(key).or_insert(value);
    }
    Ok(FormFields(fields))
}

impl<S: Send + Sync, T: FromJson> FromRequest<S> for JsonOrForm<T> {
    type Rejection = Error;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if is_form(&request) {
            return form_fields(request, state).await.map(JsonOrForm::Form);
        }
        Command::<T>::from_request(request, state)
            .await
            .map(|Command(command)| JsonOrForm::Json(command))
    }
}

/// The fields of a page's form, if the request is one (`None` for any other body, which the
/// route then reads as it does without a page).
pub struct PageForm(pub Option<FormFields>);

impl<S: Send + Sync> FromRequest<S> for PageForm {
    type Rejection = Error;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if is_form(&request) {
            return form_fields(request, state).await.map(|f| PageForm(Some(f)));
        }
        Ok(PageForm(None))
    }
}

/// A web page of any site can make its visitor's browser post `text/plain`, a form or a
/// multipart body without asking (no CORS preflight): endpoints that take JSON refuse those
/// types, so no page can drive them through a visitor's browser. The apps send JSON.
fn refuse_form_types(request: &Request) -> Result<()> {
    let Some(essence) = content_type_essence(request) else {
        return Ok(());
    };
    if matches!(
        essence.as_str(),
        "text/plain" | "application/x-www-form-urlencoded" | "multipart/form-data"
    ) {
        return Err(error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            messages::UNSUPPORTED_MEDIA_TYPE,
        ));
    }
    Ok(())
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

/// The client's address, for throttling and `/metrics`: the TCP peer, unless the peer is a
/// trusted proxy (`TRUSTED_PROXIES`); then the client the proxy names, in a PROXY protocol
/// header or as the right-most address of `X-Forwarded-For` that is not itself a trusted proxy
/// (the addresses left of it were written by the client, who may lie).
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(client_ip(parts, &state.config.trusted_proxies)))
    }
}

pub fn client_ip(parts: &Parts, trusted: &[ipnet::IpNet]) -> IpAddr {
    let Some(info) = parts.extensions.get::<ConnectionInfo>() else {
        return IpAddr::from([0, 0, 0, 0]);
    };
    let mut client = info.proxied_client.unwrap_or(info.peer.ip());
    if !in_nets(trusted, info.peer.ip()) {
        return info.peer.ip();
    }
    let forwarded = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    for hop in forwarded.iter().rev() {
        if !in_nets(trusted, client) {
            break;
        }
        match hop.parse::<IpAddr>() {
            Ok(ip) => client = ip,
            // A hop that is not an address (`unknown`, garbage): trust nothing further left.
            Err(_) => break,
        }
    }
    client
}
