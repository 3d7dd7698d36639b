//! A browser for the server-rendered sites (the console and the member app): cookies kept by
//! hand (the test client has no cookie jar), no redirect followed, so each answer can be
//! checked; forms posted with the page's CSRF token.

use reqwest::StatusCode;
use reqwest::header::{COOKIE, SET_COOKIE};

use crate::helpers::TestApp;

/// Where a site keeps its session and how one signs in to it.
#[derive(Clone, Copy)]
pub struct Site {
    pub session_cookie: &'static str,
    /// The cookie of the anonymous forms' CSRF token (sign-in, sign-up).
    pub form_cookie: &'static str,
    pub sign_in: &'static str,
    pub home: &'static str,
}

pub const CONSOLE: Site = Site {
    session_cookie: "console_session",
    form_cookie: "console_sign_in",
    sign_in: "/console/sign-in",
    home: "/console",
};

pub const MEMBER: Site = Site {
    session_cookie: "member_session",
    form_cookie: "member_sign_in",
    sign_in: "/app/sign-in",
    home: "/app",
};

pub struct Browser {
    site: Site,
    base: String,
    pub client: reqwest::Client,
    pub session: Option<String>,
    pub csrf: String,
}

/// An answer: status, `Location`, `Set-Cookie` headers, all headers and body.
pub struct Answer {
    pub status: StatusCode,
    pub location: Option<String>,
    pub cookies: Vec<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Browser {
    pub fn new(app: &TestApp, site: Site) -> Browser {
        Browser {
            site,
            base: app.base.clone(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            session: None,
            csrf: String::new(),
        }
    }

    pub async fn send(&self, request: reqwest::RequestBuilder, cookie: Option<String>) -> Answer {
        let request = match cookie {
            Some(cookie) => request.header(COOKIE, cookie),
            None => request,
        };
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        Answer {
            status,
            location: headers
                .get("location")
                .map(|v| v.to_str().unwrap().to_owned()),
            cookies: headers
                .get_all(SET_COOKIE)
                .iter()
                .map(|v| v.to_str().unwrap().to_owned())
                .collect(),
            headers,
            body: response.text().await.unwrap(),
        }
    }

    pub fn session_cookie(&self) -> Option<String> {
        self.session
            .as_ref()
            .map(|token| format!("{}={token}", self.site.session_cookie))
    }

    /// Gets a page with the session's cookie; keeps the CSRF token of its forms.
    pub async fn get(&mut self, path: &str) -> Answer {
        let answer = self
            .send(
                self.client.get(format!("{}{path}", self.base)),
                self.session_cookie(),
            )
            .await;
        if let Some(csrf) = csrf_of(&answer.body) {
            self.csrf = csrf;
        }
        answer
    }

    /// Posts a form with the given cookie and fields (add `csrf` yourself).
    pub async fn post_raw(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        cookie: Option<String>,
    ) -> Answer {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let request = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        self.send(request, cookie).await
    }

    /// Posts a form of the session, with its CSRF token.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let mut all = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all, self.session_cookie()).await
    }

    /// Posts an anonymous form (sign-in, sign-up) with the token its page set in a cookie.
    pub async fn post_anonymous(&mut self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let form = self.get(path).await;
        assert_eq!(form.status, StatusCode::OK, "{}", form.body);
        let csrf = csrf_of(&form.body).expect("the form has a CSRF token");
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        let cookie = format!("{}={csrf}", self.site.form_cookie);
        self.post_raw(path, &all, Some(cookie)).await
    }

    /// Opens the sign-in form and posts these credentials; keeps the session on success.
    pub async fn sign_in(&mut self, login: &str, password: &str) -> Answer {
        let answer = self
            .post_anonymous(
                self.site.sign_in,
                &[("username", login), ("password", password)],
            )
            .await;
        if let Some(token) = cookie_value(&answer.cookies, self.site.session_cookie) {
            self.session = Some(token);
            let home = self.get(self.site.home).await;
            assert_eq!(home.status, StatusCode::OK, "{}", home.body);
        }
        answer
    }
}

pub fn csrf_of(html: &str) -> Option<String> {
    let start = html.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

pub fn cookie_value(cookies: &[String], name: &str) -> Option<String> {
    cookies.iter().find_map(|c| {
        let (pair, _) = c.split_once(';').unwrap_or((c, ""));
        let (key, value) = pair.split_once('=')?;
        (key == name && !value.is_empty()).then(|| value.to_owned())
    })
}
