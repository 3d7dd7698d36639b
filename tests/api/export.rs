//! A member's data in their own hands (`GET /user/export`), and erased everywhere when they
//! delete their account.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::db_tests;
use crate::helpers::*;
use crate::meetings::{accepted_relation, confirmed_meeting};

async fn rename(app: &TestApp, user: &User, name: &str) {
    let (status, body) = app
        .put("/user", Some(&user.token), json!({"name": name}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// Everything a member can have: a relation with a task and comments by both parties, a
/// confirmed meeting whose substitute accepted, preferences; and a stranger.
pub struct World {
    pub mentor: User,
    pub mentee: User,
    pub substitute: User,
    pub stranger: User,
    pub relation_id: i64,
    pub meeting_id: i64,
}

pub async fn world(app: &TestApp) -> World {
    let (mentor, mentee, relation_id) = accepted_relation(app).await;
    rename(app, &mentor, "Maria Mentorova").await;
    rename(app, &mentee, "Edmund Menteeson").await;
    let substitute = app
        .user("standin", json!({"available_to_mentor": true}))
        .await;
    rename(app, &substitute, "Sabine Standin").await;
    let stranger = app
        .user("stranger", json!({"available_to_mentor": true}))
        .await;
    rename(app, &stranger, "Stanislaw Strangerly").await;

    let (status, body) = app
        .put(
            "/user/preferences",
            Some(&mentee.token),
            json!({"timezone": "Europe/Paris", "meeting_reminders": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = app
        .post(
            &format!("/mentorship_relation/{relation_id}/task"),
            Some(&mentee.token),
            json!({"description": "Read chapter one"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    for (user, text) in [(&mentee, "Started reading"), (&mentor, "Great, keep going")] {
        let (status, body) = app
            .post(
                &format!("/mentorship_relation/{relation_id}/task/1/comment"),
                Some(&user.token),
                json!({"comment": text}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let meeting_id = confirmed_meeting(app, &mentor, &mentee, relation_id).await;
    let (status, body) = app
        .post(
            &format!("/meeting/{meeting_id}/substitute"),
            Some(&mentor.token),
            json!({"user_id": substitute.id}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = app
        .put(
            &format!("/substitute_invitations/{meeting_id}/accept"),
            Some(&substitute.token),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    World {
        mentor,
        mentee,
        substitute,
        stranger,
        relation_id,
        meeting_id,
    }
}

async fn export_of(app: &TestApp, user: &User) -> (Value, String) {
    let response = app
        .client
        .get(app.url("/user/export"))
        .bearer_auth(&user.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let disposition = response
        .headers()
        .get("content-disposition")
        .expect("served as a download")
        .to_str()
        .unwrap()
        .to_owned();
    assert!(disposition.starts_with("attachment"), "{disposition}");
    assert_eq!(response.headers().get("cache-control").unwrap(), "no-store");
    let text = response.text().await.unwrap();
    (serde_json::from_str(&text).unwrap(), text)
}

async fn an_export_holds_every_kind_of_record_and_no_one_elses_private_data(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let w = world(&app).await;
    let (export, text) = export_of(&app, &w.mentee).await;

    assert_eq!(export["format"], "mentorship-export/1");
    assert_eq!(export["profile"]["id"], w.mentee.id);
    assert_eq!(export["profile"]["email"], w.mentee.email);
    assert_eq!(export["profile"]["name"], "Edmund Menteeson");
    assert_eq!(export["preferences"]["timezone"], "Europe/Paris");
    assert_eq!(export["preferences"]["meeting_reminders"], false);
    let relations = export["relations"].as_array().unwrap();
    assert_eq!(relations.len(), 1);
    assert_eq!(relations[0]["id"], w.relation_id);
    assert_eq!(
        relations[0]["mentor"],
        json!({"id": w.mentor.id, "name": "Maria Mentorova"})
    );
    assert_eq!(export["tasks"][0]["relation_id"], w.relation_id);
    assert_eq!(export["tasks"][0]["description"], "Read chapter one");
    assert_eq!(export["comments"].as_array().unwrap().len(), 2);
    let meetings = export["meetings"].as_array().unwrap();
    assert_eq!(meetings.len(), 1);
    assert_eq!(meetings[0]["id"], w.meeting_id);
    assert_eq!(meetings[0]["substitute"]["name"], "Sabine Standin");
    assert_eq!(export["invitations_sent"], json!([]));
    assert_eq!(export["invitations_received"], json!([]));
    let actions: Vec<&str> = export["audit_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in [
        "account.register",
        "email.verify",
        "login.success",
        "relation.send",
        "task.create",
        "comment.create",
        "meeting.propose",
    ] {
        assert!(
            actions.contains(&action),
            "{action} missing from {actions:?}"
        );
    }
    // Nobody else's e-mail, password hash or tokens, and nothing of the stranger.
    for private in [
        w.mentor.email.as_str(),
        &w.substitute.email,
        &w.stranger.email,
        &w.mentor.token,
        "Stanislaw",
        "argon2",
    ] {
        assert!(!text.contains(private), "{private} in the export");
    }

    // The mentor sent the invitation; the substitute received it and has the meeting.
    let (export, _) = export_of(&app, &w.mentor).await;
    let sent = export["invitations_sent"].as_array().unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["meeting_id"], w.meeting_id);
    assert_eq!(sent[0]["status"], "accepted");
    assert_eq!(sent[0]["invitee"]["name"], "Sabine Standin");
    let (export, text) = export_of(&app, &w.substitute).await;
    assert_eq!(
        export["invitations_received"][0]["meeting_id"],
        w.meeting_id
    );
    assert_eq!(export["meetings"][0]["id"], w.meeting_id);
    assert_eq!(export["relations"], json!([]));
    assert_eq!(export["tasks"], json!([]));
    assert!(!text.contains(&w.mentee.email));
    assert!(
        !text.contains("Started reading"),
        "not their relation's comments"
    );

    let (status, _) = app.get("/user/export", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// Every place a text could be kept: each column of each table, read as text.
async fn tables_holding(app: &TestApp, needles: &[&str]) -> Vec<String> {
    let db = &app.state().db;
    let columns: Vec<(String, String)> = match db {
        mentorship::store::Db::Sqlite(pool) => {
            let tables: Vec<String> = sqlx::query_scalar(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            )
            .fetch_all(pool)
            .await
            .unwrap();
            let mut columns = Vec::new();
            for table in tables {
                let names: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT name FROM pragma_table_info('{table}')"
                )))
                .fetch_all(pool)
                .await
                .unwrap();
                columns.extend(names.into_iter().map(|c| (table.clone(), c)));
            }
            columns
        }
        mentorship::store::Db::Postgres(pool) => sqlx::query_as(
            "SELECT table_name::text, column_name::text FROM information_schema.columns
             WHERE table_schema = 'public'",
        )
        .fetch_all(pool)
        .await
        .unwrap(),
    };
    assert!(columns.len() > 50, "{columns:?}");
    let mut found = Vec::new();
    for (table, column) in &columns {
        for needle in needles {
            let sql = format!(
                "SELECT COUNT(*) FROM \"{table}\" WHERE lower(CAST(\"{column}\" AS TEXT)) LIKE '%{}%'",
                needle.to_lowercase()
            );
            let count = mentorship::with_db!(db, |c| sqlx::query_scalar::<_, i64>(
                sqlx::AssertSqlSafe(sql.clone())
            )
            .fetch_one(c)
            .await)
            .unwrap();
            if count > 0 {
                found.push(format!("{table}.{column} holds {needle}"));
            }
        }
    }
    found
}

async fn a_deleted_member_is_erased_from_every_table_and_others_keep_their_history(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let w = world(&app).await;
    let leaver = &w.mentee;
    let needles = [leaver.email.as_str(), "Edmund Menteeson", &leaver.username];
    assert!(
        !tables_holding(&app, &needles).await.is_empty(),
        "the scan finds them before"
    );
    app.settle_mail().await;
    // Left behind at the moment of leaving: a mail on its way to them, a reset asked for
    // their address, windows of throttled sign-ins under their address.
    let (status, _) = app
        .post(
            "/user/forgot_password",
            None,
            json!({"email": leaver.email}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    app.settle_mail().await;
    for _ in 0..3 {
        app.login(&leaver.email.to_uppercase(), "not it").await;
    }
    let (status, body) = app
        .put(
            &format!("/meeting/{}/notes", w.meeting_id),
            Some(&w.mentor.token),
            json!({"notes": "New agenda"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (status, body) = app.delete("/user", Some(&leaver.token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Mail to the others (the partner told they left) goes out, and its content with it.
    app.settle_mail().await;
    let found = tables_holding(&app, &needles).await;
    let keys = mentorship::with_db!(&app.state().db, |c| sqlx::query_scalar::<_, String>(
        "SELECT key FROM rate_limits"
    )
    .fetch_all(c)
    .await)
    .unwrap();
    assert!(found.is_empty(), "{found:#?} {keys:?}");

    // The other party's history stays readable, the leaver shown as nobody.
    let (status, relations) = app
        .get("/mentorship_relations", Some(&w.mentor.token))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(relations[0]["mentee"], json!({"id": null, "name": null}));
    let (status, tasks) = app
        .get(
            &format!("/mentorship_relation/{}/tasks", w.relation_id),
            Some(&w.mentor.token),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(tasks[0]["description"], "Read chapter one");
    let (export, _) = export_of(&app, &w.mentor).await;
    assert_eq!(
        export["relations"][0]["mentee"],
        json!({"id": null, "name": null})
    );
    // Their audit events keep the chain whole without their personal detail.
    let subject = format!("user:{}", leaver.id);
    app.chain_audit().await;
    let kept = mentorship::with_db!(&app.state().db, |c| sqlx::query_as::<
        _,
        (String, Option<String>, Option<String>),
    >(
        "SELECT action, detail, client FROM audit_events WHERE actor_id = $1 OR subject = $2"
    )
    .bind(leaver.id)
    .bind(&subject)
    .fetch_all(c)
    .await)
    .unwrap();
    assert!(kept.iter().any(|e| e.0 == "account.delete"), "{kept:?}");
    assert!(
        kept.iter().all(|e| e.1.is_none() && e.2.is_none()),
        "{kept:?}"
    );
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_mentorship"))
        .args(["audit", "verify"])
        .env("SECRET_KEY", "test-secret-key-0123456789abcdef0123456789")
        .env("DATABASE_URL", &app.db_url)
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

db_tests!(
    an_export_holds_every_kind_of_record_and_no_one_elses_private_data,
    a_deleted_member_is_erased_from_every_table_and_others_keep_their_history,
);
