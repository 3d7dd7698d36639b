//! Signed links for substitute invitations, through HTTP: the cases of docs/SECURITY.md. Every
//! refused answer leaves the meeting's row as it was and queues no mail.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mentorship::security::signed_link::{Decision, InvitationLink};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::meetings::{accepted_relation, confirmed_meeting, invitation_links, propose};

const DAY: f64 = 86_400.0;
const INVALID: &str = "This invitation link is invalid.";
const EXPIRED: &str = "This invitation link has expired.";
const FOR_ANOTHER_USER: &str = "This invitation is for another user.";
const NOT_PENDING: &str = "This invitation was already answered or is no longer valid.";
const ACCEPTED: &str = "You are now the substitute mentor of this meeting.";
const REJECTED: &str = "You declined to be the substitute mentor of this meeting.";

/// A confirmed meeting `in_days` ahead, proposed by the mentee and accepted by the mentor.
async fn confirmed_in(
    app: &TestApp,
    mentor: &User,
    mentee: &User,
    relation_id: i64,
    in_days: f64,
) -> i64 {
    let meeting = propose(app, mentee, relation_id, in_days, 1.0).await;
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

/// A verified member available to mentor.
async fn stand_in(app: &TestApp, username: &str) -> User {
    app.user(username, json!({"available_to_mentor": true}))
        .await
}

/// The titular mentor invites `invitee`; returns the e-mailed accept and reject links.
async fn invite(app: &TestApp, mentor: &User, meeting_id: i64, invitee: &User) -> (String, String) {
    let before = app
        .mail
        .to(&invitee.email)
        .iter()
        .filter(|m| m.subject.contains("asks you to stand in"))
        .count();
    let (status, body) = app
        .post(
            &format!("/meeting/{meeting_id}/substitute"),
            Some(&mentor.token),
            json!({"user_id": invitee.id}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    invitation_links(app, &invitee.email, before + 1).await
}

/// A mentor, a mentee, a confirmed meeting three days ahead and a substitute invited to it.
struct Invited {
    mentor: User,
    mentee: User,
    substitute: User,
    relation_id: i64,
    meeting_id: i64,
    accept: String,
    reject: String,
}

async fn invited(app: &TestApp) -> Invited {
    let (mentor, mentee, relation_id) = accepted_relation(app).await;
    let substitute = stand_in(app, "stand_in_mentor").await;
    let meeting_id = confirmed_meeting(app, &mentor, &mentee, relation_id).await;
    let (accept, reject) = invite(app, &mentor, meeting_id, &substitute).await;
    Invited {
        mentor,
        mentee,
        substitute,
        relation_id,
        meeting_id,
        accept,
        reject,
    }
}

/// POSTs to a full link or to a path of the app, with an optional bearer token, as the
/// invitation page's button does.
async fn post_link(app: &TestApp, link: &str, token: Option<&str>) -> (StatusCode, Value) {
    let url = if link.starts_with("http") {
        link.to_owned()
    } else {
        app.url(link)
    };
    let mut request = app.client.post(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("the server answers");
    let status = response.status();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

/// The path (on the app) and the query of an e-mailed link.
fn split(app: &TestApp, link: &str) -> (String, String) {
    let rest = link
        .strip_prefix(&app.base)
        .unwrap_or_else(|| panic!("{link} is not on {}", app.base));
    let (path, query) = rest.split_once('?').expect("a query");
    (path.to_owned(), query.to_owned())
}

/// The value of `key` in a query.
fn param(query: &str, key: &str) -> String {
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key} in {query}"))
        .to_owned()
}

/// The query with the value of `key` replaced.
fn with_param(query: &str, key: &str, value: &str) -> String {
    query
        .split('&')
        .map(|pair| {
            if pair.starts_with(&format!("{key}=")) {
                format!("{key}={value}")
            } else {
                pair.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The query without `key`.
fn without_param(query: &str, key: &str) -> String {
    query
        .split('&')
        .filter(|pair| !pair.starts_with(&format!("{key}=")))
        .collect::<Vec<_>>()
        .join("&")
}

/// The meeting as its titular mentor reads it.
async fn meeting(app: &TestApp, mentor: &User, id: i64) -> Value {
    let (status, body) = app
        .get(&format!("/meeting/{id}"), Some(&mentor.token))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// The meeting's invitation is pending for `invitee`, unanswered; returns the meeting.
async fn pending_for(app: &TestApp, mentor: &User, id: i64, invitee: &User) -> Value {
    let meeting = meeting(app, mentor, id).await;
    assert_eq!(meeting["substitute"]["id"], invitee.id, "{meeting}");
    assert_eq!(meeting["substitute_status"], "pending", "{meeting}");
    assert_eq!(meeting["substitute_responded_at"], Value::Null, "{meeting}");
    meeting
}

/// The members' e-mail addresses, to count their mail.
fn emails(people: &[&User]) -> Vec<String> {
    people.iter().map(|u| u.email.clone()).collect()
}

/// How many mails each address has received, once everything queued has been sent.
async fn mail_counts(app: &TestApp, emails: &[String]) -> Vec<usize> {
    app.settle_mail().await;
    emails.iter().map(|e| app.mail.to(e).len()).collect()
}

/// Changes one character of a base64url value.
fn flip_first(value: &str) -> String {
    let first = if value.starts_with('A') { "B" } else { "A" };
    format!("{first}{}", &value[1..])
}

/// Case 1: any change of the meeting id, the invitee, the nonce, the expiry or the key id gives
/// the same 403, whoever asks.
async fn changing_any_signed_part_of_a_link_gives_the_same_403(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let s = invited(&app).await;
    let other = stand_in(&app, "other_mentor").await;
    let second = confirmed_in(&app, &s.mentor, &s.mentee, s.relation_id, 5.0).await;
    let (second_accept, _) = invite(&app, &s.mentor, second, &s.substitute).await;
    let (path, query) = split(&app, &s.accept);
    let id = s.meeting_id;
    let nonce = param(&query, "nonce");
    let exp: i64 = param(&query, "exp").parse().unwrap();
    let kid = param(&query, "kid");
    let (_, second_query) = split(&app, &second_accept);

    let people = emails(&[&s.mentor, &s.mentee, &s.substitute, &other]);
    let mails = mail_counts(&app, &people).await;
    let first_before = pending_for(&app, &s.mentor, id, &s.substitute).await;
    let second_before = pending_for(&app, &s.mentor, second, &s.substitute).await;

    let as_invitee = Some(s.substitute.token.as_str());
    let cases: Vec<(&str, String, Option<&str>)> = vec![
        (
            "the other meeting's id",
            format!("/meeting/{second}/substitute/accept?{query}"),
            as_invitee,
        ),
        (
            "a meeting that does not exist",
            format!("/meeting/999999/substitute/accept?{query}"),
            as_invitee,
        ),
        (
            "a negative id",
            format!("/meeting/-{id}/substitute/accept?{query}"),
            as_invitee,
        ),
        (
            "another invitee, as the invitee",
            format!(
                "{path}?{}",
                with_param(&query, "invitee", &other.id.to_string())
            ),
            as_invitee,
        ),
        (
            "another invitee, as that member",
            format!(
                "{path}?{}",
                with_param(&query, "invitee", &other.id.to_string())
            ),
            Some(other.token.as_str()),
        ),
        (
            "a changed nonce",
            format!(
                "{path}?{}",
                with_param(&query, "nonce", &flip_first(&nonce))
            ),
            as_invitee,
        ),
        (
            "the other invitation's nonce",
            format!(
                "{path}?{}",
                with_param(&query, "nonce", &param(&second_query, "nonce"))
            ),
            as_invitee,
        ),
        (
            "a later expiry",
            format!(
                "{path}?{}",
                with_param(&query, "exp", &(exp + 1).to_string())
            ),
            as_invitee,
        ),
        (
            "an earlier expiry",
            format!(
                "{path}?{}",
                with_param(&query, "exp", &(exp - 1).to_string())
            ),
            as_invitee,
        ),
        (
            "an expiry with a leading zero",
            format!("{path}?{}", with_param(&query, "exp", &format!("0{exp}"))),
            as_invitee,
        ),
        (
            "a changed nonce, without a token",
            format!(
                "{path}?{}",
                with_param(&query, "nonce", &flip_first(&nonce))
            ),
            None,
        ),
        (
            "a changed key id",
            format!("{path}?{}", with_param(&query, "kid", &flip_first(&kid))),
            as_invitee,
        ),
        (
            "another key id",
            format!("{path}?{}", with_param(&query, "kid", "k1")),
            as_invitee,
        ),
    ];
    let mut first_body = None;
    for (what, link, token) in cases {
        let (status, body) = post_link(&app, &link, token).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{what}: {body}");
        assert_eq!(body["message"], INVALID, "{what}: {body}");
        let first = first_body.get_or_insert_with(|| body.clone());
        assert_eq!(&body, first, "{what}: every refusal has the same body");
    }

    assert_eq!(meeting(&app, &s.mentor, id).await, first_before);
    assert_eq!(meeting(&app, &s.mentor, second).await, second_before);
    assert_eq!(
        mail_counts(&app, &people).await,
        mails,
        "no mail was queued"
    );

    // The link as e-mailed still works: the refusals were about the changes.
    let (status, body) = post_link(&app, &s.accept, as_invitee).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (StatusCode::OK, Some(ACCEPTED))
    );
    app.stop().await;
}

/// Case 2: the signature of an accept link does not make a reject link, nor the reverse.
async fn swapping_accept_and_reject_keeps_the_signature_from_working(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let s = invited(&app).await;
    let people = emails(&[&s.mentor, &s.mentee, &s.substitute]);
    let mails = mail_counts(&app, &people).await;
    let before = pending_for(&app, &s.mentor, s.meeting_id, &s.substitute).await;
    let swapped = [
        s.accept
            .replace("/substitute/accept?", "/substitute/reject?"),
        s.reject
            .replace("/substitute/reject?", "/substitute/accept?"),
    ];
    for link in &swapped {
        assert_ne!(link, &s.accept);
        assert_ne!(link, &s.reject);
        let (status, body) = post_link(&app, link, Some(&s.substitute.token)).await;
        assert_eq!(
            (status, body["message"].as_str()),
            (StatusCode::FORBIDDEN, Some(INVALID)),
            "{link}"
        );
    }
    assert_eq!(meeting(&app, &s.mentor, s.meeting_id).await, before);
    assert_eq!(
        mail_counts(&app, &people).await,
        mails,
        "no mail was queued"
    );
    app.stop().await;
}

/// Case 3: a missing, empty, truncated, padded, upper-cased or hex signature is a 403, never a 500.
async fn a_mangled_signature_is_refused_without_a_server_error(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let s = invited(&app).await;
    let (path, query) = split(&app, &s.accept);
    let signature = param(&query, "signature");
    let bytes = URL_SAFE_NO_PAD
        .decode(&signature)
        .expect("the signature is base64url");
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let people = emails(&[&s.mentor, &s.mentee, &s.substitute]);
    let mails = mail_counts(&app, &people).await;
    let before = pending_for(&app, &s.mentor, s.meeting_id, &s.substitute).await;

    let queries = vec![
        ("missing", without_param(&query, "signature")),
        ("empty", with_param(&query, "signature", "")),
        (
            "no value at all",
            format!("{}&signature", without_param(&query, "signature")),
        ),
        (
            "one character short",
            with_param(&query, "signature", &signature[..signature.len() - 1]),
        ),
        (
            "half",
            with_param(&query, "signature", &signature[..signature.len() / 2]),
        ),
        (
            "one character",
            with_param(&query, "signature", &signature[..1]),
        ),
        (
            "padded with ==",
            with_param(&query, "signature", &format!("{signature}==")),
        ),
        (
            "padded with AA",
            with_param(&query, "signature", &format!("{signature}AA")),
        ),
        (
            "upper-cased",
            with_param(&query, "signature", &signature.to_uppercase()),
        ),
        (
            "lower-cased",
            with_param(&query, "signature", &signature.to_lowercase()),
        ),
        ("hex", with_param(&query, "signature", &hex)),
        (
            "upper-case hex",
            with_param(&query, "signature", &hex.to_uppercase()),
        ),
        (
            "standard base64",
            with_param(
                &query,
                "signature",
                &base64::engine::general_purpose::STANDARD.encode(&bytes),
            ),
        ),
        (
            "percent-encoded",
            with_param(&query, "signature", &format!("%41{}", &signature[1..])),
        ),
        (
            "one bit changed",
            with_param(&query, "signature", &flip_first(&signature)),
        ),
        (
            "all zeros",
            with_param(&query, "signature", &"A".repeat(signature.len())),
        ),
        (
            "very long",
            with_param(&query, "signature", &signature.repeat(200)),
        ),
        (
            "not base64",
            with_param(&query, "signature", "%00%FF%0D%0A"),
        ),
    ];
    let attempts = queries.len();
    for (what, query) in queries {
        let (status, body) =
            post_link(&app, &format!("{path}?{query}"), Some(&s.substitute.token)).await;
        assert_eq!(
            (status, body["message"].as_str()),
            (StatusCode::FORBIDDEN, Some(INVALID)),
            "{what}: {body}"
        );
    }
    // No query at all, or an empty one.
    for link in [path.clone(), format!("{path}?")] {
        let (status, body) = post_link(&app, &link, Some(&s.substitute.token)).await;
        assert_eq!(
            (status, body["message"].as_str()),
            (StatusCode::FORBIDDEN, Some(INVALID)),
            "{link}: {body}"
        );
    }
    assert_eq!(meeting(&app, &s.mentor, s.meeting_id).await, before);
    assert_eq!(
        mail_counts(&app, &people).await,
        mails,
        "no mail was queued"
    );
    // The attempts from one address are one event in the audit trail, and counted.
    let scalar = |sql: &'static str| crate::audit::scalar(&app, sql);
    assert_eq!(
        scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'substitute.link_refused'").await,
        1
    );
    assert_eq!(
        scalar("SELECT refusals FROM audit_throttled WHERE subject = 'link_refused:127.0.0.1'")
            .await,
        attempts as i64 + 2
    );
    app.stop().await;
}

/// Case 4: an extra or a repeated query parameter is a 403; the same parameters in another
/// order still make a valid link.
async fn extra_or_repeated_parameters_are_refused_but_their_order_does_not_matter(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let s = invited(&app).await;
    let (path, query) = split(&app, &s.accept);
    let people = emails(&[&s.mentor, &s.mentee, &s.substitute]);
    let mails = mail_counts(&app, &people).await;
    let before = pending_for(&app, &s.mentor, s.meeting_id, &s.substitute).await;

    let mut bad = vec![
        (
            "an unknown parameter".to_owned(),
            format!("{query}&extra=1"),
        ),
        (
            "a tracking parameter".to_owned(),
            format!("utm_source=mail&{query}"),
        ),
        ("an empty pair".to_owned(), format!("{query}&")),
        ("a leading ampersand".to_owned(), format!("&{query}")),
        ("a key without value".to_owned(), format!("{query}&extra")),
        (
            "an upper-case key".to_owned(),
            query.replace("kid=", "KID="),
        ),
    ];
    for key in ["invitee", "nonce", "exp", "kid", "signature"] {
        let value = param(&query, key);
        bad.push((format!("{key} twice"), format!("{query}&{key}={value}")));
        bad.push((
            format!("{key} twice, first"),
            format!("{key}={value}&{query}"),
        ));
    }
    for (what, query) in bad {
        let (status, body) =
            post_link(&app, &format!("{path}?{query}"), Some(&s.substitute.token)).await;
        assert_eq!(
            (status, body["message"].as_str()),
            (StatusCode::FORBIDDEN, Some(INVALID)),
            "{what}: {body}"
        );
    }
    assert_eq!(meeting(&app, &s.mentor, s.meeting_id).await, before);
    assert_eq!(
        mail_counts(&app, &people).await,
        mails,
        "no mail was queued"
    );

    let reordered: Vec<&str> = query.split('&').rev().collect();
    let (status, body) = post_link(
        &app,
        &format!("{path}?{}", reordered.join("&")),
        Some(&s.substitute.token),
    )
    .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (StatusCode::OK, Some(ACCEPTED)),
        "{body}"
    );
    assert_eq!(
        meeting(&app, &s.mentor, s.meeting_id).await["substitute_status"],
        "accepted"
    );
    app.stop().await;
}

/// Case 5: encoded slashes, doubled slashes, a trailing slash or double encoding never make a
/// link act on another meeting.
async fn path_variants_never_act_on_another_meeting(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let s = invited(&app).await;
    let a = s.meeting_id;
    let b = confirmed_in(&app, &s.mentor, &s.mentee, s.relation_id, 5.0).await;
    let (b_accept, _) = invite(&app, &s.mentor, b, &s.substitute).await;
    let (_, qa) = split(&app, &s.accept);
    let (_, qb) = split(&app, &b_accept);
    let double_encoded = |id: i64| -> String {
        id.to_string()
            .bytes()
            .map(|d| format!("%25{d:02X}"))
            .collect()
    };
    let people = emails(&[&s.mentor, &s.mentee, &s.substitute]);
    let mails = mail_counts(&app, &people).await;
    let a_before = pending_for(&app, &s.mentor, a, &s.substitute).await;
    let b_before = pending_for(&app, &s.mentor, b, &s.substitute).await;

    // Variants that name no meeting cleanly: refused, nothing changes anywhere.
    let strict = vec![
        format!("/meeting/{a}%2F{b}/substitute/accept?{qa}"),
        format!("/meeting/{b}%2F{a}/substitute/accept?{qa}"),
        format!("/meeting/{a}%2F..%2F{b}/substitute/accept?{qa}"),
        format!("/meeting/{b}%2fsubstitute%2faccept?{qb}"),
        format!("/meeting/{a}%2F/substitute/accept?{qa}"),
        format!("/meeting/{a}/substitute/accept%2F..%2F..%2F{b}?{qa}"),
        format!("/meeting/{a}/substitute/accept%2F?{qa}"),
        format!("//meeting/{a}/substitute/accept?{qa}"),
        format!("/meeting//{a}/substitute/accept?{qa}"),
        format!("/meeting//{b}/substitute/accept?{qa}"),
        format!("/meeting/{a}//substitute/accept?{qa}"),
        format!("/meeting/{a}/substitute//accept?{qa}"),
        format!("/meeting/{a}/{b}/substitute/accept?{qa}"),
        format!("/meeting/{}/substitute/accept?{qa}", double_encoded(a)),
        format!("/meeting/{}/substitute/accept?{qb}", double_encoded(b)),
        format!("/meeting/{a}%252F{b}/substitute/accept?{qa}"),
        format!("/meeting/{b}%252F..%252F{a}/substitute/accept?{qa}"),
        format!("/meeting/{a}/substitute/%2561ccept?{qa}"),
        // The other meeting's path with this meeting's query, with and without a trailing slash.
        format!("/meeting/{b}/substitute/accept?{qa}"),
        format!("/meeting/{b}/substitute/accept/?{qa}"),
        format!("/meeting/{b}/substitute/accept//?{qa}"),
    ];
    for link in &strict {
        let (status, body) = post_link(&app, link, Some(&s.substitute.token)).await;
        assert!(
            [
                StatusCode::FORBIDDEN,
                StatusCode::NOT_FOUND,
                StatusCode::METHOD_NOT_ALLOWED
            ]
            .contains(&status),
            "{link}: {status} {body}"
        );
        assert_eq!(meeting(&app, &s.mentor, a).await, a_before, "{link}");
        assert_eq!(meeting(&app, &s.mentor, b).await, b_before, "{link}");
    }
    assert_eq!(
        mail_counts(&app, &people).await,
        mails,
        "no mail was queued"
    );

    // Variants that still name this meeting may act on it, never on the other one.
    let same_meeting = vec![
        format!("/meeting/{a}/substitute/accept/?{qa}"),
        format!("/meeting/0{a}/substitute/accept?{qa}"),
        format!("/meeting/%2B{a}/substitute/accept?{qa}"),
        format!(
            "/meeting/{}/substitute/accept?{qa}",
            a.to_string()
                .bytes()
                .map(|d| format!("%{d:02X}"))
                .collect::<String>()
        ),
    ];
    let mut answered = 0;
    for link in &same_meeting {
        let (status, body) = post_link(&app, link, Some(&s.substitute.token)).await;
        assert!(
            [
                StatusCode::OK,
                StatusCode::FORBIDDEN,
                StatusCode::NOT_FOUND,
                StatusCode::METHOD_NOT_ALLOWED,
                StatusCode::CONFLICT
            ]
            .contains(&status),
            "{link}: {status} {body}"
        );
        if status == StatusCode::OK {
            answered += 1;
        }
        assert_eq!(meeting(&app, &s.mentor, b).await, b_before, "{link}");
    }
    assert!(answered <= 1, "a link worked {answered} times");
    let a_after = meeting(&app, &s.mentor, a).await;
    let expected = if answered == 1 { "accepted" } else { "pending" };
    assert_eq!(a_after["substitute_status"], expected, "{a_after}");
    app.stop().await;
}

/// Case 6: a link works up to and including its expiry second, `invited_at + 7 days` when
/// the meeting is further ahead, and is refused one second later.
async fn a_link_works_until_its_expiry_second_and_not_one_second_later(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (mut mentor, mentee, relation_id) = accepted_relation(&app).await;
    let mut substitute = stand_in(&app, "stand_in_mentor").await;
    let first = confirmed_in(&app, &mentor, &mentee, relation_id, 10.0).await;
    let second = confirmed_in(&app, &mentor, &mentee, relation_id, 12.0).await;
    let invited_at = app.clock.now();
    let (first_accept, _) = invite(&app, &mentor, first, &substitute).await;
    let (second_accept, _) = invite(&app, &mentor, second, &substitute).await;
    let exp: i64 = param(&split(&app, &first_accept).1, "exp").parse().unwrap();
    assert_eq!(exp as f64, (invited_at + 7.0 * DAY).floor());
    assert_eq!(
        param(&split(&app, &second_accept).1, "exp"),
        exp.to_string()
    );

    // At the expiry second itself: still valid.
    app.clock.set(exp as f64);
    app.relogin(&mut substitute).await;
    app.relogin(&mut mentor).await;
    let (status, body) = post_link(&app, &first_accept, Some(&substitute.token)).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (StatusCode::OK, Some(ACCEPTED)),
        "{body}"
    );

    // One second later: expired.
    let people = emails(&[&mentor, &mentee, &substitute]);
    let mails = mail_counts(&app, &people).await;
    app.clock.set(exp as f64 + 1.0);
    app.relogin(&mut substitute).await;
    app.relogin(&mut mentor).await;
    let before = pending_for(&app, &mentor, second, &substitute).await;
    let (status, body) = post_link(&app, &second_accept, Some(&substitute.token)).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (StatusCode::FORBIDDEN, Some(EXPIRED)),
        "{body}"
    );
    // The expiry is checked before who asks: without a token, still the expiry's 403.
    let (status, body) = post_link(&app, &second_accept, None).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (StatusCode::FORBIDDEN, Some(EXPIRED)),
        "{body}"
    );
    assert_eq!(meeting(&app, &mentor, second).await, before);
    assert_eq!(
        mail_counts(&app, &people).await,
        mails,
        "no mail was queued"
    );
    app.stop().await;
}

/// Case 7: a link signed with another environment's key, or for another purpose, is a 403.
async fn a_link_signed_with_another_key_or_for_another_purpose_is_refused(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let elsewhere = TestApp::spawn_with(
        kind,
        &[(
            "SECRET_KEY",
            "another-environment-key-fedcba9876543210fedcba",
        )],
    )
    .await;
    let s = invited(&app).await;
    let there = invited(&elsewhere).await;
    let (path, query) = split(&app, &s.accept);
    let (_, query_there) = split(&elsewhere, &there.accept);

    // The link rebuilt in the test signs as the server does, so the refusals below are about keys.
    let link = InvitationLink {
        meeting_id: s.meeting_id,
        decision: Decision::Accept,
        invitee_id: s.substitute.id,
        nonce: param(&query, "nonce"),
        expires_at: param(&query, "exp").parse().unwrap(),
        key_id: param(&query, "kid"),
    };
    assert_eq!(
        link.signature(&app.state().keys.signed_links),
        param(&query, "signature")
    );
    let verification = app
        .mail
        .to(&s.substitute.email)
        .iter()
        .find_map(|m| m.link(&format!("{}/user/confirm_email/", app.base)))
        .expect("the verification mail");
    let verification_token = verification.rsplit('/').next().unwrap().to_owned();

    let people = emails(&[&s.mentor, &s.mentee, &s.substitute]);
    let mails = mail_counts(&app, &people).await;
    let before = pending_for(&app, &s.mentor, s.meeting_id, &s.substitute).await;

    let adjusted = with_param(&query_there, "invitee", &s.substitute.id.to_string());
    let cases = vec![
        ("the other environment's query as is", query_there.clone()),
        (
            "the other environment's query, ids adjusted",
            adjusted.clone(),
        ),
        (
            "the other environment's query, ids and key id adjusted",
            with_param(&adjusted, "kid", &param(&query, "kid")),
        ),
        (
            "this link signed with the other environment's key",
            with_param(
                &query,
                "signature",
                &link.signature(&elsewhere.state().keys.signed_links),
            ),
        ),
        (
            "this link signed with the other environment's key and key id",
            with_param(
                &with_param(&query, "kid", &param(&query_there, "kid")),
                "signature",
                &InvitationLink {
                    key_id: param(&query_there, "kid"),
                    ..link.clone()
                }
                .signature(&elsewhere.state().keys.signed_links),
            ),
        ),
        (
            "this link signed with the access-token key",
            with_param(&query, "signature", &link.signature(&app.state().keys.jwt)),
        ),
        (
            "an e-mail verification token as signature",
            with_param(&query, "signature", &verification_token),
        ),
        (
            "an access token as signature",
            with_param(&query, "signature", &s.substitute.token),
        ),
    ];
    for (what, query) in cases {
        let (status, body) =
            post_link(&app, &format!("{path}?{query}"), Some(&s.substitute.token)).await;
        assert_eq!(
            (status, body["message"].as_str()),
            (StatusCode::FORBIDDEN, Some(INVALID)),
            "{what}: {body}"
        );
    }
    assert_eq!(meeting(&app, &s.mentor, s.meeting_id).await, before);
    assert_eq!(
        mail_counts(&app, &people).await,
        mails,
        "no mail was queued"
    );
    elsewhere.stop().await;
    app.stop().await;
}

/// Case 8: without a valid access token, 401; logged in as anyone but the invitee, 403.
async fn only_the_invitee_logged_in_can_answer(kind: DbKind) {
    let app = TestApp::spawn_with(kind, &[("FIRST_USER_IS_ADMIN", "true")]).await;
    let mut admin = app.user("program_admin", json!({})).await;
    let mut s = invited(&app).await;
    let mut other = stand_in(&app, "other_mentor").await;
    let people = emails(&[&s.mentor, &s.mentee, &s.substitute, &other, &admin]);
    let mails = mail_counts(&app, &people).await;
    let before = pending_for(&app, &s.mentor, s.meeting_id, &s.substitute).await;

    let (status, body) = post_link(&app, &s.accept, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "no token: {body}");
    for token in [
        "nonsense",
        s.substitute.refresh_token.as_str(),
        &format!("{}x", s.substitute.token),
    ] {
        let (status, body) = post_link(&app, &s.accept, Some(token)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token}: {body}");
    }
    for (who, user) in [
        ("the titular mentor", &s.mentor),
        ("the mentee", &s.mentee),
        ("another mentor", &other),
        ("an admin", &admin),
    ] {
        for link in [&s.accept, &s.reject] {
            let (status, body) = post_link(&app, link, Some(&user.token)).await;
            assert_eq!(
                (status, body["message"].as_str()),
                (StatusCode::FORBIDDEN, Some(FOR_ANOTHER_USER)),
                "{who}: {body}"
            );
        }
    }

    // The invitee's access token, expired (the link itself is still valid).
    app.clock.advance(3_600.0);
    let (status, body) = post_link(&app, &s.accept, Some(&s.substitute.token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "expired token: {body}");
    let (status, body) = post_link(&app, &s.accept, Some(&s.substitute.refresh_token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "refresh token: {body}");
    for user in [&mut s.mentor, &mut other, &mut admin] {
        app.relogin(user).await;
    }
    let (status, body) = post_link(&app, &s.accept, Some(&admin.token)).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (StatusCode::FORBIDDEN, Some(FOR_ANOTHER_USER)),
        "a fresh admin token: {body}"
    );

    assert_eq!(meeting(&app, &s.mentor, s.meeting_id).await, before);
    assert_eq!(
        mail_counts(&app, &people).await,
        mails,
        "no mail was queued"
    );

    app.relogin(&mut s.substitute).await;
    let (status, body) = post_link(&app, &s.accept, Some(&s.substitute.token)).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (StatusCode::OK, Some(ACCEPTED)),
        "{body}"
    );
    app.stop().await;
}

/// Case 9: a link works once; replayed, or followed by the other decision: 409, no more mail.
async fn a_link_works_once_and_the_other_decision_then_conflicts(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let s = invited(&app).await;
    let second = confirmed_in(&app, &s.mentor, &s.mentee, s.relation_id, 5.0).await;
    let (second_accept, second_reject) = invite(&app, &s.mentor, second, &s.substitute).await;
    let people = emails(&[&s.mentor, &s.mentee, &s.substitute]);
    let token = Some(s.substitute.token.as_str());

    // Accept, then the same link again and the reject link.
    let mentor_mails = mail_counts(&app, &people).await[0];
    let (status, body) = post_link(&app, &s.accept, token).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (StatusCode::OK, Some(ACCEPTED))
    );
    let told = app.mail.wait_for(&s.mentor.email, mentor_mails + 1).await;
    assert!(
        told[mentor_mails].subject.contains("will stand in"),
        "{}",
        told[mentor_mails].subject
    );
    let mails = mail_counts(&app, &people).await;
    let accepted = meeting(&app, &s.mentor, s.meeting_id).await;
    assert_eq!(accepted["substitute_status"], "accepted");
    assert!(accepted["substitute_responded_at"].is_f64());
    for link in [&s.accept, &s.reject, &s.accept] {
        let (status, body) = post_link(&app, link, token).await;
        assert_eq!(
            (status, body["message"].as_str()),
            (StatusCode::CONFLICT, Some(NOT_PENDING)),
            "{link}"
        );
    }
    assert_eq!(meeting(&app, &s.mentor, s.meeting_id).await, accepted);
    assert_eq!(mail_counts(&app, &people).await, mails, "no second e-mail");

    // Reject, then the accept link and the same link again.
    let mentor_mails = mail_counts(&app, &people).await[0];
    let (status, body) = post_link(&app, &second_reject, token).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (StatusCode::OK, Some(REJECTED))
    );
    let told = app.mail.wait_for(&s.mentor.email, mentor_mails + 1).await;
    assert!(
        told[mentor_mails].subject.contains("cannot stand in"),
        "{}",
        told[mentor_mails].subject
    );
    let mails = mail_counts(&app, &people).await;
    let rejected = meeting(&app, &s.mentor, second).await;
    assert_eq!(rejected["substitute_status"], "rejected");
    for link in [&second_accept, &second_reject] {
        let (status, body) = post_link(&app, link, token).await;
        assert_eq!(
            (status, body["message"].as_str()),
            (StatusCode::CONFLICT, Some(NOT_PENDING)),
            "{link}"
        );
    }
    assert_eq!(meeting(&app, &s.mentor, second).await, rejected);
    assert_eq!(mail_counts(&app, &people).await, mails, "no second e-mail");
    app.stop().await;
}

/// Case 10: a new invitation, of the same member or another, kills every older link.
async fn a_new_invitation_kills_the_links_of_the_previous_one(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let s = invited(&app).await;
    let other = stand_in(&app, "other_mentor").await;
    let people = emails(&[&s.mentor, &s.mentee, &s.substitute, &other]);
    let refused = [StatusCode::CONFLICT, StatusCode::FORBIDDEN];

    // The same member invited again: a new nonce.
    let (again_accept, again_reject) = invite(&app, &s.mentor, s.meeting_id, &s.substitute).await;
    assert_ne!(
        param(&split(&app, &again_accept).1, "nonce"),
        param(&split(&app, &s.accept).1, "nonce")
    );
    let mails = mail_counts(&app, &people).await;
    let before = pending_for(&app, &s.mentor, s.meeting_id, &s.substitute).await;
    for link in [&s.accept, &s.reject] {
        let (status, body) = post_link(&app, link, Some(&s.substitute.token)).await;
        assert!(refused.contains(&status), "{link}: {status} {body}");
    }
    assert_eq!(meeting(&app, &s.mentor, s.meeting_id).await, before);
    assert_eq!(
        mail_counts(&app, &people).await,
        mails,
        "no mail was queued"
    );

    // Another member invited: both earlier invitations' links are dead for the first invitee.
    let (other_accept, _) = invite(&app, &s.mentor, s.meeting_id, &other).await;
    let mails = mail_counts(&app, &people).await;
    let before = pending_for(&app, &s.mentor, s.meeting_id, &other).await;
    for link in [&s.accept, &s.reject, &again_accept, &again_reject] {
        let (status, body) = post_link(&app, link, Some(&s.substitute.token)).await;
        assert!(refused.contains(&status), "{link}: {status} {body}");
    }
    assert_eq!(meeting(&app, &s.mentor, s.meeting_id).await, before);
    assert_eq!(
        mail_counts(&app, &people).await,
        mails,
        "no mail was queued"
    );

    // The newest link works.
    let (status, body) = post_link(&app, &other_accept, Some(&other.token)).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (StatusCode::OK, Some(ACCEPTED))
    );
    app.stop().await;
}

/// Case 11: two answers released together: exactly one wins, and one set of e-mails goes out.
async fn of_two_concurrent_answers_exactly_one_wins(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (mentor, mentee, relation_id) = accepted_relation(&app).await;
    let substitute = stand_in(&app, "stand_in_mentor").await;
    let people = emails(&[&mentor, &mentee, &substitute]);
    let token = Some(substitute.token.as_str());
    let rounds = [
        (Decision::Accept, Decision::Accept),
        (Decision::Accept, Decision::Reject),
        (Decision::Reject, Decision::Accept),
        (Decision::Accept, Decision::Accept),
    ];
    for (round, (first, second)) in rounds.into_iter().enumerate() {
        let id = confirmed_in(
            &app,
            &mentor,
            &mentee,
            relation_id,
            3.0 + 2.0 * round as f64,
        )
        .await;
        let (accept, reject) = invite(&app, &mentor, id, &substitute).await;
        let link = |decision| match decision {
            Decision::Accept => &accept,
            Decision::Reject => &reject,
        };
        let mails = mail_counts(&app, &people).await;

        let (one, two) = tokio::join!(
            post_link(&app, link(first), token),
            post_link(&app, link(second), token)
        );
        let statuses = [one.0, two.0];
        assert_eq!(
            statuses.iter().filter(|s| **s == StatusCode::OK).count(),
            1,
            "round {round}: {one:?} {two:?}"
        );
        assert_eq!(
            statuses
                .iter()
                .filter(|s| **s == StatusCode::CONFLICT)
                .count(),
            1,
            "round {round}: {one:?} {two:?}"
        );
        let winner = if one.0 == StatusCode::OK {
            first
        } else {
            second
        };

        let stored = meeting(&app, &mentor, id).await;
        let (status, subject) = match winner {
            Decision::Accept => ("accepted", "will stand in"),
            Decision::Reject => ("rejected", "cannot stand in"),
        };
        assert_eq!(
            stored["substitute_status"], status,
            "round {round}: {stored}"
        );
        let after = mail_counts(&app, &people).await;
        // The mentee and the substitute hear of an acceptance (the substitute gets it in
        // their calendar); a rejection only the mentor.
        let accepted = usize::from(winner == Decision::Accept);
        assert_eq!(
            after,
            vec![mails[0] + 1, mails[1] + accepted, mails[2] + accepted],
            "round {round}: one set of e-mails"
        );
        let told = app.mail.to(&mentor.email);
        assert!(
            told[mails[0]].subject.contains(subject),
            "round {round}: {}",
            told[mails[0]].subject
        );
    }
    app.stop().await;
}

/// Case 12: a meeting cancelled, or started, between the invitation and the answer is refused.
async fn a_cancelled_or_started_meeting_can_no_longer_be_answered(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let mut s = invited(&app).await;
    let later = propose(&app, &s.mentee, s.relation_id, 5.0, 1.0).await;
    let later_id = later["id"].as_i64().unwrap();
    let later_start = later["start_date"].as_f64().unwrap();
    let (status, _) = app
        .put(
            &format!("/meeting/{later_id}/accept"),
            Some(&s.mentor.token),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (later_accept, later_reject) = invite(&app, &s.mentor, later_id, &s.substitute).await;
    let people = emails(&[&s.mentor, &s.mentee, &s.substitute]);

    // Cancelled.
    let (status, body) = app
        .put(
            &format!("/meeting/{}/cancel", s.meeting_id),
            Some(&s.mentor.token),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mails = mail_counts(&app, &people).await;
    // The cancellation ended the invitation: its invitee was told, and it is no longer pending.
    let before = meeting(&app, &s.mentor, s.meeting_id).await;
    assert_eq!(before["state"], "cancelled");
    assert_eq!(before["substitute"], Value::Null, "{before}");
    assert!(
        app.mail
            .to(&s.substitute.email)
            .iter()
            .any(|m| m.subject.contains("invitation to stand in has ended")),
        "the invitee was told"
    );
    for link in [&s.accept, &s.reject] {
        let (status, body) = post_link(&app, link, Some(&s.substitute.token)).await;
        assert_eq!(
            (status, body["message"].as_str()),
            (StatusCode::CONFLICT, Some(NOT_PENDING)),
            "{link}"
        );
    }
    assert_eq!(meeting(&app, &s.mentor, s.meeting_id).await, before);
    assert_eq!(
        mail_counts(&app, &people).await,
        mails,
        "no mail was queued"
    );

    // Started: at its start second the answer is refused, and after it the link has expired.
    let exp: i64 = param(&split(&app, &later_accept).1, "exp").parse().unwrap();
    assert_eq!(
        exp as f64,
        later_start.floor(),
        "a link never outlives the meeting's start"
    );
    app.clock.set(later_start);
    app.relogin(&mut s.substitute).await;
    app.relogin(&mut s.mentor).await;
    let before = pending_for(&app, &s.mentor, later_id, &s.substitute).await;
    let (status, body) = post_link(&app, &later_accept, Some(&s.substitute.token)).await;
    assert!(
        [StatusCode::FORBIDDEN, StatusCode::CONFLICT].contains(&status),
        "at the start: {status} {body}"
    );
    app.clock.set(later_start + 1.0);
    for link in [&later_accept, &later_reject] {
        let (status, body) = post_link(&app, link, Some(&s.substitute.token)).await;
        assert_eq!(
            (status, body["message"].as_str()),
            (StatusCode::FORBIDDEN, Some(EXPIRED)),
            "{link}"
        );
    }
    assert_eq!(meeting(&app, &s.mentor, later_id).await, before);
    assert_eq!(
        mail_counts(&app, &people).await,
        mails,
        "no mail was queued"
    );
    app.stop().await;
}

/// Case 13: opening a link (GET) changes nothing, however often; GET on the in-app answer is 405.
async fn opening_a_link_changes_nothing_and_get_on_the_answer_route_is_405(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let s = invited(&app).await;
    let people = emails(&[&s.mentor, &s.mentee, &s.substitute]);
    let mails = mail_counts(&app, &people).await;
    let before = pending_for(&app, &s.mentor, s.meeting_id, &s.substitute).await;

    for round in 0..10 {
        for link in [&s.accept, &s.reject] {
            let mut request = app.client.get(link.as_str());
            if round % 2 == 1 {
                request = request.bearer_auth(&s.substitute.token);
            }
            let page = request.send().await.unwrap();
            assert_eq!(page.status(), StatusCode::OK, "{link}");
            assert_eq!(page.headers()["cache-control"], "no-store");
            assert_eq!(page.headers()["referrer-policy"], "no-referrer");
        }
    }
    for decision in ["accept", "reject"] {
        let path = format!("/substitute_invitations/{}/{decision}", s.meeting_id);
        let (status, body) = app.get(&path, Some(&s.substitute.token)).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{path}: {body}");
    }
    assert_eq!(meeting(&app, &s.mentor, s.meeting_id).await, before);
    assert_eq!(
        mail_counts(&app, &people).await,
        mails,
        "no mail was queued"
    );
    app.stop().await;
}

/// Case 14: the links in the invitation come from PUBLIC_URL, whatever Host the request names.
async fn forged_host_headers_do_not_change_the_emailed_links(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (mentor, mentee, relation_id) = accepted_relation(&app).await;
    let substitute = stand_in(&app, "stand_in_mentor").await;
    let id = confirmed_meeting(&app, &mentor, &mentee, relation_id).await;

    let response = app
        .client
        .post(app.url(&format!("/meeting/{id}/substitute")))
        .header("Host", "evil.example")
        .header("X-Forwarded-Host", "evil.example")
        .header("X-Forwarded-Proto", "https")
        .header("Forwarded", "host=evil.example;proto=https")
        .bearer_auth(&mentor.token)
        .json(&json!({"user_id": substitute.id}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);

    let (accept, reject) = invitation_links(&app, &substitute.email, 1).await;
    for link in [&accept, &reject] {
        assert!(
            link.starts_with(&format!("{}/meeting/{id}/substitute/", app.base)),
            "{link}"
        );
    }
    let mails = app.mail.to(&substitute.email);
    assert!(!mails[1].text.contains("evil.example"), "{}", mails[1].text);
    let (status, body) = post_link(&app, &accept, Some(&substitute.token)).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (StatusCode::OK, Some(ACCEPTED))
    );
    app.stop().await;
}

crate::db_tests!(
    changing_any_signed_part_of_a_link_gives_the_same_403,
    swapping_accept_and_reject_keeps_the_signature_from_working,
    a_mangled_signature_is_refused_without_a_server_error,
    extra_or_repeated_parameters_are_refused_but_their_order_does_not_matter,
    path_variants_never_act_on_another_meeting,
    a_link_works_until_its_expiry_second_and_not_one_second_later,
    a_link_signed_with_another_key_or_for_another_purpose_is_refused,
    only_the_invitee_logged_in_can_answer,
    a_link_works_once_and_the_other_decision_then_conflicts,
    a_new_invitation_kills_the_links_of_the_previous_one,
    of_two_concurrent_answers_exactly_one_wins,
    a_cancelled_or_started_meeting_can_no_longer_be_answered,
    opening_a_link_changes_nothing_and_get_on_the_answer_route_is_405,
    forged_host_headers_do_not_change_the_emailed_links,
);
