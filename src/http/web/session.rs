//! Cookie sessions and CSRF tokens of the web layer: the console and the member web app
//! (each with its own cookie name, path and [`Audience`]). The cookie holds a random
//! token whose hash names a server-side row ([`crate::services::sessions`]), so signing out
//! really ends it. The JSON API never reads these cookies: its caller is a Bearer token only.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::domain::messages::{self, Message};
use crate::domain::sessions::{ABSOLUTE_TIMEOUT_SECS, Audience};
use crate::error::Error;
use crate::services::sessions::{self, Session};
use crate::state::AppState;

/// The policy of the console's and the member app's pages: nothing but this server's
/// stylesheet and images; no script at all, no framing, forms post back here only.
const SESSION_PAGE_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
    form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The headers of every console and member page (a response layer): private, never cached,
/// no referrer beyond this site, the strict policy.
pub async fn session_page_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(SESSION_PAGE_POLICY),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// The text of the success notice a page was redirected with (`?notice=CODE`), if its code is
/// one of `allowed`: a link cannot make a page say anything else.
pub fn notice(
    query: &crate::http::extract::QueryParams,
    allowed: &[Message],
) -> Option<&'static str> {
    let code = query.0.get("notice")?;
    allowed.iter().find(|m| m.code == code).map(|m| m.text)
}

/// Where a session's cookie lives.
#[derive(Debug, Clone, Copy)]
pub struct SessionCookie {
    pub name: &'static str,
    /// The path the browser sends it to: nothing outside it ever sees the cookie.
    pub path: &'static str,
    pub audience: Audience,
    /// Where a request without a live session is sent.
    pub sign_in: &'static str,
}

/// The console's session cookie.
pub const CONSOLE: SessionCookie = SessionCookie {
    name: "console_session",
    path: "/console",
    audience: Audience::Console,
    sign_in: "/console/sign-in",
};

/// The member web app's session cookie: its own name, path (`/app`) and audience, so a
/// console session never opens a member page nor the reverse.
pub const MEMBER: SessionCookie = SessionCookie {
    name: "member_session",
    path: "/app",
    audience: Audience::Member,
    sign_in: "/app/sign-in",
};

/// The cookie of the sign-in form's CSRF token (no session exists yet to hold one), sent back
/// only to the form's own address.
pub const SIGN_IN_CSRF: &str = "console_sign_in";
/// The same for the member app's sign-in form.
pub const MEMBER_SIGN_IN_CSRF: &str = "member_sign_in";

/// `Secure` when the server's public address is https (the cookie then never travels in
/// clear); plain http stays usable on a developer's machine.
pub fn secure(state: &AppState) -> bool {
    state.config.public_url.starts_with("https://")
}

/// A `Set-Cookie` value: `HttpOnly` (no script reads it), `SameSite=Strict` (no other site's
/// page sends it), on `path` only.
pub fn cookie(name: &str, value: &str, path: &str, max_age: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
    ))
    .expect("cookie values are URL-safe tokens")
}

impl SessionCookie {
    /// The cookie that carries a new session's token. It outlives no session (absolute timeout).
    pub fn set(&self, token: &str, secure: bool) -> HeaderValue {
        cookie(
            self.name,
            token,
            self.path,
            ABSOLUTE_TIMEOUT_SECS as i64,
            secure,
        )
    }

    /// The cookie that makes the browser forget the session.
    pub fn clear(&self, secure: bool) -> HeaderValue {
        cookie(self.name, "", self.path, 0, secure)
    }
}

/// A cookie's value from the request's `Cookie` headers.
pub fn read_cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
        .filter(|value| !value.is_empty())
}

/// A redirect after a form (303: the browser follows it with a GET).
pub fn see_other(location: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(
            header::LOCATION,
            HeaderValue::from_str(location).unwrap_or(HeaderValue::from_static("/")),
        )],
    )
        .into_response()
}

/// The live session of `cookie` in the request. Without one (none, expired, signed out, or
/// for the console a member no longer an admin) the browser is sent to the sign-in page, and
/// its stale cookie is dropped.
async fn session_of(
    parts: &Parts,
    state: &AppState,
    cookie: SessionCookie,
) -> Result<Session, Response> {
    let Some(token) = read_cookie(&parts.headers, cookie.name) else {
        return Err(see_other(cookie.sign_in));
    };
    match sessions::authenticate(state, token, cookie.audience).await {
        Ok(session) => Ok(session),
        Err(Error::Rejected(_)) => {
            let mut response = see_other(cookie.sign_in);
            response
                .headers_mut()
                .insert(header::SET_COOKIE, cookie.clear(secure(state)));
            Err(response)
        }
        Err(err) => Err(super::PageError(err).into_response()),
    }
}

/// The signed-in admin of a console request.
pub struct ConsoleSession(pub Session);

impl FromRequestParts<AppState> for ConsoleSession {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        session_of(parts, state, CONSOLE).await.map(ConsoleSession)
    }
}

/// The signed-in member of a member app request.
pub struct MemberSession(pub Session);

impl FromRequestParts<AppState> for MemberSession {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        session_of(parts, state, MEMBER).await.map(MemberSession)
    }
}

/// Refuses a form posted from another site, when the browser says so (`Sec-Fetch-Site`). The
/// CSRF token is the defence; this is a second one that costs nothing.
pub fn from_another_site(headers: &HeaderMap) -> bool {
    headers
        .get("sec-fetch-site")
        .is_some_and(|value| value.as_bytes() == b"cross-site")
}

/// Checks a session form's CSRF token (`csrf` field) and where it comes from.
pub fn check_form(session: &Session, headers: &HeaderMap, csrf: &str) -> Result<(), Error> {
    if from_another_site(headers) {
        return Err(Error::forbidden(messages::CONSOLE_FORM_EXPIRED));
    }
    session.check_csrf(csrf)
}
