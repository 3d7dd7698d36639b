//! The test harness: the real server on port 0 against a fresh database (a temporary SQLite file
//! or a new PostgreSQL database), an SMTP server inside the test, a settable clock, and an
//! HTTP client.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mentorship::app::{self, RunningServer, ServeOptions};
use mentorship::config::Config;
use mentorship::domain::clock::{Clock, system_now};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbKind {
    Sqlite,
    Postgres,
}

/// Generates one test per database for each `async fn name(kind: DbKind)` listed.
#[macro_export]
macro_rules! db_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() { super::$name($crate::helpers::DbKind::Sqlite).await }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() { super::$name($crate::helpers::DbKind::Postgres).await }
            )*
        }
    };
}

/// The PostgreSQL server tests create their databases on.
pub fn postgres_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A fresh, empty database for one test; a PostgreSQL one is dropped when the test ends.
pub struct TestDatabase {
    pub url: String,
    _dir: Option<TempDir>,
    postgres_name: Option<String>,
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some(name) = self.postgres_name.take() else {
            return;
        };
        // Drop runs outside async code: use a thread with its own small runtime.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                if let Ok(pool) = sqlx::PgPool::connect(&postgres_admin_url()).await {
                    let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    let _ = sqlx::query(sqlx::AssertSqlSafe(drop)).execute(&pool).await;
                    pool.close().await;
                }
            });
        })
        .join();
    }
}

impl TestDatabase {
    pub async fn create(kind: DbKind) -> TestDatabase {
        match kind {
            DbKind::Sqlite => {
                let dir = TempDir::new();
                let url = format!("sqlite://{}/test.db?mode=rwc", dir.path.display());
                TestDatabase {
                    url,
                    _dir: Some(dir),
                    postgres_name: None,
                }
            }
            DbKind::Postgres => {
                let name = format!("mentorship_test_{}", uuid_simple());
                let admin = postgres_admin_url();
                let pool = sqlx::PgPool::connect(&admin)
                    .await
                    .expect("PostgreSQL is running (see README)");
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&pool)
                    .await
                    .expect("create the test database");
                pool.close().await;
                let base = admin
                    .rsplit_once('/')
                    .map(|(base, _)| base.to_owned())
                    .unwrap_or(admin);
                TestDatabase {
                    url: format!("{base}/{name}"),
                    _dir: None,
                    postgres_name: Some(name),
                }
            }
        }
    }
}

fn uuid_simple() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{}_{}_{}",
        std::process::id(),
        nanos % 1_000_000_000_000,
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// A temporary folder, removed on drop.
pub struct TempDir {
    pub path: std::path::PathBuf,
}

impl TempDir {
    pub fn new() -> TempDir {
        let path = std::env::temp_dir().join(format!("mentorship-test-{}", uuid_simple()));
        std::fs::create_dir_all(&path).unwrap();
        TempDir { path }
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// One e-mail as the SMTP server received it.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    /// The decoded message (headers and every part), for searching.
    pub text: String,
    /// The message as received (headers are not quoted-printable: read them here).
    pub raw: String,
}

impl Mail {
    /// The first link in the mail that starts with `prefix`.
    pub fn link(&self, prefix: &str) -> Option<String> {
        let start = self.text.find(prefix)?;
        let rest = &self.text[start..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || "-_./:?=&%".contains(c)))
            .unwrap_or(rest.len());
        Some(rest[..end].to_owned())
    }
}

/// An SMTP server inside the test: accepts every mail and keeps it.
#[derive(Clone)]
pub struct MailServer {
    pub port: u16,
    received: Arc<Mutex<Vec<Mail>>>,
}

impl MailServer {
    pub async fn start() -> MailServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = MailServer {
            port,
            received: Arc::default(),
        };
        server.clone().spawn(listener);
        server
    }

    /// Starts listening on a given address (to bring a "down" mail server up).
    pub async fn start_on(address: std::net::SocketAddr) -> MailServer {
        let listener = TcpListener::bind(address).await.unwrap();
        let port = address.port();
        let server = MailServer {
            port,
            received: Arc::default(),
        };
        server.clone().spawn(listener);
        server
    }

    fn spawn(self, listener: TcpListener) {
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let received = self.received.clone();
                tokio::spawn(async move {
                    let _ = session(socket, received).await;
                });
            }
        });
    }

    pub fn all(&self) -> Vec<Mail> {
        self.received.lock().unwrap().clone()
    }

    pub fn to(&self, address: &str) -> Vec<Mail> {
        self.all()
            .into_iter()
            .filter(|m| m.to.eq_ignore_ascii_case(address))
            .collect()
    }

    /// Waits until at least `count` mails went to `address` (the worker sends within a moment).
    pub async fn wait_for(&self, address: &str, count: usize) -> Vec<Mail> {
        self.wait_for_within(address, count, Duration::from_secs(5))
            .await
    }

    /// As [`MailServer::wait_for`], for mail that may legitimately take longer (a killed
    /// instance's claim on it has to expire first).
    pub async fn wait_for_within(&self, address: &str, count: usize, limit: Duration) -> Vec<Mail> {
        for _ in 0..limit.as_millis() / 25 {
            let mails = self.to(address);
            if mails.len() >= count {
                return mails;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let subjects: Vec<String> = self.to(address).into_iter().map(|m| m.subject).collect();
        panic!("expected {count} mail(s) to {address}, got {subjects:?}");
    }
}

async fn session(
    socket: tokio::net::TcpStream,
    received: Arc<Mutex<Vec<Mail>>>,
) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 test-smtp ready\r\n").await?;
    let mut recipients = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_ascii_uppercase();
        if command.starts_with("EHLO") || command.starts_with("HELO") {
            write
                .write_all(b"250-test-smtp\r\n250 8BITMIME\r\n")
                .await?;
        } else if command.starts_with("MAIL FROM") {
            recipients.clear();
            write.write_all(b"250 OK\r\n").await?;
        } else if command.starts_with("RCPT TO") {
            let address = line.trim_end()[8..]
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_owned();
            recipients.push(address);
            write.write_all(b"250 OK\r\n").await?;
        } else if command == "DATA" {
            write.write_all(b"354 go ahead\r\n").await?;
            let mut data = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                data.push_str(
                    line.strip_prefix('.')
                        .filter(|_| line.starts_with(".."))
                        .unwrap_or(&line),
                );
            }
            let text = decode_message(&data);
            let subject = header(&data, "Subject").unwrap_or_default();
            for to in &recipients {
                received.lock().unwrap().push(Mail {
                    to: to.clone(),
                    subject: subject.clone(),
                    text: text.clone(),
                    raw: data.clone(),
                });
            }
            write.write_all(b"250 queued\r\n").await?;
        } else if command == "QUIT" {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            write.write_all(b"250 OK\r\n").await?;
        }
    }
}

/// A header's value, with folded continuation lines joined.
fn header(data: &str, name: &str) -> Option<String> {
    let prefix = format!("{name}: ");
    let mut lines = data.lines().skip_while(|l| !l.starts_with(&prefix));
    let mut value = lines.next()?[prefix.len()..].trim().to_owned();
    for continuation in lines.take_while(|l| l.starts_with(' ') || l.starts_with('\t')) {
        value.push(' ');
        value.push_str(continuation.trim());
    }
    Some(value)
}

/// Undoes quoted-printable soft breaks and escapes, so links can be searched in the text.
fn decode_message(data: &str) -> String {
    let joined = data.replace("=\r\n", "").replace("=\n", "");
    let mut out = String::with_capacity(joined.len());
    let bytes = joined.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(byte) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
        {
            out.push(byte as char);
            i += 3;
            continue;
        }
        out.push(bytes[i] as char);
        i += 1;
    }
    out
}

/// A running server with its database, mailbox and clock.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub clock: Clock,
    pub mail: MailServer,
    pub db_url: String,
    pub kind: DbKind,
    server: Option<RunningServer>,
    _db: Option<TestDatabase>,
}

/// A verified, logged-in member.
#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub password: String,
    pub token: String,
    pub refresh_token: String,
}

pub const PASSWORD: &str = "s3cret-pass";

impl TestApp {
    pub async fn spawn(kind: DbKind) -> TestApp {
        TestApp::spawn_with(kind, &[]).await
    }

    /// Starts the server with extra environment settings (`FIRST_USER_IS_ADMIN`, ...).
    pub async fn spawn_with(kind: DbKind, settings: &[(&str, &str)]) -> TestApp {
        let db = TestDatabase::create(kind).await;
        let url = db.url.clone();
        let mut app = TestApp::spawn_on(kind, &url, settings).await;
        app._db = Some(db);
        app
    }

    /// Starts the server on a database the caller owns (through a proxy, say).
    pub async fn spawn_on(kind: DbKind, database_url: &str, settings: &[(&str, &str)]) -> TestApp {
        let mail = MailServer::start().await;
        let smtp = format!("smtp://127.0.0.1:{}", mail.port);
        let mut vars: HashMap<String, String> = HashMap::from([
            ("DATABASE_URL".into(), database_url.to_owned()),
            ("BIND_ADDR".into(), "127.0.0.1:0".into()),
            (
                "SECRET_KEY".into(),
                "test-secret-key-0123456789abcdef0123456789".into(),
            ),
            ("SMTP_URL".into(), smtp),
        ]);
        for (k, v) in settings {
            vars.insert(k.to_string(), v.to_string());
        }
        let mut config =
            Config::from_lookup(|name| vars.get(name).cloned()).expect("valid test configuration");
        let clock = Clock::manual(system_now().floor());
        // PUBLIC_URL defaults to the bind address, which has port 0 until bound: fill it after.
        let explicit_public_url = vars.contains_key("PUBLIC_URL");
        config.public_url = "http://placeholder".into();
        let server = if explicit_public_url {
            config.public_url = vars["PUBLIC_URL"].clone();
            app::start(
                config,
                ServeOptions {
                    clock: clock.clone(),
                    run_scheduler: false,
                },
            )
            .await
            .unwrap()
        } else {
            // Bind first to learn the port, then start on it.
            let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let port = probe.local_addr().unwrap().port();
            drop(probe);
            config.bind_addr = format!("127.0.0.1:{port}").parse().unwrap();
            config.public_url = format!("http://127.0.0.1:{port}");
            app::start(
                config,
                ServeOptions {
                    clock: clock.clone(),
                    run_scheduler: false,
                },
            )
            .await
            .unwrap()
        };
        TestApp {
            base: format!("http://{}", server.addr),
            client: reqwest::Client::new(),
            clock,
            mail,
            db_url: database_url.to_owned(),
            kind,
            server: Some(server),
            _db: None,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status();
        let text = response.text().await.unwrap();
        let value = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{status} answer is not JSON: {text}"));
        (status, value)
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        self.request(reqwest::Method::GET, path, token, None).await
    }
    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        self.request(reqwest::Method::POST, path, token, Some(body))
            .await
    }
    pub async fn put(&self, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        self.request(reqwest::Method::PUT, path, token, Some(body))
            .await
    }
    pub async fn delete(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        self.request(reqwest::Method::DELETE, path, token, None)
            .await
    }

    /// Registers `username` (e-mail `<username>@example.com`) with extra fields merged in.
    pub async fn register(&self, username: &str, extra: Value) -> (StatusCode, Value) {
        let mut body = json!({
            "name": "Test User", "username": username, "password": PASSWORD,
            "email": format!("{username}@example.com"), "terms_and_conditions_checked": true,
        });
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            for (k, v) in extra {
                body.insert(k.clone(), v.clone());
            }
        }
        self.post("/register", None, body).await
    }

    /// Opens the verification link of the newest verification mail to `email`.
    pub async fn verify_email(&self, email: &str) {
        let mails = self.mail.wait_for(email, 1).await;
        let link = mails
            .iter()
            .rev()
            .find_map(|m| m.link(&format!("{}/user/confirm_email/", self.base)))
            .expect("a verification link");
        let (status, body) = self.get(link.trim_start_matches(&self.base), None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    pub async fn login(&self, login: &str, password: &str) -> (StatusCode, Value) {
        self.post(
            "/login",
            None,
            json!({"username": login, "password": password}),
        )
        .await
    }

    /// A registered, verified and logged-in member.
    pub async fn user(&self, username: &str, extra: Value) -> User {
        let (status, body) = self.register(username, extra).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let email = format!("{username}@example.com");
        self.verify_email(&email).await;
        let (status, tokens) = self.login(username, PASSWORD).await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        let (_, me) = self.get("/user", tokens["access_token"].as_str()).await;
        User {
            id: me["id"].as_i64().unwrap(),
            username: username.to_owned(),
            email,
            password: PASSWORD.to_owned(),
            token: tokens["access_token"].as_str().unwrap().to_owned(),
            refresh_token: tokens["refresh_token"].as_str().unwrap().to_owned(),
        }
    }

    /// A member available to mentor, and one who wants mentoring.
    pub async fn mentor_and_mentee(&self) -> (User, User) {
        let mentor = self
            .user("mentor_one", json!({"available_to_mentor": true}))
            .await;
        let mentee = self
            .user("mentee_one", json!({"need_mentoring": true}))
            .await;
        (mentor, mentee)
    }

    /// Runs a scheduled job in this server's state, as `mentorship jobs run` would.
    pub async fn run_job(&self, name: &str) -> u64 {
        let server = self.server.as_ref().unwrap();
        let job = mentorship::jobs::Job::from_name(name).unwrap();
        job.run(&server.state, self.clock.now()).await.unwrap()
    }

    pub fn state(&self) -> &mentorship::state::AppState {
        &self.server.as_ref().unwrap().state
    }

    /// Chains the audit events still pending, as every reader of the trail does before it
    /// reads: on PostgreSQL a change's events are chained just after its commit, in the
    /// background. For tests that read the trail's tables directly.
    pub async fn chain_audit(&self) {
        self.state().chain_pending_audit().await.unwrap();
    }

    /// Waits until the outbox has delivered everything queued so far, so a test can assert
    /// what did (or did not) arrive. Mail is delivered before its row is marked sent.
    pub async fn settle_mail(&self) {
        // One count over every kind: a request being turned into its mail is never missed.
        for _ in 0..400 {
            let unsent = mentorship::with_db!(&self.state().db, |c| sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL AND dead_at IS NULL"
            )
            .fetch_one(c)
            .await)
            .unwrap();
            if unsent == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the outbox did not empty in 10 s");
    }

    pub async fn stop(mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await.unwrap();
        }
    }
}

impl TestApp {
    /// Logs `user` in again (after moving the clock past the access token's lifetime).
    pub async fn relogin(&self, user: &mut User) {
        let (status, tokens) = self.login(&user.username, &user.password).await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        user.token = tokens["access_token"].as_str().unwrap().to_owned();
        user.refresh_token = tokens["refresh_token"].as_str().unwrap().to_owned();
    }
}

/// A `mentorship serve` process of the real binary, stopped when dropped.
pub struct ServerProcess {
    pub base: String,
    pub log_path: std::path::PathBuf,
    child: std::process::Child,
}

impl ServerProcess {
    /// Starts `mentorship serve` with these settings and waits until it is ready.
    pub async fn start(settings: &[(&str, &str)], log_dir: &std::path::Path) -> ServerProcess {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = probe.local_addr().unwrap().port();
        drop(probe);
        let log_path = log_dir.join(format!("server-{port}.log"));
        let log = std::fs::File::create(&log_path).unwrap();
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_mentorship"));
        command
            .arg("serve")
            .env("BIND_ADDR", format!("127.0.0.1:{port}"))
            .env("SECRET_KEY", "test-secret-key-0123456789abcdef0123456789")
            .env("RUST_LOG", "info")
            .env("LOG_FORMAT", "json")
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        for (key, value) in settings {
            command.env(key, value);
        }
        let child = command.spawn().expect("the mentorship binary starts");
        let process = ServerProcess {
            base: format!("http://127.0.0.1:{port}"),
            log_path,
            child,
        };
        let client = reqwest::Client::new();
        for _ in 0..200 {
            if let Ok(response) = client.get(format!("{}/health", process.base)).send().await
                && response.status() == StatusCode::OK
            {
                return process;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "the server did not become ready: {}",
            std::fs::read_to_string(&process.log_path).unwrap_or_default()
        );
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Asks for a graceful stop (SIGTERM) and waits for the exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        self.child.wait().unwrap()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free loopback address with nothing listening on it (a mail server that is down). It is
/// on 127.0.0.3, so no server of the test, all on 127.0.0.1, can take it meanwhile.
pub fn free_address() -> std::net::SocketAddr {
    let probe = std::net::TcpListener::bind("127.0.0.3:0").unwrap();
    probe.local_addr().unwrap()
}

impl TestApp {
    /// Starts the in-process server with its clock at `start` (UNIX seconds).
    pub async fn spawn_at(kind: DbKind, start: f64) -> TestApp {
        let app = TestApp::spawn(kind).await;
        app.clock.set(start);
        app
    }

    /// Stops the in-process server but keeps the database and the mailbox, for processes to use.
    pub async fn stop_server(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await.unwrap();
        }
    }
}

/// A minimal join-all (the tests' dependencies have no futures crate).
pub async fn join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut pinned: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, future) in pinned.iter_mut().enumerate() {
            if outputs[i].is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(output) => outputs[i] = Some(output),
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
