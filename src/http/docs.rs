//! The OpenAPI document, Swagger UI (served from the binary, so it works offline), and the
//! small HTML pages that e-mailed links open.

use axum::Router;
use axum::body::Bytes;
use axum::http::header;
use axum::response::Redirect;
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
        .route("/", get(|| async { Redirect::temporary("/docs/") }))
}

/// Builds the spec without a database, for `mentorship openapi`.
pub fn openapi_document() -> OpenApi {
    super::api_routes().split_for_parts().1
}

/// Escapes text for HTML.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The page of a password reset link: a form that posts the token and the new password.
pub fn reset_password_page(token: &str) -> String {
    let token = escape(token);
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Choose a new password</title>
<style>body{{font-family:sans-serif;max-width:28em;margin:3em auto;padding:0 1em}}input,button{{font-size:1em;padding:.4em;margin:.3em 0;width:100%;box-sizing:border-box}}</style>
</head><body>
<h1>Choose a new password</h1>
<form id="reset">
<input type="hidden" name="token" value="{token}">
<label>New password (8 to 64 characters, no spaces)<input type="password" name="new_password" minlength="8" maxlength="64" required autocomplete="new-password"></label>
<button type="submit">Set my new password</button>
</form>
<p id="result" role="status"></p>
<script>
document.getElementById('reset').addEventListener('submit', async (event) => {{
  event.preventDefault();
  const form = new FormData(event.target);
  const response = await fetch('/user/reset_password', {{
    method: 'POST', headers: {{'Content-Type': 'application/json'}},
    body: JSON.stringify({{token: form.get('token'), new_password: form.get('new_password')}})
  }});
  const body = await response.json();
  document.getElementById('result').textContent = body.message;
}});
</script>
</body></html>"#
    )
}
