//! Registration, verification, login, tokens, logout and passwords.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

async fn a_new_member_registers_verifies_by_email_logs_in_refreshes_and_logs_out(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (status, body) = app
        .register("ada_lovelace", json!({"available_to_mentor": true}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        body["message"],
        "User was created successfully.A confirmation email has been sent via email. After confirming your email you can login."
    );

    // Not verified yet: the right password is refused with 403.
    let (status, body) = app.login("ada_lovelace", PASSWORD).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["message"], "Please verify your email before login.");

    let mails = app.mail.wait_for("ada_lovelace@example.com", 1).await;
    assert_eq!(
        mails[0].subject,
        "Mentorship System - Please confirm your email"
    );
    let link = mails[0]
        .link(&format!("{}/user/confirm_email/", app.base))
        .expect("the mail holds the link");
    let (status, body) = app.get(link.trim_start_matches(&app.base), None).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (
            StatusCode::OK,
            Some("You have confirmed your account. Thanks!")
        )
    );
    let (status, body) = app.get(link.trim_start_matches(&app.base), None).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (StatusCode::OK, Some("Account already confirmed."))
    );

    // Log in with the e-mail, in another case.
    let (status, tokens) = app.login("Ada_Lovelace@Example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert!(tokens["access_expiry"].as_f64().unwrap() > app.clock.now());
    assert!(tokens["refresh_expiry"].as_f64().unwrap() > tokens["access_expiry"].as_f64().unwrap());
    let access = tokens["access_token"].as_str().unwrap();
    let (status, me) = app.get("/user", Some(access)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["username"], "ada_lovelace");
    assert_eq!(me["is_email_verified"], true);
    assert_eq!(me["available_to_mentor"], true);

    // Refresh rotates: the new refresh token works, the old one is refused and kills the family.
    let first_refresh = tokens["refresh_token"].as_str().unwrap();
    let (status, rotated) = app.post("/refresh", Some(first_refresh), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let second_refresh = rotated["refresh_token"].as_str().unwrap();
    assert_ne!(second_refresh, first_refresh);
    let (status, _) = app.get("/user", rotated["access_token"].as_str()).await;
    assert_eq!(status, StatusCode::OK);

    let (status, _) = app.post("/logout", Some(second_refresh), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = app.post("/refresh", Some(second_refresh), json!({})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["message"], "The token is invalid!");
    // Exactly one mail was sent: the verification.
    app.settle_mail().await;
    assert_eq!(app.mail.to("ada_lovelace@example.com").len(), 1);
    app.stop().await;
}

async fn reusing_a_rotated_refresh_token_revokes_its_whole_family(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let user = app.user("rotating_user", json!({})).await;
    let (status, rotated) = app
        .post("/refresh", Some(&user.refresh_token), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    // The stolen, already used token comes back: refused, and the thief's partner loses too.
    let (status, body) = app
        .post("/refresh", Some(&user.refresh_token), json!({}))
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("The token is invalid!"))
    );
    let (status, _) = app
        .post("/refresh", rotated["refresh_token"].as_str(), json!({}))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // An access token is not a refresh token, and the reverse.
    let (status, body) = app.post("/refresh", Some(&user.token), json!({})).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("The token is invalid!"))
    );
    let (status, body) = app.get("/user", Some(&user.refresh_token)).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("The token is invalid!"))
    );
    app.stop().await;
}

async fn registration_checks_run_in_the_reference_order(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let cases = [
        (
            json!({"password": "has space1"}),
            "Password shouldn't contain spaces.",
        ),
        (
            json!({"name": "A"}),
            "The name field has to be longer than 1 characters and shorter than 31 characters.",
        ),
        (
            json!({"username": "abc"}),
            "The username field has to be longer than 4 characters and shorter than 26 characters.",
        ),
        (
            json!({"password": "short"}),
            "The password field has to be longer than 7 characters and shorter than 65 characters.",
        ),
        (
            json!({"terms_and_conditions_checked": false}),
            "Terms and conditions are not checked.",
        ),
        (json!({"name": "R2 D2"}), "Your name is invalid."),
        (json!({"email": "not-an-email"}), "Your email is invalid."),
        (
            json!({"username": "with-dash"}),
            "Your username is invalid.",
        ),
    ];
    for (extra, message) in cases {
        let (status, body) = app.register("valid_user", extra.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{extra}");
        assert_eq!(body["message"], message, "{extra}");
        assert!(body["code"].is_string());
    }
    let (status, body) = app
        .post(
            "/register",
            None,
            json!({"name": 5, "username": "valid_user"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["message"], "Input payload validation failed");
    assert_eq!(body["errors"]["name"], "5 is not of type 'string'");
    assert_eq!(body["errors"]["email"], "'email' is a required property");
    // Nothing was registered, so nothing was mailed.
    app.settle_mail().await;
    assert!(app.mail.all().is_empty());
    app.stop().await;
}

async fn usernames_and_emails_are_unique_regardless_of_case(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    assert_eq!(
        app.register("unique_user", json!({})).await.0,
        StatusCode::CREATED
    );
    let (status, body) = app
        .register("UNIQUE_user", json!({"email": "other@example.com"}))
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (
            StatusCode::CONFLICT,
            Some("A user with that username already exists.")
        )
    );
    let (status, body) = app
        .register("another_user", json!({"email": "Unique_User@EXAMPLE.com"}))
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (
            StatusCode::CONFLICT,
            Some("A user with that email already exists.")
        )
    );
    app.stop().await;
}

async fn concurrent_registrations_of_one_username_create_one_account(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let attempts = (0..6).map(|i| {
        app.register(
            "racing_user",
            json!({"email": format!("racer{i}@example.com")}),
        )
    });
    let results = join_all(attempts.collect()).await;
    let created = results
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .count();
    assert_eq!(created, 1, "{results:?}");
    for (status, body) in results.iter().filter(|(s, _)| *s != StatusCode::CREATED) {
        assert_eq!(*status, StatusCode::CONFLICT);
        assert_eq!(body["message"], "A user with that username already exists.");
    }
    app.stop().await;
}

async fn login_errors_follow_the_contract(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    app.user("login_user", json!({})).await;
    let (status, body) = app
        .post("/login", None, json!({"password": PASSWORD}))
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (
            StatusCode::BAD_REQUEST,
            Some("The field username is missing.")
        )
    );
    let (status, body) = app
        .post(
            "/login",
            None,
            json!({"username": "login_user", "password": ""}),
        )
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (StatusCode::BAD_REQUEST, Some("Password field is missing."))
    );
    let (status, body) = app.login("login_user", "wrong-password").await;
    assert_eq!(
        (status, body["message"].as_str()),
        (
            StatusCode::UNAUTHORIZED,
            Some("Username or password is wrong.")
        )
    );
    let (status, body) = app.login("nobody_here", PASSWORD).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (
            StatusCode::UNAUTHORIZED,
            Some("Username or password is wrong.")
        )
    );
    // Malformed JSON is a 400 JSON error, never a 500.
    let response = app
        .client
        .post(app.url("/login"))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "MALFORMED_REQUEST");
    app.stop().await;
}

async fn five_failed_logins_in_a_minute_throttle_even_the_right_password(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    app.user("throttled_user", json!({})).await;
    for _ in 0..5 {
        assert_eq!(
            app.login("throttled_user", "wrong-password").await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    let response = app
        .client
        .post(app.url("/login"))
        .json(&json!({"username": "throttled_user", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body["message"],
        "Too many failed login attempts. Try again later."
    );
    // A minute later the window has passed.
    app.clock.advance(61.0);
    assert_eq!(
        app.login("throttled_user", PASSWORD).await.0,
        StatusCode::OK
    );
    app.stop().await;
}

async fn resending_the_verification_answers_alike_for_every_address(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    app.user("verified_user", json!({})).await;
    app.register("pending_user", json!({})).await;
    app.mail.wait_for("pending_user@example.com", 1).await;
    let mut answers = Vec::new();
    for email in [
        "verified_user@example.com",
        "pending_user@example.com",
        "nobody@example.com",
    ] {
        answers.push(
            app.post("/user/resend_email", None, json!({"email": email}))
                .await,
        );
    }
    for (status, body) in &answers {
        assert_eq!(*status, StatusCode::OK);
        assert_eq!(
            body["message"],
            "Check your email, a new verification email was sent."
        );
    }
    let (status, body) = app.post("/user/resend_email", None, json!({})).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (StatusCode::BAD_REQUEST, Some("Email field is missing."))
    );
    // Only the unverified account got a second mail, and only its newest link works.
    let mails = app.mail.wait_for("pending_user@example.com", 2).await;
    let prefix = format!("{}/user/confirm_email/", app.base);
    let old = mails[0].link(&prefix).unwrap();
    let new = mails[1].link(&prefix).unwrap();
    let (status, body) = app.get(old.trim_start_matches(&app.base), None).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (
            StatusCode::BAD_REQUEST,
            Some("The confirmation link is invalid or the token has expired.")
        )
    );
    assert_eq!(
        app.get(new.trim_start_matches(&app.base), None).await.0,
        StatusCode::OK
    );
    app.settle_mail().await;
    assert_eq!(app.mail.to("verified_user@example.com").len(), 1);
    assert!(app.mail.to("nobody@example.com").is_empty());
    app.stop().await;
}

async fn a_verification_link_expires_after_thirty_days(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    app.register("slow_user", json!({})).await;
    let mails = app.mail.wait_for("slow_user@example.com", 1).await;
    let link = mails[0]
        .link(&format!("{}/user/confirm_email/", app.base))
        .unwrap();
    app.clock.advance(30.0 * 86_400.0 + 1.0);
    let (status, _) = app.get(link.trim_start_matches(&app.base), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    app.stop().await;
}

async fn changing_the_password_checks_the_current_one_and_revokes_refresh_tokens(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let user = app.user("changing_user", json!({})).await;
    let change =
        |current: &str, new: &str| json!({"current_password": current, "new_password": new});
    let (status, body) = app
        .put(
            "/user/change_password",
            Some(&user.token),
            change(PASSWORD, PASSWORD),
        )
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (
            StatusCode::BAD_REQUEST,
            Some("New password should not be same as the current password.")
        )
    );
    let (status, body) = app
        .put(
            "/user/change_password",
            Some(&user.token),
            change(PASSWORD, "has space1"),
        )
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (
            StatusCode::BAD_REQUEST,
            Some("Password shouldn't contain spaces.")
        )
    );
    let (status, body) = app
        .put(
            "/user/change_password",
            Some(&user.token),
            change(PASSWORD, "short"),
        )
        .await;
    assert_eq!(
        body["message"],
        "The new_password field has to be longer than 7 characters and shorter than 65 characters."
    );
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = app
        .put(
            "/user/change_password",
            Some(&user.token),
            change("wrong-one1", "brand-new-pass"),
        )
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (
            StatusCode::BAD_REQUEST,
            Some("Current password is incorrect.")
        )
    );
    let (status, body) = app
        .put(
            "/user/change_password",
            Some(&user.token),
            json!({"current_password": PASSWORD}),
        )
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (
            StatusCode::BAD_REQUEST,
            Some("Input payload validation failed")
        )
    );

    let (status, body) = app
        .put(
            "/user/change_password",
            Some(&user.token),
            change(PASSWORD, "brand-new-pass"),
        )
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (
            StatusCode::CREATED,
            Some("Password was updated successfully.")
        )
    );
    assert_eq!(
        app.login("changing_user", PASSWORD).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login("changing_user", "brand-new-pass").await.0,
        StatusCode::OK
    );
    assert_eq!(
        app.post("/refresh", Some(&user.refresh_token), json!({}))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    app.stop().await;
}

async fn a_forgotten_password_is_reset_once_through_the_emailed_link(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let user = app.user("forgetful_user", json!({})).await;
    let expected = "If an account with that e-mail exists, we have sent it a password reset link.";
    for email in [user.email.as_str(), "nobody@example.com"] {
        let (status, body) = app
            .post("/user/forgot_password", None, json!({"email": email}))
            .await;
        assert_eq!(
            (status, body["message"].as_str()),
            (StatusCode::OK, Some(expected))
        );
    }
    let mails = app.mail.wait_for(&user.email, 2).await;
    assert_eq!(mails[1].subject, "Mentorship System - Reset your password");
    let link = mails[1]
        .link(&format!("{}/user/reset_password/", app.base))
        .unwrap();
    let token = link.rsplit('/').next().unwrap().to_owned();

    // The page opens (and changes nothing).
    let page = app.client.get(&link).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("new_password"));

    let (status, body) = app
        .post(
            "/user/reset_password",
            None,
            json!({"token": token, "new_password": "short"}),
        )
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (
            StatusCode::BAD_REQUEST,
            Some(
                "The password field has to be longer than 7 characters and shorter than 65 characters."
            )
        )
    );
    let (status, body) = app
        .post(
            "/user/reset_password",
            None,
            json!({"token": token, "new_password": "fresh-password"}),
        )
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (
            StatusCode::OK,
            Some("Your password has been reset. You can now log in.")
        )
    );
    let (status, body) = app
        .post(
            "/user/reset_password",
            None,
            json!({"token": token, "new_password": "other-password"}),
        )
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (
            StatusCode::BAD_REQUEST,
            Some("The password reset link is invalid or has expired.")
        )
    );
    assert_eq!(
        app.login(&user.username, "fresh-password").await.0,
        StatusCode::OK
    );
    assert_eq!(
        app.post("/refresh", Some(&user.refresh_token), json!({}))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    app.settle_mail().await;
    assert!(app.mail.to("nobody@example.com").is_empty());
    app.stop().await;
}

async fn a_password_reset_link_expires_after_an_hour(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let user = app.user("late_user", json!({})).await;
    app.post("/user/forgot_password", None, json!({"email": user.email}))
        .await;
    let mails = app.mail.wait_for(&user.email, 2).await;
    let token = mails[1]
        .link(&format!("{}/user/reset_password/", app.base))
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    app.clock.advance(3_601.0);
    let (status, _) = app
        .post(
            "/user/reset_password",
            None,
            json!({"token": token, "new_password": "fresh-password"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    app.stop().await;
}

async fn unknown_routes_wrong_methods_and_big_bodies_get_json_errors(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (status, body) = app.get("/no/such/route", None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("NOT_FOUND"))
    );
    let response = app.client.get(app.url("/login")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()["allow"], "POST");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body["message"],
        "The method is not allowed for the requested URL."
    );
    let big = json!({"name": "x".repeat(100_000)});
    let (status, body) = app.post("/register", None, big).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("PAYLOAD_TOO_LARGE"))
    );
    // Trailing slashes are optional, as in the reference.
    assert_eq!(app.get("/health/", None).await.0, StatusCode::OK);
    let (status, spec) = app.get("/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(spec["paths"]["/register"]["post"].is_object());
    // The reference's address of the spec serves the same document.
    assert_eq!(app.get("/swagger.json", None).await, (StatusCode::OK, spec));
    // Swagger UI is served from the binary and loads that document.
    let page = app.client.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("swagger-ui"));
    let initializer = app
        .client
        .get(app.url("/docs/swagger-initializer.js"))
        .send()
        .await
        .unwrap();
    assert!(
        initializer
            .text()
            .await
            .unwrap()
            .contains(r#""url": "/openapi.json""#)
    );
    app.stop().await;
}

async fn the_authorization_header_is_judged_as_the_reference_judges_it(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let user = app.user("header_user", json!({})).await;
    let answer = |value: String| {
        let request = app
            .client
            .get(app.url("/user"))
            .header("Authorization", value);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            let body: serde_json::Value = response.json().await.unwrap();
            (
                status,
                body["message"].as_str().unwrap_or_default().to_owned(),
            )
        }
    };
    let missing = "The authorization token is missing!";
    let invalid = "The token is invalid!";
    let expired = "The token has expired! Please, login again or refresh it.";
    let unauthorized = StatusCode::UNAUTHORIZED;
    // An empty header is no header.
    assert_eq!(answer(String::new()).await, (unauthorized, missing.into()));
    assert_eq!(
        answer("Bearer".into()).await,
        (unauthorized, invalid.into())
    );
    assert_eq!(
        answer(format!("Token {}", user.token)).await,
        (unauthorized, invalid.into())
    );
    assert_eq!(
        answer(format!("Bearer {}", user.token)).await.0,
        StatusCode::OK
    );
    // A refresh token where an access token is due is invalid while it is valid, and expired
    // once it has expired: time is checked before the type.
    let refresh = format!("Bearer {}", user.refresh_token);
    assert_eq!(
        answer(refresh.clone()).await,
        (unauthorized, invalid.into())
    );
    app.clock.advance(29.0 * 86_400.0);
    assert_eq!(answer(refresh).await, (unauthorized, expired.into()));
    app.stop().await;
}

crate::db_tests!(
    the_authorization_header_is_judged_as_the_reference_judges_it,
    a_new_member_registers_verifies_by_email_logs_in_refreshes_and_logs_out,
    reusing_a_rotated_refresh_token_revokes_its_whole_family,
    registration_checks_run_in_the_reference_order,
    usernames_and_emails_are_unique_regardless_of_case,
    concurrent_registrations_of_one_username_create_one_account,
    login_errors_follow_the_contract,
    five_failed_logins_in_a_minute_throttle_even_the_right_password,
    resending_the_verification_answers_alike_for_every_address,
    a_verification_link_expires_after_thirty_days,
    changing_the_password_checks_the_current_one_and_revokes_refresh_tokens,
    a_forgotten_password_is_reset_once_through_the_emailed_link,
    a_password_reset_link_expires_after_an_hour,
    unknown_routes_wrong_methods_and_big_bodies_get_json_errors,
);
