//! Several `mentorship serve` processes on one PostgreSQL database: mail is sent exactly once
//! and a scheduled tick runs once, whatever the number of instances.

use std::collections::HashMap;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

/// SIGKILL: the process gets no chance to finish anything.
fn kill(server: &ServerProcess) {
    let status = std::process::Command::new("kill")
        .arg("-KILL")
        .arg(server.pid().to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_queued_while_smtp_was_down_is_delivered_exactly_once_after_an_instance_is_killed() {
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

    // The first instance dies without a chance to clean up; the second sends everything.
    kill(&first);
    let mail = MailServer::start_on(smtp_address).await;
    // A mail the killed instance had claimed (and was failing to send) waits for its claim to
    // expire (2 minutes), then the survivor sends it.
    for i in 0..10 {
        mail.wait_for_within(
            &format!("queued_{i}@example.com"),
            1,
            Duration::from_secs(150),
        )
        .await;
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

/// 20,000 pairs of members, each in an ACCEPTED relation whose end date passed yesterday.
async fn seed_due_relations(db: &mentorship::store::Db, pairs: i64) {
    let yesterday = mentorship::domain::clock::system_now() - 86_400.0;
    let sql = format!(
        "INSERT INTO users (name, username, email, password_hash, registration_date,
             terms_and_conditions_checked, is_email_verified)
         SELECT 'Member ' || i, 'member_' || i, 'member_' || i || '@example.com', 'x', 0, TRUE, TRUE
         FROM generate_series(1, 2 * {pairs}) AS i;
         INSERT INTO mentorship_relations (mentor_id, mentee_id, action_user_id, creation_date,
             accept_date, start_date, end_date, state, notes, next_task_id)
         SELECT 2 * i - 1, 2 * i, 2 * i, 0, 0, 0, {yesterday}, 2, '', 1 FROM generate_series(1, {pairs}) AS i;
         INSERT INTO current_relations (user_id, relation_id)
         SELECT mentor_id, id FROM mentorship_relations UNION ALL SELECT mentee_id, id FROM mentorship_relations;"
    );
    mentorship::with_db!(db, |c| sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone()))
        .execute(c)
        .await
        .map(|_| ()))
    .unwrap();
}

async fn scalar(db: &mentorship::store::Db, sql: &'static str) -> i64 {
    mentorship::with_db!(db, |c| sqlx::query_scalar::<_, i64>(sql).fetch_one(c).await).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_tick_whose_instance_is_killed_mid_run_is_finished_by_another_exactly_once() {
    let database = TestDatabase::create(DbKind::Postgres).await;
    let db = mentorship::store::Db::connect(&database.url, 2)
        .await
        .unwrap();
    db.migrate().await.unwrap();
    let pairs = 20_000;
    seed_due_relations(&db, pairs).await;

    // One tick, three seconds from now (then not again before tomorrow).
    let tick = chrono::Utc::now() + chrono::Duration::seconds(3);
    let schedule = tick.format("%S %M %H * * *").to_string();
    let logs = TempDir::new();
    // No mail server: the completion mails wait in the outbox, where they are counted.
    let smtp = format!("smtp://{}", free_address());
    let settings = [
        ("DATABASE_URL", database.url.as_str()),
        ("SMTP_URL", smtp.as_str()),
        ("COMPLETE_RELATIONS_SCHEDULE", schedule.as_str()),
    ];
    let first = ServerProcess::start(&settings, &logs.path).await;

    // Kill the instance once it has completed some relations, but not all.
    let completed = "SELECT COUNT(*) FROM mentorship_relations WHERE state = 5";
    let mut at_kill = 0;
    for _ in 0..400 {
        at_kill = scalar(&db, completed).await;
        if at_kill > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    kill(&first);
    let at_kill = scalar(&db, completed).await.max(at_kill);
    assert!(
        0 < at_kill && at_kill < pairs,
        "killed mid-run: {at_kill} of {pairs} completed\n{}",
        first.log()
    );

    // A second instance takes the tick over once the dead one's lease has run out.
    let second = ServerProcess::start(&settings, &logs.path).await;
    for _ in 0..120 {
        if scalar(
            &db,
            "SELECT COUNT(*) FROM job_runs WHERE job = 'complete-relations' AND finished_at IS NOT NULL",
        )
        .await
            == 1
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(
        second.log().contains("took over a tick left unfinished"),
        "{}",
        second.log()
    );
    assert_eq!(scalar(&db, completed).await, pairs);
    assert_eq!(
        scalar(&db, "SELECT COUNT(*) FROM current_relations").await,
        0
    );
    // Each member was told once: a killed batch rolled back with its mail.
    assert_eq!(
        scalar(
            &db,
            "SELECT COUNT(*) FROM outbox WHERE payload::json ->> 'template' = 'relation_completed'"
        )
        .await,
        2 * pairs
    );
    assert_eq!(
        scalar(
            &db,
            "SELECT COUNT(*) FROM (SELECT payload::json ->> 'recipient' FROM outbox GROUP BY 1 HAVING COUNT(*) > 1) AS twice"
        )
        .await,
        0
    );
    assert_eq!(
        scalar(
            &db,
            "SELECT COUNT(*) FROM job_runs WHERE job = 'complete-relations'"
        )
        .await,
        1
    );
    db.close().await;
}
