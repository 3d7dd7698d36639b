//! Admin management: `POST /admin/new`, `POST /admin/remove`, `GET /admins`, and the only admin
//! left keeping their account.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

const NOT_ADMIN_ASSIGN: &str = "You don't have admin status. You can't assign other user as admin.";
const NOT_ADMIN_REVOKE: &str = "You don't have admin status. You can't revoke other admin user.";

/// A server where the first user to register becomes admin, as in the reference.
async fn spawn_first_admin(kind: DbKind) -> TestApp {
    TestApp::spawn_with(kind, &[("FIRST_USER_IS_ADMIN", "true")]).await
}

/// `POST path {"user_id": id}` as `user`; the status and the `message`.
async fn post_user_id(app: &TestApp, user: &User, path: &str, id: i64) -> (StatusCode, String) {
    let (status, answer) = app
        .post(path, Some(&user.token), json!({ "user_id": id }))
        .await;
    let message = answer["message"]
        .as_str()
        .unwrap_or_else(|| panic!("{status} answer has a message: {answer}"))
        .to_owned();
    (status, message)
}

fn answer(status: StatusCode, message: &str) -> (StatusCode, String) {
    (status, message.to_owned())
}

async fn is_admin(app: &TestApp, user: &User) -> bool {
    let (status, me) = app.get("/user", Some(&user.token)).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    me["is_admin"].as_bool().expect("is_admin is a bool")
}

/// The id of an account that never verified its e-mail.
async fn unverified_id(app: &TestApp, viewer: &User, username: &str) -> i64 {
    let (status, body) = app.register(username, json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, list) = app
        .get(&format!("/users?search={username}"), Some(&viewer.token))
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

/// The payload checks of flask-restx, which come before everything else.
async fn assert_payload_checked(app: &TestApp, user: &User, path: &str) {
    let cases = [
        (json!({"user_id": "2"}), "'2' is not of type 'integer'"),
        (json!({"user_id": 1.5}), "1.5 is not of type 'integer'"),
        (json!({"user_id": true}), "True is not of type 'integer'"),
        (json!({"user_id": null}), "None is not of type 'integer'"),
        (json!({}), "'user_id' is a required property"),
        (json!({"id": 2}), "'user_id' is a required property"),
    ];
    for (body, error) in cases {
        let (status, answer) = app.post(path, Some(&user.token), body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path} {body}: {answer}");
        assert_eq!(
            answer["message"], "Input payload validation failed",
            "{path} {body}"
        );
        assert_eq!(
            answer["errors"]["user_id"], error,
            "{path} {body}: {answer}"
        );
    }
}

async fn granting_admin_checks_run_in_the_reference_order(kind: DbKind) {
    let app = spawn_first_admin(kind).await;
    let admin = app.user("admin_one", json!({})).await;
    let member = app.user("member_one", json!({})).await;
    let other = app.user("member_two", json!({})).await;
    assert!(is_admin(&app, &admin).await, "the first user is admin");
    assert!(!is_admin(&app, &member).await, "only the first");

    // The payload first, whoever asks.
    assert_payload_checked(&app, &member, "/admin/new").await;
    assert_payload_checked(&app, &admin, "/admin/new").await;

    // Then the caller must be an admin, whatever the target.
    for target in [other.id, member.id, admin.id, 987_654] {
        assert_eq!(
            post_user_id(&app, &member, "/admin/new", target).await,
            answer(StatusCode::FORBIDDEN, NOT_ADMIN_ASSIGN),
            "target {target}"
        );
    }
    assert_eq!(
        post_user_id(&app, &admin, "/admin/new", admin.id).await,
        answer(
            StatusCode::FORBIDDEN,
            "You cannot assign yourself as an Admin."
        )
    );
    assert_eq!(
        post_user_id(&app, &admin, "/admin/new", 987_654).await,
        answer(StatusCode::NOT_FOUND, "User does not exist.")
    );
    assert_eq!(
        post_user_id(&app, &admin, "/admin/new", member.id).await,
        answer(StatusCode::OK, "User is now an Admin.")
    );
    assert!(is_admin(&app, &member).await);
    assert_eq!(
        post_user_id(&app, &admin, "/admin/new", member.id).await,
        answer(StatusCode::BAD_REQUEST, "User is already an Admin.")
    );
    // The new admin may grant in turn, and an admin granting themself is still "yourself".
    assert_eq!(
        post_user_id(&app, &member, "/admin/new", member.id).await,
        answer(
            StatusCode::FORBIDDEN,
            "You cannot assign yourself as an Admin."
        )
    );
    assert_eq!(
        post_user_id(&app, &member, "/admin/new", admin.id).await,
        answer(StatusCode::BAD_REQUEST, "User is already an Admin.")
    );
    assert_eq!(
        post_user_id(&app, &member, "/admin/new", other.id).await,
        answer(StatusCode::OK, "User is now an Admin.")
    );
    assert!(is_admin(&app, &other).await);

    // The target need not be verified (as the reference).
    let pending = unverified_id(&app, &admin, "pending_one").await;
    assert_eq!(
        post_user_id(&app, &admin, "/admin/new", pending).await,
        answer(StatusCode::OK, "User is now an Admin.")
    );

    // Without a token.
    let (status, body) = app.post("/admin/new", None, json!({"user_id": 2})).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (
            StatusCode::UNAUTHORIZED,
            Some("The authorization token is missing!")
        )
    );
    app.stop().await;
}

async fn revoking_admin_checks_run_in_the_reference_order(kind: DbKind) {
    let app = spawn_first_admin(kind).await;
    let admin = app.user("admin_one", json!({})).await;
    let member = app.user("member_one", json!({})).await;
    let second = app.user("second_one", json!({})).await;

    assert_payload_checked(&app, &member, "/admin/remove").await;
    assert_payload_checked(&app, &admin, "/admin/remove").await;

    for target in [admin.id, member.id, 987_654] {
        assert_eq!(
            post_user_id(&app, &member, "/admin/remove", target).await,
            answer(StatusCode::FORBIDDEN, NOT_ADMIN_REVOKE),
            "target {target}"
        );
    }
    assert_eq!(
        post_user_id(&app, &admin, "/admin/remove", admin.id).await,
        answer(StatusCode::FORBIDDEN, "You cannot revoke your adminstatus.")
    );
    assert!(is_admin(&app, &admin).await);
    assert_eq!(
        post_user_id(&app, &admin, "/admin/remove", 987_654).await,
        answer(StatusCode::NOT_FOUND, "User does not exist.")
    );
    assert_eq!(
        post_user_id(&app, &admin, "/admin/remove", member.id).await,
        answer(StatusCode::BAD_REQUEST, "User is not an Admin.")
    );

    // Grant, then revoke.
    assert_eq!(
        post_user_id(&app, &admin, "/admin/new", second.id).await,
        answer(StatusCode::OK, "User is now an Admin.")
    );
    assert_eq!(
        post_user_id(&app, &admin, "/admin/remove", second.id).await,
        answer(StatusCode::OK, "User admin status was revoked.")
    );
    assert!(!is_admin(&app, &second).await);
    assert_eq!(
        post_user_id(&app, &second, "/admin/new", member.id).await,
        answer(StatusCode::FORBIDDEN, NOT_ADMIN_ASSIGN),
        "a revoked admin grants no more"
    );

    // With another admin around, an admin may step down.
    assert_eq!(
        post_user_id(&app, &admin, "/admin/new", second.id).await,
        answer(StatusCode::OK, "User is now an Admin.")
    );
    assert_eq!(
        post_user_id(&app, &admin, "/admin/remove", admin.id).await,
        answer(StatusCode::OK, "User admin status was revoked.")
    );
    assert!(!is_admin(&app, &admin).await);
    assert_eq!(
        post_user_id(&app, &admin, "/admin/remove", second.id).await,
        answer(StatusCode::FORBIDDEN, NOT_ADMIN_REVOKE)
    );
    // Now the second is the last admin, and cannot step down.
    assert_eq!(
        post_user_id(&app, &second, "/admin/remove", second.id).await,
        answer(StatusCode::FORBIDDEN, "You cannot revoke your adminstatus.")
    );
    assert!(is_admin(&app, &second).await);

    let (status, body) = app.post("/admin/remove", None, json!({"user_id": 1})).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (
            StatusCode::UNAUTHORIZED,
            Some("The authorization token is missing!")
        )
    );
    app.stop().await;
}

async fn only_admins_list_the_other_admins_with_public_fields(kind: DbKind) {
    let app = spawn_first_admin(kind).await;
    let admin = app.user("admin_one", json!({"name": "Admin One"})).await;
    let member = app.user("member_one", json!({})).await;
    let second = app.user("second_one", json!({"name": "Second One"})).await;

    let (status, body) = app.get("/admins", Some(&member.token)).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (StatusCode::FORBIDDEN, Some("User is not an Admin."))
    );
    let (status, body) = app.get("/admins", None).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (
            StatusCode::UNAUTHORIZED,
            Some("The authorization token is missing!")
        )
    );

    // The only admin sees nobody.
    let (status, list) = app.get("/admins", Some(&admin.token)).await;
    assert_eq!((status, list), (StatusCode::OK, json!([])));

    let (status, _) = app
        .put(
            "/user",
            Some(&second.token),
            json!({
                "bio": "Keeps order", "location": "Lisbon", "occupation": "Moderator",
                "organization": "AnitaB", "slack_username": "second", "skills": "Patience",
                "interests": "Not shown", "need_mentoring": true,
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .post(
            "/admin/new",
            Some(&admin.token),
            json!({"user_id": second.id}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let (status, list) = app.get("/admins", Some(&admin.token)).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(
        list,
        json!([{
            "id": second.id, "username": "second_one", "name": "Second One",
            "slack_username": "second", "bio": "Keeps order", "location": "Lisbon",
            "occupation": "Moderator", "organization": "AnitaB", "skills": "Patience",
        }]),
        "exactly the nine public admin fields"
    );
    let (status, list) = app.get("/admins", Some(&second.token)).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(
        list,
        json!([{
            "id": admin.id, "username": "admin_one", "name": "Admin One",
            "slack_username": null, "bio": null, "location": null,
            "occupation": null, "organization": null, "skills": null,
        }])
    );
    let (status, _) = app.get("/admins", Some(&member.token)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Three admins: each sees the two others.
    let (status, _) = app
        .post(
            "/admin/new",
            Some(&second.token),
            json!({"user_id": member.id}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, list) = app.get("/admins", Some(&member.token)).await;
    let mut ids: Vec<i64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_i64().unwrap())
        .collect();
    ids.sort();
    let mut expected = vec![admin.id, second.id];
    expected.sort();
    assert_eq!(ids, expected);
    app.stop().await;
}

async fn the_only_admin_left_cannot_delete_their_account(kind: DbKind) {
    let app = spawn_first_admin(kind).await;
    let admin = app.user("admin_one", json!({})).await;
    let member = app.user("member_one", json!({})).await;
    let second = app.user("second_one", json!({})).await;
    let only_admin = "You cannot delete your account, since you are the only Admin left.";

    let (status, body) = app.delete("/user", Some(&admin.token)).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (StatusCode::BAD_REQUEST, Some(only_admin))
    );
    assert!(is_admin(&app, &admin).await, "still there, still admin");

    // With a second admin, the first may go; then the second is the only one left.
    let (status, _) = app
        .post(
            "/admin/new",
            Some(&admin.token),
            json!({"user_id": second.id}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = app.delete("/user", Some(&admin.token)).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (StatusCode::OK, Some("User was deleted successfully."))
    );
    let (status, body) = app.get("/user", Some(&admin.token)).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (StatusCode::NOT_FOUND, Some("User does not exist."))
    );
    let (status, list) = app.get("/admins", Some(&second.token)).await;
    assert_eq!((status, list), (StatusCode::OK, json!([])));
    let (status, body) = app.delete("/user", Some(&second.token)).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (StatusCode::BAD_REQUEST, Some(only_admin))
    );

    // A member who is no admin just goes.
    let (status, body) = app.delete("/user", Some(&member.token)).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (StatusCode::OK, Some("User was deleted successfully."))
    );
    app.stop().await;
}

async fn without_the_setting_the_first_user_is_no_admin(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let first = app.user("first_one", json!({})).await;
    let second = app.user("second_one", json!({})).await;
    let (status, me) = app.get("/user", Some(&first.token)).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["is_admin"], false);
    assert!(!is_admin(&app, &second).await);

    let (status, body) = app.get("/admins", Some(&first.token)).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (StatusCode::FORBIDDEN, Some("User is not an Admin."))
    );
    assert_eq!(
        post_user_id(&app, &first, "/admin/new", second.id).await,
        answer(StatusCode::FORBIDDEN, NOT_ADMIN_ASSIGN)
    );
    assert_eq!(
        post_user_id(&app, &first, "/admin/remove", second.id).await,
        answer(StatusCode::FORBIDDEN, NOT_ADMIN_REVOKE)
    );
    // With no admin at all, anyone may delete their account.
    let (status, body) = app.delete("/user", Some(&first.token)).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (StatusCode::OK, Some("User was deleted successfully."))
    );
    app.stop().await;
}

/// Makes `username` an admin as an operator would (`mentorship admin grant`).
async fn operator_grants(app: &TestApp, username: &str) {
    mentorship::services::admin::grant_by_operator(app.state(), username)
        .await
        .expect("the operator grants admin");
}

const RACE_ROUNDS: usize = 25;

async fn two_admins_stepping_down_at_once_leave_one_admin(kind: DbKind) {
    let app = spawn_first_admin(kind).await;
    let first = app.user("admin_one", json!({})).await;
    let second = app.user("admin_two", json!({})).await;
    let mut lost = Vec::new();
    for round in 0..RACE_ROUNDS {
        operator_grants(&app, "admin_one").await;
        operator_grants(&app, "admin_two").await;
        let (a, b) = tokio::join!(
            post_user_id(&app, &first, "/admin/remove", first.id),
            post_user_id(&app, &second, "/admin/remove", second.id),
        );
        let admins = is_admin(&app, &first).await as u8 + is_admin(&app, &second).await as u8;
        if admins == 0 {
            lost.push(round);
            continue;
        }
        let mut answers = [a, b];
        answers.sort();
        assert_eq!(
            answers,
            [
                answer(StatusCode::OK, "User admin status was revoked."),
                answer(StatusCode::FORBIDDEN, "You cannot revoke your adminstatus."),
            ],
            "round {round}"
        );
    }
    assert!(
        lost.is_empty(),
        "both admins stepped down and none was left in rounds {lost:?} of {RACE_ROUNDS}"
    );
    app.stop().await;
}

async fn two_admins_revoking_each_other_at_once_leave_one_admin(kind: DbKind) {
    let app = spawn_first_admin(kind).await;
    let first = app.user("admin_one", json!({})).await;
    let second = app.user("admin_two", json!({})).await;
    let mut lost = Vec::new();
    for round in 0..RACE_ROUNDS {
        operator_grants(&app, "admin_one").await;
        operator_grants(&app, "admin_two").await;
        let (a, b) = tokio::join!(
            post_user_id(&app, &first, "/admin/remove", second.id),
            post_user_id(&app, &second, "/admin/remove", first.id),
        );
        // One after the other, the second caller is no admin any more when its turn comes.
        let admins = is_admin(&app, &first).await as u8 + is_admin(&app, &second).await as u8;
        if admins == 0 {
            lost.push((round, a, b));
        }
    }
    assert!(
        lost.is_empty(),
        "both revocations went through and no admin was left in {} of {RACE_ROUNDS} rounds: {lost:?}",
        lost.len()
    );
    app.stop().await;
}

async fn two_admins_deleting_their_accounts_at_once_leave_one_admin(kind: DbKind) {
    let app = spawn_first_admin(kind).await;
    let keeper = app.user("the_keeper", json!({})).await;
    let mut lost = Vec::new();
    let rounds = 8;
    for round in 0..rounds {
        let first = app.user(&format!("first_{round}"), json!({})).await;
        let second = app.user(&format!("second_{round}"), json!({})).await;
        operator_grants(&app, &first.username).await;
        operator_grants(&app, &second.username).await;
        // The keeper is no admin here: the two are the only ones.
        let (status, _) = app
            .post(
                "/admin/remove",
                Some(&first.token),
                json!({"user_id": keeper.id}),
            )
            .await;
        assert!(
            status == StatusCode::OK || status == StatusCode::BAD_REQUEST,
            "{status}"
        );
        let ((a, _), (b, _)) = tokio::join!(
            app.delete("/user", Some(&first.token)),
            app.delete("/user", Some(&second.token)),
        );
        let (_, me_first) = app.get("/user", Some(&first.token)).await;
        let (_, me_second) = app.get("/user", Some(&second.token)).await;
        let left = [me_first, me_second]
            .iter()
            .filter(|me| me["is_admin"] == true)
            .count();
        if left == 0 {
            lost.push((round, a, b));
        }
        // Clean up whoever is left, keeping one admin for the next round: the keeper.
        operator_grants(&app, "the_keeper").await;
        for user in [&first, &second] {
            let _ = app.delete("/user", Some(&user.token)).await;
        }
    }
    assert!(
        lost.is_empty(),
        "both admins deleted their accounts and no admin was left in {} of {rounds} rounds: {lost:?}",
        lost.len()
    );
    app.stop().await;
}

crate::db_tests!(
    granting_admin_checks_run_in_the_reference_order,
    revoking_admin_checks_run_in_the_reference_order,
    only_admins_list_the_other_admins_with_public_fields,
    the_only_admin_left_cannot_delete_their_account,
    without_the_setting_the_first_user_is_no_admin,
    two_admins_stepping_down_at_once_leave_one_admin,
    two_admins_revoking_each_other_at_once_leave_one_admin,
    two_admins_deleting_their_accounts_at_once_leave_one_admin,
);
