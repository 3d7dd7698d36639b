//! Meetings and substitutes done right: choosing a substitute from ranked candidates, calendars
//! that agree, notices nobody misses, invitation history, reminders in each member's time
//! zone, and the relation's privacy.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::meetings::{accepted_relation, confirmed_meeting, invitation_links, propose};

const HOUR: f64 = 3_600.0;
const DAY: f64 = 86_400.0;

/// A verified member available to mentor, with a display name and a profile.
async fn mentor_with(app: &TestApp, username: &str, name: &str, profile: Value) -> User {
    let user = app
        .user(username, json!({"available_to_mentor": true}))
        .await;
    let mut update = profile;
    update["name"] = json!(name);
    let (status, body) = app.put("/user", Some(&user.token), update).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    user
}

async fn set_profile(app: &TestApp, user: &User, profile: Value) {
    let (status, body) = app.put("/user", Some(&user.token), profile).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// The iCalendar part of a mail, and the `method` its MIME part declares.
fn calendar_of(mail: &Mail) -> Option<(icalendar::Calendar, String, String)> {
    let start = mail.text.find("BEGIN:VCALENDAR")?;
    let end = mail.text[start..].find("END:VCALENDAR")? + start + "END:VCALENDAR".len();
    let ics = mail.text[start..end]
        .replace("\r\n", "\n")
        .replace('\n', "\r\n");
    let declared = mail
        .raw
        .split("text/calendar")
        .nth(1)
        .and_then(|rest| rest.split("method=").nth(1))
        .map(|rest| {
            rest.trim_start_matches('"')
                .chars()
                .take_while(|c| c.is_ascii_alphabetic())
                .collect::<String>()
        })
        .unwrap_or_default();
    let calendar: icalendar::Calendar = ics.parse().ok()?;
    Some((calendar, ics, declared))
}

/// The newest mail to `email` whose subject contains `subject`, once everything queued so far
/// has been delivered.
async fn mail_about(app: &TestApp, email: &str, subject: &str) -> Mail {
    app.settle_mail().await;
    let mails = app.mail.to(email);
    match mails.iter().rev().find(|m| m.subject.contains(subject)) {
        Some(mail) => mail.clone(),
        None => {
            let subjects: Vec<&str> = mails.iter().map(|m| m.subject.as_str()).collect();
            panic!("no mail about {subject:?} to {email}: {subjects:?}")
        }
    }
}

/// The `METHOD`, `UID` and `SEQUENCE` of a mail's calendar, checking that the MIME part's
/// method equals the body's `METHOD`.
fn event_of(mail: &Mail) -> (String, String, u32) {
    use icalendar::Component;
    let (calendar, _, declared) =
        calendar_of(mail).unwrap_or_else(|| panic!("no calendar in {}", mail.subject));
    let method = calendar.property_value("METHOD").unwrap().to_owned();
    assert_eq!(
        declared, method,
        "MIME method and METHOD differ:\n{}",
        mail.text
    );
    let event = calendar.events().next().expect("an event");
    (
        method,
        event.get_uid().unwrap().to_owned(),
        event.get_sequence().unwrap_or(0),
    )
}

async fn candidates(app: &TestApp, token: &str, meeting: i64, query: &str) -> (StatusCode, Value) {
    app.get(
        &format!("/meeting/{meeting}/substitute_candidates{query}"),
        Some(token),
    )
    .await
}

fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect()
}

/// Candidates are free, verified mentors other than the parties, ranked by the words they
/// share with the mentee, then by fewest upcoming meetings; the titular mentor alone may ask,
/// for a confirmed meeting ahead.
async fn the_titular_mentor_chooses_from_ranked_candidates(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (mentor, mentee, relation_id) = accepted_relation(&app).await;
    set_profile(
        &app,
        &mentee,
        json!({"interests": "Rust, databases", "skills": "SQL"}),
    )
    .await;
    let both = mentor_with(
        &app,
        "both_match",
        "Both Match",
        json!({"skills": "rust and SQL"}),
    )
    .await;
    let one = mentor_with(
        &app,
        "one_match",
        "One Match",
        json!({"interests": "databases"}),
    )
    .await;
    let busy_one = mentor_with(
        &app,
        "busy_one",
        "Busy One",
        json!({"interests": "databases"}),
    )
    .await;
    let none = mentor_with(&app, "no_match", "No Match", json!({"skills": "painting"})).await;
    let unavailable = app
        .user("not_a_mentor", json!({"need_mentoring": true}))
        .await;
    set_profile(&app, &unavailable, json!({"skills": "rust sql databases"})).await;
    app.register("unverified_mentor", json!({"available_to_mentor": true}))
        .await;
    let meeting = confirmed_meeting(&app, &mentor, &mentee, relation_id).await;
    let (_, first) = app
        .get(&format!("/meeting/{meeting}"), Some(&mentor.token))
        .await;
    let start = first["start_date"].as_f64().unwrap();

    // `one_match` has an upcoming meeting of their own; `busy_one` one at the same time.
    for (other, at) in [(&one, start + 2.0 * DAY), (&busy_one, start)] {
        let mentee2 = app
            .user(
                &format!("mentee_of_{}", other.username),
                json!({"need_mentoring": true}),
            )
            .await;
        let request = json!({"mentor_id": other.id, "mentee_id": mentee2.id, "notes": "",
            "end_date": app.clock.now() + 10.0 * 7.0 * DAY});
        app.post(
            "/mentorship_relation/send_request",
            Some(&mentee2.token),
            request,
        )
        .await;
        let (_, list) = app
            .get("/mentorship_relations/pending", Some(&other.token))
            .await;
        let rid = list[0]["id"].as_i64().unwrap();
        app.put(
            &format!("/mentorship_relation/{rid}/accept"),
            Some(&other.token),
            json!({}),
        )
        .await;
        let body = json!({"start_date": at, "end_date": at + HOUR});
        let (_, proposed) = app
            .post(
                &format!("/mentorship_relation/{rid}/meeting"),
                Some(&mentee2.token),
                body,
            )
            .await;
        let mid = proposed["id"].as_i64().unwrap();
        let (status, _) = app
            .put(
                &format!("/meeting/{mid}/accept"),
                Some(&other.token),
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
    }

    let (status, list) = candidates(&app, &mentor.token, meeting, "").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(ids(&list), vec![both.id, one.id, none.id], "{list}");
    let best = &list[0];
    assert_eq!(best["score"].as_f64(), Some(2.0));
    assert_eq!(best["name"], "Both Match");
    let reasons: Vec<&str> = best["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(
        reasons.contains(&"skills: rust") && reasons.contains(&"skills: sql"),
        "{reasons:?}"
    );
    assert_eq!(list[1]["score"].as_f64(), Some(1.0));
    assert!(
        list[1]["reasons"]
            .to_string()
            .contains("interests: databases")
    );
    assert!(
        list[1]["reasons"]
            .to_string()
            .contains("1 upcoming meeting")
    );
    assert_eq!(list[2]["score"].as_f64(), Some(0.0));
    for key in [
        "id",
        "name",
        "username",
        "photo_url",
        "skills",
        "interests",
        "score",
        "reasons",
    ] {
        assert!(best.get(key).is_some(), "{key} in {best}");
    }
    // Pages and search.
    let (_, page) = candidates(&app, &mentor.token, meeting, "?per_page=1&page=2").await;
    assert_eq!(ids(&page), vec![one.id]);
    let (_, found) = candidates(&app, &mentor.token, meeting, "?search=match").await;
    assert_eq!(ids(&found), vec![both.id, one.id, none.id]);
    let (_, found) = candidates(&app, &mentor.token, meeting, "?search=both").await;
    assert_eq!(ids(&found), vec![both.id]);

    // Only the titular mentor, a meeting that exists, confirmed and ahead.
    assert_eq!(
        candidates(&app, &mentee.token, meeting, "").await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        candidates(&app, &mentor.token, 999_999, "").await.0,
        StatusCode::NOT_FOUND
    );
    let proposed = propose(&app, &mentee, relation_id, 5.0, 1.0).await;
    let proposed_id = proposed["id"].as_i64().unwrap();
    assert_eq!(
        candidates(&app, &mentor.token, proposed_id, "").await.0,
        StatusCode::CONFLICT
    );

    // Inviting someone busy at that time is refused at once, with no mail.
    app.settle_mail().await;
    let mails = app.mail.to(&busy_one.email).len();
    let (status, body) = app
        .post(
            &format!("/meeting/{meeting}/substitute"),
            Some(&mentor.token),
            json!({"user_id": busy_one.id}),
        )
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (
            StatusCode::CONFLICT,
            Some("That mentor already has a confirmed meeting at that time.")
        )
    );
    app.settle_mail().await;
    assert_eq!(app.mail.to(&busy_one.email).len(), mails);

    // Once the meeting has started, no more candidates.
    app.clock.set(start + 1.0);
    let mut mentor = mentor;
    app.relogin(&mut mentor).await;
    assert_eq!(
        candidates(&app, &mentor.token, meeting, "").await.0,
        StatusCode::CONFLICT
    );
    app.stop().await;
}

/// A meeting lies inside its relation; either party changes a confirmed meeting's notes, and
/// the other is told with the updated event.
async fn meetings_stay_inside_their_relation_and_their_notes_can_change(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (mentor, mentee, relation_id) = accepted_relation(&app).await;
    let late = app.clock.now() + 11.0 * 7.0 * DAY;
    let (status, body) = app
        .post(
            &format!("/mentorship_relation/{relation_id}/meeting"),
            Some(&mentee.token),
            json!({"start_date": late, "end_date": late + HOUR}),
        )
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (
            StatusCode::BAD_REQUEST,
            Some("The meeting must end before the mentorship relation does.")
        )
    );
    let proposed = propose(&app, &mentee, relation_id, 2.0, 1.0).await;
    let id = proposed["id"].as_i64().unwrap();
    let path = format!("/meeting/{id}/notes");
    assert_eq!(
        app.put(&path, Some(&mentee.token), json!({"notes": "x"}))
            .await
            .0,
        StatusCode::CONFLICT,
        "a proposed meeting's notes are edited with the meeting"
    );
    app.put(
        &format!("/meeting/{id}/accept"),
        Some(&mentor.token),
        json!({}),
    )
    .await;
    let (_, before) = app
        .get(&format!("/meeting/{id}"), Some(&mentor.token))
        .await;
    let (status, changed) = app
        .put(
            &path,
            Some(&mentor.token),
            json!({"notes": "Bring the draft"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(
        changed["message"],
        "Meeting notes were updated successfully."
    );
    assert_eq!(changed["notes"], "Bring the draft");
    let told = mail_about(&app, &mentee.email, "New notes").await;
    assert!(told.text.contains("Bring the draft"));
    let (method, ..) = event_of(&told);
    assert_eq!(method, "REQUEST");
    assert_ne!(before["notes"], changed["notes"]);
    assert_eq!(
        app.put(&path, Some(&mentee.token), json!({})).await.0,
        StatusCode::BAD_REQUEST
    );
    let outsider = app.user("notes_outsider", json!({})).await;
    assert_eq!(
        app.put(&path, Some(&outsider.token), json!({"notes": "x"}))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    app.stop().await;
}

/// One UID per meeting, a SEQUENCE that grows with every change, no calendar for a proposal,
/// both parties' calendars on confirmation, and a CANCEL for everyone who had the event.
async fn calendars_agree_from_confirmation_to_cancellation(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (mentor, mentee, relation_id) = accepted_relation(&app).await;
    let proposed = propose(&app, &mentee, relation_id, 2.0, 1.0).await;
    let id = proposed["id"].as_i64().unwrap();
    let proposal = mail_about(&app, &mentor.email, "proposes a meeting").await;
    assert!(
        calendar_of(&proposal).is_none(),
        "no calendar for a proposal"
    );
    app.put(
        &format!("/meeting/{id}/accept"),
        Some(&mentor.token),
        json!({}),
    )
    .await;
    let to_mentee = mail_about(&app, &mentee.email, "Meeting confirmed").await;
    let to_mentor = mail_about(&app, &mentor.email, "Meeting confirmed").await;
    let (method, uid, confirmed_seq) = event_of(&to_mentee);
    assert_eq!(method, "REQUEST");
    assert_eq!(
        event_of(&to_mentor),
        (method.clone(), uid.clone(), confirmed_seq)
    );
    app.put(
        &format!("/meeting/{id}/notes"),
        Some(&mentee.token),
        json!({"notes": "agenda"}),
    )
    .await;
    let (_, notes_uid, notes_seq) = event_of(&mail_about(&app, &mentor.email, "New notes").await);
    assert_eq!(notes_uid, uid);
    assert!(notes_seq > confirmed_seq);
    app.put(
        &format!("/meeting/{id}/cancel"),
        Some(&mentee.token),
        json!({}),
    )
    .await;
    for email in [&mentor.email, &mentee.email] {
        let (method, cancel_uid, cancel_seq) =
            event_of(&mail_about(&app, email, "Meeting cancelled").await);
        assert_eq!(
            (method.as_str(), cancel_uid.as_str()),
            ("CANCEL", uid.as_str())
        );
        assert!(cancel_seq > notes_seq);
    }

    // Meetings ahead of a relation that ends are cancelled in every calendar that had them.
    let second = confirmed_meeting(&app, &mentor, &mentee, relation_id).await;
    let (status, _) = app
        .put(
            &format!("/mentorship_relation/{relation_id}/cancel"),
            Some(&mentor.token),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    for email in [&mentor.email, &mentee.email] {
        let mail = mail_about(&app, email, "Meeting cancelled").await;
        let (method, uid, _) = event_of(&mail);
        assert_eq!(method, "CANCEL");
        assert!(uid.starts_with(&format!("meeting-{second}@")), "{uid}");
        assert!(mail.text.contains("the mentorship relation ended"));
    }
    app.stop().await;
}

/// A substitute who accepts gets the event and a confirmation; the mentee the updated event
/// naming them; the titular mentor a cancellation. Either may then end the substitution, and
/// calendars follow again; the mentor may then invite again.
async fn substitutions_keep_calendars_in_step_and_can_be_ended(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (mentor, mentee, relation_id) = accepted_relation(&app).await;
    let substitute = mentor_with(&app, "stand_in_one", "Stand In", json!({})).await;
    let meeting = confirmed_meeting(&app, &mentor, &mentee, relation_id).await;
    let path = format!("/meeting/{meeting}/substitute");
    let accept_path = format!("/substitute_invitations/{meeting}/accept");
    let app_ref = &app;
    let accept_in_app = |user: &User| {
        let token = user.token.clone();
        let path = accept_path.clone();
        async move { app_ref.put(&path, Some(&token), json!({})).await }
    };
    app.post(
        &path,
        Some(&mentor.token),
        json!({"user_id": substitute.id}),
    )
    .await;
    assert_eq!(accept_in_app(&substitute).await.0, StatusCode::OK);
    let confirmation = mail_about(&app, &substitute.email, "You stand in").await;
    let (method, uid, accepted_seq) = event_of(&confirmation);
    assert_eq!(method, "REQUEST");
    let to_mentee = mail_about(&app, &mentee.email, "A different mentor").await;
    assert_eq!(
        event_of(&to_mentee),
        ("REQUEST".into(), uid.clone(), accepted_seq)
    );
    assert!(to_mentee.text.contains("Stand In"));
    let to_mentor = mail_about(&app, &mentor.email, "will stand in for you").await;
    assert_eq!(event_of(&to_mentor).0, "CANCEL");

    // The substitute steps back: the mentor attends again.
    let (status, body) = app.delete(&path, Some(&substitute.token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["substitute"], Value::Null);
    let back = mail_about(&app, &mentor.email, "Change of mentor").await;
    let (method, back_uid, back_seq) = event_of(&back);
    assert_eq!(
        (method.as_str(), back_uid.as_str()),
        ("REQUEST", uid.as_str())
    );
    assert!(back_seq > accepted_seq);
    assert!(back.text.contains("the substitute stepped back"));
    assert_eq!(
        event_of(&mail_about(&app, &substitute.email, "Change of mentor").await).0,
        "CANCEL"
    );
    assert_eq!(
        event_of(&mail_about(&app, &mentee.email, "Change of mentor").await).0,
        "REQUEST"
    );

    // Invited again, accepted again, then taken back by the mentor.
    let (status, _) = app
        .post(
            &path,
            Some(&mentor.token),
            json!({"user_id": substitute.id}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(accept_in_app(&substitute).await.0, StatusCode::OK);
    let (status, _) = app.delete(&path, Some(&mentee.token)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = app.delete(&path, Some(&mentor.token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let taken = mail_about(&app, &substitute.email, "Change of mentor").await;
    assert!(
        taken.text.contains("the mentor took the meeting back"),
        "{}",
        taken.text
    );

    // The history shows each invitation and what became of it.
    let admin = app.user("history_admin", json!({})).await;
    mentorship::services::admin::grant_by_operator(app.state(), "history_admin")
        .await
        .unwrap();
    let (status, history) = app
        .get(
            &format!("/admin/meetings/{meeting}/invitations"),
            Some(&admin.token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{history}");
    let statuses: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, vec!["stepped_back", "taken_back"]);
    assert_eq!(
        app.get(
            &format!("/admin/meetings/{meeting}/invitations"),
            Some(&mentor.token)
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    app.stop().await;
}

/// Whoever an invitation concerned hears when it ends unanswered; the recipient of a request
/// its sender deletes is told; and a dead link says why in one sentence.
async fn nobody_misses_a_notice(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (mentor, mentee, relation_id) = accepted_relation(&app).await;
    let first = mentor_with(&app, "first_invitee", "First Invitee", json!({})).await;
    let second = mentor_with(&app, "second_invitee", "Second Invitee", json!({})).await;
    let meeting = confirmed_meeting(&app, &mentor, &mentee, relation_id).await;
    let path = format!("/meeting/{meeting}/substitute");
    app.post(&path, Some(&mentor.token), json!({"user_id": first.id}))
        .await;
    let (first_link, _) = invitation_links(&app, &first.email, 1).await;
    // Replaced.
    app.post(&path, Some(&mentor.token), json!({"user_id": second.id}))
        .await;
    let replaced = mail_about(&app, &first.email, "invitation to stand in has ended").await;
    assert!(replaced.text.contains("was replaced"), "{}", replaced.text);
    let (second_link, _) = invitation_links(&app, &second.email, 1).await;
    let page = app.client.get(&first_link).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::CONFLICT);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("This invitation was replaced by a newer one.")
    );
    // Withdrawn.
    app.delete(&path, Some(&mentor.token)).await;
    let withdrawn = mail_about(&app, &second.email, "invitation to stand in has ended").await;
    assert!(
        withdrawn.text.contains("was withdrawn"),
        "{}",
        withdrawn.text
    );
    let page = app
        .client
        .get(&second_link)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("This invitation was withdrawn by the mentor."),
        "{page}"
    );
    // A pending invitee whose meeting is cancelled.
    app.post(&path, Some(&mentor.token), json!({"user_id": first.id}))
        .await;
    let (link, _) = invitation_links(&app, &first.email, 2).await;
    app.put(
        &format!("/meeting/{meeting}/cancel"),
        Some(&mentee.token),
        json!({}),
    )
    .await;
    let cancelled = mail_about(&app, &first.email, "invitation to stand in has ended").await;
    assert!(
        cancelled.text.contains("the meeting was cancelled"),
        "{}",
        cancelled.text
    );
    let page = app
        .client
        .get(&link)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("The meeting of this invitation was cancelled."),
        "{page}"
    );
    let admin = app.user("notice_admin", json!({})).await;
    mentorship::services::admin::grant_by_operator(app.state(), "notice_admin")
        .await
        .unwrap();
    let (_, history) = app
        .get(
            &format!("/admin/meetings/{meeting}/invitations"),
            Some(&admin.token),
        )
        .await;
    let statuses: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, vec!["replaced", "withdrawn", "cancelled"]);
    let (_, filtered) = app
        .get(
            "/admin/meetings?substitute_status=withdrawn",
            Some(&admin.token),
        )
        .await;
    assert_eq!(ids(&filtered), vec![meeting]);

    // A request withdrawn by its sender: its recipient hears of it.
    let other_mentor = app
        .user("request_target", json!({"available_to_mentor": true}))
        .await;
    let asker = app
        .user("request_asker", json!({"need_mentoring": true}))
        .await;
    let request = json!({"mentor_id": other_mentor.id, "mentee_id": asker.id, "notes": "",
        "end_date": app.clock.now() + 10.0 * 7.0 * DAY});
    app.post(
        "/mentorship_relation/send_request",
        Some(&asker.token),
        request,
    )
    .await;
    let (_, list) = app
        .get("/mentorship_relations/pending", Some(&asker.token))
        .await;
    let rid = list[0]["id"].as_i64().unwrap();
    let (status, _) = app
        .delete(&format!("/mentorship_relation/{rid}"), Some(&asker.token))
        .await;
    assert_eq!(status, StatusCode::OK);
    let told = mail_about(&app, &other_mentor.email, "request was withdrawn").await;
    assert!(told.text.contains("withdrew the mentorship request"));
    app.stop().await;
}

/// An invitation not answered in time expires: the job says so, it never stays pending, and
/// its link says it expired.
async fn lapsed_invitations_expire(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (mentor, mentee, relation_id) = accepted_relation(&app).await;
    let invitee = mentor_with(&app, "slow_invitee", "Slow Invitee", json!({})).await;
    let meeting = confirmed_meeting(&app, &mentor, &mentee, relation_id).await;
    app.post(
        &format!("/meeting/{meeting}/substitute"),
        Some(&mentor.token),
        json!({"user_id": invitee.id}),
    )
    .await;
    let (_, start) = app
        .get(&format!("/meeting/{meeting}"), Some(&mentor.token))
        .await;
    app.clock.set(start["start_date"].as_f64().unwrap() + 10.0);
    app.run_job("remind-meetings").await;
    let mut mentor = mentor;
    app.relogin(&mut mentor).await;
    let (_, now) = app
        .get(&format!("/meeting/{meeting}"), Some(&mentor.token))
        .await;
    assert_eq!(now["substitute_status"], Value::Null, "{now}");
    let admin = app.user("expiry_admin", json!({})).await;
    mentorship::services::admin::grant_by_operator(app.state(), "expiry_admin")
        .await
        .unwrap();
    let (_, history) = app
        .get(
            &format!("/admin/meetings/{meeting}/invitations"),
            Some(&admin.token),
        )
        .await;
    assert_eq!(history[0]["status"], "expired", "{history}");

    // Seven days without an answer, for a meeting further ahead: expired too.
    let mut mentee = mentee;
    app.relogin(&mut mentee).await;
    let later = propose(&app, &mentee, relation_id, 10.0, 1.0).await["id"]
        .as_i64()
        .unwrap();
    app.put(
        &format!("/meeting/{later}/accept"),
        Some(&mentor.token),
        json!({}),
    )
    .await;
    app.post(
        &format!("/meeting/{later}/substitute"),
        Some(&mentor.token),
        json!({"user_id": invitee.id}),
    )
    .await;
    app.clock.set(app.clock.now() + 7.0 * DAY - 60.0);
    app.run_job("remind-meetings").await;
    let mut admin = admin;
    app.relogin(&mut admin).await;
    let (_, history) = app
        .get(
            &format!("/admin/meetings/{later}/invitations"),
            Some(&admin.token),
        )
        .await;
    assert_eq!(
        history[0]["status"], "pending",
        "still within 7 days: {history}"
    );
    app.clock.set(app.clock.now() + 120.0);
    app.run_job("remind-meetings").await;
    app.relogin(&mut admin).await;
    let (_, history) = app
        .get(
            &format!("/admin/meetings/{later}/invitations"),
            Some(&admin.token),
        )
        .await;
    assert_eq!(history[0]["status"], "expired", "{history}");
    app.stop().await;
}

/// A reminder a day before and an hour before, each once per meeting and person, to the
/// mentee and whoever attends as mentor, in their own time zone; none for those who opted
/// out; a meeting moved later is reminded again.
async fn reminders_go_once_in_each_members_zone(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (mentor, mentee, relation_id) = accepted_relation(&app).await;
    let (status, prefs) = app
        .put(
            "/user/preferences",
            Some(&mentee.token),
            json!({"timezone": "America/New_York"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{prefs}");
    let meeting = confirmed_meeting(&app, &mentor, &mentee, relation_id).await;
    let (_, details) = app
        .get(&format!("/meeting/{meeting}"), Some(&mentor.token))
        .await;
    let start = details["start_date"].as_f64().unwrap();
    let reminders = |email: &str| {
        app.mail
            .to(email)
            .into_iter()
            .filter(|m| m.subject.contains("Your meeting"))
            .count()
    };
    // A day before: one reminder each, however often the job runs, even two runs at once.
    app.clock.set(start - 20.0 * HOUR);
    let (a, b) = tokio::join!(
        app.run_job("remind-meetings"),
        app.run_job("remind-meetings")
    );
    assert_eq!(a + b, 2, "one reminder for each of the two");
    app.run_job("remind-meetings").await;
    let day = mail_about(&app, &mentee.email, "Your meeting").await;
    assert!(day.text.contains("America/New_York"), "{}", day.text);
    assert!(
        day.text.contains("UTC-05:00") || day.text.contains("UTC-04:00"),
        "{}",
        day.text
    );
    let to_mentor = mail_about(&app, &mentor.email, "Your meeting").await;
    assert!(
        to_mentor.text.contains("(UTC+00:00, UTC)"),
        "{}",
        to_mentor.text
    );
    app.settle_mail().await;
    assert_eq!((reminders(&mentee.email), reminders(&mentor.email)), (1, 1));
    // An hour before: one more each.
    app.clock.set(start - 0.5 * HOUR);
    assert_eq!(app.run_job("remind-meetings").await, 2);
    assert_eq!(app.run_job("remind-meetings").await, 0);
    // The meeting moves later: its reminders come again.
    mentorship::with_db!(&app.state().db, |c| sqlx::query(
        "UPDATE meetings SET start_date = start_date + 86400, end_date = end_date + 86400 WHERE id = $1"
    )
    .bind(meeting)
    .execute(c)
    .await
    .map(|_| ()))
    .unwrap();
    app.clock.set(start + 4.0 * HOUR);
    assert_eq!(app.run_job("remind-meetings").await, 2);
    // Reminders off: none.
    let mut mentee = mentee;
    app.relogin(&mut mentee).await;
    let (status, prefs) = app
        .put(
            "/user/preferences",
            Some(&mentee.token),
            json!({"meeting_reminders": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        prefs,
        json!({"timezone": "America/New_York", "meeting_reminders": false})
    );
    app.clock.set(start + DAY - 0.5 * HOUR);
    assert_eq!(app.run_job("remind-meetings").await, 1, "the mentor only");
    app.stop().await;
}

/// Preferences: defaults, partial changes, IANA zones only; `GET /user` keeps its shape.
async fn preferences_hold_a_time_zone_and_reminders(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let user = app.user("prefs_owner", json!({})).await;
    let (status, prefs) = app.get("/user/preferences", Some(&user.token)).await;
    assert_eq!(
        (status, prefs),
        (
            StatusCode::OK,
            json!({"timezone": "UTC", "meeting_reminders": true})
        )
    );
    let (status, body) = app
        .put(
            "/user/preferences",
            Some(&user.token),
            json!({"timezone": "Mars/Olympus"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (_, prefs) = app
        .put(
            "/user/preferences",
            Some(&user.token),
            json!({"timezone": "Asia/Kolkata"}),
        )
        .await;
    assert_eq!(
        prefs,
        json!({"timezone": "Asia/Kolkata", "meeting_reminders": true})
    );
    let (_, me) = app.get("/user", Some(&user.token)).await;
    assert!(me.get("timezone").is_none(), "{me}");
    assert_eq!(
        app.get("/user/preferences", None).await.0,
        StatusCode::UNAUTHORIZED
    );
    app.stop().await;
}

/// A relation's place and notes are its parties' (and their substitute's): admins outside it
/// do not see them.
async fn admins_see_meetings_without_the_relations_private_details(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (mentor, mentee, relation_id) = accepted_relation(&app).await;
    let substitute = mentor_with(&app, "private_sub", "Private Sub", json!({})).await;
    let meeting = confirmed_meeting(&app, &mentor, &mentee, relation_id).await;
    app.post(
        &format!("/meeting/{meeting}/substitute"),
        Some(&mentor.token),
        json!({"user_id": substitute.id}),
    )
    .await;
    let admin = app.user("privacy_admin", json!({})).await;
    mentorship::services::admin::grant_by_operator(app.state(), "privacy_admin")
        .await
        .unwrap();
    let (_, listed) = app.get("/admin/meetings", Some(&admin.token)).await;
    assert_eq!(
        (listed[0]["place"].clone(), listed[0]["notes"].clone()),
        (Value::Null, Value::Null),
        "{listed}"
    );
    let (_, one) = app
        .get(&format!("/meeting/{meeting}"), Some(&admin.token))
        .await;
    assert_eq!(
        (one["place"].clone(), one["notes"].clone()),
        (Value::Null, Value::Null),
        "{one}"
    );
    let (_, invited) = app
        .get(&format!("/meeting/{meeting}"), Some(&substitute.token))
        .await;
    assert_eq!(invited["place"], "https://meet.example.org/abc");
    assert_eq!(invited["notes"], "Bring questions");
    app.stop().await;
}

/// A member who leaves leaves no meeting without its mentor: an accepted substitute who
/// leaves hands the meeting back (calendars follow), a pending invitee who leaves counts as
/// declining, and a party who leaves cancels the meetings ahead in the other's calendar.
async fn a_member_who_leaves_leaves_no_meeting_behind(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (mentor, mentee, relation_id) = accepted_relation(&app).await;
    let stand_in = mentor_with(&app, "leaving_stand_in", "Leaving Stand In", json!({})).await;
    let invitee = mentor_with(&app, "leaving_invitee", "Leaving Invitee", json!({})).await;
    let first = confirmed_meeting(&app, &mentor, &mentee, relation_id).await;
    let second = propose(&app, &mentee, relation_id, 5.0, 1.0).await["id"]
        .as_i64()
        .unwrap();
    app.put(
        &format!("/meeting/{second}/accept"),
        Some(&mentor.token),
        json!({}),
    )
    .await;
    app.post(
        &format!("/meeting/{first}/substitute"),
        Some(&mentor.token),
        json!({"user_id": stand_in.id}),
    )
    .await;
    let accept = format!("/substitute_invitations/{first}/accept");
    assert_eq!(
        app.put(&accept, Some(&stand_in.token), json!({})).await.0,
        StatusCode::OK
    );
    app.post(
        &format!("/meeting/{second}/substitute"),
        Some(&mentor.token),
        json!({"user_id": invitee.id}),
    )
    .await;

    assert_eq!(
        app.delete("/user", Some(&stand_in.token)).await.0,
        StatusCode::OK
    );
    let back = mail_about(&app, &mentor.email, "Change of mentor").await;
    assert_eq!(event_of(&back).0, "REQUEST");
    assert!(
        back.text.contains("the substitute stepped back"),
        "{}",
        back.text
    );
    assert_eq!(
        event_of(&mail_about(&app, &mentee.email, "Change of mentor").await).0,
        "REQUEST"
    );
    let (_, now) = app
        .get(&format!("/meeting/{first}"), Some(&mentor.token))
        .await;
    assert_eq!(
        (now["substitute"].clone(), now["substitute_status"].clone()),
        (Value::Null, Value::Null),
        "{now}"
    );

    assert_eq!(
        app.delete("/user", Some(&invitee.token)).await.0,
        StatusCode::OK
    );
    mail_about(&app, &mentor.email, "Leaving Invitee cannot stand in").await;
    let (_, now) = app
        .get(&format!("/meeting/{second}"), Some(&mentor.token))
        .await;
    assert_ne!(now["substitute_status"], "pending", "{now}");

    assert_eq!(
        app.delete("/user", Some(&mentee.token)).await.0,
        StatusCode::OK
    );
    app.settle_mail().await;
    let cancels: Vec<String> = app
        .mail
        .to(&mentor.email)
        .iter()
        .filter(|m| m.subject.contains("Meeting cancelled"))
        .map(|m| {
            let (method, uid, _) = event_of(m);
            assert_eq!(method, "CANCEL");
            uid.split('@').next().unwrap().to_owned()
        })
        .collect();
    assert_eq!(cancels.len(), 2, "{cancels:?}");
    for id in [first, second] {
        assert!(cancels.contains(&format!("meeting-{id}")), "{cancels:?}");
    }
    app.stop().await;
}

crate::db_tests!(
    the_titular_mentor_chooses_from_ranked_candidates,
    meetings_stay_inside_their_relation_and_their_notes_can_change,
    calendars_agree_from_confirmation_to_cancellation,
    substitutions_keep_calendars_in_step_and_can_be_ended,
    nobody_misses_a_notice,
    lapsed_invitations_expire,
    reminders_go_once_in_each_members_zone,
    preferences_hold_a_time_zone_and_reminders,
    admins_see_meetings_without_the_relations_private_details,
    a_member_who_leaves_leaves_no_meeting_behind,
);
