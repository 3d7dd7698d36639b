//! The `mentorship` command: serve (default), migrate, jobs, admin, openapi.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use mentorship::app::{self, ServeOptions};
use mentorship::config::{Config, LogFormat};
use mentorship::domain::clock::{Clock, parse_rfc3339};
use mentorship::jobs::Job;
use mentorship::services::audit::Verification;

#[derive(Parser)]
#[command(
    name = "mentorship",
    version,
    about = "A mentorship program server (SQLite or PostgreSQL)."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Apply migrations, then serve HTTP and run the mail worker and the scheduler (the default).
    Serve,
    /// Apply the database migrations and exit.
    Migrate,
    /// Scheduled jobs.
    Jobs {
        #[command(subcommand)]
        command: JobsCommand,
    },
    /// Admin accounts.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// The audit trail.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Print the OpenAPI document.
    Openapi,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the audit trail's hash chain; exits non-zero and names the first bad event.
    Verify,
}

#[derive(Subcommand)]
enum JobsCommand {
    /// Run one job once: complete-relations, delete-unverified-users, optimize-search-index,
    /// remind-meetings or purge-expired.
    Run {
        name: String,
        /// Run as if the clock read this RFC 3339 time (default: now).
        #[arg(long)]
        now: Option<String>,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Make a user an admin, by username or e-mail.
    Grant { who: String },
}

/// mimalloc hands freed memory back to the system. With glibc's allocator, the 19 MiB blocks
/// of concurrent Argon2 hashes stay in the process after a burst of logins (hundreds of MB).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// SQLite, in C, allocates with glibc's malloc, which gives each thread that allocates at once an
/// arena of its own and keeps what is freed in it: with a worker thread per SQLite connection,
/// that held 6 MB more under a read load. One arena is enough for SQLite's small allocations.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_malloc_arenas() {
    // SAFETY: `mallopt` takes two integers and changes a malloc tuning parameter; it is called
    // here before any SQLite connection exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}

#[tokio::main]
async fn main() -> ExitCode {
    limit_malloc_arenas();
    let cli = Cli::parse();
    if let Some(Command::Openapi) = cli.command {
        let spec = mentorship::http::openapi_document();
        println!("{}", spec.to_pretty_json().expect("the spec serializes"));
        return ExitCode::SUCCESS;
    }
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("configuration error: {err}");
            return ExitCode::from(2);
        }
    };
    init_logging(config.log_format);
    match run(cli.command.unwrap_or(Command::Serve), config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err:#}");
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Pretty => builder.init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .init(),
    }
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            app::migrate(&config).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Jobs {
            command: JobsCommand::Run { name, now },
        } => {
            let job = Job::from_name(&name).with_context(|| {
                let names: Vec<&str> = Job::ALL.iter().map(|job| job.name()).collect();
                format!("unknown job {name:?}: use one of {}", names.join(", "))
            })?;
            let clock = match now {
                None => Clock::system(),
                Some(text) => Clock::manual(
                    parse_rfc3339(&text)
                        .with_context(|| format!("--now {text:?} is not an RFC 3339 time"))?,
                ),
            };
            let report = app::run_job_once(config, job, clock).await?;
            println!(
                "{}: {} rows changed in {:.1} s",
                job.name(),
                report.changed,
                report.seconds
            );
            if report.left_queued > 0 {
                println!(
                    "{} mails still queued: a running server delivers them",
                    report.left_queued
                );
            }
            Ok(())
        }
        Command::Admin {
            command: AdminCommand::Grant { who },
        } => {
            let state = app::connect(config, Clock::system()).await?;
            let user = mentorship::services::admin::grant_by_operator(&state, &who).await?;
            // No chainer runs in this process: chain the grant's audit event before leaving.
            state.chain_pending_audit().await?;
            println!("{} ({}) is now an admin", user.username, user.email);
            Ok(())
        }
        Command::Audit {
            command: AuditCommand::Verify,
        } => {
            let state = app::connect(config, Clock::system()).await?;
            match mentorship::services::audit::verify(&state).await? {
                Verification::Intact {
                    checked,
                    first,
                    last,
                } => {
                    println!("audit trail intact: {checked} events checked ({first} to {last})");
                    Ok(())
                }
                Verification::Broken(fault) => {
                    anyhow::bail!("audit trail broken at event {}: {fault}", fault.seq())
                }
            }
        }
        Command::Openapi => Ok(()),
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let server = app::start(config, ServeOptions::default()).await?;
    tracing::info!(
        address = %server.addr,
        public_url = %server.state.config.public_url,
        "listening; API docs at {}/docs",
        server.state.config.public_url
    );
    shutdown_signal().await;
    server.stop().await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
