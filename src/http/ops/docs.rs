//! The OpenAPI document and Swagger UI, served from the binary so they work offline.

use axum::Router;
use axum::body::Bytes;
use axum::http::header;
use axum::routing::get;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{InfoBuilder, OpenApi, OpenApiBuilder};
use utoipa_swagger_ui::{Config, SwaggerUi};

/// The document's frame; the paths come from the handlers' annotations.
pub fn base() -> OpenApi {
    let mut openapi = OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Mentorship System API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Wire-compatible with the AnitaB.org Mentorship System backend. Errors are \
                     `{\"message\", \"code\"}`; timestamps are UNIX seconds (UTC) as numbers. \
                     Authenticate with `Authorization: Bearer <access_token>` from `POST /login`.",
                ))
                .build(),
        )
        .build();
    let components = openapi.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .build(),
        ),
    );
    openapi
}

/// `/docs` (Swagger UI), `/openapi.json` and `/swagger.json`.
pub fn routes(openapi: &OpenApi) -> Router<()> {
    // The document is served as it was serialized at start: kept as utoipa's tree of structs
    // (twice: once for each path) it held about 2.4 MB of the server's heap, for 59 KB of JSON.
    let spec = Bytes::from(serde_json::to_vec(openapi).expect("the OpenAPI document serializes"));
    let serve_spec = get(move || {
        let spec = spec.clone();
        async move { ([(header::CONTENT_TYPE, "application/json")], spec) }
    });
    Router::new()
        .merge(SwaggerUi::new("/docs").config(Config::new(["/openapi.json"])))
        .route("/openapi.json", serve_spec.clone())
        // The reference serves its spec at /swagger.json; tools pointed there keep working.
        .route("/swagger.json", serve_spec)
}
