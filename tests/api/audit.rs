//! The audit trail: events written with their changes, a hash chain that `mentorship audit
//! verify` checks (and that names the first event edited, deleted or reordered), the admins'
//! view of it, and pruning that keeps what is left verifiable.

use std::process::{Command, Output};

use reqwest::StatusCode;
use serde_json::json;

use crate::db_tests;
use crate::helpers::*;

fn audit_verify(db_url: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mentorship"))
        .args(["audit", "verify"])
        .env("SECRET_KEY", "test-secret-key-0123456789abcdef0123456789")
        .env("RUST_LOG", "off")
        .env("DATABASE_URL", db_url)
        .output()
        .expect("the binary runs")
}

fn assert_intact(output: &Output) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("audit trail intact"), "{stdout}");
}

fn assert_broken_at(output: &Output, seq: i64) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "verify passed: {stderr}");
    assert!(
        stderr.contains(&format!("audit trail broken at event {seq}:")),
        "{stderr}"
    );
}

pub async fn execute(app: &TestApp, sql: &str) {
    app.chain_audit().await;
    let sql = sql.to_owned();
    mentorship::with_db!(&app.state().db, |c| sqlx::query(sqlx::AssertSqlSafe(
        sql.clone()
    ))
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
}

pub async fn scalar(app: &TestApp, sql: &str) -> i64 {
    app.chain_audit().await;
    let sql = sql.to_owned();
    mentorship::with_db!(&app.state().db, |c| sqlx::query_scalar::<_, i64>(
        sqlx::AssertSqlSafe(sql.clone())
    )
    .fetch_one(c)
    .await)
    .unwrap()
}

/// The seq of the newest event with `action`.
async fn seq_of(app: &TestApp, action: &str) -> i64 {
    scalar(
        app,
        &format!("SELECT MAX(seq) FROM audit_events WHERE action = '{action}'"),
    )
    .await
}

/// Two members in an accepted relation with a task, a failed sign-in: a dozen events.
async fn some_history(app: &TestApp) -> (User, User, i64) {
    let (mentor, mentee) = app.mentor_and_mentee().await;
    let end_date = app.clock.now() + 30.0 * 86_400.0;
    let (status, body) = app
        .post(
            "/mentorship_relation/send_request",
            Some(&mentee.token),
            json!({"mentor_id": mentor.id, "mentee_id": mentee.id, "end_date": end_date, "notes": "hi"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, list) = app.get("/mentorship_relations", Some(&mentor.token)).await;
    let relation_id = list[0]["id"].as_i64().unwrap();
    let (status, _) = app
        .put(
            &format!("/mentorship_relation/{relation_id}/accept"),
            Some(&mentor.token),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .post(
            &format!("/mentorship_relation/{relation_id}/task"),
            Some(&mentee.token),
            json!({"description": "Read a book"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = app.login(&mentor.username, "wrong password 1").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    (mentor, mentee, relation_id)
}

async fn each_change_is_recorded_with_who_what_and_where(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (mentor, mentee, relation_id) = some_history(&app).await;
    app.chain_audit().await;
    let rows = mentorship::with_db!(&app.state().db, |c| sqlx::query_as::<
        _,
        (Option<i64>, String, String, Option<String>, Option<String>),
    >(
        "SELECT actor_id, action, subject, client, request_id FROM audit_events ORDER BY seq"
    )
    .fetch_all(c)
    .await)
    .unwrap();
    let find = |action: &str, subject: &str| {
        rows.iter()
            .find(|r| r.1 == action && r.2 == subject)
            .unwrap_or_else(|| panic!("no {action} on {subject} in {rows:?}"))
            .clone()
    };
    for user in [&mentor, &mentee] {
        let subject = format!("user:{}", user.id);
        assert_eq!(find("account.register", &subject).0, Some(user.id));
        assert_eq!(find("email.verify", &subject).0, Some(user.id));
        assert_eq!(find("login.success", &subject).0, Some(user.id));
    }
    let relation = format!("relation:{relation_id}");
    assert_eq!(find("relation.send", &relation).0, Some(mentee.id));
    assert_eq!(find("relation.accept", &relation).0, Some(mentor.id));
    assert_eq!(
        find("task.create", &format!("task:{relation_id}/1")).0,
        Some(mentee.id)
    );
    let failure = find("login.failure", &format!("user:{}", mentor.id));
    assert_eq!(failure.0, None, "a failed sign-in is nobody's act");
    assert_eq!(failure.3.as_deref(), Some("127.0.0.1"));
    assert!(failure.4.as_deref().is_some_and(|id| !id.is_empty()));
    // Nothing secret: no password, token or link reaches the trail.
    let everything = mentorship::with_db!(&app.state().db, |c| {
        sqlx::query_scalar::<_, Option<String>>("SELECT detail FROM audit_events")
            .fetch_all(c)
            .await
    })
    .unwrap()
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ");
    assert!(!everything.contains("wrong password"), "{everything}");
    assert!(!everything.contains(&mentor.token), "{everything}");
    assert!(!everything.contains("confirm_email"), "{everything}");
}

async fn throttled_sign_ins_are_counted_not_listed(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let user = app.user("target", json!({})).await;
    let mut throttled = 0;
    for i in 0..30 {
        let (status, _) = app.login(&user.username, &format!("guess {i}")).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            throttled += 1;
        }
    }
    assert!(throttled >= 5, "{throttled} refused");
    let subject = format!("user:{}", user.id);
    let events = scalar(
        &app,
        &format!(
            "SELECT COUNT(*) FROM audit_events WHERE action = 'login.throttled' AND subject = '{subject}'"
        ),
    )
    .await;
    assert_eq!(events, 1, "one event for the window");
    let counted = scalar(
        &app,
        &format!(
            "SELECT CAST(SUM(refusals) AS BIGINT) FROM audit_throttled WHERE subject = '{subject}'"
        ),
    )
    .await;
    assert_eq!(counted, throttled);
}

async fn verify_names_the_first_event_edited_deleted_or_reordered(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    some_history(&app).await;
    assert_intact(&audit_verify(&app.db_url));

    // An edited action (inside the chain).
    let accept = seq_of(&app, "relation.accept").await;
    execute(
        &app,
        &format!("UPDATE audit_events SET action = 'relation.reject' WHERE seq = {accept}"),
    )
    .await;
    assert_broken_at(&audit_verify(&app.db_url), accept);
    execute(
        &app,
        &format!("UPDATE audit_events SET action = 'relation.accept' WHERE seq = {accept}"),
    )
    .await;
    assert_intact(&audit_verify(&app.db_url));

    // An edited detail (outside the chain, covered by its digest).
    let send = seq_of(&app, "relation.send").await;
    execute(
        &app,
        &format!("UPDATE audit_events SET client = '10.9.9.9' WHERE seq = {send}"),
    )
    .await;
    assert_broken_at(&audit_verify(&app.db_url), send);
    execute(
        &app,
        &format!("UPDATE audit_events SET client = '127.0.0.1' WHERE seq = {send}"),
    )
    .await;

    // Two events swapped.
    let swap = |a: i64, b: i64| {
        format!(
            "UPDATE audit_events SET seq = -1 WHERE seq = {a};
             UPDATE audit_events SET seq = {a} WHERE seq = {b};
             UPDATE audit_events SET seq = {b} WHERE seq = -1"
        )
    };
    for statement in swap(4, 5).split(';') {
        execute(&app, statement).await;
    }
    assert_broken_at(&audit_verify(&app.db_url), 4);
    for statement in swap(4, 5).split(';') {
        execute(&app, statement).await;
    }
    assert_intact(&audit_verify(&app.db_url));

    // The last event deleted: the head still knows it.
    let last = scalar(&app, "SELECT MAX(seq) FROM audit_events").await;
    execute(
        &app,
        &format!("DELETE FROM audit_events WHERE seq = {last}"),
    )
    .await;
    assert_broken_at(&audit_verify(&app.db_url), last);

    // An event in the middle deleted.
    execute(&app, "DELETE FROM audit_events WHERE seq = 3").await;
    assert_broken_at(&audit_verify(&app.db_url), 3);
}

async fn several_instances_writing_at_once_keep_one_verifiable_chain(kind: DbKind) {
    let first = TestApp::spawn(kind).await;
    let second = TestApp::spawn_on(kind, &first.db_url, &[]).await;
    let third = TestApp::spawn_on(kind, &first.db_url, &[]).await;
    let apps = [&first, &second, &third];
    let registrations: Vec<_> = (0..24)
        .map(|i| {
            let app = apps[i % 3];
            async move {
                let (status, body) = app.register(&format!("racer_{i}"), json!({})).await;
                assert_eq!(status, StatusCode::CREATED, "{body}");
                let (status, _) = app.login(&format!("racer_{i}"), "not the password").await;
                assert_eq!(status, StatusCode::UNAUTHORIZED);
            }
        })
        .collect();
    join_all(registrations).await;
    let events = scalar(&first, "SELECT COUNT(*) FROM audit_events").await;
    assert_eq!(events, 48);
    assert_eq!(
        scalar(&first, "SELECT MAX(seq) FROM audit_events").await,
        48
    );
    assert_intact(&audit_verify(&first.db_url));
    second.stop().await;
    third.stop().await;
}

async fn admins_read_the_trail_newest_first_with_filters_and_others_are_refused(kind: DbKind) {
    let app = TestApp::spawn_with(kind, &[("FIRST_USER_IS_ADMIN", "true")]).await;
    let (admin, mentee, relation_id) = some_history(&app).await;
    let (status, body) = app.get("/admin/audit", Some(&mentee.token)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _) = app.get("/admin/audit", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, events) = app
        .get("/admin/audit?per_page=100", Some(&admin.token))
        .await;
    assert_eq!(status, StatusCode::OK, "{events}");
    let events = events.as_array().unwrap();
    assert!(events.len() >= 10, "{events:?}");
    let ids: Vec<i64> = events.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
    let mut keys: Vec<&str> = events[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "action",
            "actor_id",
            "at",
            "client",
            "detail",
            "id",
            "request_id",
            "subject"
        ]
    );
    let failure = events
        .iter()
        .find(|e| e["action"] == "login.failure")
        .unwrap();
    assert!(failure["actor_id"].is_null());
    assert_eq!(failure["subject"], format!("user:{}", admin.id));

    let get = |query: String| {
        let app = &app;
        let token = admin.token.clone();
        async move {
            let (status, body) = app
                .get(&format!("/admin/audit?{query}"), Some(&token))
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            body.as_array().unwrap().clone()
        }
    };
    let by_mentee = get(format!("actor_id={}&per_page=100", mentee.id)).await;
    assert!(!by_mentee.is_empty());
    assert!(by_mentee.iter().all(|e| e["actor_id"] == mentee.id));
    let accepts = get("action=relation.accept".into()).await;
    assert_eq!(accepts.len(), 1);
    assert_eq!(accepts[0]["subject"], format!("relation:{relation_id}"));
    assert_eq!(accepts[0]["actor_id"], admin.id);
    assert_eq!(accepts[0]["detail"], json!({"state": "ACCEPTED"}));
    let about_mentee = get(format!("subject=user:{}", mentee.id)).await;
    assert!(
        about_mentee
            .iter()
            .all(|e| e["subject"] == format!("user:{}", mentee.id))
    );
    assert!(
        about_mentee
            .iter()
            .any(|e| e["action"] == "account.register")
    );
    let now = app.clock.now();
    assert_eq!(get(format!("since={}", now + 1.0)).await.len(), 0);
    assert_eq!(get(format!("until={}", now - 3_600.0)).await.len(), 0);
    assert_eq!(
        get("since=2000-01-01T00:00:00Z&per_page=3".into())
            .await
            .len(),
        3
    );
    let second_page = get("per_page=2&page=2".into()).await;
    assert_eq!(
        second_page
            .iter()
            .map(|e| e["id"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        ids[2..4]
    );
    let (status, body) = app
        .get("/admin/audit?since=yesterday", Some(&admin.token))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "INVALID_AUDIT_FILTER");
}

async fn pruning_to_the_retention_keeps_the_rest_verifiable(kind: DbKind) {
    let app = TestApp::spawn_with(kind, &[("AUDIT_RETENTION", "30d")]).await;
    some_history(&app).await;
    let old = scalar(&app, "SELECT COUNT(*) FROM audit_events").await;
    app.clock.advance(31.0 * 86_400.0);
    let late = app.user("latecomer", json!({})).await;
    let total = scalar(&app, "SELECT COUNT(*) FROM audit_events").await;
    assert!(total > old);
    app.run_job("purge-expired").await;
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM audit_events").await,
        total - old
    );
    assert_eq!(scalar(&app, "SELECT seq FROM audit_anchor").await, old);
    assert_intact(&audit_verify(&app.db_url));
    // The chain goes on from there.
    let (status, _) = app.login(&late.username, "wrong").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_intact(&audit_verify(&app.db_url));
    // A year on, every event is past the retention: the anchor is the head.
    app.clock.advance(365.0 * 86_400.0);
    app.run_job("purge-expired").await;
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM audit_events").await, 0);
    assert_intact(&audit_verify(&app.db_url));
}

async fn without_a_retention_the_trail_is_kept(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    some_history(&app).await;
    let total = scalar(&app, "SELECT COUNT(*) FROM audit_events").await;
    app.clock.advance(3_650.0 * 86_400.0);
    app.run_job("purge-expired").await;
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM audit_events").await,
        total
    );
}

/// A change commits its events unchained where the chain's lock would serialize commits
/// (PostgreSQL), and they are chained right after. If the process stops in between, the events
/// wait in `audit_pending`, and the next reader of the trail chains them first.
async fn events_left_pending_are_chained_before_anyone_reads_the_trail(kind: DbKind) {
    let app = TestApp::spawn_with(kind, &[("FIRST_USER_IS_ADMIN", "true")]).await;
    let (admin, _, _) = some_history(&app).await;
    let last = scalar(&app, "SELECT MAX(seq) FROM audit_events").await;
    // What a change that committed, and whose process then stopped, leaves behind.
    execute(
        &app,
        &format!(
            "INSERT INTO audit_pending (at, actor_id, action, subject, request_id, detail, client)
             VALUES ({}, {}, 'relation.cancel', 'relation:77', 'left-behind', '{{}}', '10.0.0.7')",
            app.clock.now(),
            admin.id
        ),
    )
    .await;

    let (status, events) = app
        .get("/admin/audit?action=relation.cancel", Some(&admin.token))
        .await;
    assert_eq!(status, StatusCode::OK, "{events}");
    assert_eq!(events.as_array().unwrap().len(), 1, "{events}");
    assert_eq!(events[0]["id"], last + 1, "chained after the last event");
    assert_eq!(events[0]["request_id"], "left-behind");
    assert_eq!(events[0]["client"], "10.0.0.7");
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM audit_pending").await, 0);
    assert_intact(&audit_verify(&app.db_url));
}

db_tests!(
    events_left_pending_are_chained_before_anyone_reads_the_trail,
    each_change_is_recorded_with_who_what_and_where,
    throttled_sign_ins_are_counted_not_listed,
    verify_names_the_first_event_edited_deleted_or_reordered,
    several_instances_writing_at_once_keep_one_verifiable_chain,
    admins_read_the_trail_newest_first_with_filters_and_others_are_refused,
    pruning_to_the_retention_keeps_the_rest_verifiable,
    without_a_retention_the_trail_is_kept,
);
