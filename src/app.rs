//! The composition root: builds the shared state, the router and the background workers
//! (outbox delivery, scheduler), starts them and stops them. Nothing in the library imports
//! this module; the binary (`main.rs`) and the tests start the application through it.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::Config;
use crate::domain::clock::Clock;
use crate::jobs::Job;
use crate::mail::transport::Transport;
use crate::outbox::worker::Worker;
use crate::state::AppState;
use crate::store::{self, Db};

/// A running server: its address, its state, and the handle that stops it.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub state: AppState,
    shutdown: watch::Sender<bool>,
    handle: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl RunningServer {
    /// Begins a graceful shutdown and waits for in-flight requests and deliveries to finish.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(true);
        self.handle.await.context("the server task panicked")?
    }
}

/// Options a test (or the CLI) may change.
pub struct ServeOptions {
    pub clock: Clock,
    /// Run the scheduler of background jobs in this process.
    pub run_scheduler: bool,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            clock: Clock::system(),
            run_scheduler: true,
        }
    }
}

/// The outbox worker of `state`, delivering mail through the configured transport.
fn outbox_worker(state: &AppState) -> anyhow::Result<Worker> {
    let mail =
        Transport::from_config(&state.config.mail_transport, state.config.mail_from.clone())?;
    if mail.is_log() {
        tracing::warn!(
            "SMTP_URL is unset: e-mails, with the links in them, are written to this log. \
             That is for development; set SMTP_URL in production"
        );
    }
    Ok(Worker {
        state: state.clone(),
        mail,
    })
}

/// Migrates, binds `config.bind_addr` (port 0 picks a free port) and serves until stopped.
pub async fn start(config: Config, options: ServeOptions) -> anyhow::Result<RunningServer> {
    let db = Db::connect_with(
        &config.database_url,
        config.database_max_connections,
        config.database_acquire_timeout,
    )
    .await?;
    db.migrate().await?;
    let listener = TcpListener::bind(config.bind_addr)
        .await
        .with_context(|| format!("BIND_ADDR: cannot listen on {}", config.bind_addr))?;
    let addr = listener.local_addr()?;
    let state = AppState::new(db, config, options.clock);
    let worker = outbox_worker(&state)?;
    let (shutdown_tx, shutdown_rx) = watch::channel(false);

    let worker_task = tokio::spawn(worker.run(shutdown_rx.clone()));
    let chainer_task = tokio::spawn(crate::services::audit::run_chainer(
        state.clone(),
        shutdown_rx.clone(),
    ));
    let scheduler_task = options.run_scheduler.then(|| {
        tokio::spawn(crate::jobs::run_scheduler(
            state.clone(),
            shutdown_rx.clone(),
        ))
    });

    let router = crate::http::router(state.clone());
    let limits = crate::http::serve::Limits::from_config(&state.config);
    let serve_state = state.clone();
    let db = state.db.clone();
    let mut serve_shutdown = shutdown_rx.clone();
    let handle = tokio::spawn(async move {
        let signal = async move {
            let _ = serve_shutdown.wait_for(|stop| *stop).await;
            // Readiness turns 503 first; requests keep being served while the load balancer
            // notices, then no new connection is accepted and in-flight requests finish.
            serve_state.draining.store(true, Ordering::SeqCst);
            let drain = serve_state.config.shutdown_drain;
            tracing::info!(
                drain_seconds = drain.as_secs_f64(),
                "shutting down: readiness is now 503"
            );
            tokio::time::sleep(drain).await;
            tracing::info!("no longer accepting connections; finishing in-flight requests");
        };
        crate::http::serve::serve(listener, router, limits, signal).await;
        for (name, task) in [
            ("outbox worker", Some(worker_task)),
            ("audit chainer", Some(chainer_task)),
            ("scheduler", scheduler_task),
        ] {
            if let Some(Err(err)) = match task {
                Some(task) => Some(task.await),
                None => None,
            } {
                tracing::error!(error = %err, "the {name} stopped abnormally");
            }
        }
        db.close().await;
        Ok(())
    });
    Ok(RunningServer {
        addr,
        state,
        shutdown: shutdown_tx,
        handle,
    })
}

/// Connects and migrates, for a command that works without serving (`jobs run`, `admin`).
pub async fn connect(config: Config, clock: Clock) -> anyhow::Result<AppState> {
    let db = Db::connect_with(&config.database_url, 4, config.database_acquire_timeout).await?;
    db.migrate().await?;
    Ok(AppState::new(db, config, clock))
}

/// Applies the migrations and closes.
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    let db = Db::connect(&config.database_url, 2).await?;
    db.migrate().await?;
    db.close().await;
    Ok(())
}

/// What `mentorship jobs run` did.
pub struct JobReport {
    pub changed: u64,
    pub seconds: f64,
    /// Messages still in the outbox after the command's delivery budget.
    pub left_queued: i64,
}

/// Runs one job once, as if the clock read `clock`'s time, then delivers the mail it queued
/// for up to half a minute: a command run alone should not leave it waiting, but a large run's
/// remaining mail is left to the servers' workers. Delivery failures stay queued, and are
/// reported as warnings, never as the job's failure.
pub async fn run_job_once(config: Config, job: Job, clock: Clock) -> anyhow::Result<JobReport> {
    const BUDGET: std::time::Duration = std::time::Duration::from_secs(30);
    let state = connect(config, clock.clone()).await?;
    let started = std::time::Instant::now();
    let changed = job.run(&state, clock.now()).await?;
    let seconds = started.elapsed().as_secs_f64();
    // No chainer runs in this process: chain the job's audit events before leaving.
    state.chain_pending_audit().await?;
    let worker = outbox_worker(&state)?;
    let deadline = std::time::Instant::now() + BUDGET;
    while std::time::Instant::now() < deadline {
        match worker.deliver_due().await {
            Ok(0) => break,
            Ok(_) => {}
            Err(err) => {
                tracing::warn!(
                    error = format!("{err:#}"),
                    "delivering the job's mail failed"
                );
                break;
            }
        }
    }
    let backlog = store::outbox::backlog(&state.db, crate::outbox::MAIL).await?;
    Ok(JobReport {
        changed,
        seconds,
        left_queued: backlog.unsent,
    })
}
