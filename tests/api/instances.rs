//! Several `mentorship serve` processes on one PostgreSQL database: mail is sent exactly once
//! and a scheduled tick runs once, whatever the number of instances.

use std::collections::HashMap;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_deliver_every_mail_queued_while_smtp_was_down_exactly_once() {
    let db = TestDatabase::create(DbKind::Postgres).await;
    let logs = TempDir::new();
    let smtp_address = free_address();
    let smtp = format!("smtp://{smtp_address}");
    let settings = [
        ("DATABASE_URL", db.url.as_str()),
        ("SMTP_URL", smtp.as_str()),
    ];
    let first = ServerProcess::start(&settings, &logs.path).await;
    let second = ServerProcess::start(&settings, &logs.path).await;

    // Registrations succeed while the mail server is down: mail waits in the outbox.
    let client = reqwest::Client::new();
    for i in 0..10 {
        let base = if i % 2 == 0 {
            &first.base
        } else {
            &second.base
        };
        let response = client
            .post(format!("{base}/register"))
            .json(&json!({
                "name": "Queued User", "username": format!("queued_{i}"), "password": PASSWORD,
                "email": format!("queued_{i}@example.com"), "terms_and_conditions_checked": true,
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;

    let mail = MailServer::start_on(smtp_address).await;
    for i in 0..10 {
        mail.wait_for(&format!("queued_{i}@example.com"), 1).await;
    }
    // Both workers keep polling: give them time to send anything twice, then count.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut per_recipient: HashMap<String, usize> = HashMap::new();
    for received in mail.all() {
        *per_recipient.entry(received.to).or_default() += 1;
    }
    assert_eq!(per_recipient.len(), 10, "{per_recipient:?}");
    assert!(per_recipient.values().all(|&n| n == 1), "{per_recipient:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_run_each_scheduled_tick_once() {
    // Build an accepted relation whose end date is already past, ten weeks ago.
    let ten_weeks_ago = mentorship::domain::clock::system_now() - 10.0 * 7.0 * 86_400.0;
    let mut app = TestApp::spawn_at(DbKind::Postgres, ten_weeks_ago).await;
    let (mentor, mentee) = app.mentor_and_mentee().await;
    let request = json!({
        "mentor_id": mentor.id, "mentee_id": mentee.id, "notes": "",
        "end_date": app.clock.now() + 8.0 * 7.0 * 86_400.0,
    });
    assert_eq!(
        app.post(
            "/mentorship_relation/send_request",
            Some(&mentee.token),
            request
        )
        .await
        .0,
        StatusCode::CREATED
    );
    let (_, list) = app.get("/mentorship_relations", Some(&mentor.token)).await;
    let id = list[0]["id"].as_i64().unwrap();
    assert_eq!(
        app.put(
            &format!("/mentorship_relation/{id}/accept"),
            Some(&mentor.token),
            json!({})
        )
        .await
        .0,
        StatusCode::OK
    );
    app.mail.wait_for(&mentee.email, 2).await;
    app.stop_server().await;

    // Three instances, each scheduling the completion job every second.
    let logs = TempDir::new();
    let smtp = format!("smtp://127.0.0.1:{}", app.mail.port);
    let settings = [
        ("DATABASE_URL", app.db_url.as_str()),
        ("SMTP_URL", smtp.as_str()),
        ("COMPLETE_RELATIONS_SCHEDULE", "* * * * * *"),
    ];
    let mut instances = Vec::new();
    for _ in 0..3 {
        instances.push(ServerProcess::start(&settings, &logs.path).await);
    }
    app.mail.wait_for(&mentor.email, 3).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    for instance in &mut instances {
        assert!(
            instance.terminate().success(),
            "graceful exit: {}",
            instance.log()
        );
    }

    // Every tick ran on exactly one instance, and the relation was completed (and mailed) once.
    let mut ticks: HashMap<String, usize> = HashMap::new();
    for instance in &instances {
        for line in instance
            .log()
            .lines()
            .filter(|l| l.contains("job finished"))
        {
            let entry: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(entry["job"], "complete-relations");
            *ticks.entry(entry["tick"].to_string()).or_default() += 1;
        }
    }
    assert!(ticks.len() >= 2, "several ticks ran: {ticks:?}");
    assert!(
        ticks.values().all(|&n| n == 1),
        "a tick ran twice: {ticks:?}"
    );
    let completed = |email: &str| {
        app.mail
            .to(email)
            .iter()
            .filter(|m| m.subject.contains("is complete"))
            .count()
    };
    assert_eq!(completed(&mentor.email), 1);
    assert_eq!(completed(&mentee.email), 1);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sigterm_readiness_turns_503_while_requests_are_still_served() {
    let db = TestDatabase::create(DbKind::Sqlite).await;
    let logs = TempDir::new();
    let mut server = ServerProcess::start(
        &[("DATABASE_URL", db.url.as_str()), ("SHUTDOWN_DRAIN", "2s")],
        &logs.path,
    )
    .await;
    let client = reqwest::Client::new();
    let _ = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(server.pid().to_string())
        .status();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ready = client
        .get(format!("{}/health", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let live = client
        .get(format!("{}/health/live", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), StatusCode::OK);
    let register = client
        .post(format!("{}/register", server.base))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        register.status(),
        StatusCode::BAD_REQUEST,
        "still answering requests while draining"
    );
    assert!(server.terminate().success(), "{}", server.log());
}
