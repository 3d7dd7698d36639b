//! The HTTP edge, by audience: the JSON API (`api`), server-rendered pages (`web`) and
//! operations (`ops`: health, metrics, docs). Handlers only parse, authenticate, call a service
//! and render; this module assembles them with the middleware every request goes through.

pub mod api;
pub mod error;
pub mod extract;
pub mod ops;
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
    documented_routes().split_for_parts().1
}

/// The whole application as one service, ready to serve.
pub fn router(
    state: AppState,
) -> impl tower::Service<Request, Response = Response, Error = std::convert::Infallible, Future: Send>
+ Clone
+ Send
+ 'static {
    let (routes, openapi) = documented_routes().split_for_parts();
    let app = routes
        .with_state(state.clone())
        .route_layer(middleware::from_fn(ops::metrics::track_requests))
        .merge(ops::docs::routes(&openapi))
        .merge(ops::metrics::routes(state))
        .fallback(|| async { crate::error::Error::not_found(messages::NOT_FOUND) })
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
                    crate::error::Error::Unexpected(anyhow::anyhow!("a handler panicked")).into_response()
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
