//! The attacks of the hardening round, each replayed against the real server on both databases:
//! throttling under concurrency and behind a proxy, form posts from other sites, mail floods,
//! unmailable addresses, script links, unbounded metrics, slow and idle clients, database
//! outages, page headers and forms, dead invitation links, secrets in logs and files, and
//! forged request ids. docs/SECURITY.md lists the defences.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::helpers::*;
use crate::meetings::{accepted_relation, confirmed_meeting, invitation_links};

/// A login from `client` (sent as `X-Forwarded-For`, honoured only from trusted proxies).
async fn login_from(app: &TestApp, login: &str, password: &str, client: &str) -> reqwest::Response {
    app.client
        .post(app.url("/login"))
        .header("x-forwarded-for", client)
        .json(&json!({"username": login, "password": password}))
        .send()
        .await
        .unwrap()
}

fn retry_after(response: &reqwest::Response) -> u64 {
    response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// Item 1: counting an attempt and checking the limit are one step, whatever the concurrency.
async fn concurrent_wrong_logins_check_at_most_five_passwords(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    app.user("racer_one", json!({})).await;
    app.user("racer_two", json!({})).await;
    let wrong = concurrent_logins(&app, "racer_one", false).await;
    let checked = wrong
        .iter()
        .filter(|s| **s != StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert!(checked <= 5, "{checked} passwords checked: {wrong:?}");
    assert!(
        wrong
            .iter()
            .all(|s| *s == StatusCode::UNAUTHORIZED || *s == StatusCode::TOO_MANY_REQUESTS)
    );
    // 31 wrong and the right one at once: at most 5 answers that are not 429 in all.
    let mixed = concurrent_logins(&app, "racer_two", true).await;
    let checked = mixed
        .iter()
        .filter(|s| **s != StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert!(checked <= 5, "{checked} passwords checked: {mixed:?}");
    app.stop().await;
}

/// 32 logins at once, all wrong, or the last one right; their statuses.
async fn concurrent_logins(app: &TestApp, login: &str, right: bool) -> Vec<StatusCode> {
    let attempts = (0..32)
        .map(|i| {
            let password = if right && i == 31 {
                PASSWORD
            } else {
                "wrong-password"
            };
            app.login(login, password)
        })
        .collect();
    join_all(attempts)
        .await
        .into_iter()
        .map(|(status, _)| status)
        .collect()
}

/// Items 2 and 4: behind a trusted proxy each client is throttled on its own address; the
/// account-wide limit spaces a distributed guess out without keeping the owner out; username
/// and e-mail are one account.
async fn strangers_cannot_lock_a_member_out_from_behind_the_balancer(kind: DbKind) {
    let app = TestApp::spawn_with(kind, &[("TRUSTED_PROXIES", "127.0.0.1")]).await;
    app.user("locked_out", json!({})).await;
    // Eight addresses, five wrong guesses each.
    let mut spaced = Vec::new();
    for address in 1..=8 {
        for _ in 0..5 {
            let response = login_from(
                &app,
                "locked_out",
                "wrong-password",
                &format!("10.0.0.{address}"),
            )
            .await;
            if response.status() == StatusCode::TOO_MANY_REQUESTS {
                spaced.push(retry_after(&response));
            }
        }
    }
    assert!(
        !spaced.is_empty(),
        "the account-wide limit spaced attempts out"
    );
    assert!(spaced.iter().all(|s| *s <= 10), "{spaced:?}");
    // The owner, from an address of their own, gets in within seconds.
    let mut waited = 0;
    loop {
        let response = login_from(&app, "locked_out", PASSWORD, "10.9.9.9").await;
        if response.status() == StatusCode::OK {
            break;
        }
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        let seconds = retry_after(&response);
        assert!(seconds <= 10, "{seconds}");
        waited += seconds;
        assert!(waited <= 10, "the owner waited {waited} s");
        app.clock.advance(seconds as f64);
    }
    // Another client of the balancer is not throttled by the first one's failures...
    app.user("neighbour", json!({})).await;
    for _ in 0..5 {
        login_from(&app, "neighbour", "wrong-password", "10.1.1.1").await;
    }
    let blocked = login_from(&app, "neighbour", PASSWORD, "10.1.1.1").await;
    assert_eq!(blocked.status(), StatusCode::TOO_MANY_REQUESTS);
    let other = login_from(&app, "neighbour", PASSWORD, "10.1.1.2").await;
    assert_eq!(other.status(), StatusCode::OK);
    // ... and only the right-most address not itself trusted counts: a client cannot pick its own.
    app.user("spoofer_target", json!({})).await;
    for i in 0..5 {
        let chain = format!("192.0.2.{i}, 10.2.2.2");
        login_from(&app, "spoofer_target", "wrong-password", &chain).await;
    }
    let response = login_from(&app, "spoofer_target", PASSWORD, "192.0.2.99, 10.2.2.2").await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    // Username and e-mail are one account.
    app.user("two_names", json!({})).await;
    for _ in 0..5 {
        login_from(&app, "two_names", "wrong-password", "10.3.3.3").await;
    }
    let by_email = login_from(&app, "two_names@example.com", PASSWORD, "10.3.3.3").await;
    assert_eq!(by_email.status(), StatusCode::TOO_MANY_REQUESTS);
    app.stop().await;
}

/// Item 4: without `TRUSTED_PROXIES`, `X-Forwarded-For` is the client's word, and ignored.
async fn a_forwarded_for_header_from_an_untrusted_peer_is_ignored(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    app.user("no_escape", json!({})).await;
    for i in 0..5 {
        login_from(&app, "no_escape", "wrong-password", &format!("10.4.4.{i}")).await;
    }
    let response = login_from(&app, "no_escape", PASSWORD, "10.4.4.99").await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    app.stop().await;
}

/// A TCP proxy that speaks the PROXY protocol (version 1) to the server, naming `client`.
async fn proxy_protocol_request(app: &TestApp, client: &str, body: &Value) -> u16 {
    let server = app.base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(server).await.unwrap();
    let body = body.to_string();
    let request = format!(
        "PROXY TCP4 {client} 127.0.0.1 40000 80\r\nPOST /login HTTP/1.1\r\nHost: {server}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

/// Item 4: a balancer in TCP mode names the client in a PROXY protocol header.
async fn a_trusted_balancer_names_the_client_with_the_proxy_protocol(kind: DbKind) {
    let app = TestApp::spawn_with(kind, &[("TRUSTED_PROXIES", "127.0.0.1")]).await;
    app.user("proxied_one", json!({})).await;
    let wrong = json!({"username": "proxied_one", "password": "wrong-password"});
    let right = json!({"username": "proxied_one", "password": PASSWORD});
    for _ in 0..5 {
        assert_eq!(
            proxy_protocol_request(&app, "203.0.113.7", &wrong).await,
            401
        );
    }
    assert_eq!(
        proxy_protocol_request(&app, "203.0.113.7", &right).await,
        429
    );
    assert_eq!(
        proxy_protocol_request(&app, "203.0.113.8", &right).await,
        200
    );
    // A plain request from the trusted peer is served as well.
    assert_eq!(app.get("/health", None).await.0, StatusCode::OK);
    app.stop().await;
}

/// Item 3: after the same failures an unknown login gets the same answers as an account.
async fn the_throttle_does_not_tell_which_accounts_exist(kind: DbKind) {
    let app = TestApp::spawn_with(kind, &[("TRUSTED_PROXIES", "127.0.0.1")]).await;
    app.user("exists_here", json!({})).await;
    // The member's own login at sign-up counted; start from a fresh window.
    app.clock.advance(61.0);
    let mut answers = Vec::new();
    for login in ["exists_here", "nobody_here"] {
        let mut statuses = Vec::new();
        for address in 0..3 {
            for _ in 0..6 {
                let response =
                    login_from(&app, login, "wrong-password", &format!("10.5.{address}.1")).await;
                statuses.push(response.status());
            }
        }
        answers.push(statuses);
    }
    assert_eq!(answers[0], answers[1]);
    assert!(answers[0].contains(&StatusCode::TOO_MANY_REQUESTS));
    app.stop().await;
}

/// Item 5: a body any web page can make a browser send is refused by JSON endpoints.
async fn json_endpoints_refuse_bodies_other_sites_can_send(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    app.user("cross_site", json!({})).await;
    let body = json!({"username": "cross_site", "password": PASSWORD}).to_string();
    for path in ["/login", "/register"] {
        for content_type in [
            "text/plain",
            "text/plain; charset=utf-8",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
        ] {
            let response = app
                .client
                .post(app.url(path))
                .header("content-type", content_type)
                .body(body.clone())
                .send()
                .await
                .unwrap();
            assert_eq!(
                response.status(),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "{path} {content_type}"
            );
            let answer: Value = response.json().await.unwrap();
            assert_eq!(answer["code"], "UNSUPPORTED_MEDIA_TYPE");
        }
    }
    assert_eq!(app.login("cross_site", PASSWORD).await.0, StatusCode::OK);
    app.stop().await;
}

/// Item 6: the mail-sending endpoints send at most 3 mails of a kind an hour to an address,
/// and answer alike whatever the address.
async fn mail_sending_endpoints_send_three_mails_an_hour_at_most(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let user = app.user("flooded_one", json!({})).await;
    app.register("unverified_one", json!({})).await;
    app.mail.wait_for("unverified_one@example.com", 1).await;
    for _ in 0..30 {
        let (status, body) = app
            .post("/user/forgot_password", None, json!({"email": user.email}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, _) = app
            .post(
                "/user/resend_email",
                None,
                json!({"email": "unverified_one@example.com"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = app
            .post(
                "/user/forgot_password",
                None,
                json!({"email": "stranger@example.com"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    app.mail.wait_for(&user.email, 4).await;
    app.mail.wait_for("unverified_one@example.com", 4).await;
    app.settle_mail().await;
    let resets = app
        .mail
        .to(&user.email)
        .iter()
        .filter(|m| m.subject.contains("password"))
        .count();
    assert_eq!(resets, 3);
    // The registration's mail and three more.
    assert_eq!(app.mail.to("unverified_one@example.com").len(), 4);
    assert!(app.mail.to("stranger@example.com").is_empty());
    // An hour later, another may come.
    app.clock.advance(3_601.0);
    app.post("/user/forgot_password", None, json!({"email": user.email}))
        .await;
    app.mail.wait_for(&user.email, 5).await;
    app.stop().await;
}

/// Item 7: addresses no mail server would take are refused at registration.
async fn unmailable_addresses_are_refused_at_registration(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    for (i, email) in ["x@-x.com", "x@x..com", ".x@x.com", "a..b@x.com"]
        .iter()
        .enumerate()
    {
        let (status, body) = app
            .post(
                "/register",
                None,
                json!({
                    "name": "Mail Less", "username": format!("mailless_{i}"), "password": PASSWORD,
                    "email": email, "terms_and_conditions_checked": true,
                }),
            )
            .await;
        assert_eq!(
            (status, body["message"].as_str()),
            (StatusCode::BAD_REQUEST, Some("Your email is invalid.")),
            "{email}"
        );
    }
    app.stop().await;
}

/// Item 7: a mail that cannot be delivered is given up on after a bounded number of tries, and
/// the metrics count it.
async fn undeliverable_mail_ends_as_a_dead_letter(kind: DbKind) {
    let down = free_address();
    let smtp = format!("smtp://{down}");
    let app = TestApp::spawn_with(kind, &[("SMTP_URL", smtp.as_str())]).await;
    app.register("dead_letter", json!({})).await;
    // The mail server stays down; the row has been tried all but once already.
    mentorship::with_db!(&app.state().db, |c| sqlx::query(
        "UPDATE outbox SET attempts = 11"
    )
    .execute(c)
    .await
    .map(|_| ()))
    .unwrap();
    let mut dead = 0;
    for _ in 0..100 {
        app.clock.advance(700.0);
        dead = mentorship::with_db!(&app.state().db, |c| sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM outbox WHERE dead_at IS NOT NULL AND last_error IS NOT NULL"
        )
        .fetch_one(c)
        .await)
        .unwrap();
        if dead == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(dead, 1);
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("outbox_dead_letters 1"), "{metrics}");
    assert!(metrics.contains("outbox_unsent_mails 0"), "{metrics}");
    app.stop().await;
}

/// Item 8: profile links are http(s) only.
async fn profile_links_are_web_addresses_only(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let user = app.user("link_owner", json!({})).await;
    for field in ["photo_url", "resume_url"] {
        for bad in [
            "javascript:alert(1)",
            "data:text/html,hi",
            "ftp://x.org/a",
            "https://",
        ] {
            let (status, body) = app
                .put("/user", Some(&user.token), json!({field: bad}))
                .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{field} {bad}: {body}");
            assert_eq!(
                body["message"],
                format!("The {field} field must be an http or https URL.")
            );
        }
        let (status, _) = app
            .put(
                "/user",
                Some(&user.token),
                json!({field: "https://example.org/a.png"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = app
            .put("/user", Some(&user.token), json!({field: ""}))
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    app.stop().await;
}

fn series(metrics: &str) -> usize {
    metrics
        .lines()
        .filter(|l| l.starts_with("http_requests_total"))
        .count()
}

/// Item 9: odd methods and unknown paths add no series; `/metrics` answers allowed clients only.
async fn metrics_keep_a_bounded_set_of_series_for_allowed_clients(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let metrics = || async {
        app.client
            .get(app.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    app.get("/health/live", None).await;
    let before = series(&metrics().await);
    for i in 0..50 {
        let method = reqwest::Method::from_bytes(format!("FOO{i}").as_bytes()).unwrap();
        app.client
            .request(method, app.url("/health/live"))
            .send()
            .await
            .unwrap();
        app.client
            .get(app.url(&format!("/no/such/path/{i}")))
            .send()
            .await
            .unwrap();
    }
    let text = metrics().await;
    assert!(series(&text) <= before + 2, "{text}");
    assert!(!text.contains("FOO"), "{text}");
    app.stop().await;
    let closed = TestApp::spawn_with(kind, &[("METRICS_ALLOW", "10.0.0.0/8")]).await;
    let response = closed
        .client
        .get(closed.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    closed.stop().await;
}

/// Item 10: slow headers, idle connections and connection floods are bounded.
async fn slow_and_idle_connections_are_closed(kind: DbKind) {
    let app = TestApp::spawn_with(
        kind,
        &[
            ("HEADER_READ_TIMEOUT", "1s"),
            ("IDLE_TIMEOUT", "2s"),
            ("MAX_CONNECTIONS", "2"),
        ],
    )
    .await;
    let server = app.base.trim_start_matches("http://").to_owned();
    // A client dribbling header lines is cut off after the header timeout.
    let started = Instant::now();
    let mut slow = TcpStream::connect(&server).await.unwrap();
    slow.write_all(b"GET /health/live HTTP/1.1\r\n")
        .await
        .unwrap();
    let mut closed = false;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        if slow.write_all(b"X-Slow: 1\r\n").await.is_err() {
            closed = true;
            break;
        }
        let mut byte = [0u8; 1];
        if let Ok(Ok(0)) =
            tokio::time::timeout(Duration::from_millis(1), slow.read(&mut byte)).await
        {
            closed = true;
            break;
        }
    }
    assert!(closed, "a dribbling client was not cut off");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    drop(slow);
    // An idle keep-alive connection is closed after the idle timeout.
    let mut idle = TcpStream::connect(&server).await.unwrap();
    idle.write_all(b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buffer = [0u8; 1024];
    assert!(idle.read(&mut buffer).await.unwrap() > 0);
    let waited = Instant::now();
    let end = tokio::time::timeout(Duration::from_secs(6), idle.read(&mut buffer)).await;
    assert!(matches!(end, Ok(Ok(0))), "the idle connection stayed open");
    assert!(
        waited.elapsed() >= Duration::from_millis(1_500),
        "{:?}",
        waited.elapsed()
    );
    // With two connections held idle, a third is served once one of them times out.
    let _first = TcpStream::connect(&server).await.unwrap();
    let _second = TcpStream::connect(&server).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let queued = Instant::now();
    let (status, _) = app.get("/health/live", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        queued.elapsed() >= Duration::from_millis(500),
        "the cap let a third connection in at once"
    );
    app.stop().await;
}

/// Forwards TCP connections to `target` until `stop` is dropped or set; then refuses them
/// and cuts the open ones: a database going down, and coming back.
struct Outage {
    address: std::net::SocketAddr,
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Outage {
    async fn start(target: String) -> Outage {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let up = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let flag = up.clone();
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let flag = flag.clone();
                let target = target.clone();
                tokio::spawn(async move {
                    if !flag.load(std::sync::atomic::Ordering::SeqCst) {
                        return;
                    }
                    let Ok(mut server) = TcpStream::connect(&target).await else {
                        return;
                    };
                    let (mut cr, mut cw) = client.split();
                    let (mut sr, mut sw) = server.split();
                    let watch = async {
                        while flag.load(std::sync::atomic::Ordering::SeqCst) {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    };
                    tokio::select! {
                        _ = tokio::io::copy(&mut cr, &mut sw) => {}
                        _ = tokio::io::copy(&mut sr, &mut cw) => {}
                        _ = watch => {}
                    }
                });
            }
        });
        Outage { address, up }
    }

    fn set_up(&self, up: bool) {
        self.up.store(up, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Item 11: with the database gone or locked, requests fail fast with 503 and `Retry-After`,
/// and everything recovers by itself.
async fn a_database_outage_answers_503_fast_and_recovers(kind: DbKind) {
    let database = TestDatabase::create(kind).await;
    let (url, outage) = match kind {
        DbKind::Postgres => {
            let parsed = url::Url::parse(&database.url).unwrap();
            let target = format!(
                "{}:{}",
                parsed.host_str().unwrap(),
                parsed.port().unwrap_or(5432)
            );
            let outage = Outage::start(target).await;
            let mut proxied = parsed.clone();
            proxied.set_port(Some(outage.address.port())).unwrap();
            proxied.set_host(Some("127.0.0.1")).unwrap();
            (format!("{proxied}?sslmode=disable"), Some(outage))
        }
        DbKind::Sqlite => (database.url.clone(), None),
    };
    let app = TestApp::spawn_on(kind, &url, &[("DATABASE_ACQUIRE_TIMEOUT", "1s")]).await;
    app.user("before_outage", json!({})).await;
    // The outage: PostgreSQL unreachable, or SQLite's file locked by another process.
    let mut lock = None;
    match &outage {
        Some(outage) => {
            outage.set_up(false);
            // The proxy cuts the open connections within 50 ms.
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        None => {
            let path = url
                .trim_start_matches("sqlite://")
                .split('?')
                .next()
                .unwrap()
                .to_owned();
            let mut conn =
                <sqlx::SqliteConnection as sqlx::Connection>::connect(&format!("sqlite://{path}"))
                    .await
                    .unwrap();
            sqlx::query("BEGIN EXCLUSIVE")
                .execute(&mut conn)
                .await
                .unwrap();
            lock = Some(conn);
        }
    }
    let started = Instant::now();
    let response = app
        .client
        .post(app.url("/register"))
        .json(
            &json!({"name": "Out Age", "username": "during_outage", "password": PASSWORD,
            "email": "during_outage@example.com", "terms_and_conditions_checked": true}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "DATABASE_UNAVAILABLE");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // The outage ends: readiness and writes come back by themselves.
    match &outage {
        Some(outage) => outage.set_up(true),
        None => drop(lock.take()),
    }
    let mut healthy = false;
    for _ in 0..50 {
        if app.get("/health", None).await.0 == StatusCode::OK {
            healthy = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(healthy, "readiness did not come back");
    let mut registered = StatusCode::SERVICE_UNAVAILABLE;
    for _ in 0..10 {
        registered = app.register("after_outage", json!({})).await.0;
        if registered == StatusCode::CREATED {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(registered, StatusCode::CREATED);
    app.stop().await;
    drop(database);
}

/// Item 12: every answer says `nosniff`; pages carry a policy with no inline script and
/// cannot be framed.
async fn answers_carry_the_security_headers(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    for path in [
        "/health",
        "/login",
        "/docs/",
        "/user/reset_password/some-token",
        "/app/forgot-password",
    ] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        let headers = response.headers().clone();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        let policy = headers["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            policy.contains("frame-ancestors 'none'"),
            "{path}: {policy}"
        );
        let is_html = headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html");
        if is_html {
            // Scripts follow script-src, or default-src without it (the member app and the
            // console load none: `default-src 'none'`).
            let directive = |name: &str| {
                policy
                    .split(';')
                    .find(|d| d.trim().starts_with(name))
                    .map(str::to_owned)
            };
            let scripts = directive("script-src")
                .or_else(|| directive("default-src"))
                .unwrap_or_else(|| panic!("{path}: no script-src in {policy}"));
            assert!(!scripts.contains("unsafe-inline"), "{path}: {policy}");
            let html = response.text().await.unwrap();
            assert!(!has_inline_script(&html), "{path} has an inline script");
        }
    }
    app.stop().await;
}

/// Whether the page has a `<script>` element with content (a `src` one is fine).
fn has_inline_script(html: &str) -> bool {
    html.split("<script").skip(1).any(|rest| {
        let tag_end = rest.find('>').unwrap_or(0);
        let body_end = rest.find("</script>").unwrap_or(tag_end + 1);
        !rest[..tag_end].contains("src=") || !rest[tag_end + 1..body_end].trim().is_empty()
    })
}

/// Items 13 and 14: the pages work without JavaScript (forms that post), the invitation page
/// links to password reset, and a dead invitation link says one sentence and nothing more.
async fn pages_post_their_forms_and_dead_invitation_links_show_nothing(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (mentor, mentee, relation_id) = accepted_relation(&app).await;
    let first = app
        .user(
            "first_sub",
            json!({"available_to_mentor": true, "name": "First Sub"}),
        )
        .await;
    let second = app
        .user(
            "second_sub",
            json!({"available_to_mentor": true, "name": "Second Sub"}),
        )
        .await;
    let meeting = confirmed_meeting(&app, &mentor, &mentee, relation_id).await;
    let path = format!("/meeting/{meeting}/substitute");
    let invite = |user: i64| app.post(&path, Some(&mentor.token), json!({"user_id": user}));
    assert_eq!(invite(first.id).await.0, StatusCode::CREATED);
    let (accept, _) = invitation_links(&app, &first.email, 1).await;
    let page = app
        .client
        .get(&accept)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let form = page.split("<form").nth(1).expect("a form");
    assert!(form.to_lowercase().contains("method=\"post\""), "{page}");
    assert!(form.contains("type=\"password\""), "{page}");
    assert!(page.contains("href=\"/app/forgot-password\""), "{page}");
    // A wrong password shows the form again; the right one answers, without JavaScript.
    let post = |password: &'static str| {
        app.client
            .post(&accept)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(&[
                ("username", "first_sub"),
                ("password", password),
            ]))
            .send()
    };
    let wrong = post("wrong-password").await.unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("Username or password is wrong.")
    );
    // Withdrawn, then another invitee: the first link shows one sentence, nothing of the meeting.
    let (status, _) = app
        .delete(
            &format!("/meeting/{meeting}/substitute"),
            Some(&mentor.token),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(invite(second.id).await.0, StatusCode::CREATED);
    let dead = app.client.get(&accept).send().await.unwrap();
    assert_eq!(dead.status(), StatusCode::CONFLICT);
    let html = dead.text().await.unwrap();
    let text = visible_text(&html);
    assert!(
        !text.contains("meet.example.org") && !text.contains("Second Sub"),
        "{text}"
    );
    assert!(!html.contains("<form") && !html.contains("<dl"), "{html}");
    assert_eq!(
        text.matches(". ").count() + usize::from(text.trim_end().ends_with('.')),
        1,
        "{text}"
    );
    // The live link of the second invitee answers through the page's form.
    let (accept, _) = invitation_links(&app, &second.email, 1).await;
    let answer = app
        .client
        .post(&accept)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(&[
            ("username", "second_sub"),
            ("password", PASSWORD),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert!(
        answer
            .text()
            .await
            .unwrap()
            .contains("You are now the substitute mentor of this meeting.")
    );
    // The reset pages, without JavaScript: ask for a link, follow it, post the new password.
    // The old address of the asking page leads to the member app's.
    let page = app
        .client
        .get(app.url("/user/forgot_password"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.url().path(), "/app/forgot-password");
    let page = page.text().await.unwrap();
    assert!(
        page.contains(r#"<form method="post" action="/user/forgot_password""#),
        "{page}"
    );
    assert!(page.contains(r#"href="/app/sign-in""#), "{page}");
    let mails_before = app.mail.to(&mentee.email).len();
    let asked = app
        .client
        .post(app.url("/user/forgot_password"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(&[("email", mentee.email.as_str())]))
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), StatusCode::OK);
    assert!(
        asked
            .text()
            .await
            .unwrap()
            .contains("If an account with that e-mail exists")
    );
    let prefix = format!("{}/user/reset_password/", app.base);
    let mut link = None;
    for count in mails_before + 1..mails_before + 4 {
        let mails = app.mail.wait_for(&mentee.email, count).await;
        link = mails.iter().rev().find_map(|m| m.link(&prefix));
        if link.is_some() {
            break;
        }
    }
    let link = link.expect("a reset link");
    let page = app
        .client
        .get(&link)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("method=\"post\""), "{page}");
    let token = link.rsplit('/').next().unwrap();
    let short = app
        .client
        .post(app.url("/user/reset_password"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(&[("token", token), ("new_password", "short")]))
        .send()
        .await
        .unwrap();
    assert_eq!(short.status(), StatusCode::BAD_REQUEST);
    assert!(short.text().await.unwrap().contains("new_password"));
    let reset = app
        .client
        .post(app.url("/user/reset_password"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(&[
            ("token", token),
            ("new_password", "a-new-pass-2"),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), StatusCode::OK);
    assert_eq!(
        app.login(&mentee.username, "a-new-pass-2").await.0,
        StatusCode::OK
    );
    app.stop().await;
}

/// A form's fields, encoded as a browser posts them.
fn form_body(fields: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish()
}

/// The text a browser shows (tags and the head left out).
fn visible_text(html: &str) -> String {
    let body = html.split("<body>").nth(1).unwrap_or(html);
    let mut text = String::new();
    let mut in_tag = false;
    for c in body.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Item 17: a request id is echoed only when it is short and plain.
async fn only_plain_request_ids_are_echoed(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let app = &app;
    let echo = |id: &'static str| async move {
        let response = app
            .client
            .get(app.url("/health/live"))
            .header("x-request-id", id)
            .send()
            .await
            .unwrap();
        response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(echo("abc-123.DEF_4").await, "abc-123.DEF_4");
    let long: &'static str = Box::leak("a".repeat(65).into_boxed_str());
    for bad in ["has space", "semi;colon", "quote\"d", long] {
        let answered = echo(bad).await;
        assert_ne!(answered, bad);
        assert!(
            answered
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)),
            "{answered}"
        );
    }
}

/// Counts the rows of `table` matching `condition`.
async fn count_rows(app: &TestApp, table: &str, condition: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table} WHERE {condition}");
    mentorship::with_db!(&app.state().db, |c| sqlx::query_scalar::<_, i64>(
        sqlx::AssertSqlSafe(sql.clone())
    )
    .fetch_one(c)
    .await)
    .unwrap()
}

/// A delivered mail keeps no link in the database, and the purge job deletes what has served
/// its purpose (throttle windows, delivered rows, expired tokens) without touching a member's
/// ability to log in.
async fn delivered_mail_keeps_no_links_and_stale_rows_are_purged(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let mut user = app.user("purge_owner", json!({})).await;
    app.post("/user/forgot_password", None, json!({"email": user.email}))
        .await;
    app.settle_mail().await;
    assert!(
        app.mail
            .to(&user.email)
            .iter()
            .any(|m| m.text.contains("reset_password"))
    );
    assert_eq!(
        count_rows(&app, "outbox", "sent_at IS NOT NULL").await,
        2 + 1,
        "verification, reset request, reset mail"
    );
    for needle in ["confirm_email", "reset_password", "token"] {
        let condition = format!("payload LIKE '%{needle}%'");
        assert_eq!(
            count_rows(&app, "outbox", &condition).await,
            0,
            "{needle} kept in the outbox"
        );
    }
    let (status, _) = app.login(&user.username, "wrong password").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(count_rows(&app, "rate_limits", "1 = 1").await > 0);

    // Within their retention, nothing goes.
    app.clock.set(app.clock.now() + 3_600.0);
    app.run_job("purge-expired").await;
    assert!(count_rows(&app, "rate_limits", "1 = 1").await > 0);
    assert_eq!(count_rows(&app, "outbox", "1 = 1").await, 3);

    // Past it, they go; the member still logs in.
    app.clock.set(app.clock.now() + 61.0 * 86_400.0);
    let purged = app.run_job("purge-expired").await;
    assert!(purged >= 4, "{purged}");
    assert_eq!(count_rows(&app, "rate_limits", "1 = 1").await, 0);
    assert_eq!(count_rows(&app, "outbox", "1 = 1").await, 0);
    assert_eq!(count_rows(&app, "email_tokens", "1 = 1").await, 0);
    app.relogin(&mut user).await;
    assert_eq!(app.get("/user", Some(&user.token)).await.0, StatusCode::OK);
    app.stop().await;
}

/// A stolen access token guesses the password no faster than a login: changing the password
/// counts on the account's login budget, concurrent guesses included.
async fn password_changes_share_the_accounts_login_budget(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let user = app.user("budget_owner", json!({})).await;
    let guess = |n: usize| {
        let body = json!({"current_password": format!("guess-{n}-wrong"), "new_password": "a-new-secret-1"});
        let token = user.token.clone();
        let app = &app;
        async move { app.put("/user/change_password", Some(&token), body).await }
    };
    let answers = join_all((0..16).map(guess).collect()).await;
    let wrong = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::BAD_REQUEST)
        .count();
    let throttled = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    // Ten a minute per account: the login that gave the token counted one.
    assert_eq!((wrong, throttled), (9, 7), "{answers:?}");
    // The login shares the budget: the owner waits seconds, not minutes.
    let (status, _) = app.login(&user.username, &user.password).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    app.clock.set(app.clock.now() + 3.0);
    let (status, _) = app.login(&user.username, &user.password).await;
    assert_eq!(status, StatusCode::OK);
    app.stop().await;
}

crate::db_tests!(
    concurrent_wrong_logins_check_at_most_five_passwords,
    strangers_cannot_lock_a_member_out_from_behind_the_balancer,
    a_forwarded_for_header_from_an_untrusted_peer_is_ignored,
    a_trusted_balancer_names_the_client_with_the_proxy_protocol,
    the_throttle_does_not_tell_which_accounts_exist,
    json_endpoints_refuse_bodies_other_sites_can_send,
    mail_sending_endpoints_send_three_mails_an_hour_at_most,
    unmailable_addresses_are_refused_at_registration,
    undeliverable_mail_ends_as_a_dead_letter,
    profile_links_are_web_addresses_only,
    metrics_keep_a_bounded_set_of_series_for_allowed_clients,
    slow_and_idle_connections_are_closed,
    a_database_outage_answers_503_fast_and_recovers,
    answers_carry_the_security_headers,
    pages_post_their_forms_and_dead_invitation_links_show_nothing,
    only_plain_request_ids_are_echoed,
    delivered_mail_keeps_no_links_and_stale_rows_are_purged,
    password_changes_share_the_accounts_login_budget,
);

/// Starts the real binary in `dir` with `settings` (and no secret, database or mail settings
/// from the environment); returns the child, its base URL and its log file.
async fn start_binary(
    dir: &std::path::Path,
    settings: &[(&str, &str)],
) -> (std::process::Child, String, std::path::PathBuf) {
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let log_path = dir.join(format!("server-{port}.log"));
    let log = std::fs::File::create(&log_path).unwrap();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_mentorship"));
    command
        .arg("serve")
        .current_dir(dir)
        .env_remove("SECRET_KEY")
        .env_remove("SMTP_URL")
        .env_remove("DATABASE_URL")
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "info")
        .env("LOG_FORMAT", "json")
        .stdout(log.try_clone().unwrap())
        .stderr(log);
    for (key, value) in settings {
        command.env(key, value);
    }
    let mut child = command.spawn().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if client
            .get(format!("{base}/health"))
            .send()
            .await
            .is_ok_and(|r| r.status() == StatusCode::OK)
        {
            return (child, base, log_path);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("{}", std::fs::read_to_string(&log_path).unwrap_or_default());
}

/// Items 15 and 16: the real binary keeps the tokens of e-mailed links out of its request log,
/// warns when mail goes to its log, and makes its secret and its database readable by its
/// owner only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_keeps_its_secrets_out_of_logs_and_other_users_hands() {
    use std::os::unix::fs::PermissionsExt;
    let work = TempDir::new();
    let mail_dir = work.path.join("mail");
    let smtp = format!("file://{}", mail_dir.display());
    let (mut child, base, log_path) =
        start_binary(&work.path, &[("SMTP_URL", smtp.as_str())]).await;
    let client = reqwest::Client::new();
    let registered = client
        .post(format!("{base}/register"))
        .json(
            &json!({"name": "Log Reader", "username": "log_reader", "password": PASSWORD,
            "email": "log_reader@example.com", "terms_and_conditions_checked": true}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), StatusCode::CREATED);
    // The verification link, from the mail written to the folder.
    let mut link = None;
    for _ in 0..100 {
        if let Some(entry) = std::fs::read_dir(&mail_dir).ok().and_then(|mut d| d.next()) {
            let text = std::fs::read_to_string(entry.unwrap().path())
                .unwrap()
                .replace("=\r\n", "");
            let start = text.find("/user/confirm_email/").unwrap();
            let token: String = text[start + 20..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || "-_".contains(*c))
                .collect();
            link = Some(token);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let token = link.expect("the verification mail");
    let confirmed = client
        .get(format!("{base}/user/confirm_email/{token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = child.kill();
    let _ = child.wait();
    let logged = std::fs::read_to_string(&log_path).unwrap();
    assert!(logged.contains("e-mail verified"), "{logged}");
    assert!(
        logged.contains("/user/confirm_email/[redacted]"),
        "{logged}"
    );
    assert!(!logged.contains(&token), "{logged}");
    // The secret and the database: 0600, in a 0700 folder.
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let data = work.path.join("data");
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("secret_key")), 0o600);
    for entry in std::fs::read_dir(&data).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
    // Without SMTP_URL, mail goes to the log, with its links: the server says so at start.
    let (mut child, _, log_path) = start_binary(&work.path, &[]).await;
    let _ = child.kill();
    let _ = child.wait();
    let logged = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        logged.contains(
            "SMTP_URL is unset: e-mails, with the links in them, are written to this log"
        ),
        "{logged}"
    );
}
