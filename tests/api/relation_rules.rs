//! Every rule of the relation, task and comment endpoints, one check at a time, in the
//! contract's order: the status and the exact `message` of each refusal, what each success
//! changes, who is e-mailed, and the shapes the lists, `/home` and `/dashboard` answer.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

const WEEK: f64 = 7.0 * 86_400.0;
/// An id no row has.
const NOBODY: i64 = 987_654;

const SENT: &str = "Mentorship relation was sent successfully.";
const NOT_PENDING: &str = "This mentorship relation is not in the pending state.";
const NOT_ACCEPTED: &str = "This mentorship relation status is not in the accepted state.";
const REQUEST_MISSING: &str = "This mentorship relation request does not exist.";
const RELATION_MISSING: &str = "Mentorship relation does not exist.";
const NOT_INVOLVED: &str = "You are not involved in this mentorship relation.";
const TASK_MISSING: &str = "Task does not exist.";
const REQUEST_SUBJECT: &str = "Mentorship System - You have got new relation request";
const VERIFY_SUBJECT: &str = "Mentorship System - Please confirm your email";

/// Asserts a status and the exact `message` of an answer.
#[track_caller]
fn expect(got: (StatusCode, Value), status: StatusCode, message: &str) {
    assert_eq!(got.0, status, "{}", got.1);
    assert_eq!(got.1["message"], message, "{}", got.1);
}

/// The keys of a JSON object.
fn keys(value: &Value) -> BTreeSet<String> {
    value
        .as_object()
        .unwrap_or_else(|| panic!("an object: {value}"))
        .keys()
        .cloned()
        .collect()
}

fn key_set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn ids(items: &[Value]) -> Vec<i64> {
    items.iter().map(|i| i["id"].as_i64().unwrap()).collect()
}

/// A verified, logged-in member with these mentoring flags.
async fn member(app: &TestApp, username: &str, mentor: bool, mentee: bool) -> User {
    app.user(
        username,
        json!({"available_to_mentor": mentor, "need_mentoring": mentee}),
    )
    .await
}

async fn send_body(app: &TestApp, from: &User, body: Value) -> (StatusCode, Value) {
    app.post("/mentorship_relation/send_request", Some(&from.token), body)
        .await
}

/// A request from `from` with these ids and a valid end date (8 weeks away).
async fn send(app: &TestApp, from: &User, mentor_id: i64, mentee_id: i64) -> (StatusCode, Value) {
    let end_date = app.clock.now() + 8.0 * WEEK;
    send_ending(app, from, mentor_id, mentee_id, json!(end_date)).await
}

async fn send_ending(
    app: &TestApp,
    from: &User,
    mentor_id: i64,
    mentee_id: i64,
    end_date: Value,
) -> (StatusCode, Value) {
    let body = json!({
        "mentor_id": mentor_id, "mentee_id": mentee_id,
        "end_date": end_date, "notes": "Let us learn Rust",
    });
    send_body(app, from, body).await
}

/// The caller's relations, with a query string (`""` for none).
async fn relations(app: &TestApp, user: &User, query: &str) -> Vec<Value> {
    let (status, list) = app
        .get(&format!("/mentorship_relations{query}"), Some(&user.token))
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list.as_array().unwrap().clone()
}

async fn list_at(app: &TestApp, user: &User, path: &str) -> Vec<Value> {
    let (status, list) = app.get(path, Some(&user.token)).await;
    assert_eq!(status, StatusCode::OK, "{path}: {list}");
    list.as_array()
        .unwrap_or_else(|| panic!("{path}: an array: {list}"))
        .clone()
}

/// Sends a request that succeeds and returns the new relation's id.
async fn request(app: &TestApp, from: &User, mentor: &User, mentee: &User) -> i64 {
    expect(
        send(app, from, mentor.id, mentee.id).await,
        StatusCode::CREATED,
        SENT,
    );
    relations(app, from, "")
        .await
        .iter()
        .filter(|r| r["mentor"]["id"] == mentor.id && r["mentee"]["id"] == mentee.id)
        .filter(|r| r["state"] == 1)
        .map(|r| r["id"].as_i64().unwrap())
        .max()
        .expect("the new request is listed")
}

async fn accept(app: &TestApp, user: &User, id: i64) -> (StatusCode, Value) {
    app.put(
        &format!("/mentorship_relation/{id}/accept"),
        Some(&user.token),
        json!({}),
    )
    .await
}

async fn reject(app: &TestApp, user: &User, id: i64) -> (StatusCode, Value) {
    app.put(
        &format!("/mentorship_relation/{id}/reject"),
        Some(&user.token),
        json!({}),
    )
    .await
}

async fn cancel(app: &TestApp, user: &User, id: i64) -> (StatusCode, Value) {
    app.put(
        &format!("/mentorship_relation/{id}/cancel"),
        Some(&user.token),
        json!({}),
    )
    .await
}

async fn delete_request(app: &TestApp, user: &User, id: i64) -> (StatusCode, Value) {
    app.delete(&format!("/mentorship_relation/{id}"), Some(&user.token))
        .await
}

/// The mentee asks, the mentor accepts: the id of the accepted relation.
async fn accepted(app: &TestApp, mentor: &User, mentee: &User) -> i64 {
    let id = request(app, mentee, mentor, mentee).await;
    expect(
        accept(app, mentor, id).await,
        StatusCode::OK,
        "Mentorship relation was accepted successfully.",
    );
    id
}

async fn add_task(app: &TestApp, user: &User, id: i64, description: &str) -> (StatusCode, Value) {
    app.post(
        &format!("/mentorship_relation/{id}/task"),
        Some(&user.token),
        json!({ "description": description }),
    )
    .await
}

async fn new_task(app: &TestApp, user: &User, id: i64, description: &str) {
    expect(
        add_task(app, user, id, description).await,
        StatusCode::CREATED,
        "Task was created successfully.",
    );
}

async fn tasks(app: &TestApp, user: &User, id: i64) -> Vec<Value> {
    list_at(app, user, &format!("/mentorship_relation/{id}/tasks")).await
}

async fn complete(app: &TestApp, user: &User, id: i64, task: i64) -> (StatusCode, Value) {
    app.put(
        &format!("/mentorship_relation/{id}/task/{task}/complete"),
        Some(&user.token),
        json!({}),
    )
    .await
}

async fn delete_task(app: &TestApp, user: &User, id: i64, task: i64) -> (StatusCode, Value) {
    app.delete(
        &format!("/mentorship_relation/{id}/task/{task}"),
        Some(&user.token),
    )
    .await
}

async fn comment(
    app: &TestApp,
    user: &User,
    id: i64,
    task: i64,
    body: Value,
) -> (StatusCode, Value) {
    app.post(
        &format!("/mentorship_relation/{id}/task/{task}/comment"),
        Some(&user.token),
        body,
    )
    .await
}

async fn edit_comment(
    app: &TestApp,
    user: &User,
    id: i64,
    task: i64,
    comment_id: i64,
    body: Value,
) -> (StatusCode, Value) {
    app.put(
        &format!("/mentorship_relation/{id}/task/{task}/comment/{comment_id}"),
        Some(&user.token),
        body,
    )
    .await
}

async fn delete_comment(
    app: &TestApp,
    user: &User,
    id: i64,
    task: i64,
    comment_id: i64,
) -> (StatusCode, Value) {
    app.delete(
        &format!("/mentorship_relation/{id}/task/{task}/comment/{comment_id}"),
        Some(&user.token),
    )
    .await
}

async fn comments(app: &TestApp, user: &User, id: i64, task: i64) -> (StatusCode, Value) {
    app.get(
        &format!("/mentorship_relation/{id}/task/{task}/comments"),
        Some(&user.token),
    )
    .await
}

/// The subjects of the mails `email` received, after letting queued mail go out.
async fn subjects(app: &TestApp, email: &str) -> Vec<String> {
    app.settle_mail().await;
    app.mail.to(email).into_iter().map(|m| m.subject).collect()
}

/// The raw answer to a request with a body that is not JSON.
async fn raw_post(
    app: &TestApp,
    path: &str,
    token: &str,
    body: &'static str,
) -> (StatusCode, String) {
    let response = app
        .client
        .post(app.url(path))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.text().await.unwrap())
}

/// The raw text of a GET.
async fn raw_get(app: &TestApp, path: &str, token: &str) -> String {
    let response = app
        .client
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.text().await.unwrap()
}

/// Every literal written after `"key":` in a JSON text (`null` included).
fn literals_after(text: &str, key: &str) -> Vec<String> {
    let pattern = format!("\"{key}\":");
    text.match_indices(&pattern)
        .map(|(at, _)| {
            text[at + pattern.len()..]
                .trim_start()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || "+-.".contains(*c))
                .collect()
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// POST /mentorship_relation/send_request

async fn a_request_names_its_first_missing_field(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let mentor = member(&app, "mentor_user", true, false).await;
    let mentee = member(&app, "mentee_user", false, true).await;
    let end = app.clock.now() + 8.0 * WEEK;
    let (m, e) = (mentor.id, mentee.id);
    let cases = [
        (json!({}), "Mentor ID field is missing."),
        (
            json!({"mentee_id": e, "end_date": end, "notes": "n"}),
            "Mentor ID field is missing.",
        ),
        (json!({"mentor_id": m}), "Mentee ID field is missing."),
        (
            json!({"mentor_id": m, "end_date": end, "notes": "n"}),
            "Mentee ID field is missing.",
        ),
        (
            json!({"mentor_id": m, "mentee_id": e}),
            "End date field is missing.",
        ),
        (
            json!({"mentor_id": m, "mentee_id": e, "notes": "n"}),
            "End date field is missing.",
        ),
        (
            json!({"mentor_id": m, "mentee_id": e, "end_date": end}),
            "Notes field is missing.",
        ),
        // A missing field wins over ids that match nobody.
        (
            json!({"mentor_id": NOBODY, "mentee_id": NOBODY + 1, "end_date": end}),
            "Notes field is missing.",
        ),
    ];
    for (body, message) in cases {
        let got = send_body(&app, &mentee, body.clone()).await;
        assert_eq!(got.0, StatusCode::BAD_REQUEST, "{body}: {}", got.1);
        assert_eq!(got.1["message"], message, "{body}");
    }
    assert!(relations(&app, &mentee, "").await.is_empty());
    app.stop().await;
}

async fn a_request_checks_the_ids_then_the_end_date_in_order(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let mentor = member(&app, "mentor_user", true, false).await;
    let mentee = member(&app, "mentee_user", false, true).await;
    let other = member(&app, "other_user", true, true).await;
    let now = app.clock.now();
    let past = json!(now - 60.0);

    // The caller must be one of the two, even when both ids are the same other user.
    expect(
        send(&app, &mentee, mentor.id, other.id).await,
        StatusCode::BAD_REQUEST,
        "Your ID has to match either Mentor or Mentee IDs.",
    );
    expect(
        send_ending(&app, &mentee, other.id, other.id, past.clone()).await,
        StatusCode::BAD_REQUEST,
        "Your ID has to match either Mentor or Mentee IDs.",
    );
    // Not with oneself; that is checked before the end date.
    expect(
        send(&app, &mentee, mentee.id, mentee.id).await,
        StatusCode::BAD_REQUEST,
        "You cannot have a mentorship relation with yourself.",
    );
    expect(
        send_ending(&app, &mentee, mentee.id, mentee.id, past.clone()).await,
        StatusCode::BAD_REQUEST,
        "You cannot have a mentorship relation with yourself.",
    );
    // The end date is checked before the users exist: a mentor that does not exist is not
    // reported while the date is wrong.
    let invalid = "Validation error. End date represented by the timestamp is invalid.";
    for (end_date, message) in [
        (json!(1e20), invalid),
        (past.clone(), "End date is invalid since date has passed."),
        (
            json!(now + 24.0 * WEEK + 1.0),
            "Mentorship relation maximum duration is 6 months.",
        ),
        (
            json!(now + 30.0 * WEEK),
            "Mentorship relation maximum duration is 6 months.",
        ),
        (
            json!(now + 4.0 * WEEK - 1.0),
            "Mentorship relation minimum duration is 4 week.",
        ),
        (
            json!(now + 60.0),
            "Mentorship relation minimum duration is 4 week.",
        ),
    ] {
        for mentor_id in [mentor.id, NOBODY] {
            let got = send_ending(&app, &mentee, mentor_id, mentee.id, end_date.clone()).await;
            assert_eq!(got.0, StatusCode::BAD_REQUEST, "{end_date}: {}", got.1);
            assert_eq!(got.1["message"], message, "{end_date}");
        }
    }
    // A string end date is a 400, not the reference's 500.
    let got = send_ending(&app, &mentee, mentor.id, mentee.id, json!("tomorrow")).await;
    assert_eq!(got.0, StatusCode::BAD_REQUEST, "{}", got.1);
    assert!(got.1["message"].is_string(), "{}", got.1);
    assert!(relations(&app, &mentee, "").await.is_empty());

    // Both limits themselves are allowed (four weeks from one pair, 24 from another).
    expect(
        send_ending(&app, &mentee, mentor.id, mentee.id, json!(now + 4.0 * WEEK)).await,
        StatusCode::CREATED,
        SENT,
    );
    expect(
        send_ending(&app, &other, mentor.id, other.id, json!(now + 24.0 * WEEK)).await,
        StatusCode::CREATED,
        SENT,
    );
    app.stop().await;
}

async fn a_request_reads_the_ids_as_the_reference_compares_them(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let mentor = member(&app, "mentor_user", true, false).await;
    let mentee = member(&app, "mentee_user", false, true).await;
    let end = app.clock.now() + 8.0 * WEEK;
    // The caller's own id sent as a string is not the caller's (the reference compares with
    // Python's `==`, where "2" is not 2).
    expect(
        send_body(
            &app,
            &mentee,
            json!({"mentor_id": mentor.id, "mentee_id": mentee.id.to_string(), "end_date": end, "notes": "n"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "Your ID has to match either Mentor or Mentee IDs.",
    );
    // Every field must be there before any is judged.
    expect(
        send_body(
            &app,
            &mentee,
            json!({"mentor_id": "someone", "mentee_id": mentee.id, "end_date": end}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "Notes field is missing.",
    );
    // An other party that no id could name is not found.
    for other in [
        json!("someone"),
        json!(null),
        json!(2.5),
        json!([mentor.id]),
    ] {
        expect(
            send_body(
                &app,
                &mentee,
                json!({"mentor_id": other, "mentee_id": mentee.id, "end_date": end, "notes": "n"}),
            )
            .await,
            StatusCode::NOT_FOUND,
            "Mentor user does not exist.",
        );
    }
    // A negative end date is merely in the past.
    expect(
        send_ending(&app, &mentee, mentor.id, mentee.id, json!(-100.0)).await,
        StatusCode::BAD_REQUEST,
        "End date is invalid since date has passed.",
    );
    assert!(relations(&app, &mentee, "").await.is_empty());
    // The other party's id as a string of digits, and the caller's as a whole float, name them.
    expect(
        send_body(
            &app,
            &mentee,
            json!({"mentor_id": mentor.id.to_string(), "mentee_id": mentee.id as f64, "end_date": end, "notes": "n"}),
        )
        .await,
        StatusCode::CREATED,
        SENT,
    );
    let sent = relations(&app, &mentee, "").await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["mentor"]["id"], mentor.id);
    assert_eq!(sent[0]["mentee"]["id"], mentee.id);
    app.stop().await;
}

async fn a_request_checks_the_mentor_then_the_mentee(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let mentor = member(&app, "mentor_user", true, false).await;
    let mentee = member(&app, "mentee_user", false, true).await;
    let plain = member(&app, "plain_user", false, false).await;

    // A missing mentor wins over a mentee (the caller) who does not want mentoring.
    expect(
        send(&app, &mentee, NOBODY, mentee.id).await,
        StatusCode::NOT_FOUND,
        "Mentor user does not exist.",
    );
    expect(
        send(&app, &plain, NOBODY, plain.id).await,
        StatusCode::NOT_FOUND,
        "Mentor user does not exist.",
    );
    // A mentor not available wins over a missing mentee.
    expect(
        send(&app, &plain, plain.id, NOBODY).await,
        StatusCode::BAD_REQUEST,
        "Mentor user is not available to mentor.",
    );
    expect(
        send(&app, &mentee, plain.id, mentee.id).await,
        StatusCode::BAD_REQUEST,
        "Mentor user is not available to mentor.",
    );
    expect(
        send(&app, &mentor, mentor.id, NOBODY).await,
        StatusCode::NOT_FOUND,
        "Mentee user does not exist.",
    );
    expect(
        send(&app, &mentor, mentor.id, plain.id).await,
        StatusCode::BAD_REQUEST,
        "Mentee user is not available to be mentored.",
    );
    // The flags are about the roles: the mentor cannot be asked to be mentored.
    expect(
        send(&app, &mentee, mentee.id, mentor.id).await,
        StatusCode::BAD_REQUEST,
        "Mentor user is not available to mentor.",
    );
    assert!(relations(&app, &mentor, "").await.is_empty());
    assert!(relations(&app, &mentee, "").await.is_empty());
    app.stop().await;
}

async fn a_request_is_refused_while_either_user_is_in_a_relation(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let mentor = member(&app, "mentor_user", true, false).await;
    let mentee = member(&app, "mentee_user", false, true).await;
    let both = member(&app, "both_roles", true, true).await;
    let partner = member(&app, "partner_user", false, true).await;
    let free_mentor = member(&app, "free_mentor", true, false).await;
    let free_mentee = member(&app, "free_mentee", false, true).await;
    accepted(&app, &mentor, &mentee).await;
    accepted(&app, &both, &partner).await;

    expect(
        send(&app, &free_mentee, mentor.id, free_mentee.id).await,
        StatusCode::BAD_REQUEST,
        "Mentor user is already in a relationship.",
    );
    expect(
        send(&app, &free_mentor, free_mentor.id, mentee.id).await,
        StatusCode::BAD_REQUEST,
        "Mentee user is already in a relationship.",
    );
    // The caller's own relation counts as well.
    expect(
        send(&app, &mentee, free_mentor.id, mentee.id).await,
        StatusCode::BAD_REQUEST,
        "Mentee user is already in a relationship.",
    );
    // Both busy: the mentor is reported first.
    expect(
        send(&app, &both, both.id, mentee.id).await,
        StatusCode::BAD_REQUEST,
        "Mentor user is already in a relationship.",
    );
    assert!(relations(&app, &free_mentor, "").await.is_empty());
    assert!(relations(&app, &free_mentee, "").await.is_empty());
    app.stop().await;
}

async fn a_second_pending_request_between_two_users_is_a_conflict_either_way(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let first = member(&app, "first_user", true, true).await;
    let second = member(&app, "second_user", true, true).await;
    let conflict = "There is already a pending mentorship request between these two users.";

    let id = request(&app, &first, &second, &first).await;
    // Again, the same way; from the other side; and with the roles swapped.
    expect(
        send(&app, &first, second.id, first.id).await,
        StatusCode::CONFLICT,
        conflict,
    );
    expect(
        send(&app, &second, second.id, first.id).await,
        StatusCode::CONFLICT,
        conflict,
    );
    expect(
        send(&app, &second, first.id, second.id).await,
        StatusCode::CONFLICT,
        conflict,
    );
    expect(
        send(&app, &first, first.id, second.id).await,
        StatusCode::CONFLICT,
        conflict,
    );
    assert_eq!(ids(&relations(&app, &first, "").await), vec![id]);
    assert_eq!(
        subjects(&app, &second.email).await,
        vec![VERIFY_SUBJECT, REQUEST_SUBJECT],
        "a refused duplicate sends no mail"
    );

    // Once it is answered, a new request between them is fine.
    expect(
        reject(&app, &second, id).await,
        StatusCode::OK,
        "Mentorship relation was rejected successfully.",
    );
    let again = request(&app, &second, &first, &second).await;
    assert_ne!(again, id);
    app.stop().await;
}

async fn a_request_to_an_unverified_user_is_refused_and_not_saved(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let mentor = member(&app, "mentor_user", true, false).await;
    let (status, body) = app
        .register("unverified_one", json!({"need_mentoring": true}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, users) = app.get("/users", Some(&mentor.token)).await;
    assert_eq!(status, StatusCode::OK, "{users}");
    let unverified = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "unverified_one")
        .and_then(|u| u["id"].as_i64())
        .expect("/users lists the unverified member");

    let (status, body) = send(&app, &mentor, mentor.id, unverified).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.to_lowercase().contains("verif")),
        "the message says why: {body}"
    );
    assert!(relations(&app, &mentor, "").await.is_empty());
    assert_eq!(
        subjects(&app, "unverified_one@example.com").await,
        vec![VERIFY_SUBJECT],
        "no request mail to the unverified member"
    );
    app.stop().await;
}

async fn a_sent_request_is_created_pending_and_mails_the_receiver_once(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let mentor = member(&app, "mentor_user", true, false).await;
    let mentee = member(&app, "mentee_user", false, true).await;
    let now = app.clock.now();
    // An integer end date is accepted too.
    let end = (now + 8.0 * WEEK) as i64;
    expect(
        send_ending(&app, &mentee, mentor.id, mentee.id, json!(end)).await,
        StatusCode::CREATED,
        SENT,
    );
    let mails = app.mail.wait_for(&mentor.email, 2).await;
    assert_eq!(mails[1].subject, REQUEST_SUBJECT);
    assert_eq!(
        subjects(&app, &mentor.email).await,
        vec![VERIFY_SUBJECT, REQUEST_SUBJECT]
    );
    assert_eq!(
        subjects(&app, &mentee.email).await,
        vec![VERIFY_SUBJECT],
        "the sender is not mailed"
    );

    let sent = relations(&app, &mentee, "").await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    let relation = &sent[0];
    assert_eq!(relation["state"], 1);
    assert_eq!(relation["action_user_id"], mentee.id);
    assert_eq!(relation["sent_by_me"], true);
    assert_eq!(relation["notes"], "Let us learn Rust");
    assert_eq!(relation["end_date"].as_f64(), Some(end as f64));
    assert_eq!(relation["creation_date"].as_f64(), Some(now));
    assert_eq!(relation["accept_date"], Value::Null);
    assert_eq!(relation["start_date"], Value::Null);
    let received = relations(&app, &mentor, "").await;
    assert_eq!(ids(&received), ids(&sent));
    assert_eq!(received[0]["sent_by_me"], false);
    app.stop().await;
}

async fn bodies_that_are_not_json_get_a_json_400(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let mentor = member(&app, "mentor_user", true, false).await;
    let mentee = member(&app, "mentee_user", false, true).await;
    let id = accepted(&app, &mentor, &mentee).await;
    new_task(&app, &mentor, id, "Read").await;
    for path in [
        "/mentorship_relation/send_request".to_owned(),
        format!("/mentorship_relation/{id}/task"),
        format!("/mentorship_relation/{id}/task/1/comment"),
    ] {
        for body in ["this is not json", "{\"mentor_id\": 1,"] {
            let (status, text) = raw_post(&app, &path, &mentee.token, body).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{path} {body}: {text}");
            let value: Value = serde_json::from_str(&text)
                .unwrap_or_else(|_| panic!("{path}: the answer is JSON: {text}"));
            assert!(value["message"].is_string(), "{path}: {text}");
        }
    }
    // Nothing was created.
    assert_eq!(relations(&app, &mentee, "").await.len(), 1);
    assert_eq!(tasks(&app, &mentee, id).await.len(), 1);
    let (_, list) = comments(&app, &mentee, id, 1).await;
    assert_eq!(list, json!([]));
    app.stop().await;
}

// ---------------------------------------------------------------------------------------------
// accept, reject, cancel, delete

async fn accepting_checks_in_order_and_dates_the_relation(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let mentor = member(&app, "mentor_user", true, false).await;
    let mentee = member(&app, "mentee_user", false, true).await;
    let outsider = member(&app, "outsider_user", true, true).await;
    let id = request(&app, &mentee, &mentor, &mentee).await;
    let created = app.clock.now();

    expect(
        accept(&app, &mentor, NOBODY).await,
        StatusCode::NOT_FOUND,
        REQUEST_MISSING,
    );
    expect(
        accept(&app, &mentee, id).await,
        StatusCode::FORBIDDEN,
        "You cannot accept a mentorship request sent by yourself.",
    );
    expect(
        accept(&app, &outsider, id).await,
        StatusCode::FORBIDDEN,
        "You cannot accept a mentorship relation where you are not involved.",
    );
    app.clock.advance(120.0);
    expect(
        accept(&app, &mentor, id).await,
        StatusCode::OK,
        "Mentorship relation was accepted successfully.",
    );
    // Not pending any more: that is said first, whoever asks.
    for user in [&mentor, &mentee, &outsider] {
        expect(
            accept(&app, user, id).await,
            StatusCode::FORBIDDEN,
            NOT_PENDING,
        );
    }

    let relation = &relations(&app, &mentee, "").await[0];
    assert_eq!(relation["state"], 2);
    assert_eq!(relation["creation_date"].as_f64(), Some(created));
    let accepted_at = app.clock.now();
    assert_eq!(
        relation["accept_date"].as_f64(),
        Some(accepted_at),
        "{relation}"
    );
    assert_eq!(
        relation["start_date"].as_f64(),
        Some(accepted_at),
        "{relation}"
    );

    let mails = app.mail.wait_for(&mentee.email, 2).await;
    assert_eq!(mails[1].subject, "Mentorship relation accepted!");
    assert_eq!(
        subjects(&app, &mentee.email).await,
        vec![VERIFY_SUBJECT, "Mentorship relation accepted!"]
    );
    assert_eq!(
        subjects(&app, &mentor.email).await,
        vec![VERIFY_SUBJECT, REQUEST_SUBJECT],
        "the one who accepts is not mailed"
    );
    app.stop().await;
}

async fn accepting_is_refused_while_a_party_is_in_a_relation(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let mentor = member(&app, "mentor_user", true, false).await;
    let mentor2 = member(&app, "second_mentor", true, false).await;
    let a = member(&app, "mentee_alpha", false, true).await;
    let b = member(&app, "mentee_bravo", false, true).await;
    let c = member(&app, "mentee_charlie", false, true).await;
    // Every request is sent while everybody is free.
    let a_to_mentor = request(&app, &a, &mentor, &a).await;
    let b_to_mentor = request(&app, &b, &mentor, &b).await;
    let a_to_mentor2 = request(&app, &a, &mentor2, &a).await;
    let mentor2_to_c = request(&app, &mentor2, &mentor2, &c).await;
    let b_to_mentor2 = request(&app, &b, &mentor2, &b).await;

    expect(
        accept(&app, &mentor, a_to_mentor).await,
        StatusCode::OK,
        "Mentorship relation was accepted successfully.",
    );
    // The one accepting is busy.
    expect(
        accept(&app, &mentor, b_to_mentor).await,
        StatusCode::FORBIDDEN,
        "You are currently involved in a mentorship relation.",
    );
    // The mentor accepts, the mentee is busy.
    expect(
        accept(&app, &mentor2, a_to_mentor2).await,
        StatusCode::BAD_REQUEST,
        "Mentee user is already in a relationship.",
    );
    expect(
        accept(&app, &mentor2, b_to_mentor2).await,
        StatusCode::OK,
        "Mentorship relation was accepted successfully.",
    );
    // The mentee accepts, the mentor is busy.
    expect(
        accept(&app, &c, mentor2_to_c).await,
        StatusCode::BAD_REQUEST,
        "Mentor user is already in a relationship.",
    );
    // The refused requests stay pending.
    for (user, id) in [
        (&mentor, b_to_mentor),
        (&mentor2, a_to_mentor2),
        (&c, mentor2_to_c),
    ] {
        let pending = list_at(&app, user, "/mentorship_relations/pending").await;
        assert!(ids(&pending).contains(&id), "{pending:?}");
    }
    let (_, current) = app
        .get("/mentorship_relations/current", Some(&c.token))
        .await;
    assert_eq!(
        current,
        json!({"message": "You are not in a current mentorship relation."})
    );
    app.stop().await;
}

async fn rejecting_checks_in_order_and_mails_the_sender(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let mentor = member(&app, "mentor_user", true, false).await;
    let mentee = member(&app, "mentee_user", false, true).await;
    let outsider = member(&app, "outsider_user", true, true).await;
    let id = request(&app, &mentee, &mentor, &mentee).await;

    expect(
        reject(&app, &mentor, NOBODY).await,
        StatusCode::NOT_FOUND,
        REQUEST_MISSING,
    );
    expect(
        reject(&app, &mentee, id).await,
        StatusCode::FORBIDDEN,
        "You cannot reject a mentorship request sent by yourself.",
    );
    expect(
        reject(&app, &outsider, id).await,
        StatusCode::FORBIDDEN,
        "You cannot reject a mentorship relation where you are not involved.",
    );
    expect(
        reject(&app, &mentor, id).await,
        StatusCode::OK,
        "Mentorship relation was rejected successfully.",
    );
    for user in [&mentor, &mentee, &outsider] {
        expect(
            reject(&app, user, id).await,
            StatusCode::FORBIDDEN,
            NOT_PENDING,
        );
    }
    expect(
        accept(&app, &mentor, id).await,
        StatusCode::FORBIDDEN,
        NOT_PENDING,
    );
    assert_eq!(relations(&app, &mentee, "").await[0]["state"], 3);

    let mails = app.mail.wait_for(&mentee.email, 2).await;
    assert!(
        mails[1].subject.to_lowercase().contains("reject"),
        "{:?}",
        mails[1].subject
    );
    assert_eq!(subjects(&app, &mentee.email).await.len(), 2);
    assert_eq!(
        subjects(&app, &mentor.email).await,
        vec![VERIFY_SUBJECT, REQUEST_SUBJECT]
    );
    app.stop().await;
}

async fn cancelling_checks_in_order_and_mails_the_other_party(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let mentor = member(&app, "mentor_user", true, false).await;
    let mentee = member(&app, "mentee_user", false, true).await;
    let outsider = member(&app, "outsider_user", true, true).await;
    let id = request(&app, &mentee, &mentor, &mentee).await;

    expect(
        cancel(&app, &mentor, NOBODY).await,
        StatusCode::NOT_FOUND,
        REQUEST_MISSING,
    );
    // Pending: the state is checked before involvement.
    for user in [&mentor, &mentee, &outsider] {
        expect(
            cancel(&app, user, id).await,
            StatusCode::FORBIDDEN,
            NOT_ACCEPTED,
        );
    }
    expect(
        accept(&app, &mentor, id).await,
        StatusCode::OK,
        "Mentorship relation was accepted successfully.",
    );
    expect(
        cancel(&app, &outsider, id).await,
        StatusCode::FORBIDDEN,
        "You cannot cancel a mentorship relation where you are not involved.",
    );
    // The sender may cancel as well as the receiver.
    expect(
        cancel(&app, &mentee, id).await,
        StatusCode::OK,
        "Mentorship relation was cancelled successfully.",
    );
    for user in [&mentor, &mentee, &outsider] {
        expect(
            cancel(&app, user, id).await,
            StatusCode::FORBIDDEN,
            NOT_ACCEPTED,
        );
    }
    assert_eq!(relations(&app, &mentor, "").await[0]["state"], 4);
    for user in [&mentor, &mentee] {
        let (_, current) = app
            .get("/mentorship_relations/current", Some(&user.token))
            .await;
        assert_eq!(
            current["message"],
            "You are not in a current mentorship relation."
        );
    }

    app.mail.wait_for(&mentor.email, 3).await;
    let mentor_mails = subjects(&app, &mentor.email).await;
    assert_eq!(mentor_mails.len(), 3, "{mentor_mails:?}");
    assert!(
        mentor_mails[2].to_lowercase().contains("cancel"),
        "{mentor_mails:?}"
    );
    assert_eq!(
        subjects(&app, &mentee.email).await,
        vec![VERIFY_SUBJECT, "Mentorship relation accepted!"],
        "the one who cancels is not mailed"
    );
    // Both are free again: the mentor's cancel works from the other side too.
    let again = accepted(&app, &mentor, &mentee).await;
    expect(
        cancel(&app, &mentor, again).await,
        StatusCode::OK,
        "Mentorship relation was cancelled successfully.",
    );
    let mails = app.mail.wait_for(&mentee.email, 4).await;
    let cancelled = mails
        .iter()
        .filter(|m| m.subject.to_lowercase().contains("cancel"))
        .count();
    assert_eq!(cancelled, 1, "{mails:?}");
    app.stop().await;
}

async fn deleting_checks_in_order_and_removes_the_request(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let mentor = member(&app, "mentor_user", true, false).await;
    let mentee = member(&app, "mentee_user", false, true).await;
    let outsider = member(&app, "outsider_user", true, true).await;
    let id = request(&app, &mentee, &mentor, &mentee).await;
    let not_yours = "You cannot delete a mentorship request that you did not create.";

    expect(
        delete_request(&app, &mentee, NOBODY).await,
        StatusCode::NOT_FOUND,
        REQUEST_MISSING,
    );
    expect(
        delete_request(&app, &mentor, id).await,
        StatusCode::FORBIDDEN,
        not_yours,
    );
    expect(
        delete_request(&app, &outsider, id).await,
        StatusCode::FORBIDDEN,
        not_yours,
    );
    expect(
        delete_request(&app, &mentee, id).await,
        StatusCode::OK,
        "Mentorship relation was deleted successfully.",
    );
    assert!(relations(&app, &mentee, "").await.is_empty());
    assert!(relations(&app, &mentor, "").await.is_empty());
    assert!(
        list_at(&app, &mentor, "/mentorship_relations/pending")
            .await
            .is_empty()
    );
    for user in [&mentee, &mentor] {
        expect(
            delete_request(&app, user, id).await,
            StatusCode::NOT_FOUND,
            REQUEST_MISSING,
        );
        expect(
            accept(&app, user, id).await,
            StatusCode::NOT_FOUND,
            REQUEST_MISSING,
        );
    }

    // Only a pending request can be withdrawn; that is said before who asks.
    let id = accepted(&app, &mentor, &mentee).await;
    for user in [&mentee, &mentor, &outsider] {
        expect(
            delete_request(&app, user, id).await,
            StatusCode::FORBIDDEN,
            NOT_PENDING,
        );
    }
    assert_eq!(ids(&relations(&app, &mentor, "").await), vec![id]);
    app.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Lists

const RELATION_KEYS: [&str; 11] = [
    "id",
    "action_user_id",
    "sent_by_me",
    "mentor",
    "mentee",
    "creation_date",
    "accept_date",
    "start_date",
    "end_date",
    "state",
    "notes",
];

#[track_caller]
fn assert_relation_shape(relation: &Value) {
    assert_eq!(keys(relation), key_set(&RELATION_KEYS), "{relation}");
    assert_eq!(keys(&relation["mentor"]), key_set(&["id", "name"]));
    assert_eq!(keys(&relation["mentee"]), key_set(&["id", "name"]));
    assert!(relation["state"].is_i64(), "{relation}");
    assert!(relation["id"].is_i64(), "{relation}");
    assert!(relation["sent_by_me"].is_boolean(), "{relation}");
    assert!(relation["creation_date"].is_f64(), "{relation}");
    assert!(relation["end_date"].is_f64(), "{relation}");
}

async fn relation_lists_have_the_contract_shape_and_filter_by_state(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let mentor = member(&app, "mentor_user", true, false).await;
    let mentee = member(&app, "mentee_user", false, true).await;
    let other = member(&app, "other_mentee", false, true).await;
    let pending = request(&app, &other, &mentor, &other).await;
    let current = accepted(&app, &mentor, &mentee).await;

    let all = relations(&app, &mentor, "").await;
    assert_eq!(all.len(), 2, "{all:?}");
    for relation in &all {
        assert_relation_shape(relation);
        assert_eq!(relation["sent_by_me"], false);
        assert_eq!(
            relation["mentor"],
            json!({"id": mentor.id, "name": "Test User"})
        );
    }
    let mine = relations(&app, &mentee, "").await;
    assert_eq!(ids(&mine), vec![current]);
    assert_relation_shape(&mine[0]);
    assert_eq!(mine[0]["sent_by_me"], true);
    assert_eq!(mine[0]["action_user_id"], mentee.id);
    assert_eq!(
        mine[0]["mentee"],
        json!({"id": mentee.id, "name": "Test User"})
    );

    for (query, expected) in [
        ("?relation_state=accepted", vec![current]),
        ("?relation_state=ACCEPTED", vec![current]),
        ("?relation_state=Accepted", vec![current]),
        ("?relation_state=pEnDiNg", vec![pending]),
        ("?relation_state=rejected", vec![]),
        ("?relation_state=cancelled", vec![]),
        ("?relation_state=completed", vec![]),
    ] {
        let list = relations(&app, &mentor, query).await;
        assert_eq!(ids(&list), expected, "{query}");
    }
    let mut both = ids(&relations(&app, &mentor, "?relation_state=").await);
    both.sort();
    let mut expected = vec![pending, current];
    expected.sort();
    assert_eq!(both, expected, "an empty relation_state does not filter");

    for query in [
        "?relation_state=bogus",
        "?relation_state=2",
        "?relation_state=%20pending%20",
    ] {
        let (status, body) = app
            .get(
                &format!("/mentorship_relations{query}"),
                Some(&mentor.token),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert!(body["message"].is_string(), "{query}: {body}");
    }
    app.stop().await;
}

async fn a_member_in_both_roles_sees_the_relations_they_mentor_first(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let both = member(&app, "both_roles", true, true).await;
    let mentor = member(&app, "mentor_user", true, false).await;
    let mentee = member(&app, "mentee_user", false, true).await;
    // The older relation is the one where `both` is mentored.
    let mentored = request(&app, &both, &mentor, &both).await;
    let mentoring = request(&app, &mentee, &both, &mentee).await;
    assert!(mentored < mentoring);
    for path in ["/mentorship_relations", "/mentorship_relations/pending"] {
        let list = list_at(&app, &both, path).await;
        assert_eq!(ids(&list), vec![mentoring, mentored], "{path}");
        assert_eq!(list[0]["sent_by_me"], false, "{path}");
        assert_eq!(list[1]["sent_by_me"], true, "{path}");
    }
    app.stop().await;
}

async fn current_pending_and_past_lists_follow_the_state_and_the_clock(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let mut mentor = member(&app, "mentor_user", true, false).await;
    let mut mentee = member(&app, "mentee_user", false, true).await;
    let mut other = member(&app, "other_mentee", false, true).await;

    let (status, none) = app
        .get("/mentorship_relations/current", Some(&mentor.token))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        none,
        json!({"message": "You are not in a current mentorship relation."})
    );
    for path in [
        "/mentorship_relations/pending",
        "/mentorship_relations/past",
    ] {
        assert!(list_at(&app, &mentor, path).await.is_empty(), "{path}");
    }

    let pending = request(&app, &other, &mentor, &other).await;
    let current = accepted(&app, &mentor, &mentee).await;
    for user in [&mentor, &mentee] {
        let (status, relation) = app
            .get("/mentorship_relations/current", Some(&user.token))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_relation_shape(&relation);
        assert_eq!(relation["id"], current);
        assert_eq!(relation["state"], 2);
        assert!(relation["accept_date"].is_f64(), "{relation}");
        assert!(relation["start_date"].is_f64(), "{relation}");
    }
    let (_, none) = app
        .get("/mentorship_relations/current", Some(&other.token))
        .await;
    assert_eq!(
        none,
        json!({"message": "You are not in a current mentorship relation."})
    );

    // Pending lists hold sent and received pending requests, nothing else.
    for (user, expected) in [
        (&mentor, vec![pending]),
        (&other, vec![pending]),
        (&mentee, vec![]),
    ] {
        let list = list_at(&app, user, "/mentorship_relations/pending").await;
        assert_eq!(ids(&list), expected, "{}", user.username);
        for relation in &list {
            assert_relation_shape(relation);
            assert_eq!(relation["state"], 1);
        }
        assert!(
            list_at(&app, user, "/mentorship_relations/past")
                .await
                .is_empty()
        );
    }

    // Once the end dates pass, both are past, whatever their state, and nothing is pending.
    app.clock.advance(8.0 * WEEK + 60.0);
    for user in [&mut mentor, &mut mentee, &mut other] {
        app.relogin(user).await;
    }
    let mut past = ids(&list_at(&app, &mentor, "/mentorship_relations/past").await);
    past.sort();
    let mut expected = vec![pending, current];
    expected.sort();
    assert_eq!(past, expected);
    assert_eq!(
        ids(&list_at(&app, &mentee, "/mentorship_relations/past").await),
        vec![current]
    );
    assert_eq!(
        ids(&list_at(&app, &other, "/mentorship_relations/past").await),
        vec![pending]
    );
    for user in [&mentor, &other] {
        assert!(
            list_at(&app, user, "/mentorship_relations/pending")
                .await
                .is_empty()
        );
    }
    // Completed by the job, it is no longer current.
    assert_eq!(app.run_job("complete-relations").await, 1);
    let (_, none) = app
        .get("/mentorship_relations/current", Some(&mentee.token))
        .await;
    assert_eq!(
        none,
        json!({"message": "You are not in a current mentorship relation."})
    );
    assert_eq!(
        ids(&relations(&app, &mentee, "?relation_state=completed").await),
        vec![current]
    );
    app.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Tasks

async fn creating_a_task_checks_in_order(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let mentor = member(&app, "mentor_user", true, false).await;
    let mentee = member(&app, "mentee_user", false, true).await;
    let outsider = member(&app, "outsider_user", true, true).await;
    let id = request(&app, &mentee, &mentor, &mentee).await;

    // The body first, before the relation is looked up.
    for relation in [NOBODY, id] {
        expect(
            app.post(
                &format!("/mentorship_relation/{relation}/task"),
                Some(&mentor.token),
                json!({"title": "no description"}),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "Description field is missing.",
        );
    }
    expect(
        add_task(&app, &mentor, NOBODY, "Read").await,
        StatusCode::NOT_FOUND,
        RELATION_MISSING,
    );
    // Pending: the state is said before involvement.
    for user in [&mentor, &mentee, &outsider] {
        expect(
            add_task(&app, user, id, "Read").await,
            StatusCode::FORBIDDEN,
            NOT_ACCEPTED,
        );
    }
    expect(
        accept(&app, &mentor, id).await,
        StatusCode::OK,
        "Mentorship relation was accepted successfully.",
    );
    expect(
        add_task(&app, &outsider, id, "Read").await,
        StatusCode::FORBIDDEN,
        NOT_INVOLVED,
    );
    new_task(&app, &mentee, id, "Read").await;
    new_task(&app, &mentor, id, "Write").await;

    // Listing: a missing relation, then involvement (403, docs/API-COMPATIBILITY.md deviation 11).
    let (status, body) = app
        .get(
            &format!("/mentorship_relation/{NOBODY}/tasks"),
            Some(&mentor.token),
        )
        .await;
    expect((status, body), StatusCode::NOT_FOUND, RELATION_MISSING);
    let (status, body) = app
        .get(
            &format!("/mentorship_relation/{id}/tasks"),
            Some(&outsider.token),
        )
        .await;
    expect((status, body), StatusCode::FORBIDDEN, NOT_INVOLVED);
    for user in [&mentor, &mentee] {
        assert_eq!(ids(&tasks(&app, user, id).await), vec![1, 2]);
    }
    app.stop().await;
}

async fn task_ids_count_per_relation_and_are_never_reused(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let mentor = member(&app, "mentor_user", true, false).await;
    let mentee = member(&app, "mentee_user", false, true).await;
    let mentor2 = member(&app, "second_mentor", true, false).await;
    let mentee2 = member(&app, "second_mentee", false, true).await;
    let id = accepted(&app, &mentor, &mentee).await;
    let id2 = accepted(&app, &mentor2, &mentee2).await;
    let created = app.clock.now();

    new_task(&app, &mentor, id, "One").await;
    new_task(&app, &mentee, id, "Two").await;
    new_task(&app, &mentor, id, "Three").await;
    let list = tasks(&app, &mentee, id).await;
    assert_eq!(ids(&list), vec![1, 2, 3]);
    for task in &list {
        assert_eq!(
            keys(task),
            key_set(&["id", "description", "is_done", "created_at", "completed_at"]),
            "{task}"
        );
        assert_eq!(task["is_done"], false);
        assert_eq!(task["completed_at"], Value::Null);
        assert_eq!(task["created_at"].as_f64(), Some(created));
    }
    assert_eq!(list[1]["description"], "Two");

    // Another relation counts from 1.
    new_task(&app, &mentee2, id2, "Elsewhere").await;
    assert_eq!(ids(&tasks(&app, &mentor2, id2).await), vec![1]);

    // The highest id deleted is not given again, nor any other.
    expect(
        delete_task(&app, &mentor, id, 3).await,
        StatusCode::OK,
        "Task was deleted successfully.",
    );
    new_task(&app, &mentor, id, "Four").await;
    assert_eq!(ids(&tasks(&app, &mentor, id).await), vec![1, 2, 4]);
    expect(
        delete_task(&app, &mentee, id, 2).await,
        StatusCode::OK,
        "Task was deleted successfully.",
    );
    expect(
        delete_task(&app, &mentee, id, 4).await,
        StatusCode::OK,
        "Task was deleted successfully.",
    );
    new_task(&app, &mentee, id, "Five").await;
    let list = tasks(&app, &mentor, id).await;
    assert_eq!(ids(&list), vec![1, 5]);
    assert_eq!(list[1]["description"], "Five");
    assert_eq!(ids(&tasks(&app, &mentor2, id2).await), vec![1]);
    app.stop().await;
}

async fn completing_and_deleting_tasks_check_in_order_in_any_state(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let mentor = member(&app, "mentor_user", true, false).await;
    let mentee = member(&app, "mentee_user", false, true).await;
    let outsider = member(&app, "outsider_user", true, true).await;
    let id = accepted(&app, &mentor, &mentee).await;
    new_task(&app, &mentor, id, "Read").await;
    new_task(&app, &mentor, id, "Write").await;

    // Complete: relation, then involvement, then the task.
    expect(
        complete(&app, &mentor, NOBODY, 1).await,
        StatusCode::NOT_FOUND,
        RELATION_MISSING,
    );
    expect(
        complete(&app, &outsider, id, 99).await,
        StatusCode::FORBIDDEN,
        NOT_INVOLVED,
    );
    expect(
        complete(&app, &outsider, id, 1).await,
        StatusCode::FORBIDDEN,
        NOT_INVOLVED,
    );
    expect(
        complete(&app, &mentor, id, 99).await,
        StatusCode::NOT_FOUND,
        TASK_MISSING,
    );
    app.clock.advance(30.0);
    expect(
        complete(&app, &mentee, id, 1).await,
        StatusCode::OK,
        "Task was achieved successfully.",
    );
    for user in [&mentee, &mentor] {
        expect(
            complete(&app, user, id, 1).await,
            StatusCode::CONFLICT,
            "Task was already achieved.",
        );
    }
    let list = tasks(&app, &mentor, id).await;
    assert_eq!(list[0]["is_done"], true);
    assert_eq!(list[0]["completed_at"].as_f64(), Some(app.clock.now()));
    assert_eq!(list[1]["is_done"], false);

    // Delete: relation, then the task, then involvement.
    expect(
        delete_task(&app, &mentor, NOBODY, 1).await,
        StatusCode::NOT_FOUND,
        RELATION_MISSING,
    );
    expect(
        delete_task(&app, &outsider, id, 99).await,
        StatusCode::NOT_FOUND,
        TASK_MISSING,
    );
    expect(
        delete_task(&app, &mentor, id, 99).await,
        StatusCode::NOT_FOUND,
        TASK_MISSING,
    );
    expect(
        delete_task(&app, &outsider, id, 2).await,
        StatusCode::FORBIDDEN,
        NOT_INVOLVED,
    );
    assert_eq!(ids(&tasks(&app, &mentee, id).await), vec![1, 2]);

    // After a cancel the tasks are still listed, completed and deleted, but none is added.
    expect(
        cancel(&app, &mentee, id).await,
        StatusCode::OK,
        "Mentorship relation was cancelled successfully.",
    );
    assert_eq!(ids(&tasks(&app, &mentor, id).await), vec![1, 2]);
    expect(
        add_task(&app, &mentor, id, "Late").await,
        StatusCode::FORBIDDEN,
        NOT_ACCEPTED,
    );
    expect(
        complete(&app, &mentor, id, 2).await,
        StatusCode::OK,
        "Task was achieved successfully.",
    );
    expect(
        delete_task(&app, &mentee, id, 1).await,
        StatusCode::OK,
        "Task was deleted successfully.",
    );
    expect(
        delete_task(&app, &mentee, id, 1).await,
        StatusCode::NOT_FOUND,
        TASK_MISSING,
    );
    let list = tasks(&app, &mentee, id).await;
    assert_eq!(ids(&list), vec![2]);
    assert_eq!(list[0]["is_done"], true);
    let (status, body) = app
        .get(
            &format!("/mentorship_relation/{id}/tasks"),
            Some(&outsider.token),
        )
        .await;
    expect((status, body), StatusCode::FORBIDDEN, NOT_INVOLVED);
    app.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Comments

async fn comment_bodies_are_checked_before_anything_else(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let mentor = member(&app, "mentor_user", true, false).await;
    let mentee = member(&app, "mentee_user", false, true).await;
    let outsider = member(&app, "outsider_user", true, true).await;
    let id = accepted(&app, &mentor, &mentee).await;
    new_task(&app, &mentor, id, "Read").await;
    let too_long = "The comment field has to be shorter than 401 characters.";

    let bad_bodies = [
        (json!({}), "Comment field is missing."),
        (json!({"text": "hello"}), "Comment field is missing."),
        (json!({"comment": 5}), "Comment must be in string format."),
        (
            json!({"comment": null}),
            "Comment must be in string format.",
        ),
        (
            json!({"comment": ["a", "b"]}),
            "Comment must be in string format.",
        ),
        (json!({"comment": "x".repeat(401)}), too_long),
        (
            json!({"comment": format!("{} y", "x".repeat(400))}),
            too_long,
        ),
    ];
    // Whoever asks, on whatever relation, task or comment: the body is judged first.
    for (body, message) in &bad_bodies {
        for (user, relation, task) in [
            (&mentee, id, 1),
            (&outsider, id, 1),
            (&mentee, NOBODY, 1),
            (&mentee, id, 99),
        ] {
            expect(
                comment(&app, user, relation, task, body.clone()).await,
                StatusCode::BAD_REQUEST,
                message,
            );
            expect(
                edit_comment(&app, user, relation, task, NOBODY, body.clone()).await,
                StatusCode::BAD_REQUEST,
                message,
            );
        }
    }
    let (_, list) = comments(&app, &mentee, id, 1).await;
    assert_eq!(list, json!([]));

    // 400 characters, or more with whitespace not counted, or none, are fine.
    let spaced: String = "x ".repeat(300);
    let long = "x".repeat(400);
    for text in [long.clone(), spaced.clone(), String::new()] {
        expect(
            comment(&app, &mentee, id, 1, json!({ "comment": text })).await,
            StatusCode::CREATED,
            "Task comment was created successfully.",
        );
    }
    let (status, list) = comments(&app, &mentor, id, 1).await;
    assert_eq!(status, StatusCode::OK);
    let texts: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["comment"].as_str().unwrap())
        .collect();
    assert_eq!(texts, vec![long.as_str(), spaced.as_str(), ""]);
    app.stop().await;
}

async fn comment_operations_check_relation_involvement_state_and_task_in_order(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let mentor = member(&app, "mentor_user", true, false).await;
    let mentee = member(&app, "mentee_user", false, true).await;
    let outsider = member(&app, "outsider_user", true, true).await;
    let id = request(&app, &mentee, &mentor, &mentee).await;
    let body = json!({"comment": "Hello"});

    expect(
        comment(&app, &mentee, NOBODY, 1, body.clone()).await,
        StatusCode::NOT_FOUND,
        RELATION_MISSING,
    );
    expect(
        comments(&app, &mentee, NOBODY, 1).await,
        StatusCode::NOT_FOUND,
        RELATION_MISSING,
    );
    // Pending: involvement is said before the state (403, docs/API-COMPATIBILITY.md deviation 11), the state before the task.
    expect(
        comment(&app, &outsider, id, 1, body.clone()).await,
        StatusCode::FORBIDDEN,
        NOT_INVOLVED,
    );
    expect(
        comment(&app, &mentee, id, 1, body.clone()).await,
        StatusCode::FORBIDDEN,
        NOT_ACCEPTED,
    );
    expect(
        comments(&app, &mentor, id, 1).await,
        StatusCode::FORBIDDEN,
        NOT_ACCEPTED,
    );

    expect(
        accept(&app, &mentor, id).await,
        StatusCode::OK,
        "Mentorship relation was accepted successfully.",
    );
    new_task(&app, &mentor, id, "Read").await;
    for (status, answer) in [
        comment(&app, &outsider, id, 1, body.clone()).await,
        comment(&app, &outsider, id, 99, body.clone()).await,
        comments(&app, &outsider, id, 1).await,
        edit_comment(&app, &outsider, id, 1, NOBODY, body.clone()).await,
        delete_comment(&app, &outsider, id, 1, NOBODY).await,
    ] {
        expect((status, answer), StatusCode::FORBIDDEN, NOT_INVOLVED);
    }
    for (status, answer) in [
        comment(&app, &mentee, id, 99, body.clone()).await,
        comments(&app, &mentee, id, 99).await,
        edit_comment(&app, &mentee, id, 99, NOBODY, body.clone()).await,
        delete_comment(&app, &mentee, id, 99, NOBODY).await,
    ] {
        expect((status, answer), StatusCode::NOT_FOUND, TASK_MISSING);
    }
    expect(
        comment(&app, &mentee, id, 1, body.clone()).await,
        StatusCode::CREATED,
        "Task comment was created successfully.",
    );
    let (_, list) = comments(&app, &mentor, id, 1).await;
    let comment_id = list[0]["id"].as_i64().unwrap();

    // Once the relation is over, no comment operation is allowed, even for the author.
    expect(
        cancel(&app, &mentor, id).await,
        StatusCode::OK,
        "Mentorship relation was cancelled successfully.",
    );
    for (status, answer) in [
        comment(&app, &mentee, id, 1, body.clone()).await,
        comments(&app, &mentee, id, 1).await,
        edit_comment(&app, &mentee, id, 1, comment_id, body.clone()).await,
        delete_comment(&app, &mentee, id, 1, comment_id).await,
    ] {
        expect((status, answer), StatusCode::FORBIDDEN, NOT_ACCEPTED);
    }
    expect(
        comment(&app, &outsider, id, 1, body.clone()).await,
        StatusCode::FORBIDDEN,
        NOT_INVOLVED,
    );
    app.stop().await;
}

async fn only_the_author_edits_or_deletes_a_comment(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let mentor = member(&app, "mentor_user", true, false).await;
    let mentee = member(&app, "mentee_user", false, true).await;
    let id = accepted(&app, &mentor, &mentee).await;
    new_task(&app, &mentor, id, "Read").await;
    new_task(&app, &mentor, id, "Write").await;
    let created = app.clock.now();
    expect(
        comment(&app, &mentee, id, 1, json!({"comment": "First"})).await,
        StatusCode::CREATED,
        "Task comment was created successfully.",
    );
    expect(
        comment(&app, &mentor, id, 1, json!({"comment": "Second"})).await,
        StatusCode::CREATED,
        "Task comment was created successfully.",
    );

    let (status, list) = comments(&app, &mentor, id, 1).await;
    assert_eq!(status, StatusCode::OK);
    let list = list.as_array().unwrap().clone();
    assert_eq!(list.len(), 2);
    for item in &list {
        assert_eq!(
            keys(item),
            key_set(&[
                "id",
                "user_id",
                "task_id",
                "relation_id",
                "creation_date",
                "modification_date",
                "comment"
            ]),
            "{item}"
        );
        assert_eq!(item["task_id"], 1);
        assert_eq!(item["relation_id"], id);
        assert_eq!(item["creation_date"].as_f64(), Some(created));
        assert_eq!(item["modification_date"], Value::Null);
    }
    assert_eq!(list[0]["comment"], "First");
    assert_eq!(list[0]["user_id"], mentee.id);
    assert_eq!(list[1]["comment"], "Second");
    assert_eq!(list[1]["user_id"], mentor.id);
    let first = list[0]["id"].as_i64().unwrap();
    let second = list[1]["id"].as_i64().unwrap();
    let (_, other_task) = comments(&app, &mentor, id, 2).await;
    assert_eq!(other_task, json!([]));

    let edit = json!({"comment": "Changed"});
    let modify = "You have not created the comment and therefore cannot modify it.";
    let delete = "You have not created the comment and therefore cannot delete it.";
    let wrong_task = "Task comment with given task id does not exist.";
    let missing = "Task comment does not exist.";
    // Not the author: said before the task id is compared.
    for task in [1, 2] {
        expect(
            edit_comment(&app, &mentor, id, task, first, edit.clone()).await,
            StatusCode::FORBIDDEN,
            modify,
        );
        expect(
            delete_comment(&app, &mentor, id, task, first).await,
            StatusCode::FORBIDDEN,
            delete,
        );
        expect(
            edit_comment(&app, &mentee, id, task, second, edit.clone()).await,
            StatusCode::FORBIDDEN,
            modify,
        );
    }
    expect(
        edit_comment(&app, &mentee, id, 2, first, edit.clone()).await,
        StatusCode::NOT_FOUND,
        wrong_task,
    );
    expect(
        delete_comment(&app, &mentee, id, 2, first).await,
        StatusCode::NOT_FOUND,
        wrong_task,
    );
    expect(
        edit_comment(&app, &mentee, id, 1, NOBODY, edit.clone()).await,
        StatusCode::NOT_FOUND,
        missing,
    );
    expect(
        delete_comment(&app, &mentee, id, 1, NOBODY).await,
        StatusCode::NOT_FOUND,
        missing,
    );
    let (_, unchanged) = comments(&app, &mentee, id, 1).await;
    assert_eq!(unchanged[0]["comment"], "First");

    app.clock.advance(90.0);
    expect(
        edit_comment(&app, &mentee, id, 1, first, edit.clone()).await,
        StatusCode::OK,
        "Task comment was updated successfully.",
    );
    let (_, list) = comments(&app, &mentee, id, 1).await;
    assert_eq!(list[0]["comment"], "Changed");
    assert_eq!(list[0]["creation_date"].as_f64(), Some(created));
    assert_eq!(list[0]["modification_date"].as_f64(), Some(app.clock.now()));
    assert_eq!(list[1]["modification_date"], Value::Null);

    expect(
        delete_comment(&app, &mentee, id, 1, first).await,
        StatusCode::OK,
        "Task comment was deleted successfully.",
    );
    expect(
        delete_comment(&app, &mentee, id, 1, first).await,
        StatusCode::NOT_FOUND,
        missing,
    );
    let (_, list) = comments(&app, &mentee, id, 1).await;
    assert_eq!(ids(list.as_array().unwrap()), vec![second]);
    app.stop().await;
}

// ---------------------------------------------------------------------------------------------
// /home and /dashboard

async fn home_counts_relations_by_state_and_shows_the_latest_achievements(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let mut user = member(&app, "home_user", true, true).await;
    let mut p1 = member(&app, "partner_one", false, true).await;

    let (status, home) = app.get("/home", Some(&user.token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        home,
        json!({
            "name": "Test User", "pending_requests": 0, "accepted_requests": 0,
            "rejected_requests": 0, "completed_relations": 0, "cancelled_relations": 0,
            "achievements": [],
        })
    );

    // A relation that runs out: completed, with one achievement from early on.
    let end = app.clock.now() + 4.0 * WEEK + 3600.0;
    expect(
        send_ending(&app, &p1, user.id, p1.id, json!(end)).await,
        StatusCode::CREATED,
        SENT,
    );
    let r1 = relations(&app, &p1, "").await[0]["id"].as_i64().unwrap();
    expect(
        accept(&app, &user, r1).await,
        StatusCode::OK,
        "Mentorship relation was accepted successfully.",
    );
    new_task(&app, &p1, r1, "Old achievement").await;
    expect(
        complete(&app, &p1, r1, 1).await,
        StatusCode::OK,
        "Task was achieved successfully.",
    );
    app.clock.advance(4.0 * WEEK + 7200.0);
    assert_eq!(app.run_job("complete-relations").await, 1);
    app.relogin(&mut user).await;
    app.relogin(&mut p1).await;

    let p2 = member(&app, "partner_two", false, true).await;
    let p3 = member(&app, "partner_three", false, true).await;
    let p4 = member(&app, "partner_four", false, true).await;
    let p5 = member(&app, "partner_five", false, true).await;
    // Cancelled.
    let r2 = accepted(&app, &user, &p2).await;
    expect(
        cancel(&app, &user, r2).await,
        StatusCode::OK,
        "Mentorship relation was cancelled successfully.",
    );
    // Rejected, pending, accepted.
    let r3 = request(&app, &p3, &user, &p3).await;
    request(&app, &p5, &user, &p5).await;
    let r4 = request(&app, &p4, &user, &p4).await;
    expect(
        reject(&app, &user, r3).await,
        StatusCode::OK,
        "Mentorship relation was rejected successfully.",
    );
    expect(
        accept(&app, &user, r4).await,
        StatusCode::OK,
        "Mentorship relation was accepted successfully.",
    );

    // Four tasks done in the order 1, 3, 2, 4: the latest three completions, latest first.
    for description in ["Task one", "Task two", "Task three", "Task four"] {
        new_task(&app, &p4, r4, description).await;
    }
    for task in [1, 3, 2, 4] {
        app.clock.advance(10.0);
        expect(
            complete(&app, &user, r4, task).await,
            StatusCode::OK,
            "Task was achieved successfully.",
        );
    }

    let (status, home) = app.get("/home", Some(&user.token)).await;
    assert_eq!(status, StatusCode::OK, "{home}");
    assert_eq!(home["name"], "Test User");
    for (key, count) in [
        ("pending_requests", 1),
        ("accepted_requests", 1),
        ("rejected_requests", 1),
        ("completed_relations", 1),
        ("cancelled_relations", 1),
    ] {
        assert_eq!(home[key], count, "{key}: {home}");
    }
    let achievements = home["achievements"].as_array().unwrap();
    assert_eq!(ids(achievements), vec![4, 2, 3], "{home}");
    let descriptions: Vec<&str> = achievements
        .iter()
        .map(|a| a["description"].as_str().unwrap())
        .collect();
    assert_eq!(descriptions, vec!["Task four", "Task two", "Task three"]);
    let now = app.clock.now();
    for (achievement, completed_at) in achievements.iter().zip([now, now - 10.0, now - 20.0]) {
        assert_eq!(
            keys(achievement),
            key_set(&["id", "description", "is_done", "created_at", "completed_at"]),
            "{achievement}"
        );
        assert_eq!(achievement["is_done"], true);
        assert_eq!(achievement["completed_at"].as_f64(), Some(completed_at));
    }

    // The other parties see their own counts; achievements come from any state.
    let (_, home) = app.get("/home", Some(&p1.token)).await;
    assert_eq!(home["completed_relations"], 1);
    assert_eq!(home["accepted_requests"], 0);
    assert_eq!(home["achievements"].as_array().unwrap().len(), 1, "{home}");
    assert_eq!(home["achievements"][0]["description"], "Old achievement");
    assert_eq!(home["achievements"][0]["is_done"], true);
    let (_, home) = app.get("/home", Some(&p3.token)).await;
    assert_eq!(home["rejected_requests"], 1);
    assert_eq!(home["pending_requests"], 0);
    assert_eq!(home["achievements"], json!([]));
    let (_, home) = app.get("/home", Some(&p4.token)).await;
    assert_eq!(home["accepted_requests"], 1);
    assert_eq!(ids(home["achievements"].as_array().unwrap()), vec![4, 2, 3]);
    let (_, home) = app.get("/home", Some(&p5.token)).await;
    assert_eq!(home["pending_requests"], 1);
    app.stop().await;
}

const STATE_BUCKETS: [&str; 5] = ["accepted", "rejected", "completed", "cancelled", "pending"];

/// `(role, direction, state) -> ids` of a dashboard, asserting its structure on the way.
#[track_caller]
fn dashboard_ids(dashboard: &Value) -> Vec<(String, i64)> {
    let mut found = Vec::new();
    for role in ["as_mentor", "as_mentee"] {
        assert_eq!(
            keys(&dashboard[role]),
            key_set(&["sent", "received"]),
            "{dashboard}"
        );
        for direction in ["sent", "received"] {
            assert_eq!(
                keys(&dashboard[role][direction]),
                key_set(&STATE_BUCKETS),
                "{dashboard}"
            );
            for bucket in STATE_BUCKETS {
                for relation in dashboard[role][direction][bucket].as_array().unwrap() {
                    assert_eq!(
                        keys(relation),
                        key_set(&[
                            "id",
                            "action_user_id",
                            "mentor",
                            "mentee",
                            "creation_date",
                            "accept_date",
                            "start_date",
                            "end_date",
                            "state",
                            "notes"
                        ]),
                        "{relation}"
                    );
                    for party in ["mentor", "mentee"] {
                        assert_eq!(
                            keys(&relation[party]),
                            key_set(&["id", "user_name", "photo_url"]),
                            "{relation}"
                        );
                    }
                    found.push((
                        format!("{role}.{direction}.{bucket}"),
                        relation["id"].as_i64().unwrap(),
                    ));
                }
            }
        }
    }
    found
}

async fn dashboard(app: &TestApp, user: &User) -> Value {
    let (status, body) = app.get("/dashboard", Some(&user.token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn dashboard_groups_relations_and_shows_tasks_only_with_a_current_relation(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let mentor = member(&app, "mentor_user", true, false).await;
    let mentee = member(&app, "mentee_user", false, true).await;
    let other = member(&app, "other_mentee", false, true).await;
    for (user, name) in [(&mentor, "Mentor Person"), (&mentee, "Mentee Person")] {
        let (status, _) = app
            .put("/user", Some(&user.token), json!({"name": name}))
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    let top = |tasks: bool| {
        let mut names = vec!["as_mentor", "as_mentee"];
        if tasks {
            names.extend(["tasks_todo", "tasks_done"]);
        }
        key_set(&names)
    };

    let empty = dashboard(&app, &mentor).await;
    assert_eq!(keys(&empty), top(false), "{empty}");
    assert!(dashboard_ids(&empty).is_empty());

    let asked = request(&app, &mentee, &mentor, &mentee).await;
    let offered = request(&app, &mentor, &mentor, &other).await;
    let board = dashboard(&app, &mentor).await;
    assert_eq!(keys(&board), top(false), "pending only: {board}");
    assert_eq!(
        dashboard_ids(&board),
        vec![
            ("as_mentor.sent.pending".to_owned(), offered),
            ("as_mentor.received.pending".to_owned(), asked),
        ]
    );
    let board = dashboard(&app, &mentee).await;
    assert_eq!(
        dashboard_ids(&board),
        vec![("as_mentee.sent.pending".to_owned(), asked)]
    );
    let relation = &board["as_mentee"]["sent"]["pending"][0];
    assert_eq!(
        relation["mentor"],
        json!({"id": mentor.id, "user_name": "Mentor Person", "photo_url": null})
    );
    // The member's (display) name, as the reference sends it (the iOS app shows it).
    assert_eq!(relation["mentee"]["user_name"], "Mentee Person");
    assert_eq!(relation["action_user_id"], mentee.id);
    assert_eq!(relation["state"], 1);
    assert_eq!(relation["notes"], "Let us learn Rust");

    expect(
        accept(&app, &mentor, asked).await,
        StatusCode::OK,
        "Mentorship relation was accepted successfully.",
    );
    let board = dashboard(&app, &mentor).await;
    assert_eq!(keys(&board), top(true), "{board}");
    assert_eq!(board["tasks_todo"], json!([]));
    assert_eq!(board["tasks_done"], json!([]));
    assert_eq!(
        dashboard_ids(&board),
        vec![
            ("as_mentor.sent.pending".to_owned(), offered),
            ("as_mentor.received.accepted".to_owned(), asked),
        ]
    );
    let accepted_relation = &board["as_mentor"]["received"]["accepted"][0];
    assert_eq!(accepted_relation["state"], 2);
    assert!(accepted_relation["accept_date"].is_f64());

    new_task(&app, &mentee, asked, "Read").await;
    new_task(&app, &mentee, asked, "Write").await;
    expect(
        complete(&app, &mentor, asked, 1).await,
        StatusCode::OK,
        "Task was achieved successfully.",
    );
    for user in [&mentor, &mentee] {
        let board = dashboard(&app, user).await;
        assert_eq!(keys(&board), top(true), "{board}");
        let todo = board["tasks_todo"].as_array().unwrap();
        let done = board["tasks_done"].as_array().unwrap();
        assert_eq!(ids(todo), vec![2], "{board}");
        assert_eq!(ids(done), vec![1], "{board}");
        // Deviation 9: each task says whether it is done.
        assert_eq!(todo[0]["is_done"], false, "{board}");
        assert_eq!(done[0]["is_done"], true, "{board}");
        assert_eq!(done[0]["description"], "Read");
        assert!(done[0]["completed_at"].is_f64(), "{board}");
        assert!(todo[0]["created_at"].is_f64(), "{board}");
        assert_eq!(todo[0]["completed_at"], Value::Null);
    }
    let board = dashboard(&app, &other).await;
    assert_eq!(keys(&board), top(false), "{board}");
    assert_eq!(
        dashboard_ids(&board),
        vec![("as_mentee.received.pending".to_owned(), offered)]
    );

    expect(
        cancel(&app, &mentee, asked).await,
        StatusCode::OK,
        "Mentorship relation was cancelled successfully.",
    );
    let board = dashboard(&app, &mentor).await;
    assert_eq!(keys(&board), top(false), "no current relation: {board}");
    assert_eq!(
        dashboard_ids(&board),
        vec![
            ("as_mentor.sent.pending".to_owned(), offered),
            ("as_mentor.received.cancelled".to_owned(), asked),
        ]
    );
    app.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Wire format

async fn timestamps_are_written_with_a_decimal_point(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let mentor = member(&app, "mentor_user", true, false).await;
    let mentee = member(&app, "mentee_user", false, true).await;
    // The test clock starts on a whole second, and the end date is whole too.
    assert_eq!(app.clock.now().fract(), 0.0);
    let end = (app.clock.now() + 8.0 * WEEK) as i64;
    expect(
        send_ending(&app, &mentee, mentor.id, mentee.id, json!(end)).await,
        StatusCode::CREATED,
        SENT,
    );
    let id = relations(&app, &mentee, "").await[0]["id"]
        .as_i64()
        .unwrap();

    let text = raw_get(&app, "/mentorship_relations", &mentee.token).await;
    let creation = literals_after(&text, "creation_date");
    assert_eq!(creation.len(), 1, "{text}");
    assert!(creation[0].contains('.'), "creation_date: {text}");
    let end_dates = literals_after(&text, "end_date");
    assert!(end_dates[0].contains('.'), "end_date: {text}");
    assert_eq!(literals_after(&text, "accept_date"), vec!["null"], "{text}");
    assert_eq!(literals_after(&text, "state"), vec!["1"], "{text}");
    assert_eq!(
        literals_after(&text, "id"),
        vec![id.to_string(), mentor.id.to_string(), mentee.id.to_string()],
        "ids are integers: {text}"
    );

    expect(
        accept(&app, &mentor, id).await,
        StatusCode::OK,
        "Mentorship relation was accepted successfully.",
    );
    new_task(&app, &mentee, id, "Read").await;
    expect(
        complete(&app, &mentee, id, 1).await,
        StatusCode::OK,
        "Task was achieved successfully.",
    );
    expect(
        comment(&app, &mentee, id, 1, json!({"comment": "Done"})).await,
        StatusCode::CREATED,
        "Task comment was created successfully.",
    );
    expect(
        edit_comment(
            &app,
            &mentee,
            id,
            1,
            comments(&app, &mentee, id, 1).await.1[0]["id"]
                .as_i64()
                .unwrap(),
            json!({"comment": "Done!"}),
        )
        .await,
        StatusCode::OK,
        "Task comment was updated successfully.",
    );

    let pages = [
        (
            "/mentorship_relations".to_owned(),
            vec!["creation_date", "accept_date", "start_date", "end_date"],
        ),
        (
            "/mentorship_relations/current".to_owned(),
            vec!["creation_date", "accept_date", "start_date", "end_date"],
        ),
        (
            "/dashboard".to_owned(),
            vec![
                "creation_date",
                "accept_date",
                "start_date",
                "end_date",
                "created_at",
                "completed_at",
            ],
        ),
        ("/home".to_owned(), vec!["created_at", "completed_at"]),
        (
            format!("/mentorship_relation/{id}/tasks"),
            vec!["created_at", "completed_at"],
        ),
        (
            format!("/mentorship_relation/{id}/task/1/comments"),
            vec!["creation_date", "modification_date"],
        ),
    ];
    for (path, fields) in pages {
        let text = raw_get(&app, &path, &mentor.token).await;
        for field in fields {
            let literals = literals_after(&text, field);
            assert!(!literals.is_empty(), "{path}: no {field} in {text}");
            for literal in literals {
                assert!(
                    literal.contains('.') && literal.parse::<f64>().is_ok(),
                    "{path}: {field} is {literal:?} in {text}"
                );
            }
        }
    }
    app.stop().await;
}

crate::db_tests!(
    a_request_names_its_first_missing_field,
    a_request_checks_the_ids_then_the_end_date_in_order,
    a_request_reads_the_ids_as_the_reference_compares_them,
    a_request_checks_the_mentor_then_the_mentee,
    a_request_is_refused_while_either_user_is_in_a_relation,
    a_second_pending_request_between_two_users_is_a_conflict_either_way,
    a_request_to_an_unverified_user_is_refused_and_not_saved,
    a_sent_request_is_created_pending_and_mails_the_receiver_once,
    bodies_that_are_not_json_get_a_json_400,
    accepting_checks_in_order_and_dates_the_relation,
    accepting_is_refused_while_a_party_is_in_a_relation,
    rejecting_checks_in_order_and_mails_the_sender,
    cancelling_checks_in_order_and_mails_the_other_party,
    deleting_checks_in_order_and_removes_the_request,
    relation_lists_have_the_contract_shape_and_filter_by_state,
    a_member_in_both_roles_sees_the_relations_they_mentor_first,
    current_pending_and_past_lists_follow_the_state_and_the_clock,
    creating_a_task_checks_in_order,
    task_ids_count_per_relation_and_are_never_reused,
    completing_and_deleting_tasks_check_in_order_in_any_state,
    comment_bodies_are_checked_before_anything_else,
    comment_operations_check_relation_involvement_state_and_task_in_order,
    only_the_author_edits_or_deletes_a_comment,
    home_counts_relations_by_state_and_shows_the_latest_achievements,
    dashboard_groups_relations_and_shows_tasks_only_with_a_current_relation,
    timestamps_are_written_with_a_decimal_point,
);
