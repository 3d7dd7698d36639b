//! The member web app (`/app`): sign-up, verification by a page, sign-in and out with a cookie
//! session of its own that neither the console nor the JSON API accept; CSRF on every form;
//! each page's actions through forms; and parity with the API: the same cases refused with the
//! same message.

use reqwest::StatusCode;
use reqwest::header::COOKIE;
use serde_json::json;

use crate::db_tests;
use crate::helpers::{DbKind, PASSWORD, TestApp, User};
use crate::meetings::{accepted_relation, confirmed_meeting};
use crate::web_browser::{Browser, MEMBER, cookie_value, csrf_of};

const DAY: f64 = 86_400.0;

/// HTML text as read (the few entities minijinja writes).
fn unescape(html: &str) -> String {
    html.replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#x2f;", "/")
        .replace("&amp;", "&")
}

/// A verified member (through the API helpers) signed in to the web app.
async fn signed_in(app: &TestApp, username: &str, extra: serde_json::Value) -> (User, Browser) {
    let user = app.user(username, extra).await;
    let mut browser = Browser::new(app, MEMBER);
    let answer = browser.sign_in(username, PASSWORD).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    (user, browser)
}

/// A day as the request form's date field takes it, `days` from the test clock's now.
fn day_from_now(app: &TestApp, days: f64) -> String {
    chrono::DateTime::from_timestamp((app.clock.now() + days * DAY) as i64, 0)
        .unwrap()
        .format("%Y-%m-%d")
        .to_string()
}

db_tests!(
    a_member_signs_up_verifies_on_a_page_and_signs_in_and_out,
    every_member_form_needs_its_csrf_token,
    member_console_and_api_credentials_never_cross,
    a_member_edits_profile_preferences_password_and_deletes_the_account,
    the_directory_finds_members_and_a_request_is_sent_from_a_members_page,
    relations_are_answered_cancelled_and_withdrawn_from_my_relations,
    the_web_app_and_the_api_refuse_the_same_requests_with_the_same_message,
    a_relations_page_carries_tasks_comments_and_meetings,
    a_substitute_is_chosen_invited_and_answers_from_the_app_or_the_link,
    my_data_downloads_as_the_apis_export,
);

async fn a_member_signs_up_verifies_on_a_page_and_signs_in_and_out(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let mut browser = Browser::new(&app, MEMBER);
    // A rule broken: the form again, with the API's message and what was typed.
    let answer = browser
        .post_anonymous(
            "/app/sign-up",
            &[
                ("name", "Ada Lovelace"),
                ("username", "ada_lovelace"),
                ("email", "ada@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(unescape(&answer.body).contains("Terms and conditions are not checked."));
    assert!(answer.body.contains("value=\"ada@example.com\""));
    let answer = browser
        .post_anonymous(
            "/app/sign-up",
            &[
                ("name", "Ada Lovelace"),
                ("username", "ada_lovelace"),
                ("email", "ada@example.com"),
                ("password", PASSWORD),
                ("terms_and_conditions_checked", "on"),
                ("available_to_mentor", "on"),
            ],
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    assert!(answer.body.contains("A confirmation email has been sent"));
    // Not verified yet: the sign-in says so.
    let refused = browser.sign_in("ada_lovelace", PASSWORD).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(browser.session.is_none());
    // The e-mailed link, opened by a browser, is a page that leads to the sign-in.
    let mails = app.mail.wait_for("ada@example.com", 1).await;
    let link = mails[0]
        .link(&format!("{}/user/confirm_email/", app.base))
        .unwrap();
    let page = app
        .client
        .get(&link)
        .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text().await.unwrap();
    assert!(
        html.contains("You have confirmed your account. Thanks!"),
        "{html}"
    );
    assert!(html.contains("href=\"/app/sign-in\""));
    // API clients still get JSON from the same address.
    let (status, body) = app.get(link.trim_start_matches(&app.base), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["message"], "Account already confirmed.");

    let answer = browser.sign_in("ada_lovelace", PASSWORD).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.location.as_deref(), Some("/app"));
    let cookie = answer
        .cookies
        .iter()
        .find(|c| c.starts_with("member_session="))
        .unwrap();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/app", "Max-Age=43200"] {
        assert!(cookie.contains(attribute), "{cookie} has {attribute}");
    }
    let home = browser.get("/app").await;
    assert!(home.body.contains("Welcome, Ada Lovelace."));
    assert!(home.body.contains("Pending requests"));
    // `/` leads to the app; the API docs stay at /docs.
    let root = browser.get("/").await;
    assert_eq!(root.status, StatusCode::SEE_OTHER);
    assert_eq!(root.location.as_deref(), Some("/app"));

    let out = browser.post("/app/sign-out", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(out.location.unwrap().starts_with("/app/sign-in?notice="));
    assert!(
        out.cookies
            .iter()
            .any(|c| c.starts_with("member_session=;"))
    );
    // The old cookie opens nothing any more.
    let again = browser.get("/app").await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert_eq!(again.location.as_deref(), Some("/app/sign-in"));
    // Without a session every page sends the browser to the sign-in.
    let mut stranger = Browser::new(&app, MEMBER);
    for path in ["/app", "/app/profile", "/app/members", "/app/relations"] {
        let answer = stranger.get(path).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(answer.location.as_deref(), Some("/app/sign-in"), "{path}");
    }
    // Wrong password: the API's message.
    let wrong = stranger.sign_in("ada_lovelace", "not-the-password").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("Username or password is wrong."));
}

async fn every_member_form_needs_its_csrf_token(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (user, browser) = signed_in(&app, "carol_c", json!({})).await;
    let cookie = browser.session_cookie();
    for csrf in [None, Some("wrong")] {
        let mut fields = vec![("name", "Mallory"), ("username", "carol_c")];
        if let Some(csrf) = csrf {
            fields.push(("csrf", csrf));
        }
        let answer = browser
            .post_raw("/app/profile", &fields, cookie.clone())
            .await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{csrf:?}");
        assert!(answer.body.contains("This form has expired"));
    }
    // A form posted from another site is refused even with the token.
    let answer = browser
        .send(
            browser
                .client
                .post(format!("{}/app/sign-out", app.base))
                .header("content-type", "application/x-www-form-urlencoded")
                .header("sec-fetch-site", "cross-site")
                .body(format!("csrf={}", browser.csrf)),
            cookie.clone(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    let (_, me) = app.get("/user", Some(&user.token)).await;
    assert_eq!(me["name"], "Test User");
    // Sign-in and sign-up without the form's cookie are refused.
    let bare = Browser::new(&app, MEMBER);
    for path in ["/app/sign-in", "/app/sign-up"] {
        let answer = bare
            .post_raw(
                path,
                &[
                    ("csrf", "x"),
                    ("username", "carol_c"),
                    ("password", PASSWORD),
                ],
                None,
            )
            .await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{path}");
    }
}

async fn member_console_and_api_credentials_never_cross(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (user, browser) = signed_in(&app, "dave_d", json!({})).await;
    mentorship::services::admin::grant_by_operator(app.state(), "dave_d")
        .await
        .unwrap();
    let token = browser.session.clone().unwrap();
    // The member cookie, under the console's name or its own, opens no console page.
    for cookie in [
        format!("member_session={token}"),
        format!("console_session={token}"),
    ] {
        let answer = browser
            .send(
                browser.client.get(format!("{}/console", app.base)),
                Some(cookie),
            )
            .await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER);
        assert_eq!(answer.location.as_deref(), Some("/console/sign-in"));
    }
    // A console session opens no member page.
    let form = browser
        .send(
            browser.client.get(format!("{}/console/sign-in", app.base)),
            None,
        )
        .await;
    let csrf = csrf_of(&form.body).unwrap();
    let console = browser
        .post_raw(
            "/console/sign-in",
            &[
                ("csrf", &csrf),
                ("username", "dave_d"),
                ("password", PASSWORD),
            ],
            Some(format!("console_sign_in={csrf}")),
        )
        .await;
    let console_token = cookie_value(&console.cookies, "console_session").unwrap();
    let answer = browser
        .send(
            browser.client.get(format!("{}/app", app.base)),
            Some(format!("member_session={console_token}")),
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.location.as_deref(), Some("/app/sign-in"));
    // The JSON API takes neither the cookie nor its token as a Bearer token.
    let answer = app
        .client
        .get(app.url("/user"))
        .header(COOKIE, format!("member_session={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    let (status, _) = app.get("/user", Some(&token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app.get("/user", Some(&user.token)).await;
    assert_eq!(status, StatusCode::OK);
}

async fn a_member_edits_profile_preferences_password_and_deletes_the_account(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (user, mut browser) = signed_in(&app, "erin_e", json!({})).await;
    let page = browser.get("/app/profile").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("erin_e@example.com"));
    for label in ["for=\"p-bio\"", "for=\"p-photo_url\"", "for=\"timezone\""] {
        assert!(page.body.contains(label), "{label}");
    }
    let answer = browser
        .post(
            "/app/profile",
            &[
                ("name", "Erin Example"),
                ("username", "erin_e"),
                ("bio", "Rust and <b>SQL</b>"),
                ("skills", "rust, sql"),
                ("location", "Lisbon"),
                ("photo_url", ""),
                ("available_to_mentor", "on"),
            ],
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    assert_eq!(
        answer.location.as_deref(),
        Some("/app/profile?notice=USER_SUCCESSFULLY_UPDATED")
    );
    let (_, me) = app.get("/user", Some(&user.token)).await;
    assert_eq!(me["name"], "Erin Example");
    assert_eq!(me["bio"], "Rust and <b>SQL</b>");
    assert_eq!(me["skills"], "rust, sql");
    assert_eq!(me["available_to_mentor"], true);
    assert_eq!(me["need_mentoring"], false);
    let page = browser
        .get("/app/profile?notice=USER_SUCCESSFULLY_UPDATED")
        .await;
    assert!(page.body.contains("User was updated successfully."));
    assert!(page.body.contains("Rust and &lt;b&gt;SQL&lt;"));
    // A rule of the API: its message.
    let answer = browser
        .post(
            "/app/profile",
            &[
                ("name", "Erin"),
                ("username", "x"),
                ("photo_url", "not a url"),
            ],
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    let (status, api) = app
        .put("/user", Some(&user.token), json!({"username": "x"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        unescape(&answer.body).contains(api["message"].as_str().unwrap()),
        "{api}"
    );

    // Preferences: times then read in the zone.
    let answer = browser
        .post("/app/preferences", &[("timezone", "Europe/Paris")])
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let (_, preferences) = app.get("/user/preferences", Some(&user.token)).await;
    assert_eq!(
        preferences,
        json!({"timezone": "Europe/Paris", "meeting_reminders": false})
    );
    let page = browser.get("/app").await;
    assert!(unescape(&page.body).contains("Times are shown in Europe/Paris"));
    let answer = browser
        .post("/app/preferences", &[("timezone", "Mars/Olympus")])
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);

    // Password: the old one stops working.
    let answer = browser
        .post(
            "/app/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "another-pass-1"),
            ],
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    assert_eq!(
        answer.location.as_deref(),
        Some("/app/sign-in?notice=PASSWORD_SUCCESSFULLY_UPDATED")
    );
    // Every session ended with the old password, this one too.
    assert_eq!(browser.get("/app").await.status, StatusCode::SEE_OTHER);
    let again = browser.sign_in("erin_e", "another-pass-1").await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    let (status, _) = app.login("erin_e", PASSWORD).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app.login("erin_e", "another-pass-1").await;
    assert_eq!(status, StatusCode::OK);

    // Delete: only when confirmed; then the account and its session are gone.
    let answer = browser.post("/app/delete-account", &[]).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    let answer = browser
        .post("/app/delete-account", &[("confirm", "on")])
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    assert_eq!(
        answer.location.as_deref(),
        Some("/app/sign-in?notice=USER_SUCCESSFULLY_DELETED")
    );
    let (status, _) = app.login("erin_e", "another-pass-1").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let again = browser.get("/app").await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
}

async fn the_directory_finds_members_and_a_request_is_sent_from_a_members_page(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let mentor = app
        .user("grace_mentor", json!({"available_to_mentor": true}))
        .await;
    app.user("henry_mentee", json!({"need_mentoring": true}))
        .await;
    app.register("never_verified", json!({"available_to_mentor": true}))
        .await;
    let (mentee, mut browser) =
        signed_in(&app, "ivy_mentee", json!({"need_mentoring": true})).await;
    let page = browser.get("/app/members").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("grace_mentor") && page.body.contains("henry_mentee"));
    assert!(!page.body.contains("never_verified"));
    let page = browser.get("/app/members?available_to_mentor=true").await;
    assert!(page.body.contains("grace_mentor") && !page.body.contains("henry_mentee"));
    let page = browser.get("/app/members?search=HENRY").await;
    assert!(!page.body.contains("grace_mentor") && page.body.contains("henry_mentee"));
    let (status, _) = app
        .put(
            "/user",
            Some(&mentor.token),
            json!({"skills": "Rust, public speaking"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let page = browser.get("/app/members?skills=speaking+rust").await;
    assert!(page.body.contains("grace_mentor") && !page.body.contains("henry_mentee"));
    assert!(
        page.body.contains(r#"value="speaking rust""#),
        "the filter stays in its field"
    );

    let page = browser.get(&format!("/app/members/{}", mentor.id)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Send a mentorship request"));
    let end = day_from_now(&app, 70.0);
    let answer = browser
        .post(
            &format!("/app/members/{}/request", mentor.id),
            &[("role", "mentee"), ("end_date", &end), ("notes", "Hello!")],
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    assert_eq!(
        answer.location.as_deref(),
        Some("/app/relations?notice=MENTORSHIP_RELATION_WAS_SENT_SUCCESSFULLY")
    );
    let (_, pending) = app
        .get("/mentorship_relations/pending", Some(&mentor.token))
        .await;
    assert_eq!(pending[0]["mentee"]["id"], mentee.id);
    assert_eq!(pending[0]["mentor"]["id"], mentor.id);
    assert_eq!(pending[0]["notes"], "Hello!");
    let page = browser.get("/app/members/999999").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
}

async fn relations_are_answered_cancelled_and_withdrawn_from_my_relations(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (mentor, mut browser) =
        signed_in(&app, "judy_mentor", json!({"available_to_mentor": true})).await;
    let mentee = app
        .user("kim_mentee", json!({"need_mentoring": true}))
        .await;
    let other = app
        .user("leo_mentee", json!({"need_mentoring": true}))
        .await;
    let send = |from: &User, mentee_id: i64| {
        let body = json!({"mentor_id": mentor.id, "mentee_id": mentee_id, "notes": "",
            "end_date": app.clock.now() + 70.0 * DAY});
        let token = from.token.clone();
        let app = &app;
        async move {
            let (status, body) = app
                .post("/mentorship_relation/send_request", Some(&token), body)
                .await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
        }
    };
    send(&mentee, mentee.id).await;
    send(&other, other.id).await;
    let (_, list) = app.get("/mentorship_relations", Some(&mentor.token)).await;
    let id_of = |mentee_id: i64| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|r| r["mentee"]["id"] == mentee_id)
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let (first, second) = (id_of(mentee.id), id_of(other.id));
    let page = browser.get("/app/relations").await;
    assert!(page.body.contains("Requests I received"));
    assert!(
        page.body
            .contains(&format!("/app/relations/{first}/answer"))
    );
    let reject = browser
        .post(
            &format!("/app/relations/{second}/answer"),
            &[("action", "reject")],
        )
        .await;
    assert_eq!(reject.status, StatusCode::SEE_OTHER, "{}", reject.body);
    let accept = browser
        .post(
            &format!("/app/relations/{first}/answer"),
            &[("action", "accept")],
        )
        .await;
    assert_eq!(accept.status, StatusCode::SEE_OTHER, "{}", accept.body);
    let (_, current) = app
        .get("/mentorship_relations/current", Some(&mentee.token))
        .await;
    assert_eq!(current["id"], first);
    // Accepting twice: the API's refusal, as a page.
    let again = browser
        .post(
            &format!("/app/relations/{first}/answer"),
            &[("action", "accept")],
        )
        .await;
    let (status, api) = app
        .put(
            &format!("/mentorship_relation/{first}/accept"),
            Some(&mentor.token),
            json!({}),
        )
        .await;
    assert_eq!(again.status, status);
    assert!(unescape(&again.body).contains(api["message"].as_str().unwrap()));
    let cancel = browser
        .post(
            &format!("/app/relations/{first}/answer"),
            &[("action", "cancel")],
        )
        .await;
    assert_eq!(cancel.status, StatusCode::SEE_OTHER, "{}", cancel.body);
    let page = browser.get("/app/relations").await;
    assert!(page.body.contains("label-cancelled") && page.body.contains("label-rejected"));

    // A request I sent can be withdrawn.
    let mut mentee_browser = Browser::new(&app, MEMBER);
    mentee_browser.sign_in("kim_mentee", PASSWORD).await;
    let end = day_from_now(&app, 70.0);
    mentee_browser
        .post(
            &format!("/app/members/{}/request", mentor.id),
            &[("role", "mentee"), ("end_date", &end), ("notes", "")],
        )
        .await;
    let page = mentee_browser.get("/app/relations").await;
    assert!(page.body.contains("Withdraw"));
    let (_, sent) = app
        .get("/mentorship_relations/pending", Some(&mentee.token))
        .await;
    let id = sent[0]["id"].as_i64().unwrap();
    let withdraw = mentee_browser
        .post(
            &format!("/app/relations/{id}/answer"),
            &[("action", "delete")],
        )
        .await;
    assert_eq!(withdraw.status, StatusCode::SEE_OTHER, "{}", withdraw.body);
    let (_, sent) = app
        .get("/mentorship_relations/pending", Some(&mentee.token))
        .await;
    assert_eq!(sent, json!([]));
}

async fn the_web_app_and_the_api_refuse_the_same_requests_with_the_same_message(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (mentee, browser) = signed_in(&app, "nina_mentee", json!({"need_mentoring": true})).await;
    let mentor = app
        .user("oscar_mentor", json!({"available_to_mentor": true}))
        .await;
    let third = app
        .user("pat_mentor", json!({"available_to_mentor": true}))
        .await;
    // Each case: the web form's target and end day, and the API body.
    struct Case {
        other: i64,
        days: f64,
    }
    let compare = |case: Case| {
        let browser = &browser;
        let app = &app;
        let mentee = &mentee;
        async move {
            let day = day_from_now(app, case.days);
            let web = browser
                .post(
                    &format!("/app/members/{}/request", case.other),
                    &[("role", "mentee"), ("end_date", &day), ("notes", "")],
                )
                .await;
            let (status, api) = app
                .post(
                    "/mentorship_relation/send_request",
                    Some(&mentee.token),
                    json!({"mentor_id": case.other, "mentee_id": mentee.id, "notes": "",
                        "end_date": app.clock.now() + case.days * DAY}),
                )
                .await;
            assert_eq!(web.status, status, "{api}");
            let message = api["message"].as_str().unwrap();
            assert!(
                unescape(&web.body).contains(message),
                "the page says {message}: {}",
                web.body
            );
            message.to_owned()
        }
    };
    let mut seen = vec![];
    // Too soon, too far, to oneself, to someone unknown.
    seen.push(
        compare(Case {
            other: mentor.id,
            days: 7.0,
        })
        .await,
    );
    seen.push(
        compare(Case {
            other: mentor.id,
            days: 200.0,
        })
        .await,
    );
    seen.push(
        compare(Case {
            other: mentee.id,
            days: 70.0,
        })
        .await,
    );
    seen.push(
        compare(Case {
            other: 999_999,
            days: 70.0,
        })
        .await,
    );
    // While in a relation.
    let (status, _) = app
        .post(
            "/mentorship_relation/send_request",
            Some(&mentee.token),
            json!({"mentor_id": mentor.id, "mentee_id": mentee.id, "notes": "",
                "end_date": app.clock.now() + 70.0 * DAY}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, pending) = app
        .get("/mentorship_relations/pending", Some(&mentor.token))
        .await;
    let id = pending[0]["id"].as_i64().unwrap();
    let (status, _) = app
        .put(
            &format!("/mentorship_relation/{id}/accept"),
            Some(&mentor.token),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    seen.push(
        compare(Case {
            other: third.id,
            days: 70.0,
        })
        .await,
    );
    seen.dedup();
    assert_eq!(seen.len(), 5, "five different refusals: {seen:?}");
}

/// A moment as a `datetime-local` field takes it (UTC, the default zone), `days` from now.
fn local_from_now(app: &TestApp, days: f64) -> String {
    chrono::DateTime::from_timestamp((app.clock.now() + days * DAY) as i64, 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M")
        .to_string()
}

async fn a_relations_page_carries_tasks_comments_and_meetings(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (mentor, mentee, relation) = accepted_relation(&app).await;
    let mut browser = Browser::new(&app, MEMBER);
    browser.sign_in(&mentee.username, PASSWORD).await;
    let mut mentor_browser = Browser::new(&app, MEMBER);
    mentor_browser.sign_in(&mentor.username, PASSWORD).await;
    let base = format!("/app/relations/{relation}");
    let page = browser.get(&base).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);

    // Tasks: add, comment (add, edit, delete), complete, delete.
    let added = browser
        .post(
            &format!("{base}/tasks"),
            &[("description", "Read the book")],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    let (_, tasks) = app
        .get(
            &format!("/mentorship_relation/{relation}/tasks"),
            Some(&mentor.token),
        )
        .await;
    let task = tasks[0]["id"].as_i64().unwrap();
    assert_eq!(tasks[0]["description"], "Read the book");
    let long = "x".repeat(1_001);
    let too_long = browser
        .post(&format!("{base}/tasks"), &[("description", &long)])
        .await;
    let (status, api) = app
        .post(
            &format!("/mentorship_relation/{relation}/task"),
            Some(&mentor.token),
            json!({"description": long}),
        )
        .await;
    assert_eq!(too_long.status, status, "{api}");
    let task_page = format!("{base}/tasks/{task}");
    assert_eq!(browser.get(&task_page).await.status, StatusCode::OK);
    let commented = browser
        .post(
            &format!("{task_page}/comments"),
            &[("comment", "Chapter 1 done")],
        )
        .await;
    assert_eq!(
        commented.status,
        StatusCode::SEE_OTHER,
        "{}",
        commented.body
    );
    let comments_path = format!("/mentorship_relation/{relation}/task/{task}/comments");
    let (_, comments) = app.get(&comments_path, Some(&mentor.token)).await;
    let comment = comments[0]["id"].as_i64().unwrap();
    let page = browser.get(&task_page).await;
    assert!(page.body.contains("Chapter 1 done") && page.body.contains("Edit my comment"));
    // The other party sees the comment but cannot change it.
    let other = mentor_browser.get(&task_page).await;
    assert!(other.body.contains("Chapter 1 done") && !other.body.contains("Edit my comment"));
    let refused = mentor_browser
        .post(
            &format!("{task_page}/comments/{comment}"),
            &[("action", "delete")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let edited = browser
        .post(
            &format!("{task_page}/comments/{comment}"),
            &[("action", "edit"), ("comment", "Chapters 1-2 done")],
        )
        .await;
    assert_eq!(edited.status, StatusCode::SEE_OTHER, "{}", edited.body);
    let (_, comments) = app.get(&comments_path, Some(&mentor.token)).await;
    assert_eq!(comments[0]["comment"], "Chapters 1-2 done");
    let deleted = browser
        .post(
            &format!("{task_page}/comments/{comment}"),
            &[("action", "delete")],
        )
        .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    let (_, comments) = app.get(&comments_path, Some(&mentor.token)).await;
    assert_eq!(comments, json!([]));
    let done = browser
        .post(
            &format!("{base}/tasks/{task}/change"),
            &[("action", "complete")],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let home = browser.get("/app").await;
    assert!(home.body.contains("Read the book"), "an achievement");
    let gone = browser
        .post(
            &format!("{base}/tasks/{task}/change"),
            &[("action", "delete")],
        )
        .await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER);
    let (_, tasks) = app
        .get(
            &format!("/mentorship_relation/{relation}/tasks"),
            Some(&mentor.token),
        )
        .await;
    assert_eq!(tasks, json!([]));

    // Meetings: propose, edit while proposed, accept, notes, .ics, cancel.
    let (start, end) = (local_from_now(&app, 3.0), local_from_now(&app, 3.04));
    let proposed = browser
        .post(
            &format!("{base}/meetings"),
            &[("start", &start), ("end", &end), ("place", "Library")],
        )
        .await;
    assert_eq!(proposed.status, StatusCode::SEE_OTHER, "{}", proposed.body);
    let (_, meetings) = app
        .get(
            &format!("/mentorship_relation/{relation}/meetings"),
            Some(&mentor.token),
        )
        .await;
    let meeting = meetings[0]["id"].as_i64().unwrap();
    assert_eq!(meetings[0]["state"], "proposed");
    // A meeting in the past: the API's refusal.
    let past = local_from_now(&app, -1.0);
    let refused = browser
        .post(
            &format!("{base}/meetings"),
            &[("start", &past), ("end", &start)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    let path = format!("/app/meetings/{meeting}");
    let page = browser.get(&path).await;
    assert!(page.body.contains("Change the proposal") && !page.body.contains("value=\"accept\""));
    let edited = browser
        .post(
            &format!("{path}/change"),
            &[
                ("action", "edit"),
                ("start", &start),
                ("end", &end),
                ("place", "Room 2"),
            ],
        )
        .await;
    assert_eq!(edited.status, StatusCode::SEE_OTHER, "{}", edited.body);
    let page = mentor_browser.get(&path).await;
    assert!(page.body.contains("Room 2") && page.body.contains("value=\"accept\""));
    let accepted = mentor_browser
        .post(&format!("{path}/change"), &[("action", "accept")])
        .await;
    assert_eq!(accepted.status, StatusCode::SEE_OTHER, "{}", accepted.body);
    let notes = browser
        .post(
            &format!("{path}/change"),
            &[("action", "notes"), ("notes", "Bring the book")],
        )
        .await;
    assert_eq!(notes.status, StatusCode::SEE_OTHER, "{}", notes.body);
    let (_, shown) = app
        .get(&format!("/meeting/{meeting}"), Some(&mentor.token))
        .await;
    assert_eq!(shown["state"], "confirmed");
    assert_eq!(shown["notes"], "Bring the book");
    let ics = browser.get(&format!("{path}/calendar.ics")).await;
    assert_eq!(ics.status, StatusCode::OK);
    assert!(ics.body.contains("BEGIN:VCALENDAR") && ics.body.contains("Room 2"));
    let mut stranger = Browser::new(&app, MEMBER);
    app.user("nosy_member", json!({})).await;
    stranger.sign_in("nosy_member", PASSWORD).await;
    assert_eq!(
        stranger.get(&format!("{path}/calendar.ics")).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(stranger.get(&base).await.status, StatusCode::NOT_FOUND);
    let cancelled = browser
        .post(&format!("{path}/change"), &[("action", "cancel")])
        .await;
    assert_eq!(
        cancelled.status,
        StatusCode::SEE_OTHER,
        "{}",
        cancelled.body
    );
    let (_, shown) = app
        .get(&format!("/meeting/{meeting}"), Some(&mentor.token))
        .await;
    assert_eq!(shown["state"], "cancelled");
}

async fn a_substitute_is_chosen_invited_and_answers_from_the_app_or_the_link(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (mentor, mentee, relation) = accepted_relation(&app).await;
    let substitute = app
        .user("stand_in_mentor", json!({"available_to_mentor": true}))
        .await;
    let meeting = confirmed_meeting(&app, &mentor, &mentee, relation).await;
    let mut mentor_browser = Browser::new(&app, MEMBER);
    mentor_browser.sign_in(&mentor.username, PASSWORD).await;
    let path = format!("/app/meetings/{meeting}");
    let page = mentor_browser.get(&path).await;
    assert!(
        page.body.contains("Choose a substitute mentor"),
        "{}",
        page.body
    );
    assert!(page.body.contains("stand_in_mentor"));
    // The mentee sees no candidates.
    let mut mentee_browser = Browser::new(&app, MEMBER);
    mentee_browser.sign_in(&mentee.username, PASSWORD).await;
    assert!(
        !mentee_browser
            .get(&path)
            .await
            .body
            .contains("Choose a substitute")
    );
    let id = substitute.id.to_string();
    let invited = mentor_browser
        .post(
            &format!("{path}/change"),
            &[("action", "invite"), ("user_id", &id)],
        )
        .await;
    assert_eq!(invited.status, StatusCode::SEE_OTHER, "{}", invited.body);
    // The substitute answers from the app: rejects.
    let mut sub_browser = Browser::new(&app, MEMBER);
    sub_browser.sign_in("stand_in_mentor", PASSWORD).await;
    let page = sub_browser.get("/app/invitations").await;
    assert!(
        page.body
            .contains(&format!("/app/invitations/{meeting}/answer"))
    );
    let rejected = sub_browser
        .post(
            &format!("/app/invitations/{meeting}/answer"),
            &[("action", "reject")],
        )
        .await;
    assert_eq!(rejected.status, StatusCode::SEE_OTHER, "{}", rejected.body);
    let (_, shown) = app
        .get(&format!("/meeting/{meeting}"), Some(&mentor.token))
        .await;
    assert_eq!(shown["substitute_status"], "rejected");
    // Invited again, then withdrawn by the mentor.
    mentor_browser.get(&path).await;
    let invited = mentor_browser
        .post(
            &format!("{path}/change"),
            &[("action", "invite"), ("user_id", &id)],
        )
        .await;
    assert_eq!(invited.status, StatusCode::SEE_OTHER, "{}", invited.body);
    let withdrawn = mentor_browser
        .post(&format!("{path}/change"), &[("action", "withdraw")])
        .await;
    assert_eq!(
        withdrawn.status,
        StatusCode::SEE_OTHER,
        "{}",
        withdrawn.body
    );
    let (_, shown) = app
        .get(&format!("/meeting/{meeting}"), Some(&mentor.token))
        .await;
    assert_ne!(shown["substitute_status"], "pending");
    // Invited a third time: the e-mailed link lands on a page whose form answers.
    let invited = mentor_browser
        .post(
            &format!("{path}/change"),
            &[("action", "invite"), ("user_id", &id)],
        )
        .await;
    assert_eq!(invited.status, StatusCode::SEE_OTHER, "{}", invited.body);
    app.settle_mail().await;
    let link = app
        .mail
        .to(&substitute.email)
        .iter()
        .rev()
        .find_map(|m| m.link(&format!("{}/meeting/{meeting}/substitute/accept", app.base)))
        .expect("an accept link");
    let page = sub_browser.get(link.trim_start_matches(&app.base)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("href=\"/app/invitations\""));
    let answer = sub_browser
        .post_raw(
            link.trim_start_matches(&app.base),
            &[("username", "stand_in_mentor"), ("password", PASSWORD)],
            None,
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let (_, shown) = app
        .get(&format!("/meeting/{meeting}"), Some(&mentor.token))
        .await;
    assert_eq!(shown["substitute_status"], "accepted");
    // The substitute's meeting page lets them step back; the mentor's to take it back.
    let page = sub_browser.get(&path).await;
    assert!(page.body.contains("Step back"), "{}", page.body);
    let page = mentor_browser.get(&path).await;
    assert!(page.body.contains("Withdraw the substitute"));
    assert_eq!(
        sub_browser.get("/app/invitations").await.status,
        StatusCode::OK
    );
}

async fn my_data_downloads_as_the_apis_export(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (user, mut browser) = signed_in(&app, "dora_d", json!({"bio": "Data please"})).await;
    let page = browser.get("/app/profile").await;
    assert!(
        page.body.contains("href=\"/app/my-data.json\""),
        "{}",
        page.body
    );
    let download = browser.get("/app/my-data.json").await;
    assert_eq!(download.status, StatusCode::OK);
    let from_app: serde_json::Value = serde_json::from_str(&download.body).unwrap();
    let (status, from_api) = app.get("/user/export", Some(&user.token)).await;
    assert_eq!(status, StatusCode::OK);
    // The same document (the export's own time aside).
    assert_eq!(from_app["profile"], from_api["profile"]);
    assert_eq!(from_app["profile"]["username"], json!("dora_d"));
    assert_eq!(from_app["relations"], from_api["relations"]);
    // Without a session there is nothing to download.
    let mut stranger = Browser::new(&app, MEMBER);
    let answer = stranger.get("/app/my-data.json").await;
    assert_ne!(answer.status, StatusCode::OK);
    assert!(!answer.body.contains("dora_d@example.com"));
}
