//! The `mentorship` command line, as operators and scripts run it.

use std::process::{Command, Output};

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

fn mentorship(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mentorship"));
    command
        .args(args)
        .env("SECRET_KEY", "test-secret-key-0123456789abcdef0123456789")
        .env("RUST_LOG", "warn");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("the binary runs")
}

#[test]
fn a_bad_setting_stops_the_start_with_one_line_naming_it() {
    let output = mentorship(&["serve"], &[("BIND_ADDR", "nowhere")]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("BIND_ADDR"), "{stderr}");
}

#[test]
fn openapi_prints_the_document() {
    let output = mentorship(&["openapi"], &[]);
    assert!(output.status.success());
    let spec: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(spec["paths"]["/mentorship_relation/send_request"]["post"].is_object());
    assert!(spec["paths"]["/meeting/{meeting_id}/substitute/{decision}"]["get"].is_object());
}

async fn jobs_run_with_now_completes_relations_and_admin_grant_makes_an_admin(kind: DbKind) {
    let mut app = TestApp::spawn(kind).await;
    let (mentor, mentee) = app.mentor_and_mentee().await;
    let end_date = app.clock.now() + 5.0 * 7.0 * 86_400.0;
    let request =
        json!({"mentor_id": mentor.id, "mentee_id": mentee.id, "end_date": end_date, "notes": ""});
    app.post(
        "/mentorship_relation/send_request",
        Some(&mentee.token),
        request,
    )
    .await;
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
    // The request's mail has arrived: the next one for the mentor is the job's.
    app.mail.wait_for(&mentor.email, 2).await;
    let smtp = format!("smtp://127.0.0.1:{}", app.mail.port);
    let env = [
        ("DATABASE_URL", app.db_url.as_str()),
        ("SMTP_URL", smtp.as_str()),
    ];

    let before_end = chrono::DateTime::from_timestamp(end_date as i64 - 60, 0)
        .unwrap()
        .to_rfc3339();
    let output = mentorship(
        &["jobs", "run", "complete-relations", "--now", &before_end],
        &env,
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("0 rows changed"));

    let after_end = chrono::DateTime::from_timestamp(end_date as i64 + 60, 0)
        .unwrap()
        .to_rfc3339();
    let output = mentorship(
        &["jobs", "run", "complete-relations", "--now", &after_end],
        &env,
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("1 rows changed"));
    // The job's mail left with the command, not with the next server start.
    let mails = app.mail.wait_for(&mentor.email, 3).await;
    assert!(mails[2].subject.contains("is complete"), "{mails:?}");
    let (_, relations) = app.get("/mentorship_relations", Some(&mentor.token)).await;
    assert_eq!(relations[0]["state"], 5);

    let output = mentorship(&["jobs", "run", "optimize-search-index"], &env);
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("optimize-search-index: "),
        "{output:?}"
    );
    let output = mentorship(&["jobs", "run", "no-such-job"], &env);
    assert!(!output.status.success());
    let output = mentorship(
        &["jobs", "run", "complete-relations", "--now", "yesterday"],
        &env,
    );
    assert!(!output.status.success());

    let output = mentorship(&["admin", "grant", "MENTEE_ONE@example.com"], &env);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (_, me) = app.get("/user", Some(&mentee.token)).await;
    assert_eq!(me["is_admin"], true);
    assert!(
        !mentorship(&["admin", "grant", "nobody"], &env)
            .status
            .success()
    );
    app.stop_server().await;
    app.stop().await;
}

crate::db_tests!(jobs_run_with_now_completes_relations_and_admin_grant_makes_an_admin);
