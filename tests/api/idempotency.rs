//! `Idempotency-Key`: a retry gets the first answer and changes nothing; another request with
//! the same key is refused; concurrent requests with one key act once.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::db_tests;
use crate::helpers::*;
use crate::meetings::accepted_relation;

async fn keyed(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    key: &[u8],
    body: Value,
) -> (StatusCode, String, bool) {
    let response = app
        .client
        .request(method, app.url(path))
        .bearer_auth(token)
        .header(
            "Idempotency-Key",
            reqwest::header::HeaderValue::from_bytes(key).unwrap(),
        )
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let replayed = response.headers().contains_key("idempotent-replayed");
    (status, response.text().await.unwrap(), replayed)
}

async fn count(app: &TestApp, sql: &'static str) -> i64 {
    app.chain_audit().await;
    mentorship::with_db!(&app.state().db, |c| sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(c)
        .await)
    .unwrap()
}

async fn a_retry_gets_the_first_answer_and_changes_nothing(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (mentor, mentee) = app.mentor_and_mentee().await;
    app.settle_mail().await;
    let mails_before = app.mail.to(&mentor.email).len();
    let request = json!({
        "mentor_id": mentor.id, "mentee_id": mentee.id, "notes": "Please",
        "end_date": app.clock.now() + 30.0 * 86_400.0,
    });
    let path = "/mentorship_relation/send_request";
    let first = keyed(
        &app,
        Method::POST,
        path,
        &mentee.token,
        b"req-1",
        request.clone(),
    )
    .await;
    assert_eq!(first.0, StatusCode::CREATED, "{}", first.1);
    assert!(!first.2);
    for _ in 0..3 {
        let retry = keyed(
            &app,
            Method::POST,
            path,
            &mentee.token,
            b"req-1",
            request.clone(),
        )
        .await;
        assert_eq!((retry.0, &retry.1), (first.0, &first.1));
        assert!(retry.2, "marked as a replay");
    }
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM mentorship_relations").await,
        1
    );
    app.settle_mail().await;
    assert_eq!(
        app.mail.to(&mentor.email).len(),
        mails_before + 1,
        "one mail"
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM audit_events WHERE action = 'relation.send'"
        )
        .await,
        1
    );

    // Without the key nothing changes: the same request again is a second attempt.
    let (status, _) = app.post(path, Some(&mentee.token), request.clone()).await;
    assert_eq!(status, StatusCode::CONFLICT);

    // An answer that refused is replayed too (the state it saw is the first request's).
    let (_, list) = app.get("/mentorship_relations", Some(&mentor.token)).await;
    let id = list[0]["id"].as_i64().unwrap();
    let accept = format!("/mentorship_relation/{id}/accept");
    let refused = keyed(&app, Method::PUT, &accept, &mentee.token, b"acc", json!({})).await;
    assert_eq!(refused.0, StatusCode::FORBIDDEN, "{}", refused.1);
    let again = keyed(&app, Method::PUT, &accept, &mentee.token, b"acc", json!({})).await;
    assert_eq!((again.0, again.1, again.2), (refused.0, refused.1, true));
}

async fn the_same_key_for_another_request_is_refused(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (mentor, mentee, relation_id) = accepted_relation(&app).await;
    let path = format!("/mentorship_relation/{relation_id}/task");
    let first = keyed(
        &app,
        Method::POST,
        &path,
        &mentee.token,
        b"k",
        json!({"description": "One"}),
    )
    .await;
    assert_eq!(first.0, StatusCode::CREATED);
    let other = keyed(
        &app,
        Method::POST,
        &path,
        &mentee.token,
        b"k",
        json!({"description": "Two"}),
    )
    .await;
    assert_eq!(other.0, StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = serde_json::from_str(&other.1).unwrap();
    assert_eq!(body["code"], "IDEMPOTENCY_KEY_REUSED");
    let elsewhere = keyed(
        &app,
        Method::PUT,
        "/user",
        &mentee.token,
        b"k",
        json!({"description": "One"}),
    )
    .await;
    assert_eq!(elsewhere.0, StatusCode::UNPROCESSABLE_ENTITY);
    // Keys are the member's own: another member's "k" is another key.
    let theirs = keyed(
        &app,
        Method::POST,
        &path,
        &mentor.token,
        b"k",
        json!({"description": "Two"}),
    )
    .await;
    assert_eq!(theirs.0, StatusCode::CREATED, "{}", theirs.1);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM tasks").await, 2);

    // A key is 1 to 255 printable ASCII characters.
    for bad in [vec![b'x'; 256], "clé".as_bytes().to_vec(), b"a\tb".to_vec()] {
        let (status, body, _) = keyed(
            &app,
            Method::POST,
            &path,
            &mentee.token,
            &bad,
            json!({"description": "Three"}),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body.contains("IDEMPOTENCY_KEY_INVALID"), "{body}");
    }
    let longest = vec![b'x'; 255];
    let (status, _, _) = keyed(
        &app,
        Method::POST,
        &path,
        &mentee.token,
        &longest,
        json!({"description": "Three"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);

    // A day later the key is forgotten (purge-expired) and may name a new request.
    app.clock.advance(25.0 * 3_600.0);
    let mut mentee = mentee;
    app.relogin(&mut mentee).await;
    app.run_job("purge-expired").await;
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM idempotency_keys WHERE key = 'k'"
        )
        .await,
        0
    );
    let later = keyed(
        &app,
        Method::POST,
        &path,
        &mentee.token,
        b"k",
        json!({"description": "Four"}),
    )
    .await;
    assert_eq!(later.0, StatusCode::CREATED, "{}", later.1);
}

async fn concurrent_requests_with_one_key_act_once(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (_, mentee, relation_id) = accepted_relation(&app).await;
    let path = format!("/mentorship_relation/{relation_id}/task");
    let attempts: Vec<_> = (0..8)
        .map(|_| {
            keyed(
                &app,
                Method::POST,
                &path,
                &mentee.token,
                b"burst",
                json!({"description": "Once"}),
            )
        })
        .collect();
    let answers = join_all(attempts).await;
    assert_eq!(count(&app, "SELECT COUNT(*) FROM tasks").await, 1);
    let created: Vec<_> = answers
        .iter()
        .filter(|a| a.0 == StatusCode::CREATED)
        .collect();
    assert!(!created.is_empty(), "{answers:?}");
    assert!(created.iter().all(|a| a.1 == created[0].1));
    for answer in &answers {
        assert!(
            answer.0 == StatusCode::CREATED || answer.0 == StatusCode::CONFLICT,
            "{answer:?}"
        );
        if answer.0 == StatusCode::CONFLICT {
            assert!(answer.1.contains("IDEMPOTENCY_KEY_IN_USE"), "{answer:?}");
        }
    }
    // Once the first has answered, every retry gets its answer.
    let retry = keyed(
        &app,
        Method::POST,
        &path,
        &mentee.token,
        b"burst",
        json!({"description": "Once"}),
    )
    .await;
    assert_eq!((retry.0, retry.2), (StatusCode::CREATED, true));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM tasks").await, 1);
}

async fn requests_without_a_member_ignore_the_key(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let body = json!({
        "name": "Key Less", "username": "keyless", "password": PASSWORD,
        "email": "keyless@example.com", "terms_and_conditions_checked": true,
    });
    let response = app
        .client
        .post(app.url("/register"))
        .header("Idempotency-Key", "same")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let response = app
        .client
        .post(app.url("/register"))
        .header("Idempotency-Key", "same")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::CONFLICT,
        "not replayed: keyed per member"
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM idempotency_keys").await,
        0
    );
}

db_tests!(
    a_retry_gets_the_first_answer_and_changes_nothing,
    the_same_key_for_another_request_is_refused,
    concurrent_requests_with_one_key_act_once,
    requests_without_a_member_ignore_the_key,
);
