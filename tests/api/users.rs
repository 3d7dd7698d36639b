//! Profiles (`GET/PUT/DELETE /user`), the member directory (`GET /users`, `/users/verified`,
//! `/users/<id>`) and how every one of them treats missing, bad and expired tokens.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

/// The keys of `full_user_api_model`, as `GET /user` answers them.
const FULL_PROFILE_KEYS: [&str; 23] = [
    "id",
    "name",
    "username",
    "email",
    "terms_and_conditions_checked",
    "is_admin",
    "registration_date",
    "is_email_verified",
    "email_verification_date",
    "bio",
    "location",
    "occupation",
    "organization",
    "slack_username",
    "social_media_links",
    "skills",
    "interests",
    "resume_url",
    "photo_url",
    "need_mentoring",
    "available_to_mentor",
    "current_mentorship_role",
    "membership_status",
];

/// The keys of `public_user_api_model`, what members see of each other.
const PUBLIC_KEYS: [&str; 14] = [
    "id",
    "username",
    "name",
    "slack_username",
    "bio",
    "location",
    "occupation",
    "organization",
    "interests",
    "skills",
    "need_mentoring",
    "available_to_mentor",
    "is_available",
    "registration_date",
];

fn sorted_keys(object: &Value) -> Vec<String> {
    let mut keys: Vec<String> = object
        .as_object()
        .unwrap_or_else(|| panic!("an object: {object}"))
        .keys()
        .cloned()
        .collect();
    keys.sort();
    keys
}

fn sorted(keys: &[&str]) -> Vec<String> {
    let mut keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    keys.sort();
    keys
}

fn usernames(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("an array: {list}"))
        .iter()
        .map(|u| u["username"].as_str().unwrap().to_owned())
        .collect()
}

/// `GET path` as `user`, which must answer 200 with an array; the usernames in it.
async fn listed(app: &TestApp, user: &User, path: &str) -> Vec<String> {
    let (status, list) = app.get(path, Some(&user.token)).await;
    assert_eq!(status, StatusCode::OK, "{path}: {list}");
    usernames(&list)
}

/// The id of `username` as the directory shows it (also for accounts not verified yet).
async fn id_of(app: &TestApp, viewer: &User, username: &str) -> i64 {
    let (status, list) = app
        .get(
            &format!("/users?search={username}&per_page=50"),
            Some(&viewer.token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list.as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == username)
        .unwrap_or_else(|| panic!("{username} is listed: {list}"))["id"]
        .as_i64()
        .unwrap()
}

async fn profile(app: &TestApp, user: &User) -> Value {
    let (status, me) = app.get("/user", Some(&user.token)).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    me
}

/// `PUT /user` as `user`; the status and the `message`.
async fn update(app: &TestApp, user: &User, body: Value) -> (StatusCode, String) {
    let (status, answer) = app.put("/user", Some(&user.token), body).await;
    let message = answer["message"]
        .as_str()
        .unwrap_or_else(|| panic!("{status} answer has a message: {answer}"))
        .to_owned();
    (status, message)
}

fn ok_updated() -> (StatusCode, String) {
    (StatusCode::OK, "User was updated successfully.".to_owned())
}

fn bad(message: &str) -> (StatusCode, String) {
    (StatusCode::BAD_REQUEST, message.to_owned())
}

async fn the_own_profile_has_every_field_of_the_reference(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let user = app
        .user(
            "profile_owner",
            json!({"name": "Profile Owner", "need_mentoring": true}),
        )
        .await;
    let me = profile(&app, &user).await;
    assert_eq!(sorted_keys(&me), sorted(&FULL_PROFILE_KEYS), "{me}");
    assert_eq!(me["id"].as_i64(), Some(user.id));
    assert_eq!(me["name"], "Profile Owner");
    assert_eq!(me["username"], "profile_owner");
    assert_eq!(me["email"], "profile_owner@example.com");
    assert_eq!(me["terms_and_conditions_checked"], true);
    assert_eq!(me["is_admin"], false);
    assert_eq!(me["is_email_verified"], true);
    assert_eq!(me["need_mentoring"], true);
    assert_eq!(me["available_to_mentor"], false);
    // UNIX seconds as a float; the verification date as an ISO-8601 string.
    assert!(me["registration_date"].is_f64(), "{me}");
    let registered = me["registration_date"].as_f64().unwrap();
    assert!((registered - app.clock.now()).abs() < 60.0, "{me}");
    let verified = me["email_verification_date"].as_str().expect("a string");
    assert!(
        verified.len() >= 19 && verified.as_bytes()[10] == b'T',
        "ISO-8601: {verified}"
    );
    // Never set: present and null.
    for key in [
        "bio",
        "location",
        "occupation",
        "organization",
        "slack_username",
        "social_media_links",
        "skills",
        "interests",
        "resume_url",
        "photo_url",
        "current_mentorship_role",
        "membership_status",
    ] {
        assert!(me[key].is_null(), "{key} is null: {me}");
    }
    app.stop().await;
}

async fn profile_updates_are_validated_in_the_reference_order(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let user = app
        .user("careful_one", json!({"name": "Careful One"}))
        .await;
    let long_bio = "x".repeat(451);
    let cases = [
        (json!({}), bad("No data for updating profile was sent.")),
        (json!(null), bad("No data for updating profile was sent.")),
        (
            json!({"username": "abcd"}),
            bad(
                "The username field has to be longer than 4 characters and shorter than 26 characters.",
            ),
        ),
        (
            json!({"username": "a".repeat(26)}),
            bad(
                "The username field has to be longer than 4 characters and shorter than 26 characters.",
            ),
        ),
        // Username before name.
        (
            json!({"username": "bad-name", "name": "J"}),
            bad("Your new username is invalid."),
        ),
        (
            json!({"name": "J", "bio": long_bio}),
            bad(
                "The name field has to be longer than 1 characters and shorter than 31 characters.",
            ),
        ),
        (
            json!({"name": "a".repeat(31)}),
            bad(
                "The name field has to be longer than 1 characters and shorter than 31 characters.",
            ),
        ),
        // Name before the other texts.
        (
            json!({"name": "J4ne", "bio": long_bio}),
            bad("Your name is invalid."),
        ),
        // The texts before the flags.
        (
            json!({"bio": long_bio, "need_mentoring": null}),
            bad("The bio field has to be shorter than 451 characters."),
        ),
        (
            json!({"location": "l".repeat(61)}),
            bad("The location field has to be shorter than 61 characters."),
        ),
        (
            json!({"skills": "s".repeat(451)}),
            bad("The skills field has to be shorter than 451 characters."),
        ),
        (
            json!({"interests": "i".repeat(151)}),
            bad("The interests field has to be shorter than 151 characters."),
        ),
        (
            json!({"social_media_links": "m".repeat(401)}),
            bad("The social_media_links field has to be shorter than 401 characters."),
        ),
        (
            json!({"need_mentoring": null}),
            bad("Field need_mentoring is not valid."),
        ),
        (
            json!({"available_to_mentor": null}),
            bad("Field available_to_mentor is not valid."),
        ),
        (
            json!({"need_mentoring": null, "available_to_mentor": null}),
            bad("Field need_mentoring is not valid."),
        ),
    ];
    for (body, expected) in cases {
        assert_eq!(update(&app, &user, body.clone()).await, expected, "{body}");
    }

    // Wrong JSON types, a 500 in the reference, are a 400 here.
    for body in [
        json!({"bio": 5}),
        json!({"name": 5}),
        json!({"username": ["a_list"]}),
        json!({"location": {"city": "Lisbon"}}),
        json!({"need_mentoring": "yes"}),
        json!({"available_to_mentor": "true"}),
    ] {
        let (status, answer) = app.put("/user", Some(&user.token), body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert!(answer["message"].is_string(), "{body}: {answer}");
    }

    // Nothing of the refused updates was stored.
    let me = profile(&app, &user).await;
    assert_eq!(me["name"], "Careful One");
    assert_eq!(me["username"], "careful_one");
    assert!(me["bio"].is_null() && me["location"].is_null(), "{me}");
    assert_eq!(me["need_mentoring"], false);

    // Lengths are counted without whitespace: 450 letters with spaces between fit.
    let spaced_bio = "ab ".repeat(225);
    assert_eq!(
        update(&app, &user, json!({"bio": spaced_bio})).await,
        ok_updated()
    );
    assert_eq!(profile(&app, &user).await["bio"], spaced_bio.as_str());
    app.stop().await;
}

async fn a_profile_update_without_a_json_object_gets_the_no_data_message(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let user = app.user("no_data_one", json!({})).await;
    let mut wrong = Vec::new();
    for raw in ["", "null", "[]", "\"text\"", "42", "not json", "{\"bio\": "] {
        let response = app
            .client
            .put(app.url("/user"))
            .bearer_auth(&user.token)
            .header("content-type", "application/json")
            .body(raw)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let answer: Value = response.json().await.expect("a JSON answer");
        if (status, answer["message"].as_str())
            != (
                StatusCode::BAD_REQUEST,
                Some("No data for updating profile was sent."),
            )
        {
            wrong.push(format!("{raw:?} -> {status} {answer}"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    app.stop().await;
}

async fn a_member_may_keep_their_username_but_not_take_another_in_any_case(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let alice = app.user("alice_one", json!({})).await;
    let bob = app.user("bob_two", json!({})).await;

    // The reference refused one's own username; keeping it is no conflict.
    assert_eq!(
        update(&app, &alice, json!({"username": "alice_one", "bio": "Hi"})).await,
        ok_updated()
    );
    assert_eq!(profile(&app, &alice).await["bio"], "Hi");

    for taken in ["bob_two", "BOB_TWO", "Bob_Two"] {
        assert_eq!(
            update(&app, &alice, json!({"username": taken})).await,
            bad("A user with that username already exists."),
            "{taken}"
        );
    }
    assert_eq!(profile(&app, &alice).await["username"], "alice_one");
    assert_eq!(profile(&app, &bob).await["username"], "bob_two");

    // A free name is taken at once: the old one logs in no more, the new one does.
    assert_eq!(
        update(&app, &alice, json!({"username": "alice_new"})).await,
        ok_updated()
    );
    assert_eq!(profile(&app, &alice).await["username"], "alice_new");
    let (status, _) = app.login("alice_new", PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = app.login("alice_one", PASSWORD).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (
            StatusCode::UNAUTHORIZED,
            Some("Username or password is wrong.")
        )
    );
    // And the freed name is free for others.
    assert_eq!(
        update(&app, &bob, json!({"username": "alice_one"})).await,
        ok_updated()
    );
    app.stop().await;
}

async fn concurrent_renames_to_one_username_leave_one_winner(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let mut racers = Vec::new();
    for i in 0..4 {
        racers.push(app.user(&format!("racer_{i}"), json!({})).await);
    }
    for (round, wanted) in ["wanted_name", "Other_Name", "third_name"]
        .iter()
        .enumerate()
    {
        let body = || json!({ "username": wanted });
        let answers = {
            let (a, b, c, d) = tokio::join!(
                update(&app, &racers[0], body()),
                update(&app, &racers[1], body()),
                update(&app, &racers[2], body()),
                update(&app, &racers[3], body()),
            );
            [a, b, c, d]
        };
        let winners = answers.iter().filter(|a| **a == ok_updated()).count();
        assert_eq!(winners, 1, "round {round}: {answers:?}");
        for answer in answers.iter().filter(|a| **a != ok_updated()) {
            assert_eq!(
                *answer,
                bad("A user with that username already exists."),
                "round {round}"
            );
        }
        let mut names = Vec::new();
        for racer in &racers {
            names.push(
                profile(&app, racer).await["username"]
                    .as_str()
                    .unwrap()
                    .to_lowercase(),
            );
        }
        assert_eq!(
            names
                .iter()
                .filter(|n| *n == &wanted.to_lowercase())
                .count(),
            1,
            "{names:?}"
        );
    }
    app.stop().await;
}

async fn an_empty_string_or_null_clears_a_profile_field_but_not_the_name(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let user = app.user("clearing_one", json!({"name": "Clear Me"})).await;
    let filled = json!({
        "bio": "Writes code", "location": "Lisbon", "occupation": "Engineer",
        "organization": "AnitaB", "slack_username": "clearer", "social_media_links": "@clearer",
        "skills": "Rust", "interests": "Chess", "resume_url": "https://example.com/cv",
        "photo_url": "https://example.com/me.png", "need_mentoring": true,
        "available_to_mentor": true,
    });
    assert_eq!(update(&app, &user, filled.clone()).await, ok_updated());
    let me = profile(&app, &user).await;
    for (key, value) in filled.as_object().unwrap() {
        assert_eq!(&me[key], value, "{key}");
    }

    assert_eq!(
        update(
            &app,
            &user,
            json!({"bio": "", "location": null, "photo_url": "", "name": "", "need_mentoring": false}),
        )
        .await,
        ok_updated()
    );
    let me = profile(&app, &user).await;
    assert!(me["bio"].is_null(), "{me}");
    assert!(me["location"].is_null(), "{me}");
    assert!(me["photo_url"].is_null(), "{me}");
    assert_eq!(me["name"], "Clear Me", "an empty name leaves it as it is");
    assert_eq!(me["need_mentoring"], false);
    // What was not sent stays.
    assert_eq!(me["occupation"], "Engineer");
    assert_eq!(me["skills"], "Rust");
    assert_eq!(me["available_to_mentor"], true);

    // The reference's 0 and 1 for the flags.
    assert_eq!(
        update(
            &app,
            &user,
            json!({"need_mentoring": 1, "available_to_mentor": 0})
        )
        .await,
        ok_updated()
    );
    let me = profile(&app, &user).await;
    assert_eq!(
        (&me["need_mentoring"], &me["available_to_mentor"]),
        (&json!(true), &json!(false))
    );
    app.stop().await;
}

async fn a_profile_update_cannot_change_admin_verification_or_account_fields(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let user = app.user("sneaky_one", json!({})).await;
    let before = profile(&app, &user).await;
    assert_eq!(
        update(
            &app,
            &user,
            json!({
                "is_admin": true, "is_email_verified": false, "id": user.id + 100,
                "email": "other@example.com", "registration_date": 1.0,
                "email_verification_date": null, "terms_and_conditions_checked": false,
                "password": "new-password-1", "password_hash": "x", "bio": "Honest",
            }),
        )
        .await,
        ok_updated()
    );
    // Unknown keys alone are accepted too, and change nothing.
    assert_eq!(
        update(&app, &user, json!({"is_admin": true})).await,
        ok_updated()
    );
    let after = profile(&app, &user).await;
    assert_eq!(after["bio"], "Honest");
    for key in FULL_PROFILE_KEYS.iter().filter(|k| **k != "bio") {
        assert_eq!(after[*key], before[*key], "{key}");
    }
    assert_eq!(after["is_admin"], false);
    assert_eq!(after["is_email_verified"], true);
    let (status, _) = app.login("sneaky_one", PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "the password is unchanged");
    let (status, _) = app.get("/admins", Some(&user.token)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    app.stop().await;
}

async fn the_directory_lists_everyone_else_verified_or_not_with_public_fields_only(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let me = app.user("searcher", json!({"name": "Sam Searcher"})).await;
    app.user(
        "ada_lovelace",
        json!({"name": "Ada Lovelace", "available_to_mentor": true}),
    )
    .await;
    app.user(
        "grace_hopper",
        json!({"name": "Grace Hopper", "need_mentoring": true}),
    )
    .await;
    app.user("plain_user", json!({"name": "Zed Quux"})).await;
    let (status, _) = app
        .register(
            "pending_one",
            json!({"name": "Never Verified", "need_mentoring": true}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    let (status, list) = app.get("/users", Some(&me.token)).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(
        usernames(&list),
        vec!["ada_lovelace", "grace_hopper", "plain_user", "pending_one"],
        "everyone but the caller, by id, the unverified too"
    );
    for user in list.as_array().unwrap() {
        assert_eq!(sorted_keys(user), sorted(&PUBLIC_KEYS), "{user}");
        assert!(user["is_available"].is_boolean(), "{user}");
        assert!(user["registration_date"].is_f64(), "{user}");
        assert!(user["id"].is_i64(), "{user}");
    }
    let availability: Vec<(&str, bool)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["username"].as_str().unwrap(),
                u["is_available"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        availability,
        vec![
            ("ada_lovelace", true),
            ("grace_hopper", true),
            ("plain_user", false),
            ("pending_one", true),
        ]
    );
    // A trailing slash is the same route.
    assert_eq!(
        listed(&app, &me, "/users/").await,
        vec!["ada_lovelace", "grace_hopper", "plain_user", "pending_one"]
    );

    assert_eq!(
        listed(&app, &me, "/users/verified").await,
        vec!["ada_lovelace", "grace_hopper", "plain_user"]
    );
    let (_, verified) = app.get("/users/verified", Some(&me.token)).await;
    for user in verified.as_array().unwrap() {
        assert_eq!(sorted_keys(user), sorted(&PUBLIC_KEYS), "{user}");
    }

    // Search: case-insensitive, on the name or the username.
    let cases: [(&str, Vec<&str>); 8] = [
        ("/users?search=LOVELACE", vec!["ada_lovelace"]),
        ("/users?search=grace_H", vec!["grace_hopper"]),
        ("/users?search=quux", vec!["plain_user"]),
        ("/users?search=PLAIN", vec!["plain_user"]),
        ("/users?search=never%20VERIFIED", vec!["pending_one"]),
        ("/users/verified?search=never", vec![]),
        // Not the caller.
        ("/users?search=searcher", vec![]),
        ("/users?search=nobody_has_this", vec![]),
    ];
    for (path, expected) in cases {
        assert_eq!(listed(&app, &me, path).await, expected, "{path}");
    }

    // The flags filter.
    let cases: [(&str, Vec<&str>); 5] = [
        (
            "/users?need_mentoring=true",
            vec!["grace_hopper", "pending_one"],
        ),
        ("/users?available_to_mentor=true", vec!["ada_lovelace"]),
        ("/users/verified?need_mentoring=true", vec!["grace_hopper"]),
        (
            "/users?search=o&need_mentoring=true",
            vec!["grace_hopper", "pending_one"],
        ),
        (
            "/users?need_mentoring=true&available_to_mentor=true",
            vec![],
        ),
    ];
    for (path, expected) in cases {
        assert_eq!(listed(&app, &me, path).await, expected, "{path}");
    }
    app.stop().await;
}

async fn the_directory_pages_by_ten_by_default_and_by_fifty_at_most(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let me = app.user("the_reader", json!({})).await;
    // Unverified members are listed too, so registering is enough.
    let members: Vec<String> = (1..=55).map(|i| format!("member_{i:02}")).collect();
    for name in &members {
        let (status, body) = app.register(name, json!({})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let range = |from: usize, to: usize| members[from - 1..to].to_vec();
    let cases: [(&str, Vec<String>); 15] = [
        ("/users", range(1, 10)),
        ("/users?page=1", range(1, 10)),
        ("/users?page=2", range(11, 20)),
        ("/users?page=6", range(51, 55)),
        ("/users?page=7", vec![]),
        ("/users?page=1000", vec![]),
        ("/users?page=0", range(1, 10)),
        ("/users?per_page=500", range(1, 50)),
        ("/users?per_page=50&page=2", range(51, 55)),
        ("/users?per_page=0", vec![]),
        ("/users?per_page=abc&page=xyz", range(1, 10)),
        ("/users?per_page=-1", range(1, 20)),
        ("/users?page=9223372036854775807", vec![]),
        ("/users?page=99999999999999999999999", range(1, 10)),
        ("/users?per_page=9223372036854775807&page=2", range(51, 55)),
    ];
    for (path, expected) in cases {
        assert_eq!(listed(&app, &me, path).await, expected, "{path}");
    }
    // The verified list pages alike: only the caller is verified, so it is empty.
    assert!(listed(&app, &me, "/users/verified").await.is_empty());
    app.stop().await;
}

async fn a_public_profile_needs_an_existing_verified_member(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let me = app.user("the_viewer", json!({})).await;
    let mentor = app
        .user(
            "mentor_one",
            json!({"name": "Mentor One", "available_to_mentor": true}),
        )
        .await;
    let mentee = app
        .user("mentee_one", json!({"need_mentoring": true}))
        .await;
    let idle = app.user("idle_one", json!({})).await;
    let (status, _) = app
        .put(
            "/user",
            Some(&mentor.token),
            json!({"bio": "Ask me", "location": "Porto", "skills": "Rust"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    app.register("pending_one", json!({})).await;
    let pending_id = id_of(&app, &me, "pending_one").await;

    let (status, shown) = app
        .get(&format!("/users/{}", mentor.id), Some(&me.token))
        .await;
    assert_eq!(status, StatusCode::OK, "{shown}");
    assert_eq!(sorted_keys(&shown), sorted(&PUBLIC_KEYS), "{shown}");
    assert_eq!(shown["id"].as_i64(), Some(mentor.id));
    assert_eq!(shown["username"], "mentor_one");
    assert_eq!(shown["name"], "Mentor One");
    assert_eq!(shown["bio"], "Ask me");
    assert_eq!(shown["location"], "Porto");
    assert_eq!(shown["skills"], "Rust");
    assert_eq!(shown["available_to_mentor"], true);
    assert_eq!(shown["need_mentoring"], false);
    assert_eq!(shown["is_available"], true);
    assert!(shown["registration_date"].is_f64(), "{shown}");

    for (user, available) in [(&mentee, true), (&idle, false), (&me, false)] {
        let (status, shown) = app
            .get(&format!("/users/{}", user.id), Some(&me.token))
            .await;
        assert_eq!(status, StatusCode::OK, "{shown}");
        assert_eq!(
            shown["is_available"], available,
            "{}: {shown}",
            user.username
        );
    }

    let (status, body) = app
        .get(&format!("/users/{pending_id}"), Some(&me.token))
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (
            StatusCode::FORBIDDEN,
            Some("Please verify your email before login.")
        )
    );
    let (status, body) = app.get("/users/987654", Some(&me.token)).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (StatusCode::NOT_FOUND, Some("User does not exist."))
    );
    // Not an integer: a JSON 404 (the reference's was an HTML page).
    for path in [
        "/users/abc",
        "/users/1.5",
        "/users/-",
        "/users/99999999999999999999999",
    ] {
        let (status, body) = app.get(path, Some(&me.token)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        assert!(body["message"].is_string(), "{path}: {body}");
    }
    app.stop().await;
}

async fn a_deleted_account_is_gone_even_for_its_old_token(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let stays = app.user("staying_one", json!({})).await;
    let leaves = app.user("leaving_one", json!({})).await;
    let (status, body) = app.delete("/user", Some(&leaves.token)).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (StatusCode::OK, Some("User was deleted successfully."))
    );

    let (status, body) = app.get("/user", Some(&leaves.token)).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (StatusCode::NOT_FOUND, Some("User does not exist."))
    );
    let (status, body) = app
        .put("/user", Some(&leaves.token), json!({"bio": "ghost"}))
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (StatusCode::NOT_FOUND, Some("User does not exist."))
    );
    let (status, body) = app.delete("/user", Some(&leaves.token)).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (StatusCode::NOT_FOUND, Some("User does not exist."))
    );
    let (status, body) = app.login("leaving_one", PASSWORD).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (
            StatusCode::UNAUTHORIZED,
            Some("Username or password is wrong.")
        )
    );
    assert!(listed(&app, &stays, "/users").await.is_empty());
    let (status, body) = app
        .get(&format!("/users/{}", leaves.id), Some(&stays.token))
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (StatusCode::NOT_FOUND, Some("User does not exist."))
    );
    // The name and the address are free again.
    let (status, body) = app.register("leaving_one", json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    app.stop().await;
}

async fn requests_without_a_valid_access_token_are_refused_with_401(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let user = app.user("token_user", json!({})).await;
    let other = app.user("other_user", json!({})).await;
    let missing = "The authorization token is missing!";
    let invalid = "The token is invalid!";
    let expired = "The token has expired! Please, login again or refresh it.";

    let routes: Vec<(reqwest::Method, String, Option<Value>)> = vec![
        (reqwest::Method::GET, "/user".into(), None),
        (
            reqwest::Method::PUT,
            "/user".into(),
            Some(json!({"bio": "x"})),
        ),
        (reqwest::Method::DELETE, "/user".into(), None),
        (reqwest::Method::GET, "/users".into(), None),
        (reqwest::Method::GET, "/users/verified".into(), None),
        (reqwest::Method::GET, format!("/users/{}", other.id), None),
    ];
    // Another token's signature on this token's header and payload.
    let forged = {
        let mine: Vec<&str> = user.token.split('.').collect();
        let theirs: Vec<&str> = other.token.split('.').collect();
        format!("{}.{}.{}", mine[0], mine[1], theirs[2])
    };
    for (method, path, body) in &routes {
        let (status, answer) = app.request(method.clone(), path, None, body.clone()).await;
        assert_eq!(
            (status, answer["message"].as_str()),
            (StatusCode::UNAUTHORIZED, Some(missing)),
            "{method} {path}"
        );
        for token in [
            "garbage",
            "a.b.c",
            forged.as_str(),
            user.refresh_token.as_str(),
        ] {
            let (status, answer) = app
                .request(method.clone(), path, Some(token), body.clone())
                .await;
            assert_eq!(
                (status, answer["message"].as_str()),
                (StatusCode::UNAUTHORIZED, Some(invalid)),
                "{method} {path} with {token}"
            );
        }
        // A header without "Bearer ".
        let response = app
            .client
            .request(method.clone(), app.url(path))
            .header("authorization", format!("Token {}", user.token))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "{method} {path}"
        );
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["message"], invalid, "{method} {path}");
    }

    // The access token lives 15 minutes.
    app.clock.advance(14.0 * 60.0);
    let (status, _) = app.get("/user", Some(&user.token)).await;
    assert_eq!(status, StatusCode::OK);
    app.clock.advance(2.0 * 60.0);
    for (method, path, body) in &routes {
        let (status, answer) = app
            .request(method.clone(), path, Some(&user.token), body.clone())
            .await;
        assert_eq!(
            (status, answer["message"].as_str()),
            (StatusCode::UNAUTHORIZED, Some(expired)),
            "{method} {path}"
        );
    }
    // The account itself is untouched: a new login works.
    let mut user = user;
    app.relogin(&mut user).await;
    let me = profile(&app, &user).await;
    assert_eq!(me["username"], "token_user");
    app.stop().await;
}

crate::db_tests!(
    the_own_profile_has_every_field_of_the_reference,
    profile_updates_are_validated_in_the_reference_order,
    a_profile_update_without_a_json_object_gets_the_no_data_message,
    a_member_may_keep_their_username_but_not_take_another_in_any_case,
    concurrent_renames_to_one_username_leave_one_winner,
    an_empty_string_or_null_clears_a_profile_field_but_not_the_name,
    a_profile_update_cannot_change_admin_verification_or_account_fields,
    the_directory_lists_everyone_else_verified_or_not_with_public_fields_only,
    the_directory_pages_by_ten_by_default_and_by_fifty_at_most,
    a_public_profile_needs_an_existing_verified_member,
    a_deleted_account_is_gone_even_for_its_old_token,
    requests_without_a_valid_access_token_are_refused_with_401,
);
