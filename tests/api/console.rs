//! The console (`/console/`): sign-in for admins only, with the login's throttling; cookie
//! sessions that expire, end on sign-out (everywhere) and never reach the JSON API; CSRF on
//! every form; and each page and action, confined to admins.

use reqwest::StatusCode;
use reqwest::header::COOKIE;
use serde_json::json;

use crate::db_tests;
use crate::helpers::{DbKind, PASSWORD, TestApp, User};
use crate::meetings::{accepted_relation, confirmed_meeting};
use crate::web_browser::{Browser, CONSOLE, cookie_value};

/// A verified member made an admin by the operator's command.
async fn admin(app: &TestApp, username: &str) -> User {
    let user = app.user(username, json!({})).await;
    mentorship::services::admin::grant_by_operator(app.state(), username)
        .await
        .unwrap();
    user
}

async fn signed_in_admin(app: &TestApp) -> (User, Browser) {
    let user = admin(app, "the_boss").await;
    let mut browser = Browser::new(app, CONSOLE);
    let answer = browser.sign_in("the_boss", PASSWORD).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    (user, browser)
}

async fn count(app: &TestApp, sql: &'static str) -> i64 {
    mentorship::with_db!(&app.state().db, |c| sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(c)
        .await)
    .unwrap()
}

db_tests!(
    an_admin_signs_in_with_a_strict_cookie_and_sees_the_overview,
    members_who_are_not_admins_and_wrong_passwords_are_refused_and_throttled,
    every_form_needs_its_csrf_token,
    sessions_end_when_idle_after_their_lifetime_and_on_sign_out,
    the_session_cookie_never_authorises_the_json_api,
    admin_rights_change_from_a_members_page_and_the_last_admin_stays,
    an_unverified_account_gets_a_new_link_or_is_deleted,
    relations_meetings_and_invitations_are_listed_with_labelled_statuses,
    the_outbox_retries_dead_letters_and_sends_a_test_mail,
    jobs_show_their_schedule_and_run_now,
    console_pages_are_for_admins_only,
    the_cookie_is_secure_when_the_public_address_is_https,
    console_actions_are_in_the_audit_trail_and_its_page,
);

async fn an_admin_signs_in_with_a_strict_cookie_and_sees_the_overview(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    app.user("mentor_a", json!({"available_to_mentor": true}))
        .await;
    app.register("never_verified", json!({"need_mentoring": true}))
        .await;
    admin(&app, "the_boss").await;
    let mut browser = Browser::new(&app, CONSOLE);
    let answer = browser.sign_in("the_boss", PASSWORD).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.location.as_deref(), Some("/console"));
    let cookie = answer
        .cookies
        .iter()
        .find(|c| c.starts_with("console_session="))
        .unwrap();
    for attribute in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/console",
        "Max-Age=43200",
    ] {
        assert!(cookie.contains(attribute), "{cookie} has {attribute}");
    }
    // PUBLIC_URL is http here: no Secure (the browser would drop the cookie).
    assert!(!cookie.contains("Secure"), "{cookie}");
    // Only a hash of the token is stored.
    let token = browser.session.clone().unwrap();
    let stored: String =
        mentorship::with_db!(&app.state().db, |c| sqlx::query_scalar::<_, String>(
            "SELECT token_hash FROM web_sessions"
        )
        .fetch_one(c)
        .await)
        .unwrap();
    assert_ne!(stored, token);
    assert_eq!(stored, mentorship::security::token_hash(&token));

    let overview = browser.get("/console").await;
    assert_eq!(overview.status, StatusCode::OK);
    let policy = overview.headers["content-security-policy"]
        .to_str()
        .unwrap();
    assert!(!policy.contains("unsafe-inline") && policy.contains("default-src 'none'"));
    assert_eq!(overview.headers["cache-control"], "no-store");
    assert!(!overview.body.contains("<script"), "no script at all");
    // Two verified (mentor_a, the_boss), one unverified, one available, one in need.
    for fact in [
        "<dt>Verified</dt><dd>2</dd>",
        "<dt>Unverified</dt><dd>1</dd>",
        "<dt>Available to mentor</dt><dd>1</dd>",
        "<dt>Need mentoring</dt><dd>1</dd>",
        "Signed in as <strong>the_boss</strong>",
    ] {
        assert!(overview.body.contains(fact), "{fact} in {}", overview.body);
    }
    // The figures are a snapshot: a new member shows after "count again".
    app.user("mentor_b", json!({"available_to_mentor": true}))
        .await;
    let page = browser.get("/console").await;
    assert!(page.body.contains("<dt>Available to mentor</dt><dd>1</dd>"));
    let answer = browser.post("/console/figures", &[]).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let page = browser.get(answer.location.as_deref().unwrap()).await;
    assert!(page.body.contains("The figures were counted again."));
    assert!(page.body.contains("<dt>Available to mentor</dt><dd>2</dd>"));
}

async fn members_who_are_not_admins_and_wrong_passwords_are_refused_and_throttled(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    admin(&app, "the_boss").await;
    app.user("plain", json!({})).await;
    let mut browser = Browser::new(&app, CONSOLE);
    let answer = browser.sign_in("plain", PASSWORD).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(answer.body.contains("The console is for admins only."));
    assert!(cookie_value(&answer.cookies, "console_session").is_none());
    assert_eq!(count(&app, "SELECT COUNT(*) FROM web_sessions").await, 0);

    let answer = browser.sign_in("the_boss", "wrong-password").await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    // The login's limit: 5 failures a minute from one address, then 429 even for the right
    // password; the API's login counts on the same budget.
    for _ in 0..4 {
        assert_eq!(
            browser.sign_in("the_boss", "wrong-password").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let answer = browser.sign_in("the_boss", PASSWORD).await;
    assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(answer.headers.contains_key("retry-after"));
    assert_eq!(
        app.login("the_boss", PASSWORD).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    app.clock.advance(61.0);
    let answer = browser.sign_in("the_boss", PASSWORD).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
}

async fn every_form_needs_its_csrf_token(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (_, browser) = signed_in_admin(&app).await;
    let other = app.user("other", json!({})).await;
    let path = format!("/console/members/{}/admin", other.id);
    let cookie = browser.session_cookie();
    // Missing, wrong, or another session's token: refused, nothing changed.
    for fields in [
        vec![("action", "grant")],
        vec![("csrf", "wrong"), ("action", "grant")],
        vec![("csrf", ""), ("action", "grant")],
    ] {
        let answer = browser.post_raw(&path, &fields, cookie.clone()).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{fields:?}");
        assert!(answer.body.contains("This form has expired"));
    }
    let mut second = Browser::new(&app, CONSOLE);
    second.sign_in("the_boss", PASSWORD).await;
    let answer = browser
        .post_raw(
            &path,
            &[("csrf", &second.csrf), ("action", "grant")],
            cookie.clone(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    // A post another site makes the browser send is refused even with the token.
    let answer = browser
        .send(
            browser
                .client
                .post(format!("{}{path}", app.base))
                .header("content-type", "application/x-www-form-urlencoded")
                .header("sec-fetch-site", "cross-site")
                .body(format!("csrf={}&action=grant", browser.csrf)),
            cookie.clone(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM users WHERE is_admin").await,
        1
    );
    // Sign-in without the form's cookie, or with another token: refused before any password
    // check.
    let answer = browser
        .post_raw(
            "/console/sign-in",
            &[
                ("csrf", "abc"),
                ("username", "the_boss"),
                ("password", PASSWORD),
            ],
            None,
        )
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    let answer = browser
        .post_raw(
            "/console/sign-in",
            &[
                ("csrf", "abc"),
                ("username", "the_boss"),
                ("password", PASSWORD),
            ],
            Some("console_sign_in=abd".into()),
        )
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    // With the token, the same form works.
    let answer = browser.post(&path, &[("action", "grant")]).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM users WHERE is_admin").await,
        2
    );
}

async fn sessions_end_when_idle_after_their_lifetime_and_on_sign_out(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (_, mut browser) = signed_in_admin(&app).await;
    // Used every 29 minutes, a session lives, up to 12 hours from sign-in.
    for _ in 0..24 {
        app.clock.advance(29.0 * 60.0);
        assert_eq!(browser.get("/console/members").await.status, StatusCode::OK);
    }
    // 24 x 29 min = 11.6 h; 25 minutes more crosses 12 h.
    app.clock.advance(25.0 * 60.0);
    let answer = browser.get("/console/members").await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.location.as_deref(), Some("/console/sign-in"));
    assert!(
        answer
            .cookies
            .iter()
            .any(|c| c.starts_with("console_session=;"))
    );

    // 30 idle minutes end a session.
    browser.sign_in("the_boss", PASSWORD).await;
    app.clock.advance(29.0 * 60.0 + 59.0);
    assert_eq!(browser.get("/console").await.status, StatusCode::OK);
    app.clock.advance(30.0 * 60.0 + 1.0);
    assert_eq!(browser.get("/console").await.status, StatusCode::SEE_OTHER);
    // The purge job deletes expired sessions.
    assert_eq!(count(&app, "SELECT COUNT(*) FROM web_sessions").await, 2);
    app.run_job("purge-expired").await;
    assert_eq!(count(&app, "SELECT COUNT(*) FROM web_sessions").await, 0);

    // Sign-out ends this session only; sign-out everywhere every one.
    let mut laptop = Browser::new(&app, CONSOLE);
    laptop.sign_in("the_boss", PASSWORD).await;
    let mut phone = Browser::new(&app, CONSOLE);
    phone.sign_in("the_boss", PASSWORD).await;
    let mut tablet = Browser::new(&app, CONSOLE);
    tablet.sign_in("the_boss", PASSWORD).await;
    let answer = laptop.post("/console/sign-out", &[]).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert!(
        answer
            .cookies
            .iter()
            .any(|c| c.starts_with("console_session=;"))
    );
    assert_eq!(laptop.get("/console").await.status, StatusCode::SEE_OTHER);
    assert_eq!(phone.get("/console").await.status, StatusCode::OK);
    let answer = phone.post("/console/sign-out-everywhere", &[]).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    let page = phone.get(answer.location.as_deref().unwrap()).await;
    assert!(page.body.contains("You are signed out on every browser."));
    assert_eq!(phone.get("/console").await.status, StatusCode::SEE_OTHER);
    assert_eq!(tablet.get("/console").await.status, StatusCode::SEE_OTHER);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM web_sessions").await, 0);

    // A password change signs every browser out too.
    let mut desk = Browser::new(&app, CONSOLE);
    desk.sign_in("the_boss", PASSWORD).await;
    let (_, tokens) = app.login("the_boss", PASSWORD).await;
    let (status, body) = app
        .put(
            "/user/change_password",
            tokens["access_token"].as_str(),
            json!({"current_password": PASSWORD, "new_password": "an0ther-pass"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(desk.get("/console").await.status, StatusCode::SEE_OTHER);
}

async fn the_session_cookie_never_authorises_the_json_api(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (_, browser) = signed_in_admin(&app).await;
    let cookie = browser.session_cookie().unwrap();
    for path in ["/user", "/admins", "/users", "/mentorship_relations"] {
        let response = app
            .client
            .get(app.url(path))
            .header(COOKIE, &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    let response = app
        .client
        .post(app.url("/admin/new"))
        .header(COOKIE, &cookie)
        .json(&json!({"user_id": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // Nor does a Bearer token open the console.
    let (_, tokens) = app.login("the_boss", PASSWORD).await;
    let response = browser
        .client
        .get(app.url("/console"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

async fn admin_rights_change_from_a_members_page_and_the_last_admin_stays(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (the_boss, mut browser) = signed_in_admin(&app).await;
    let helper = app.user("helper", json!({})).await;

    // The last admin cannot give up their rights.
    let page = browser
        .get(&format!("/console/members/{}", the_boss.id))
        .await;
    assert!(page.body.contains("Give up my admin rights"));
    let answer = browser
        .post(
            &format!("/console/members/{}/admin", the_boss.id),
            &[("action", "revoke")],
        )
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(
        answer.body.contains("You cannot revoke your adminstatus."),
        "{}",
        answer.body
    );

    let answer = browser
        .post(
            &format!("/console/members/{}/admin", helper.id),
            &[("action", "grant")],
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    let page = browser.get(answer.location.as_deref().unwrap()).await;
    assert!(page.body.contains("User is now an Admin."), "{}", page.body);
    assert!(page.body.contains("Revoke admin rights"));
    let (_, admins) = app.get("/admins", Some(&the_boss.token)).await;
    assert_eq!(admins[0]["username"], "helper");
    // Granting twice: the API's answer.
    let answer = browser
        .post(
            &format!("/console/members/{}/admin", helper.id),
            &[("action", "grant")],
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);

    // The helper revokes the the_boss; the the_boss's console session ends at its next request.
    let mut helpers_browser = Browser::new(&app, CONSOLE);
    helpers_browser.sign_in("helper", PASSWORD).await;
    let answer = helpers_browser
        .post(
            &format!("/console/members/{}/admin", the_boss.id),
            &[("action", "revoke")],
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(browser.get("/console").await.status, StatusCode::SEE_OTHER);
    // The members list filters admins.
    let page = helpers_browser.get("/console/members?admin=yes").await;
    assert!(page.body.contains(">helper</a>") && !page.body.contains(">the_boss</a>"));
}

async fn an_unverified_account_gets_a_new_link_or_is_deleted(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (the_boss, mut browser) = signed_in_admin(&app).await;
    let (status, _) = app.register("latecomer", json!({})).await;
    assert_eq!(status, StatusCode::CREATED);
    app.settle_mail().await;
    let id = count(&app, "SELECT id FROM users WHERE username = 'latecomer'").await;
    let page = browser.get("/console/members?verified=no").await;
    assert!(page.body.contains(">latecomer</a>") && !page.body.contains(">the_boss</a>"));
    let page = browser.get("/console/members?q=lat").await;
    assert!(page.body.contains(">latecomer</a>"), "{}", page.body);
    let page = browser
        .get("/console/members?q=latecomer@example.com")
        .await;
    assert!(page.body.contains(">latecomer</a>"));

    let answer = browser
        .post(&format!("/console/members/{id}/verification"), &[])
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    app.settle_mail().await;
    assert_eq!(app.mail.to("latecomer@example.com").len(), 2);

    // A verified member cannot be deleted here.
    let answer = browser
        .post(&format!("/console/members/{}/delete", the_boss.id), &[])
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    let answer = browser
        .post(&format!("/console/members/{id}/delete"), &[])
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(
        answer.location.as_deref(),
        Some("/console/members?notice=CONSOLE_ACCOUNT_DELETED")
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM users WHERE username = 'latecomer'"
        )
        .await,
        0
    );
    assert_eq!(
        browser.get(&format!("/console/members/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
}

async fn relations_meetings_and_invitations_are_listed_with_labelled_statuses(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (mentor, mentee, relation_id) = accepted_relation(&app).await;
    let meeting = confirmed_meeting(&app, &mentor, &mentee, relation_id).await;
    let (status, _) = app
        .put(
            &format!("/meeting/{meeting}/notes"),
            Some(&mentor.token),
            json!({"notes": "private-notes-text"}),
        )
        .await;
    assert!(status.is_success());
    let stand_in = app
        .user("stand_in", json!({"available_to_mentor": true}))
        .await;
    let (status, body) = app
        .post(
            &format!("/meeting/{meeting}/substitute"),
            Some(&mentor.token),
            json!({"user_id": stand_in.id}),
        )
        .await;
    assert!(status.is_success(), "{body}");
    let (_, mut browser) = signed_in_admin(&app).await;

    let page = browser.get("/console/relations?state=accepted").await;
    assert!(
        page.body.contains(&format!("<td>{relation_id}</td>")),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("<span class=\"label label-accepted\">accepted</span>")
    );
    let page = browser.get("/console/relations?state=pending").await;
    assert!(page.body.contains("No relation matches."));

    let page = browser.get("/console/meetings?substitute=pending").await;
    assert!(
        page.body
            .contains("<span class=\"label label-pending\">pending</span> stand_in"),
        "{}",
        page.body
    );
    let page = browser.get("/console/meetings?substitute=accepted").await;
    assert!(page.body.contains("No meeting matches."));
    let page = browser
        .get("/console/meetings?state=confirmed&substitute=pending")
        .await;
    assert!(
        page.body
            .contains(&format!("/console/meetings/{meeting}\""))
    );
    let page = browser.get("/console/meetings?state=confirmed").await;
    assert!(
        page.body
            .contains(&format!("/console/meetings/{meeting}\""))
    );
    let page = browser.get("/console/meetings?state=cancelled").await;
    assert!(page.body.contains("No meeting matches."));

    // The mentor withdraws the invitation: the history keeps both states, with their words.
    let (status, _) = app
        .delete(
            &format!("/meeting/{meeting}/substitute"),
            Some(&mentor.token),
        )
        .await;
    assert!(status.is_success());
    let page = browser.get(&format!("/console/meetings/{meeting}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains("<span class=\"label label-withdrawn\">withdrawn</span>"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("private-notes-text"));

    // The member's page: relations and meetings, no notes.
    let page = browser
        .get(&format!("/console/members/{}", mentor.id))
        .await;
    assert!(page.body.contains(&format!("/console/meetings/{meeting}")));
    assert!(page.body.contains(">mentee_one</a>"));
    assert!(!page.body.contains("private-notes-text"));
    let page = browser.get("/console").await;
    assert!(
        page.body
            .contains("<dt>Confirmed, next 7 days</dt><dd>1</dd>"),
        "{}",
        page.body
    );
}

async fn the_outbox_retries_dead_letters_and_sends_a_test_mail(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (the_boss, mut browser) = signed_in_admin(&app).await;
    app.settle_mail().await;
    let before = app.mail.to(&the_boss.email).len();
    let answer = browser.post("/console/mail/test", &[]).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    app.settle_mail().await;
    let mails = app.mail.to(&the_boss.email);
    assert_eq!(mails.len(), before + 1);
    assert!(
        mails
            .last()
            .unwrap()
            .subject
            .contains("Test mail from the console")
    );

    // A dead letter: shown with its last error, retried, then delivered.
    mentorship::with_db!(&app.state().db, |c| sqlx::query(
        "UPDATE outbox SET sent_at = NULL, dead_at = $1, last_error = 'mailbox unavailable',
                payload = '{\"template\":\"console_test\",\"recipient\":\"the_boss@example.com\",\"subject\":\"Dead one\",\"text\":\"t\",\"html\":\"h\",\"calendar\":null}'
         WHERE id = (SELECT MAX(id) FROM outbox)"
    )
    .bind(app.clock.now())
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    let page = browser.get("/console/mail").await;
    assert!(page.body.contains("mailbox unavailable"), "{}", page.body);
    assert!(page.body.contains("Dead one"));
    let id = count(&app, "SELECT MAX(id) FROM outbox").await.to_string();
    let answer = browser.post("/console/mail/retry", &[("id", &id)]).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    app.settle_mail().await;
    assert!(
        app.mail
            .to(&the_boss.email)
            .iter()
            .any(|m| m.subject == "Dead one")
    );
    // Nothing left to retry.
    let answer = browser.post("/console/mail/retry", &[]).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    let page = browser.get("/console/mail").await;
    assert!(page.body.contains("No dead letter."));
}

async fn jobs_show_their_schedule_and_run_now(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (_, mut browser) = signed_in_admin(&app).await;
    let page = browser.get("/console/jobs").await;
    assert!(
        page.body.contains("<code>0 59 23 * * *</code>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Never run."));
    let answer = browser.post("/console/jobs/purge-expired/run", &[]).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    // The run happens in the background: wait for its row (no fixed sleep).
    for _ in 0..400 {
        if count(
            &app,
            "SELECT COUNT(*) FROM job_runs WHERE job = 'purge-expired' AND finished_at IS NOT NULL",
        )
        .await
            == 1
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let page = browser.get("/console/jobs").await;
    assert!(
        page.body
            .contains("<span class=\"label label-succeeded\">succeeded</span>"),
        "{}",
        page.body
    );
    let answer = browser.post("/console/jobs/no-such-job/run", &[]).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
}

async fn console_pages_are_for_admins_only(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (_, browser) = signed_in_admin(&app).await;
    let pages = [
        "/console",
        "/console/members",
        "/console/members/1",
        "/console/relations",
        "/console/meetings",
        "/console/mail",
        "/console/jobs",
    ];
    let forms = [
        "/console/figures",
        "/console/members/1/admin",
        "/console/members/1/verification",
        "/console/members/1/delete",
        "/console/mail/retry",
        "/console/mail/test",
        "/console/jobs/purge-expired/run",
        "/console/sign-out",
        "/console/sign-out-everywhere",
    ];
    // Without a session (or with a made-up one): to the sign-in page, nothing done.
    let mut anonymous = Browser::new(&app, CONSOLE);
    for path in pages {
        let answer = anonymous.get(path).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(answer.location.as_deref(), Some("/console/sign-in"));
    }
    anonymous.session = Some("made-up".into());
    for path in forms {
        let answer = anonymous
            .post_raw(path, &[("csrf", &browser.csrf)], anonymous.session_cookie())
            .await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{path}");
    }
    assert_eq!(count(&app, "SELECT COUNT(*) FROM job_runs").await, 0);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM web_sessions").await, 1);
    // Every page renders for the admin.
    let mut browser = browser;
    for path in pages {
        let answer = browser.get(path).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.body);
        assert!(answer.body.contains("<main"), "{path}");
    }
}

async fn the_cookie_is_secure_when_the_public_address_is_https(kind: DbKind) {
    let app = TestApp::spawn_with(kind, &[("PUBLIC_URL", "https://mentors.example.org")]).await;
    // The e-mailed link points to the public address, not to this server: verified directly.
    let (status, _) = app.register("the_boss", json!({})).await;
    assert_eq!(status, StatusCode::CREATED);
    mentorship::with_db!(&app.state().db, |c| sqlx::query(
        "UPDATE users SET is_email_verified = TRUE WHERE username = 'the_boss'"
    )
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    mentorship::services::admin::grant_by_operator(app.state(), "the_boss")
        .await
        .unwrap();
    let mut browser = Browser::new(&app, CONSOLE);
    let form = browser.get("/console/sign-in").await;
    assert!(
        form.cookies.iter().all(|c| c.ends_with("; Secure")),
        "{:?}",
        form.cookies
    );
    let answer = browser.sign_in("the_boss", PASSWORD).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    let cookie = answer
        .cookies
        .iter()
        .find(|c| c.starts_with("console_session="))
        .unwrap();
    assert!(cookie.ends_with("; Secure"), "{cookie}");
}

async fn console_actions_are_in_the_audit_trail_and_its_page(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (the_boss, mut browser) = signed_in_admin(&app).await;
    let (status, _) = app.register("latecomer", json!({})).await;
    assert_eq!(status, StatusCode::CREATED);
    app.settle_mail().await;
    let id = count(&app, "SELECT id FROM users WHERE username = 'latecomer'").await;
    let answer = browser
        .post(&format!("/console/members/{id}/delete"), &[])
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    let answer = browser.post("/console/jobs/purge-expired/run", &[]).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);

    // The page lists both actions by the admin, newest first.
    let page = browser.get("/console/audit").await;
    assert_eq!(page.status, StatusCode::OK);
    let deleted = page
        .body
        .find("console.account_delete")
        .expect("deletion listed");
    let ran = page.body.find("console.job_run").expect("job run listed");
    assert!(ran < deleted, "newest first:\n{}", page.body);
    assert!(
        page.body.contains(&format!("<td>user:{id}</td>")),
        "{}",
        page.body
    );
    assert!(page.body.contains("<td>job:purge-expired</td>"));
    // Filtered like GET /admin/audit: only the deletion, acted by the admin.
    let page = browser
        .get(&format!(
            "/console/audit?action=console.account_delete&actor_id={}",
            the_boss.id
        ))
        .await;
    assert!(page.body.contains("console.account_delete"));
    assert!(!page.body.contains("console.job_run"));
    // A page of one event has a next page that keeps the filter.
    let page = browser
        .get("/console/audit?action=console.job_run&per_page=1")
        .await;
    assert!(
        page.body
            .contains("href=\"/console/audit?action=console.job_run&amp;per_page=1&amp;page=2\""),
        "{}",
        page.body
    );
    // A filter that is not a time is refused on the page, as in the API.
    let page = browser.get("/console/audit?since=yesterday").await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    // The same events through the API.
    let (status, events) = app
        .get(
            "/admin/audit?action=console.account_delete",
            Some(&the_boss.token),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(events[0]["subject"], json!(format!("user:{id}")));
    assert_eq!(events[0]["actor_id"], json!(the_boss.id));
    // Where an action came from is kept (the deletion's own events lose it with the member's
    // other personal detail).
    let (_, runs) = app
        .get("/admin/audit?action=console.job_run", Some(&the_boss.token))
        .await;
    assert_eq!(runs[0]["client"], json!("127.0.0.1"), "{runs}");
    assert!(runs[0]["request_id"].is_string(), "{runs}");
}
