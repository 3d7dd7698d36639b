//! Meetings of a relation and mentor substitutes invited by signed e-mail links.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

const HOUR: f64 = 3_600.0;
const DAY: f64 = 86_400.0;

/// A mentor and a mentee in an accepted relation; returns the relation id.
pub async fn accepted_relation(app: &TestApp) -> (User, User, i64) {
    let (mentor, mentee) = app.mentor_and_mentee().await;
    let request = json!({
        "mentor_id": mentor.id, "mentee_id": mentee.id, "notes": "",
        "end_date": app.clock.now() + 10.0 * 7.0 * DAY,
    });
    let (status, body) = app
        .post(
            "/mentorship_relation/send_request",
            Some(&mentee.token),
            request,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, list) = app.get("/mentorship_relations", Some(&mentor.token)).await;
    let id = list[0]["id"].as_i64().unwrap();
    let (status, _) = app
        .put(
            &format!("/mentorship_relation/{id}/accept"),
            Some(&mentor.token),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    (mentor, mentee, id)
}

/// Proposes a meeting `in_days` from now lasting `hours`, by `by`; returns the meeting.
pub async fn propose(
    app: &TestApp,
    by: &User,
    relation_id: i64,
    in_days: f64,
    hours: f64,
) -> Value {
    let start = app.clock.now() + in_days * DAY;
    let body = json!({"start_date": start, "end_date": start + hours * HOUR, "place": "https://meet.example.org/abc", "notes": "Bring questions"});
    let (status, meeting) = app
        .post(
            &format!("/mentorship_relation/{relation_id}/meeting"),
            Some(&by.token),
            body,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{meeting}");
    meeting
}

/// A confirmed meeting proposed by the mentee and accepted by the mentor; returns its id.
pub async fn confirmed_meeting(
    app: &TestApp,
    mentor: &User,
    mentee: &User,
    relation_id: i64,
) -> i64 {
    let meeting = propose(app, mentee, relation_id, 3.0, 1.0).await;
    let id = meeting["id"].as_i64().unwrap();
    let (status, body) = app
        .put(
            &format!("/meeting/{id}/accept"),
            Some(&mentor.token),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    id
}

fn ics_of(mail: &Mail) -> Option<String> {
    let start = mail.text.find("BEGIN:VCALENDAR")?;
    let end = mail.text[start..].find("END:VCALENDAR")? + start + "END:VCALENDAR".len();
    Some(mail.text[start..end].to_owned())
}

async fn mentor_and_mentee_agree_on_a_meeting_that_lands_in_their_calendars(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (mentor, mentee, relation_id) = accepted_relation(&app).await;

    let meeting = propose(&app, &mentee, relation_id, 3.0, 1.0).await;
    assert_eq!(meeting["message"], "Meeting was proposed successfully.");
    assert_eq!(meeting["state"], "proposed");
    assert_eq!(meeting["proposer_id"], mentee.id);
    assert_eq!(meeting["mentor"]["id"], mentor.id);
    assert_eq!(meeting["substitute"], Value::Null);
    let id = meeting["id"].as_i64().unwrap();
    let proposal = app.mail.wait_for(&mentor.email, 3).await;
    assert!(
        proposal[2].subject.contains("proposes a meeting"),
        "{}",
        proposal[2].subject
    );

    // The proposer edits it; the mentor cannot, and cannot be the one to... propose and answer.
    let start = app.clock.now() + 4.0 * DAY;
    let edit = json!({"start_date": start, "end_date": start + 2.0 * HOUR, "place": "Room 4"});
    let (status, body) = app
        .put(&format!("/meeting/{id}"), Some(&mentor.token), edit.clone())
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (
            StatusCode::FORBIDDEN,
            Some("Only the member who proposed the meeting can edit it.")
        )
    );
    let (status, edited) = app
        .put(&format!("/meeting/{id}"), Some(&mentee.token), edit)
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["place"], "Room 4");
    assert_eq!(edited["start_date"].as_f64(), Some(start));
    let (status, body) = app
        .put(
            &format!("/meeting/{id}/accept"),
            Some(&mentee.token),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (
            StatusCode::FORBIDDEN,
            Some("You cannot answer a meeting you proposed.")
        )
    );

    let (status, confirmed) = app
        .put(
            &format!("/meeting/{id}/accept"),
            Some(&mentor.token),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(confirmed["state"], "confirmed");
    let mails = app.mail.wait_for(&mentee.email, 3).await;
    let ics = ics_of(&mails[2]).expect("the confirmation carries an iCalendar invitation");
    assert!(
        ics.contains("METHOD:REQUEST") && ics.contains("STATUS:CONFIRMED"),
        "{ics}"
    );
    assert!(ics.contains("LOCATION:Room 4"), "{ics}");

    let (_, mine) = app.get("/meetings", Some(&mentee.token)).await;
    assert_eq!(mine.as_array().unwrap().len(), 1);
    let (_, listed) = app
        .get(
            &format!("/mentorship_relation/{relation_id}/meetings"),
            Some(&mentor.token),
        )
        .await;
    assert_eq!(listed[0]["id"], id);

    // Cancelled by the mentor: the mentee's calendar gets a cancellation.
    let (status, cancelled) = app
        .put(
            &format!("/meeting/{id}/cancel"),
            Some(&mentor.token),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, cancelled["state"].as_str()),
        (StatusCode::OK, Some("cancelled"))
    );
    let mails = app.mail.wait_for(&mentee.email, 4).await;
    assert!(ics_of(&mails[3]).unwrap().contains("METHOD:CANCEL"));
    let (status, body) = app
        .put(
            &format!("/meeting/{id}/cancel"),
            Some(&mentee.token),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (
            StatusCode::CONFLICT,
            Some("This meeting cannot be cancelled.")
        )
    );
    app.stop().await;
}

async fn meeting_times_and_access_are_checked(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (mentor, mentee, relation_id) = accepted_relation(&app).await;
    let outsider = app.user("outsider_one", json!({})).await;
    let now = app.clock.now();
    let path = format!("/mentorship_relation/{relation_id}/meeting");
    let cases = [
        (
            json!({"end_date": now + DAY}),
            "Start date field is missing.",
        ),
        (
            json!({"start_date": now + DAY}),
            "End date field is missing.",
        ),
        (
            json!({"start_date": "tomorrow", "end_date": now + DAY}),
            "Validation error. The meeting dates must be UNIX timestamps.",
        ),
        (
            json!({"start_date": now - HOUR, "end_date": now + HOUR}),
            "The meeting must start in the future.",
        ),
        (
            json!({"start_date": now + DAY, "end_date": now + DAY}),
            "The meeting must end after it starts.",
        ),
        (
            json!({"start_date": now + DAY, "end_date": now + DAY + 9.0 * HOUR}),
            "A meeting lasts at most 8 hours.",
        ),
    ];
    for (body, message) in cases {
        let (status, answer) = app.post(&path, Some(&mentee.token), body).await;
        assert_eq!(
            (status, answer["message"].as_str()),
            (StatusCode::BAD_REQUEST, Some(message))
        );
    }
    let valid = json!({"start_date": now + DAY, "end_date": now + DAY + HOUR});
    let (status, body) = app.post(&path, Some(&outsider.token), valid.clone()).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (
            StatusCode::FORBIDDEN,
            Some("You are not involved in this mentorship relation.")
        )
    );
    let (status, _) = app
        .post(
            "/mentorship_relation/999999/meeting",
            Some(&mentee.token),
            valid,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let id = confirmed_meeting(&app, &mentor, &mentee, relation_id).await;
    let (status, body) = app
        .get(&format!("/meeting/{id}"), Some(&outsider.token))
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (
            StatusCode::FORBIDDEN,
            Some("You are not involved in this meeting.")
        )
    );
    let (status, _) = app.get("/meeting/999999", Some(&mentor.token)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.stop().await;
}

async fn a_mentor_cannot_confirm_two_overlapping_meetings(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (mentor, mentee, relation_id) = accepted_relation(&app).await;
    let first = propose(&app, &mentee, relation_id, 2.0, 2.0).await;
    let second = propose(&app, &mentee, relation_id, 2.0, 1.0).await;
    let later = propose(&app, &mentee, relation_id, 3.0, 1.0).await;
    let accept = |m: &Value| format!("/meeting/{}/accept", m["id"]);
    assert_eq!(
        app.put(&accept(&first), Some(&mentor.token), json!({}))
            .await
            .0,
        StatusCode::OK
    );
    let (status, body) = app
        .put(&accept(&second), Some(&mentor.token), json!({}))
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (
            StatusCode::CONFLICT,
            Some("The mentor already has a confirmed meeting at that time.")
        )
    );
    assert_eq!(
        app.put(&accept(&later), Some(&mentor.token), json!({}))
            .await
            .0,
        StatusCode::OK
    );
    app.stop().await;
}

async fn ending_a_relation_cancels_its_meetings_still_ahead(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (mentor, mentee, relation_id) = accepted_relation(&app).await;
    let id = confirmed_meeting(&app, &mentor, &mentee, relation_id).await;
    app.put(
        &format!("/mentorship_relation/{relation_id}/cancel"),
        Some(&mentee.token),
        json!({}),
    )
    .await;
    let (_, meeting) = app
        .get(&format!("/meeting/{id}"), Some(&mentor.token))
        .await;
    assert_eq!(meeting["state"], "cancelled");
    let (_, upcoming) = app.get("/meetings", Some(&mentor.token)).await;
    assert!(upcoming.as_array().unwrap().is_empty());
    app.stop().await;
}

async fn a_confirmed_meeting_shows_as_completed_once_it_has_ended(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (mut mentor, mentee, relation_id) = accepted_relation(&app).await;
    let id = confirmed_meeting(&app, &mentor, &mentee, relation_id).await;
    app.clock.advance(3.0 * DAY + 2.0 * HOUR);
    app.relogin(&mut mentor).await;
    let (_, meeting) = app
        .get(&format!("/meeting/{id}"), Some(&mentor.token))
        .await;
    assert_eq!(meeting["state"], "completed");
    let (status, body) = app
        .put(
            &format!("/meeting/{id}/cancel"),
            Some(&mentor.token),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (
            StatusCode::CONFLICT,
            Some("This meeting has already started.")
        )
    );
    app.stop().await;
}

/// The `nth` substitute invitation mailed to `email` (other mails, such as notices that an
/// earlier invitation ended, are not counted) and its accept and reject links.
pub async fn invitation_links(app: &TestApp, email: &str, nth: usize) -> (String, String) {
    let is_invitation = |mail: &Mail| mail.subject.contains("asks you to stand in");
    let mut invitations = Vec::new();
    for _ in 0..200 {
        invitations = app
            .mail
            .to(email)
            .into_iter()
            .filter(is_invitation)
            .collect::<Vec<_>>();
        if invitations.len() >= nth {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(
        invitations.len() >= nth,
        "expected {nth} invitation(s) to {email}"
    );
    let invitation = &invitations[nth - 1];
    let accept = invitation
        .link(&format!("{}/meeting/", app.base))
        .expect("accept link");
    let reject_start = invitation
        .text
        .find("/substitute/reject?")
        .expect("reject link");
    let reject = invitation.text[..reject_start + 1].rfind("http").map(|s| {
        let rest = &invitation.text[s..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || "-_./:?=&%".contains(c)))
            .unwrap_or(rest.len());
        rest[..end].to_owned()
    });
    (accept, reject.unwrap())
}

async fn a_substitute_accepts_through_the_emailed_link_once(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (mentor, mentee, relation_id) = accepted_relation(&app).await;
    let substitute = app
        .user("stand_in_mentor", json!({"available_to_mentor": true}))
        .await;
    let id = confirmed_meeting(&app, &mentor, &mentee, relation_id).await;

    let (status, invited) = app
        .post(
            &format!("/meeting/{id}/substitute"),
            Some(&mentor.token),
            json!({"user_id": substitute.id}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{invited}");
    assert_eq!(invited["substitute_status"], "pending");
    assert_eq!(invited["substitute"]["id"], substitute.id);
    assert!(invited["substitute_invited_at"].is_f64());
    let (accept, reject) = invitation_links(&app, &substitute.email, 1).await;
    assert!(
        accept.contains(&format!("/meeting/{id}/substitute/accept?")),
        "{accept}"
    );
    assert!(
        reject.contains(&format!("/meeting/{id}/substitute/reject?")),
        "{reject}"
    );

    // The invitee sees the invitation in the app too.
    let (_, pending) = app
        .get("/substitute_invitations", Some(&substitute.token))
        .await;
    assert_eq!(pending[0]["id"], id);

    // Opening the link shows a page and changes nothing, however often.
    for _ in 0..10 {
        let page = app.client.get(&accept).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        assert_eq!(page.headers()["cache-control"], "no-store");
        assert_eq!(page.headers()["referrer-policy"], "no-referrer");
        assert!(page.text().await.unwrap().contains("Accept the invitation"));
    }
    let (_, unchanged) = app
        .get(&format!("/meeting/{id}"), Some(&mentor.token))
        .await;
    assert_eq!(unchanged["substitute_status"], "pending");

    // Without a token: 401; as the mentor, the mentee or another mentor: 403.
    let post = |token: Option<String>| {
        let mut request = app.client.post(&accept);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    assert_eq!(post(None).await.0, StatusCode::UNAUTHORIZED);
    for token in [&mentor.token, &mentee.token] {
        let (status, body) = post(Some(token.clone())).await;
        assert_eq!(
            (status, body["message"].as_str()),
            (
                StatusCode::FORBIDDEN,
                Some("This invitation is for another user.")
            )
        );
    }

    let (status, body) = post(Some(substitute.token.clone())).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (
            StatusCode::OK,
            Some("You are now the substitute mentor of this meeting.")
        )
    );
    let notice = app.mail.wait_for(&mentee.email, 4).await;
    assert!(
        notice[3].subject.contains("A different mentor"),
        "{}",
        notice[3].subject
    );
    assert!(ics_of(&notice[3]).is_some());
    // The mentor's mails: verification, request, proposal, their own confirmation of the
    // meeting, and now this.
    let confirmation = app.mail.wait_for(&mentor.email, 5).await;
    assert!(
        confirmation[4].subject.contains("will stand in for you"),
        "{}",
        confirmation[4].subject
    );

    // The same link again, or the other one: 409, and no more mail.
    assert_eq!(
        post(Some(substitute.token.clone())).await.0,
        StatusCode::CONFLICT
    );
    let response = app
        .client
        .post(&reject)
        .bearer_auth(&substitute.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CONFLICT);
    app.settle_mail().await;
    assert_eq!(app.mail.to(&mentee.email).len(), 4);
    assert_eq!(app.mail.to(&mentor.email).len(), 5);

    // The substitute reads the meeting, not the rest of the relation, and sees it among theirs.
    let (status, meeting) = app
        .get(&format!("/meeting/{id}"), Some(&substitute.token))
        .await;
    assert_eq!(
        (status, meeting["substitute_status"].as_str()),
        (StatusCode::OK, Some("accepted"))
    );
    assert!(meeting["substitute_responded_at"].is_f64());
    let (status, _) = app
        .get(
            &format!("/mentorship_relation/{relation_id}/tasks"),
            Some(&substitute.token),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, theirs) = app.get("/meetings", Some(&substitute.token)).await;
    assert_eq!(theirs[0]["id"], id);
    app.stop().await;
}

async fn a_rejected_invitation_is_reported_and_another_mentor_can_be_invited(kind: DbKind) {
    let app = TestApp::spawn_with(kind, &[("FIRST_USER_IS_ADMIN", "true")]).await;
    let admin = app.user("program_admin", json!({})).await;
    let (mentor, mentee, relation_id) = accepted_relation(&app).await;
    let first = app
        .user("first_standin", json!({"available_to_mentor": true}))
        .await;
    let second = app
        .user("second_standin", json!({"available_to_mentor": true}))
        .await;
    let id = confirmed_meeting(&app, &mentor, &mentee, relation_id).await;

    let invite = |who: &User| json!({"user_id": who.id});
    let (status, body) = app
        .post(
            &format!("/meeting/{id}/substitute"),
            Some(&mentee.token),
            invite(&first),
        )
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (
            StatusCode::FORBIDDEN,
            Some("Only the mentor of this meeting can invite a substitute.")
        )
    );
    let (status, body) = app
        .post(
            &format!("/meeting/{id}/substitute"),
            Some(&mentor.token),
            invite(&mentee),
        )
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (
            StatusCode::BAD_REQUEST,
            Some("The mentee cannot be the substitute.")
        )
    );
    let (status, body) = app
        .post(
            &format!("/meeting/{id}/substitute"),
            Some(&mentor.token),
            invite(&mentor),
        )
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (
            StatusCode::BAD_REQUEST,
            Some("You cannot invite yourself as a substitute.")
        )
    );
    let (status, body) = app
        .post(
            &format!("/meeting/{id}/substitute"),
            Some(&mentor.token),
            invite(&admin),
        )
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (
            StatusCode::BAD_REQUEST,
            Some("The substitute is not available to mentor.")
        )
    );

    app.post(
        &format!("/meeting/{id}/substitute"),
        Some(&mentor.token),
        invite(&first),
    )
    .await;
    let (status, body) = app
        .put(
            &format!("/substitute_invitations/{id}/reject"),
            Some(&first.token),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (
            StatusCode::OK,
            Some("You declined to be the substitute mentor of this meeting.")
        )
    );
    let told = app.mail.wait_for(&mentor.email, 5).await;
    assert!(
        told[4].subject.contains("cannot stand in"),
        "{}",
        told[4].subject
    );
    let (status, _) = app
        .put(
            &format!("/substitute_invitations/{id}/accept"),
            Some(&first.token),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    let (status, _) = app
        .post(
            &format!("/meeting/{id}/substitute"),
            Some(&mentor.token),
            invite(&second),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, admin_view) = app
        .get(
            "/admin/meetings?substitute_status=pending",
            Some(&admin.token),
        )
        .await;
    assert_eq!(admin_view.as_array().unwrap().len(), 1);
    assert_eq!(admin_view[0]["substitute"]["id"], second.id);
    let (_, none) = app
        .get(
            "/admin/meetings?substitute_status=accepted",
            Some(&admin.token),
        )
        .await;
    assert!(none.as_array().unwrap().is_empty());
    let (status, _) = app
        .get("/admin/meetings?state=sideways", Some(&admin.token))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = app.get("/admin/meetings", Some(&mentor.token)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Withdrawn: the invitee's links and app answer stop working.
    let (status, withdrawn) = app
        .delete(&format!("/meeting/{id}/substitute"), Some(&mentor.token))
        .await;
    assert_eq!(status, StatusCode::OK, "{withdrawn}");
    assert_eq!(withdrawn["substitute"], Value::Null);
    let (status, _) = app
        .put(
            &format!("/substitute_invitations/{id}/accept"),
            Some(&second.token),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    app.stop().await;
}

crate::db_tests!(
    mentor_and_mentee_agree_on_a_meeting_that_lands_in_their_calendars,
    meeting_times_and_access_are_checked,
    a_mentor_cannot_confirm_two_overlapping_meetings,
    ending_a_relation_cancels_its_meetings_still_ahead,
    a_confirmed_meeting_shows_as_completed_once_it_has_ended,
    a_substitute_accepts_through_the_emailed_link_once,
    a_rejected_invitation_is_reported_and_another_mentor_can_be_invited,
);
