//! The relation journey, the invariants under concurrency, and account deletion.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

const WEEK: f64 = 7.0 * 86_400.0;

/// Sends a request from `from` with the given roles, ending in `weeks`.
async fn send(
    app: &TestApp,
    from: &User,
    mentor: &User,
    mentee: &User,
    weeks: f64,
) -> (StatusCode, Value) {
    let body = json!({
        "mentor_id": mentor.id, "mentee_id": mentee.id,
        "end_date": app.clock.now() + weeks * WEEK, "notes": "Let us work on Rust",
    });
    app.post("/mentorship_relation/send_request", Some(&from.token), body)
        .await
}

/// The id of the only relation `user` has.
async fn only_relation_id(app: &TestApp, user: &User) -> i64 {
    let (status, list) = app.get("/mentorship_relations", Some(&user.token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    list[0]["id"].as_i64().unwrap()
}

async fn a_mentorship_runs_from_request_to_completion_with_its_emails(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (mut mentor, mentee) = app.mentor_and_mentee().await;

    let (status, body) = send(&app, &mentee, &mentor, &mentee, 8.0).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (
            StatusCode::CREATED,
            Some("Mentorship relation was sent successfully.")
        )
    );
    let mails = app.mail.wait_for(&mentor.email, 2).await;
    assert_eq!(
        mails[1].subject,
        "Mentorship System - You have got new relation request"
    );

    let id = only_relation_id(&app, &mentor).await;
    let (status, body) = app
        .put(
            &format!("/mentorship_relation/{id}/accept"),
            Some(&mentor.token),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (
            StatusCode::OK,
            Some("Mentorship relation was accepted successfully.")
        )
    );
    let mails = app.mail.wait_for(&mentee.email, 2).await;
    assert_eq!(mails[1].subject, "Mentorship relation accepted!");

    let (status, current) = app
        .get("/mentorship_relations/current", Some(&mentee.token))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(current["state"], 2);
    assert_eq!(current["sent_by_me"], true);
    assert_eq!(
        current["mentor"],
        json!({"id": mentor.id, "name": "Test User"})
    );
    assert!(current["accept_date"].as_f64().is_some() && current["start_date"].as_f64().is_some());

    // Both parties add tasks; one is completed and becomes an achievement; both comment.
    for (user, description) in [
        (&mentor, "Read the book"),
        (&mentee, "Write a parser"),
        (&mentee, "Ship it"),
    ] {
        let (status, _) = app
            .post(
                &format!("/mentorship_relation/{id}/task"),
                Some(&user.token),
                json!({"description": description}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (_, tasks) = app
        .get(
            &format!("/mentorship_relation/{id}/tasks"),
            Some(&mentor.token),
        )
        .await;
    let ids: Vec<i64> = tasks
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![1, 2, 3]);
    assert_eq!(tasks[0]["is_done"], false);
    app.clock.advance(60.0);
    let (status, body) = app
        .put(
            &format!("/mentorship_relation/{id}/task/2/complete"),
            Some(&mentor.token),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (StatusCode::OK, Some("Task was achieved successfully."))
    );
    let (status, _) = app
        .post(
            &format!("/mentorship_relation/{id}/task/2/comment"),
            Some(&mentee.token),
            json!({"comment": "Done!"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, comments) = app
        .get(
            &format!("/mentorship_relation/{id}/task/2/comments"),
            Some(&mentor.token),
        )
        .await;
    assert_eq!(comments[0]["comment"], "Done!");
    assert_eq!(comments[0]["user_id"], mentee.id);

    let (status, home) = app.get("/home", Some(&mentee.token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(home["accepted_requests"], 1);
    assert_eq!(home["achievements"].as_array().unwrap().len(), 1);
    assert_eq!(home["achievements"][0]["description"], "Write a parser");
    assert_eq!(home["achievements"][0]["is_done"], true);
    let (_, dashboard) = app.get("/dashboard", Some(&mentor.token)).await;
    assert_eq!(dashboard["as_mentor"]["received"]["accepted"][0]["id"], id);
    assert_eq!(dashboard["tasks_done"].as_array().unwrap().len(), 1);
    assert_eq!(dashboard["tasks_todo"].as_array().unwrap().len(), 2);

    // The daily job completes it once its end date has passed, and tells both.
    assert_eq!(app.run_job("complete-relations").await, 0, "not due yet");
    app.clock.advance(8.0 * WEEK + 1.0);
    assert_eq!(app.run_job("complete-relations").await, 1);
    assert_eq!(
        app.run_job("complete-relations").await,
        0,
        "a re-run changes nothing"
    );
    app.relogin(&mut mentor).await;
    let (_, relations) = app
        .get(
            "/mentorship_relations?relation_state=completed",
            Some(&mentor.token),
        )
        .await;
    assert_eq!(relations[0]["state"], 5);
    let (_, current) = app
        .get("/mentorship_relations/current", Some(&mentor.token))
        .await;
    assert_eq!(
        current["message"],
        "You are not in a current mentorship relation."
    );

    // Every mail arrived once: verification, request, accepted, completed.
    app.settle_mail().await;
    let subjects = |email: &str| {
        app.mail
            .to(email)
            .into_iter()
            .map(|m| m.subject)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        subjects(&mentor.email),
        vec![
            "Mentorship System - Please confirm your email",
            "Mentorship System - You have got new relation request",
            "Mentorship System - Your mentorship relation is complete",
        ]
    );
    assert_eq!(
        subjects(&mentee.email),
        vec![
            "Mentorship System - Please confirm your email",
            "Mentorship relation accepted!",
            "Mentorship System - Your mentorship relation is complete",
        ]
    );
    app.stop().await;
}

async fn concurrent_accepts_put_a_user_in_one_relation_only(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let mentor = app
        .user("busy_mentor", json!({"available_to_mentor": true}))
        .await;
    let mut mentees = Vec::new();
    for i in 0..4 {
        let mentee = app
            .user(&format!("mentee_{i}"), json!({"need_mentoring": true}))
            .await;
        assert_eq!(
            send(&app, &mentee, &mentor, &mentee, 6.0).await.0,
            StatusCode::CREATED
        );
        mentees.push(mentee);
    }
    let (_, list) = app.get("/mentorship_relations", Some(&mentor.token)).await;
    let ids: Vec<i64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    let accepts = ids.iter().map(|id| {
        let path = format!("/mentorship_relation/{id}/accept");
        let app = &app;
        let token = mentor.token.clone();
        async move { app.put(&path, Some(&token), json!({})).await }
    });
    let results = join_all(accepts).await;
    let accepted = results.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    assert_eq!(accepted, 1, "{results:?}");
    for (status, body) in results.iter().filter(|(s, _)| *s != StatusCode::OK) {
        assert_eq!(*status, StatusCode::FORBIDDEN);
        assert_eq!(
            body["message"],
            "You are currently involved in a mentorship relation."
        );
    }
    let (_, accepted) = app
        .get(
            "/mentorship_relations?relation_state=ACCEPTED",
            Some(&mentor.token),
        )
        .await;
    assert_eq!(accepted.as_array().unwrap().len(), 1);
    app.stop().await;
}

async fn concurrent_requests_between_two_users_leave_one_pending(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let mentor = app
        .user(
            "both_ways_a",
            json!({"available_to_mentor": true, "need_mentoring": true}),
        )
        .await;
    let mentee = app
        .user(
            "both_ways_b",
            json!({"available_to_mentor": true, "need_mentoring": true}),
        )
        .await;
    let sends = (0..6).map(|i| {
        let (app, mentor, mentee) = (&app, &mentor, &mentee);
        // Half from each side, half in each role.
        async move {
            match i % 2 {
                0 => send(app, mentee, mentor, mentee, 6.0).await,
                _ => send(app, mentor, mentee, mentor, 6.0).await,
            }
        }
    });
    let results = join_all(sends).await;
    assert_eq!(
        results
            .iter()
            .filter(|(s, _)| *s == StatusCode::CREATED)
            .count(),
        1,
        "{results:?}"
    );
    for (status, body) in results.iter().filter(|(s, _)| *s != StatusCode::CREATED) {
        assert_eq!(*status, StatusCode::CONFLICT);
        assert_eq!(
            body["message"],
            "There is already a pending mentorship request between these two users."
        );
    }
    app.stop().await;
}

async fn fifty_concurrent_task_creations_get_fifty_distinct_ids(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (mentor, mentee) = app.mentor_and_mentee().await;
    send(&app, &mentee, &mentor, &mentee, 6.0).await;
    let id = only_relation_id(&app, &mentor).await;
    app.put(
        &format!("/mentorship_relation/{id}/accept"),
        Some(&mentor.token),
        json!({}),
    )
    .await;
    let path = format!("/mentorship_relation/{id}/task");
    let creations = (0..50).map(|i| {
        let (app, path) = (&app, &path);
        let token = if i % 2 == 0 {
            mentor.token.clone()
        } else {
            mentee.token.clone()
        };
        async move {
            app.post(
                path,
                Some(&token),
                json!({"description": format!("task {i}")}),
            )
            .await
        }
    });
    let results = join_all(creations).await;
    assert!(
        results.iter().all(|(s, _)| *s == StatusCode::CREATED),
        "{results:?}"
    );
    let (_, tasks) = app
        .get(
            &format!("/mentorship_relation/{id}/tasks"),
            Some(&mentee.token),
        )
        .await;
    let mut ids: Vec<i64> = tasks
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, (1..=50).collect::<Vec<i64>>());
    app.stop().await;
}

async fn a_deleted_partner_leaves_the_history_readable_and_is_shown_as_null(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (mentor, mentee) = app.mentor_and_mentee().await;
    send(&app, &mentee, &mentor, &mentee, 6.0).await;
    let id = only_relation_id(&app, &mentor).await;
    app.put(
        &format!("/mentorship_relation/{id}/accept"),
        Some(&mentor.token),
        json!({}),
    )
    .await;
    app.post(
        &format!("/mentorship_relation/{id}/task"),
        Some(&mentee.token),
        json!({"description": "Learn"}),
    )
    .await;
    app.post(
        &format!("/mentorship_relation/{id}/task/1/comment"),
        Some(&mentee.token),
        json!({"comment": "Started"}),
    )
    .await;

    let (status, _) = app.delete("/user", Some(&mentee.token)).await;
    assert_eq!(status, StatusCode::OK);
    // The mentor is told, and the relation is over.
    let mails = app.mail.wait_for(&mentor.email, 3).await;
    assert_eq!(
        mails[2].subject,
        "Mentorship System - Your mentorship relation has ended"
    );
    let (status, relations) = app.get("/mentorship_relations", Some(&mentor.token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(relations[0]["state"], 4);
    assert_eq!(relations[0]["mentee"], json!({"id": null, "name": null}));
    for path in [
        "/dashboard",
        "/home",
        &format!("/mentorship_relation/{id}/tasks"),
    ] {
        let (status, body) = app.get(path, Some(&mentor.token)).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
    let (_, dashboard) = app.get("/dashboard", Some(&mentor.token)).await;
    assert_eq!(
        dashboard["as_mentor"]["received"]["cancelled"][0]["mentee"]["id"],
        Value::Null
    );
    // The mentor is free for a new relation.
    let (_, current) = app
        .get("/mentorship_relations/current", Some(&mentor.token))
        .await;
    assert_eq!(
        current["message"],
        "You are not in a current mentorship relation."
    );
    app.stop().await;
}

async fn accounts_never_verified_are_deleted_after_thirty_days_with_their_requests(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let mut verified = app.user("kept_user", json!({})).await;
    app.register("lapsed_user", json!({})).await;
    app.clock.advance(29.0 * 86_400.0);
    assert_eq!(app.run_job("delete-unverified-users").await, 0);
    app.clock.advance(86_400.0 + 1.0);
    assert_eq!(app.run_job("delete-unverified-users").await, 1);
    app.relogin(&mut verified).await;
    let (_, users) = app.get("/users", Some(&verified.token)).await;
    assert!(users.as_array().unwrap().is_empty(), "{users}");
    // The freed username can be registered again.
    assert_eq!(
        app.register("lapsed_user", json!({})).await.0,
        StatusCode::CREATED
    );
    app.stop().await;
}

/// Drives futures together, so their requests reach the server at the same time.
pub async fn join_all<F: std::future::Future>(
    futures: impl IntoIterator<Item = F>,
) -> Vec<F::Output> {
    let mut pinned: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in pinned.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(Option::unwrap).collect()
}

async fn the_completion_job_tells_both_parties_of_every_due_relation_once(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    // More relations than one statement queues mails for (50 on SQLite), inserted directly.
    let pairs = 60;
    let now = app.clock.now();
    let sql = format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {members})
         INSERT INTO users (name, username, email, password_hash, registration_date,
             terms_and_conditions_checked, is_email_verified, need_mentoring, available_to_mentor)
         SELECT 'Member', 'member_' || i, 'member_' || i || '@example.com', 'x', {now}, TRUE, TRUE,
             i % 2 = 0, i % 2 = 1
         FROM n;
         INSERT INTO mentorship_relations (mentor_id, mentee_id, action_user_id, creation_date,
             end_date, state, notes)
         SELECT u.id, u.id + 1, u.id + 1, {now}, {now} + 3600, 2, 'seeded'
         FROM users u WHERE u.available_to_mentor;
         INSERT INTO current_relations (user_id, relation_id)
         SELECT mentor_id, id FROM mentorship_relations
         UNION ALL SELECT mentee_id, id FROM mentorship_relations;",
        members = 2 * pairs
    );
    mentorship::with_db!(&app.state().db, |c| sqlx::raw_sql(sqlx::AssertSqlSafe(
        sql.clone()
    ))
    .execute(c)
    .await
    .map(|_| ()))
    .unwrap();
    app.clock.advance(7200.0);
    assert_eq!(app.run_job("complete-relations").await, pairs);
    assert_eq!(app.run_job("complete-relations").await, 0);
    for member in 1..=2 * pairs {
        let mails = app
            .mail
            .wait_for(&format!("member_{member}@example.com"), 1)
            .await;
        assert_eq!(
            mails[0].subject,
            "Mentorship System - Your mentorship relation is complete"
        );
    }
    app.settle_mail().await;
    assert_eq!(app.mail.all().len() as u64, 2 * pairs, "one mail each");
    app.stop().await;
}

crate::db_tests!(
    the_completion_job_tells_both_parties_of_every_due_relation_once,
    a_mentorship_runs_from_request_to_completion_with_its_emails,
    concurrent_accepts_put_a_user_in_one_relation_only,
    concurrent_requests_between_two_users_leave_one_pending,
    fifty_concurrent_task_creations_get_fifty_distinct_ids,
    a_deleted_partner_leaves_the_history_readable_and_is_shown_as_null,
    accounts_never_verified_are_deleted_after_thirty_days_with_their_requests,
);
