//! Builds the application: shared state, router, background workers, graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};

use crate::config::Config;
use crate::domain::clock::Clock;
use crate::mail::worker::{Transport, Worker};
use crate::security::Keys;
use crate::security::password::PasswordHasher;
use crate::store::{Db, Tx};

/// Everything a request or a job needs, cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    pub clock: Clock,
    pub keys: Arc<Keys>,
    pub hasher: PasswordHasher,
    /// Wakes the mail worker once a transaction that queued mail has committed.
    pub mail_wake: Arc<Notify>,
    /// True once shutdown has begun: readiness answers 503 so the load balancer drains us.
    pub draining: Arc<AtomicBool>,
}

impl AppState {
    pub fn new(db: Db, config: Config, clock: Clock) -> AppState {
        let hashing_threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        AppState {
            keys: Arc::new(Keys::derive(&config.secret_key)),
            db,
            config: Arc::new(config),
            clock,
            hasher: PasswordHasher::new(hashing_threads),
            mail_wake: Arc::new(Notify::new()),
            draining: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Commits a transaction that queued mail and wakes the delivery worker.
    pub async fn commit_with_mail(&self, tx: Tx) -> Result<(), sqlx::Error> {
        tx.commit().await?;
        self.mail_wake.notify_one();
        Ok(())
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }
}

/// A running server: its address, and the handle that stops it.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub state: AppState,
    shutdown: watch::Sender<bool>,
    handle: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl RunningServer {
    /// Begins a graceful shutdown and waits for in-flight requests and mail to finish.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(true);
        self.handle.await.context("the server task panicked")?
    }

    /// A receiver that turns true when shutdown begins.
    pub fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    /// Sends the shutdown signal without waiting.
    pub fn trigger_shutdown(&self) {
        let _ = self.shutdown.send(true);
    }

    pub async fn wait(self) -> anyhow::Result<()> {
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

/// Migrates, binds `config.bind_addr` (port 0 picks a free port) and serves until stopped.
pub async fn start(config: Config, options: ServeOptions) -> anyhow::Result<RunningServer> {
    let db = Db::connect(&config.database_url, config.database_max_connections).await?;
    db.migrate().await?;
    let transport = Transport::from_config(&config.mail_transport)?;
    let listener = TcpListener::bind(config.bind_addr)
        .await
        .with_context(|| format!("BIND_ADDR: cannot listen on {}", config.bind_addr))?;
    let addr = listener.local_addr()?;
    let state = AppState::new(db, config, options.clock);
    let (shutdown_tx, shutdown_rx) = watch::channel(false);

    let worker = Worker {
        db: state.db.clone(),
        transport,
        from: state.config.mail_from.clone(),
        clock: state.clock.clone(),
        wake: state.mail_wake.clone(),
    };
    let worker_task = tokio::spawn(worker.run(shutdown_rx.clone()));
    let scheduler_task = options.run_scheduler.then(|| {
        tokio::spawn(crate::jobs::run_scheduler(
            state.clone(),
            shutdown_rx.clone(),
        ))
    });

    let router = crate::http::router(state.clone());
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
        axum::serve(
            listener,
            axum::ServiceExt::<axum::extract::Request>::into_make_service_with_connect_info::<
                SocketAddr,
            >(router),
        )
        .with_graceful_shutdown(signal)
        .await
        .context("serving HTTP")?;
        let _ = worker_task.await;
        if let Some(task) = scheduler_task {
            let _ = task.await;
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
