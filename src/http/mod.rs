//! The HTTP edge: routes, extractors that turn any malformed input into our JSON errors, and
//! the middleware stack. Handlers only parse, authenticate, call a service and render.

pub mod accounts;
pub mod admin;
pub mod docs;
pub mod health;
pub mod meetings;
pub mod metrics;
pub mod relations;
pub mod users;

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::{Router, middleware};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa_axum::router::OpenApiRouter;

use crate::app::AppState;
use crate::domain::messages;
use crate::error::Error;
use crate::security::jwt::{self, TokenError, TokenType};

/// Request bodies larger than this are refused with 413.
pub const BODY_LIMIT: usize = 64 * 1024;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The API's routes and their OpenAPI description, from the same handler annotations.
pub fn api(state: AppState) -> (Router, utoipa::openapi::OpenApi) {
    let (router, openapi) = api_routes().split_for_parts();
    (router.with_state(state), openapi)
}

/// Every API route, each module contributing its own.
pub fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(docs::base())
        .merge(health::routes())
        .merge(accounts::routes())
        .merge(users::routes())
        .merge(admin::routes())
        .merge(relations::routes())
        .merge(meetings::routes())
}

/// The whole application as one service, ready to serve.
pub fn router(
    state: AppState,
) -> impl tower::Service<Request, Response = Response, Error = std::convert::Infallible, Future: Send>
+ Clone
+ Send
+ 'static {
    let (api, openapi) = api(state.clone());
    let app = api
        .route_layer(middleware::from_fn(metrics::track_requests))
        .merge(docs::routes(&openapi))
        .route("/metrics", axum::routing::get(metrics::render).with_state(state))
        .fallback(|| async { Error::not_found(messages::NOT_FOUND) })
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::map_response(json_error_bodies))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
                    let request_id = request
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id)
                }))
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(CatchPanicLayer::custom(|_| {
                    tracing::error!("a handler panicked");
                    Error::new(StatusCode::INTERNAL_SERVER_ERROR, messages::INTERNAL_SERVER_ERROR).into_response()
                }))
                .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, REQUEST_TIMEOUT)),
        );
    // Trailing slashes are optional on every API route, as in the reference; this runs before
    // routing, so it wraps the router rather than being one of its layers.
    ServiceBuilder::new()
        .layer(middleware::map_request(trim_trailing_slash))
        .service(app)
}

async fn trim_trailing_slash(mut request: Request) -> Request {
    let path = request.uri().path();
    // The docs pages use their trailing slash.
    if path.len() > 1 && path.ends_with('/') && !path.starts_with("/docs") {
        let trimmed = path.trim_end_matches('/');
        let trimmed = if trimmed.is_empty() { "/" } else { trimmed };
        let new_uri = match request.uri().query() {
            Some(query) => format!("{trimmed}?{query}"),
            None => trimmed.to_owned(),
        };
        if let Ok(uri) = new_uri.parse::<Uri>() {
            *request.uri_mut() = uri;
        }
    }
    request
}

/// Responses made by the framework rather than by us (wrong method, timeouts) carry no body:
/// give them the same JSON error body as everything else, keeping their headers (`Allow`).
async fn json_error_bodies(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error())
        || response.headers().contains_key(header::CONTENT_TYPE)
    {
        return response;
    }
    let message = match status {
        StatusCode::NOT_FOUND => messages::NOT_FOUND,
        StatusCode::METHOD_NOT_ALLOWED => messages::METHOD_NOT_ALLOWED,
        StatusCode::PAYLOAD_TOO_LARGE => messages::PAYLOAD_TOO_LARGE,
        StatusCode::SERVICE_UNAVAILABLE | StatusCode::REQUEST_TIMEOUT => messages::TIMEOUT,
        s if s.is_client_error() => messages::MALFORMED_REQUEST,
        _ => messages::INTERNAL_SERVER_ERROR,
    };
    let (mut parts, _) = response.into_parts();
    let body = Error::new(status, message).into_response();
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, body.into_body())
}

/// A JSON request body, read leniently as the reference does: an empty body or `null` is
/// `None`; malformed JSON is a 400 and an oversized body a 413, both as JSON errors.
pub struct JsonBody(pub Option<Value>);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = Error;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    Error::new(StatusCode::PAYLOAD_TOO_LARGE, messages::PAYLOAD_TOO_LARGE)
                } else {
                    Error::bad_request(messages::MALFORMED_REQUEST)
                }
            })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(JsonBody(None));
        }
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Null) => Ok(JsonBody(None)),
            // PostgreSQL text cannot hold NUL, and no field has a use for it: refused here, for
            // every body, rather than failing deep in a query.
            Ok(value) if contains_nul(&value) => {
                Err(Error::bad_request(messages::TEXT_CONTAINS_NUL))
            }
            Ok(value) => Ok(JsonBody(Some(value))),
            Err(_) => Err(Error::bad_request(messages::MALFORMED_REQUEST)),
        }
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

impl JsonBody {
    pub fn as_ref(&self) -> Option<&Value> {
        self.0.as_ref()
    }
}

/// Like [`JsonBody`], but a body that is not JSON counts as no body at all: the contract answers
/// `PUT /user` with "No data for updating profile was sent." for it, not with a parse error.
pub struct LenientJsonBody(pub Option<Value>);

impl<S: Send + Sync> FromRequest<S> for LenientJsonBody {
    type Rejection = Error;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match JsonBody::from_request(request, state).await {
            Ok(JsonBody(value)) => Ok(LenientJsonBody(value)),
            Err(error) if error.code() == Some(messages::MALFORMED_REQUEST.code) => {
                Ok(LenientJsonBody(None))
            }
            Err(error) => Err(error),
        }
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
pub struct QueryParams(pub std::collections::HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let mut params = std::collections::HashMap::new();
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()).into_owned() {
            params.entry(key).or_insert(value);
        }
        Ok(QueryParams(params))
    }
}

fn bearer_token(parts: &Parts) -> Result<&str, Error> {
    // An empty header counts as none, as in the reference.
    let header = parts
        .headers
        .get(header::AUTHORIZATION)
        .filter(|value| !value.as_bytes().trim_ascii().is_empty())
        .ok_or_else(|| Error::unauthorized(messages::AUTHORISATION_TOKEN_IS_MISSING))?;
    header
        .to_str()
        .ok()
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .ok_or_else(|| Error::unauthorized(messages::TOKEN_IS_INVALID))
}

fn token_error(err: TokenError) -> Error {
    match err {
        TokenError::Expired => Error::unauthorized(messages::TOKEN_HAS_EXPIRED),
        TokenError::Invalid => Error::unauthorized(messages::TOKEN_IS_INVALID),
    }
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
        let claims = jwt::verify(&state.keys.jwt, token, TokenType::Access, state.clock.now())
            .map_err(token_error)?;
        Ok(AuthUser {
            id: claims.identity,
        })
    }
}

/// The outcome of authenticating a request, for routes that must check something else first
/// (signed links check the link before the caller). Never rejects by itself.
pub struct MaybeAuthUser(pub Result<i64, Error>);

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

/// A `{"message"}` answer with a status.
pub fn message(status: StatusCode, message: messages::Message) -> Response {
    (status, axum::Json(crate::error::MessageBody::from(message))).into_response()
}

/// An HTML page answer.
pub fn html(body: String) -> Response {
    let mut response = Response::new(Body::from(body));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}
