//! Storage: one code base over SQLite and PostgreSQL, chosen at run time by `DATABASE_URL`.
//!
//! Each query is written once with `$n` placeholders (both drivers accept them) and run through
//! [`with_db!`] / [`with_tx!`], which type-check the body once per driver. Dialect-specific SQL is
//! kept to the few places that need it. Every function here is plain SQL: rules live in `services`.
//! Functions that write take a transaction ([`Tx`], from the service's unit of work), never the
//! pool; reads take whichever they run in.

use std::collections::HashMap;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use anyhow::Context;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, Postgres, Sqlite, SqlitePool, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard};

pub mod audit;
pub mod codec;
pub mod console;
pub mod housekeeping;
pub mod idempotency;
pub mod jobs;
pub mod meetings;
pub mod outbox;
pub mod preferences;
pub mod rate_limits;
pub mod relations;
pub mod reminders;
pub mod sessions;
pub mod substitutes;
pub mod tasks;
pub mod tokens;
pub mod users;

/// A connection pool to one of the two supported databases.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// An open transaction on either database. A SQLite one also holds its database's write gate
/// (declared after the transaction, so it is released after the transaction has ended).
pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>, OwnedMutexGuard<()>),
    Postgres(Transaction<'static, Postgres>),
}

/// Runs `$body` with `$c` bound to the pool of whichever database `$db` is.
#[macro_export]
macro_rules! with_db {
    ($db:expr, |$c:ident| $body:expr) => {
        match $db {
            $crate::store::Db::Sqlite($c) => $body,
            $crate::store::Db::Postgres($c) => $body,
        }
    };
}

/// Runs `$body` with `$c` bound to the connection of the transaction `$tx`.
#[macro_export]
macro_rules! with_tx {
    ($tx:expr, |$c:ident| $body:expr) => {
        match $tx {
            $crate::store::Tx::Sqlite(t, _) => {
                let $c = &mut **t;
                $body
            }
            $crate::store::Tx::Postgres(t) => {
                let $c = &mut **t;
                $body
            }
        }
    };
}

/// Where a read runs: on the pool, or inside a unit of work's transaction (to see its own
/// writes and, where a query locks, to hold its rows). For the reads both kinds of caller need.
pub enum Conn<'a> {
    Db(&'a Db),
    Tx(&'a mut Tx),
}

impl<'a> From<&'a Db> for Conn<'a> {
    fn from(db: &'a Db) -> Conn<'a> {
        Conn::Db(db)
    }
}

impl<'a> From<&'a mut Tx> for Conn<'a> {
    fn from(tx: &'a mut Tx) -> Conn<'a> {
        Conn::Tx(tx)
    }
}

/// Runs `$body` with `$c` bound to the pool or the transaction's connection of `$conn`.
#[macro_export]
macro_rules! with_conn {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::store::Conn::Db(db) => $crate::store::with_db!(db, |$c| $body),
            $crate::store::Conn::Tx(tx) => $crate::store::with_tx!(tx, |$c| $body),
        }
    };
}

pub use crate::{with_conn, with_db, with_tx};

/// Marks a backfill done.
async fn backfill_done(tx: &mut Tx, name: &str) -> Result<(), sqlx::Error> {
    with_tx!(tx, |c| sqlx::query(
        "DELETE FROM pending_backfills WHERE name = $1"
    )
    .bind(name)
    .execute(c)
    .await
    .map(|_| ()))
}

/// A pooled PostgreSQL connection idle longer than this is pinged before it is handed out, so
/// one the server or a proxy closed meanwhile is replaced instead of failing a request. sqlx's
/// default pings on every acquire: a second round trip for every query, which cost a quarter
/// of the throughput of a read by id on this 2-core machine. A connection in steady use was
/// alive a moment ago; should it die anyway, its query fails once and the pool drops it.
const PING_IF_IDLE: Duration = Duration::from_secs(10);

/// How long a query waits for a connection (or for SQLite's write lock) unless configured.
pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

impl Db {
    /// Connects to `url` (`sqlite:...` or `postgres://...`).
    pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Db> {
        Db::connect_with(url, max_connections, DEFAULT_ACQUIRE_TIMEOUT).await
    }

    /// Connects, with the time a query may wait for a connection (or for SQLite's write lock)
    /// before it fails: when the database is down or locked, requests are refused in that
    /// time (503) instead of hanging.
    pub async fn connect_with(
        url: &str,
        max_connections: u32,
        acquire_timeout: Duration,
    ) -> anyhow::Result<Db> {
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .with_context(|| "DATABASE_URL is not a valid SQLite URL")?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(acquire_timeout)
                // 512 KiB of page cache per connection instead of 2 MiB: the operating system
                // caches the file too, and every connection keeps its own cache (peak RSS
                // under 64 connections of reads: 34 MB with 1 MiB, 29 MB with 512 KiB, at the
                // same throughput).
                .pragma("cache_size", "-512");
            // The database holds password hashes and tokens: only its owner may read it. SQLite
            // gives its -wal and -shm files the database file's permissions.
            let file = options.get_filename();
            if let Some(dir) = file.parent()
                && !dir.as_os_str().is_empty()
            {
                crate::files::create_private_dir(dir)
                    .with_context(|| format!("creating the database folder {}", dir.display()))?;
            }
            if !file.as_os_str().is_empty() && file != std::path::Path::new(":memory:") {
                crate::files::create_private_file(file)
                    .with_context(|| format!("creating the database file {}", file.display()))?;
            }
            // An in-process SQLite connection cannot drop: no liveness check (see `PING_IF_IDLE`).
            let pool = SqlitePoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(acquire_timeout)
                .min_connections(1)
                .test_before_acquire(false)
                .connect_with(options)
                .await
                .context("opening the SQLite database")?;
            Ok(Db::Sqlite(pool))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let options = PgConnectOptions::from_str(url)
                .with_context(|| "DATABASE_URL is not a valid PostgreSQL URL")?;
            let pool = PgPoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(acquire_timeout)
                .test_before_acquire(false)
                .before_acquire(|conn, meta| {
                    Box::pin(async move {
                        if meta.idle_for > PING_IF_IDLE {
                            sqlx::Connection::ping(conn).await?;
                        }
                        Ok(true)
                    })
                })
                .connect_with(options)
                .await
                .context("connecting to PostgreSQL")?;
            Ok(Db::Postgres(pool))
        } else {
            anyhow::bail!("DATABASE_URL must start with sqlite: or postgres://")
        }
    }

    /// Applies the embedded migrations. On PostgreSQL the migrator holds an advisory lock, so
    /// several instances may start at once.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        match self {
            Db::Sqlite(pool) => sqlx::migrate!("./migrations/sqlite").run(pool).await,
            Db::Postgres(pool) => sqlx::migrate!("./migrations/postgres").run(pool).await,
        }
        .context("applying database migrations")?;
        self.run_backfills()
            .await
            .context("backfilling after the migrations")
    }

    /// Does the work migrations left to Rust (`pending_backfills`), in batches; each is
    /// idempotent, so instances migrating at once may both run it.
    async fn run_backfills(&self) -> anyhow::Result<()> {
        let pending = with_db!(self, |c| sqlx::query_scalar::<_, String>(
            "SELECT name FROM pending_backfills"
        )
        .fetch_all(c)
        .await)?;
        for name in pending {
            // Each backfill goes through the members in id order, a batch per transaction.
            let mut after = 0;
            loop {
                let mut tx = self.begin().await?;
                let last = match name.as_str() {
                    "mentor_words" => {
                        substitutes::backfill_words_step(&mut tx, after, 1_000).await?
                    }
                    "member_skills" => users::backfill_skills_step(&mut tx, after, 1_000).await?,
                    other => anyhow::bail!("unknown backfill {other:?}"),
                };
                tx.commit().await?;
                match last {
                    Some(last) => after = last,
                    None => break,
                }
            }
            let mut tx = self.begin().await?;
            backfill_done(&mut tx, &name).await?;
            tx.commit().await?;
            tracing::info!(backfill = name, "backfill done");
        }
        Ok(())
    }

    /// Starts a write transaction. SQLite takes the write lock up front (`BEGIN IMMEDIATE`) so two
    /// writers never deadlock upgrading a read lock, and a race loser sees the constraint error.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Db::Sqlite(pool) => {
                let wait = pool.options().get_acquire_timeout();
                let gate = tokio::time::timeout(wait, sqlite_write_gate(pool).lock_owned())
                    .await
                    .map_err(|_| sqlx::Error::PoolTimedOut)?;
                Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?, gate)
            }
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// Starts a read-only transaction that sees one snapshot of the database throughout (for
    /// reads that must agree with each other, such as verifying the audit chain). On SQLite a
    /// deferred transaction holds its snapshot from its first read and blocks no writer.
    pub async fn begin_snapshot(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Db::Sqlite(pool) => {
                // The gate is not taken: this transaction never writes.
                let gate = Arc::new(Mutex::new(())).lock_owned().await;
                Tx::Sqlite(pool.begin().await?, gate)
            }
            Db::Postgres(pool) => Tx::Postgres(
                pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .await?,
            ),
        })
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Db::Postgres(_))
    }

    /// Readiness: the database answers a trivial query.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        with_db!(self, |c| sqlx::query("SELECT 1")
            .execute(c)
            .await
            .map(|_| ()))
    }

    /// Connections in the pool, and how many of them are idle.
    pub fn pool_stats(&self) -> (u32, usize) {
        with_db!(self, |pool| (pool.size(), pool.num_idle()))
    }

    pub async fn close(&self) {
        with_db!(self, |c| c.close().await)
    }
}

/// The write gate of a SQLite database file, shared by every pool of this process on it.
///
/// SQLite lets one writer in at a time. Without the gate, concurrent writers each hold a pooled
/// connection while SQLite's busy handler makes them sleep and retry with growing pauses (up to
/// 100 ms): the benchmark's write p99 reached 150 ms and readers waited for connections. With
/// it, this process's writers queue in order and take a connection only when it is their turn.
/// Other processes on the file (`mentorship jobs run`) still meet the busy timeout.
fn sqlite_write_gate(pool: &SqlitePool) -> Arc<Mutex<()>> {
    static GATES: LazyLock<std::sync::Mutex<HashMap<PathBuf, Arc<Mutex<()>>>>> =
        LazyLock::new(Default::default);
    let file = pool.connect_options().get_filename().to_path_buf();
    let mut gates = GATES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    gates.entry(file).or_default().clone()
}

impl Tx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(t, _) => t.commit().await,
            Tx::Postgres(t) => t.commit().await,
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Tx::Postgres(_))
    }
}

/// The constraints a use case has a meaning for, each known here by its name in the schema: the
/// one place that turns a broken constraint into something a service can match on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Constraint {
    /// `users_username_lower_key`: usernames are unique regardless of case.
    UsernameTaken,
    /// `users_email_lower_key`: e-mail addresses are unique regardless of case.
    EmailTaken,
    /// `mentorship_relations_pending_pair_key`: one pending request per pair of members.
    PendingRequestExists,
    /// `current_relations`' key: a member is in one accepted relation at most.
    AlreadyInCurrentRelation,
}

impl Constraint {
    /// The constraint `err` broke, if it is one of those above.
    pub fn of(err: &sqlx::Error) -> Option<Constraint> {
        let name = violated_constraint(err)?;
        Some(if name.contains("users_username_lower_key") {
            Constraint::UsernameTaken
        } else if name.contains("users_email_lower_key") {
            Constraint::EmailTaken
        } else if name.contains("pending_pair") || name.starts_with("mentorship_relations.") {
            Constraint::PendingRequestExists
        } else if name.contains("current_relations") {
            Constraint::AlreadyInCurrentRelation
        } else {
            return None;
        })
    }
}

/// Turns one broken constraint of a store call into the use case's own error; any other
/// database error stays unexpected.
pub trait OnConstraint<T> {
    fn on_constraint(
        self,
        constraint: Constraint,
        error: impl FnOnce() -> crate::error::Error,
    ) -> Result<T, crate::error::Error>;
}

impl<T> OnConstraint<T> for Result<T, sqlx::Error> {
    fn on_constraint(
        self,
        constraint: Constraint,
        error: impl FnOnce() -> crate::error::Error,
    ) -> Result<T, crate::error::Error> {
        match self {
            Err(err) if Constraint::of(&err) == Some(constraint) => Err(error()),
            other => other.map_err(Into::into),
        }
    }
}

/// The name of the unique index or constraint a database error broke, if it is such an error.
///
/// PostgreSQL reports the name in `constraint()`; SQLite only in the message
/// (`UNIQUE constraint failed: index 'users_username_lower_key'`), so both are looked at.
fn violated_constraint(err: &sqlx::Error) -> Option<String> {
    let db_err = err.as_database_error()?;
    if !(db_err.is_unique_violation() || db_err.is_foreign_key_violation()) {
        return None;
    }
    if let Some(name) = db_err.constraint() {
        return Some(name.to_owned());
    }
    let message = db_err.message();
    if let Some(start) = message.find("index '") {
        let rest = &message[start + 7..];
        return rest.find('\'').map(|end| rest[..end].to_owned());
    }
    // SQLite names the columns of a primary key or inline unique constraint: `table.column`.
    message
        .strip_prefix("UNIQUE constraint failed: ")
        .map(|cols| cols.to_owned())
}

/// Escapes `%`, `_` and `\` so a user's search text matches literally inside `LIKE ... ESCAPE '\'`.
pub fn like_pattern(text: &str) -> String {
    format!("%{}%", like_escape(text))
}

/// `text` with `%`, `_` and `\` escaped for `LIKE ... ESCAPE '\'`.
pub fn like_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for ch in text.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(ch);
    }
    escaped
}

/// `LIMIT n OFFSET m`, written into the SQL rather than bound. Both databases plan with the
/// value of a limit: SQLite (3.51) re-prepares a statement with a bound `LIMIT` on every
/// execution (parsing and planning `GET /meetings` anew each time cost two thirds of its
/// throughput), and PostgreSQL plans a `LIMIT $n` as if it kept a tenth of the table, so its
/// generic plan never wins and it re-plans every execution too. Apps ask for few distinct
/// pages, and jobs use one batch size: each statement is still prepared once per connection.
/// The bounds are integers, so formatting them cannot inject anything.
pub fn limit_offset(limit: i64, offset: i64) -> String {
    format!("LIMIT {limit} OFFSET {offset}")
}

/// `column` is one of a list bound as one parameter `$param` holding a JSON array (of ids or
/// words): the statement's text stays the same whatever the list, so it is prepared once per
/// connection and its plan reused, where a list spelled into the text would be parsed and
/// planned on every call (3 ms of planning for 100 ids on PostgreSQL) and crowd the statement
/// cache. On PostgreSQL the list becomes an array first, so an index on `column` serves the
/// lookup (`= ANY` of an array is an index condition; `IN (SELECT ...)` of a function was
/// planned as a scan of the whole table). Bind [`json_list`] of the values.
pub fn in_json_list(postgres: bool, column: &str, param: usize, sql_type: &str) -> String {
    if postgres {
        format!(
            "{column} = ANY(ARRAY(SELECT value::{sql_type} FROM json_array_elements_text(${param}::json)))"
        )
    } else {
        format!("{column} IN (SELECT value FROM json_each(${param}))")
    }
}

/// The JSON array bound for an [`in_json_list`].
pub fn json_list<T: serde::Serialize>(values: &[T]) -> String {
    serde_json::to_string(values).expect("a list of plain values serializes")
}

/// The VALUES of a multi-row insert: `rows` rows of `columns` parameters each, numbered from
/// `$1` row by row: `($1, $2), ($3, $4)`.
pub fn values_list(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|row| {
            let parameters: Vec<String> = (1..=columns)
                .map(|column| format!("${}", row * columns + column))
                .collect();
            format!("({})", parameters.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A comma-separated list of ids for `IN (...)`. Ids are integers that came from the database,
/// so formatting them into SQL cannot inject anything.
pub fn id_list(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    #[test]
    fn values_list_numbers_parameters_row_by_row() {
        assert_eq!(super::values_list(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(super::values_list(1, 1), "($1)");
    }

    /// See [`super::limit_offset`]: a bound limit has each execution parsed and planned anew.
    /// Every file of the store is read, so a new one is checked too; comments may name the rule.
    #[test]
    fn no_statement_binds_its_limit() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/store");
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let source = std::fs::read_to_string(&path).unwrap();
            let code: Vec<&str> = source
                .lines()
                .filter(|line| !line.trim_start().starts_with("//"))
                .flat_map(str::split_whitespace)
                .collect();
            let squeezed = code.join(" ");
            // Spelt apart so that this test's own source does not match.
            for bound in ["LIMIT", "OFFSET"].map(|word| format!("{word} $")) {
                assert!(
                    !squeezed.contains(bound.as_str()),
                    "{} has `{bound}n`: use limit_offset()",
                    path.display()
                );
            }
        }
    }
}
