//! What every request, job and command shares ([`AppState`]), and the unit of work every
//! change goes through ([`UnitOfWork`]): one transaction that also carries the rows queued with
//! the change (outbox messages and audit events), so they commit together or not at all.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

use crate::config::Config;
use crate::domain::audit::{self, Event};
use crate::domain::clock::Clock;
use crate::error::Result;
use crate::mail::Outgoing;
use crate::outbox::Message;
use crate::security::Keys;
use crate::security::password::PasswordHasher;
use crate::store::{self, Db, Tx};

/// Everything a request or a job needs, cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    pub clock: Clock,
    pub keys: Arc<Keys>,
    pub hasher: PasswordHasher,
    /// Wakes the outbox worker once a transaction that queued a message has committed.
    pub outbox_wake: Arc<Notify>,
    /// True once shutdown has begun: readiness answers 503 so the load balancer drains us.
    pub draining: Arc<AtomicBool>,
    /// The end of the audit chain as this process last committed it (SQLite only: its writers
    /// are serialized, so the next append can check it in its insert instead of reading it
    /// first; a stale value, after another process appended, only costs that read).
    audit_head: Arc<std::sync::Mutex<Option<(i64, String)>>>,
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
            outbox_wake: Arc::new(Notify::new()),
            draining: Arc::new(AtomicBool::new(false)),
            audit_head: Arc::default(),
        }
    }

    /// Starts a unit of work: a write transaction (SQLite takes its write lock at once).
    pub async fn unit_of_work(&self) -> Result<UnitOfWork<'_>> {
        Ok(UnitOfWork {
            state: self,
            tx: self.db.begin().await?,
            outbox: Vec::new(),
            audit: Vec::new(),
            erasures: Vec::new(),
        })
    }

    fn audit_head_seen(&self) -> Option<(i64, String)> {
        self.audit_head
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn audit_head_committed(&self, head: (i64, String)) {
        *self
            .audit_head
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(head);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }
}

/// One change: its transaction and what it queues. Dropped without [`UnitOfWork::commit`], it
/// rolls everything back, queued messages included.
pub struct UnitOfWork<'a> {
    state: &'a AppState,
    tx: Tx,
    outbox: Vec<Message>,
    audit: Vec<Event>,
    erasures: Vec<Erasure>,
}

/// A member whose personal data a change erases everywhere it is kept outside their own rows
/// (those go with the account): mail not yet sent to them, throttling windows naming them, and
/// the personal detail of their audit events. Done last at commit, after the change queued its
/// own mail and events.
#[derive(Debug, Clone)]
pub struct Erasure {
    pub user_id: i64,
    pub email: String,
    pub username: String,
}

impl UnitOfWork<'_> {
    /// The transaction, for the store's functions.
    pub fn tx(&mut self) -> &mut Tx {
        &mut self.tx
    }

    /// Renders a mail now and queues it with the change.
    pub fn queue_mail(&mut self, mail: Outgoing<'_>) -> Result<()> {
        self.outbox.push(Message::Mail(mail.render()?));
        Ok(())
    }

    /// Queues a message with the change.
    pub fn queue(&mut self, message: Message) {
        self.outbox.push(message);
    }

    /// Records an audit event with the change: it is chained and written at commit, in the
    /// same transaction, so there is never a change without its event or the reverse.
    pub fn audit(&mut self, event: Event) {
        self.audit.push(event);
    }

    /// Erases a leaving member's personal data with the change ([`Erasure`]).
    pub fn erase(&mut self, erasure: Erasure) {
        self.erasures.push(erasure);
    }

    /// Commits the change with everything it queued, then wakes the outbox worker.
    pub async fn commit(mut self) -> Result<()> {
        if !self.outbox.is_empty() {
            let payloads: Vec<(&'static str, String, String)> = self
                .outbox
                .iter()
                .map(|message| (message.kind(), message.payload(), message.recipient()))
                .collect();
            let rows: Vec<store::outbox::NewRow> = payloads
                .iter()
                .map(|(kind, payload, recipient)| store::outbox::NewRow {
                    kind,
                    payload,
                    recipient,
                })
                .collect();
            store::outbox::enqueue(&mut self.tx, &rows, self.state.clock.now()).await?;
        }
        let context = crate::context::current();
        if let Some((user_id, key)) = &context.idempotency {
            store::idempotency::mark_committed(&mut self.tx, *user_id, key).await?;
        }
        let mut head_before = None;
        let mut head_after = None;
        if !self.audit.is_empty() {
            let now = self.state.clock.now();
            let known = match (&self.tx, self.audit.len()) {
                (Tx::Sqlite(..), 1) => self.state.audit_head_seen(),
                _ => None,
            };
            let mut appended = None;
            if let Some(head) = known {
                let rows = audit::chain((head.0, &head.1), &self.audit, now, &context.origin);
                if store::audit::append_if_head(&mut self.tx, (head.0, &head.1), &rows[0]).await? {
                    appended = Some((head.0, rows));
                }
            }
            let (before, rows) = match appended {
                Some(done) => done,
                None => {
                    // Last, so the head of the chain (which serializes every audited change
                    // on PostgreSQL) is held only from here to the commit.
                    let head = store::audit::lock_head(&mut self.tx).await?;
                    let rows = audit::chain((head.0, &head.1), &self.audit, now, &context.origin);
                    store::audit::append(&mut self.tx, &rows).await?;
                    (head.0, rows)
                }
            };
            head_before = Some(before);
            head_after = rows.last().map(|e| (e.seq, e.hash.clone()));
        }
        for erasure in &self.erasures {
            store::outbox::discard_unsent_to(&mut self.tx, &erasure.email).await?;
            store::rate_limits::forget(&mut self.tx, &erasure.email).await?;
            store::rate_limits::forget(&mut self.tx, &erasure.username).await?;
            let after = head_before.unwrap_or(i64::MAX);
            store::audit::erase_member(&mut self.tx, erasure.user_id, after).await?;
            store::idempotency::forget_member(&mut self.tx, erasure.user_id).await?;
        }
        let sqlite = !self.tx.is_postgres();
        self.tx.commit().await?;
        if sqlite && let Some(head) = head_after {
            self.state.audit_head_committed(head);
        }
        if !self.outbox.is_empty() {
            self.state.outbox_wake.notify_one();
        }
        Ok(())
    }
}
