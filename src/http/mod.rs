//! The HTTP edge, by audience: the JSON API (`api`), server-rendered pages (`web`) and
//! operations (`ops`: health, metrics, docs). Handlers only parse, authenticate, call a service
//! and render; this module assembles them with the middleware every request goes through.

pub mod api;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod ops;
pub mod serve;
pub mod web;

use std::time::Duration;

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa_axum::router::OpenApiRouter;

use crate::domain::messages;
use crate::state::AppState;

/// Request bodies larger than this are refused with 413.
pub const BODY_LIMIT: usize = 64 * 1024;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Every documented route (the JSON API, the pages its e-mails link to, and the health
/// probes), with the OpenAPI description made from the same handler annotations.
pub fn documented_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ops::docs::base())
        .merge(ops::health::routes())
        .merge(api::routes())
        .merge(web::routes())
}

/// The OpenAPI document, built without a database (`mentorship openapi`, the snapshot test).
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let (_, mut openapi) = documented_routes().split_for_parts();
    document_idempotency_key(&mut openapi);
    openapi
}

/// Adds the optional `Idempotency-Key` header to every authenticated `POST`, `PUT` and
/// `DELETE` of the document ([`idempotency`]).
fn document_idempotency_key(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    let header = ParameterBuilder::new()
        .name("Idempotency-Key")
        .parameter_in(ParameterIn::Header)
        .required(utoipa::openapi::Required::False)
        .description(Some(
            "1 to 255 printable ASCII characters. A retry with the same key and the same \
             request gets the first answer again and acts once; the same key for another \
             request is 422, a retry while the first runs 409. Kept 24 hours.",
        ))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(255)),
        ))
        .build();
    let error_response = utoipa::openapi::RefOr::T(
        utoipa::openapi::ResponseBuilder::new()
            .description(
                "The Idempotency-Key was invalid, is in use, or was used for another request",
            )
            .content(
                "application/json",
                utoipa::openapi::ContentBuilder::new()
                    .schema(Some(utoipa::openapi::Ref::from_schema_name(
                        "ErrorResponse",
                    )))
                    .build(),
            )
            .build(),
    );
    for item in openapi.paths.paths.values_mut() {
        for operation in [&mut item.post, &mut item.put, &mut item.delete]
            .into_iter()
            .flatten()
        {
            if operation.security.as_ref().is_some_and(|s| !s.is_empty()) {
                operation
                    .parameters
                    .get_or_insert_with(Vec::new)
                    .push(utoipa::openapi::RefOr::T(header.clone()));
                // The key's own answers (invalid 400, in use 409, reused 422), on every
                // operation that takes it; an operation's own description of a status stays.
                for status in ["400", "409", "422"] {
                    operation
                        .responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| error_response.clone());
                }
            }
        }
    }
}

/// The whole application as one service, ready to serve.
pub fn router(
    state: AppState,
) -> impl tower::Service<Request, Response = Response, Error = std::convert::Infallible, Future: Send>
+ Clone
+ Send
+ 'static {
    let (routes, mut openapi) = documented_routes().split_for_parts();
    document_idempotency_key(&mut openapi);
    let state_for_console = state.clone();
    let state_for_members = state.clone();
    let app = routes
        .with_state(state.clone())
        .route_layer(middleware::from_fn(ops::metrics::track_requests))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            idempotency::idempotent,
        ))
        .merge(ops::docs::routes(&openapi))
        .merge(ops::metrics::routes(state.clone()))
        .merge(web::static_routes())
        .merge(web::console::routes().with_state(state_for_console))
        .merge(web::member::routes().with_state(state_for_members))
        // The API's changes and the web pages' know where they came from.
        .layer(middleware::from_fn_with_state(state, with_origin))
        .fallback(|| async { crate::error::Error::not_found(messages::NOT_FOUND) })
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
        .layer(
            ServiceBuilder::new()
                .layer(middleware::map_request(drop_unusable_request_id))
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
                    let request_id = request
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    let path = redacted_path(request.uri().path());
                    tracing::info_span!("request", method = %request.method(), %path, request_id)
                }))
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(CatchPanicLayer::custom(|_| {
                    tracing::error!("a handler panicked");
                    crate::error::Error::Unexpected(anyhow::anyhow!("a handler panicked")).into_response()
                }))
                .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, REQUEST_TIMEOUT)),
        );
    // Trailing slashes are optional on every API route, as in the reference; this runs before
    // routing, so it wraps the router rather than being one of its layers.
    // The answers' finishing touches come last, so that every answer gets them, the
    // framework's own (timeouts, panics) included.
    ServiceBuilder::new()
        .layer(middleware::map_response(security_headers))
        .layer(middleware::map_response(json_error_bodies))
        .layer(middleware::map_request(trim_trailing_slash))
        .service(app)
}

/// Runs the request with its origin (client address, request id) known to every change it
/// makes, for their audit events.
async fn with_origin(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: Request,
    next: middleware::Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let origin = crate::domain::audit::Origin {
        client: Some(extract::client_ip(&parts, &state.config.trusted_proxies).to_string()),
        request_id: parts
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    };
    let context = crate::context::RequestContext {
        origin,
        idempotency: None,
    };
    crate::context::scope(context, next.run(Request::from_parts(parts, body))).await
}

/// A request id is kept only if it is short and plain (letters, digits, `.`, `_`, `-`): it is
/// echoed in the answer and written in every log line of the request, where anything else
/// could forge log entries or carry junk. Otherwise a new one is made.
async fn drop_unusable_request_id(mut request: Request) -> Request {
    let usable = request.headers().get("x-request-id").is_none_or(|id| {
        let id = id.as_bytes();
        !id.is_empty()
            && id.len() <= 64
            && id
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    });
    if !usable {
        request.headers_mut().remove("x-request-id");
    }
    request
}

/// The path as the log shows it: the secret tokens of e-mailed links left out.
pub fn redacted_path(path: &str) -> std::borrow::Cow<'_, str> {
    for prefix in ["/user/confirm_email/", "/user/reset_password/"] {
        if path.len() > prefix.len() && path.starts_with(prefix) {
            return format!("{prefix}[redacted]").into();
        }
    }
    path.into()
}

/// The policy of every HTML answer: scripts and styles from this server only (no inline
/// script), no framing, forms that post back here only.
const PAGE_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' \
    'unsafe-inline'; img-src 'self' data:; object-src 'none'; base-uri 'none'; \
    form-action 'self'; frame-ancestors 'none'";
/// The policy of every other answer: nothing to load, nothing to frame.
const DATA_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

/// Headers every answer carries: no content sniffing, no framing, and a content security
/// policy (a strict one for HTML pages).
async fn security_headers(mut response: Response) -> Response {
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    let policy = if is_html { PAGE_POLICY } else { DATA_POLICY };
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(policy));
    response
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
/// Answers that have a body already (pages, their HTML errors) are left as they are.
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
    let body = error::error(status, message).into_response();
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, body.into_body())
}

/// Marks an answer private: the signed-link and token pages and their answers must not be
/// cached, nor leak their address as a referrer.
pub fn private(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}
