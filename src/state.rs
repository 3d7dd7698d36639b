//! What every request, job and command shares ([`AppState`]), and the unit of work every
//! change goes through ([`UnitOfWork`]): one transaction that also carries the rows queued with
//! the change (outbox messages and audit events), so they commit together or not at all.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

use crate::config::Config;
use crate::domain::audit::{self, Event, UnchainedEvent};
use crate::domain::clock::Clock;
use crate::error::Result;
use crate::mail::Outgoing;
use crate::outbox::Message;
use crate::security::Keys;
use crate::security::password::PasswordHasher;
use crate::store::{self, Db, Tx};

/// Pending audit events chained per transaction.
const CHAIN_BATCH: i64 = 500;

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
    /// Wakes the audit chainer once a transaction that staged audit events has committed.
    pub audit_wake: Arc<Notify>,
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
            audit_wake: Arc::new(Notify::new()),
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

    /// PostgreSQL: chains every pending audit event (`audit_pending`), oldest first, in
    /// batches, each in a short transaction under the chaining lock; returns how many. Run by
    /// the chainer after changes commit, and by every reader of the trail before it reads (if
    /// a chainer holds the lock, this waits for it and then finds little or nothing left), so
    /// a reader sees every change committed before it. SQLite chains in the change's own
    /// transaction instead: nothing is pending there unless written by hand.
    pub async fn chain_pending_audit(&self) -> Result<u64> {
        // Nothing pending in a plain read means every change committed before it is chained
        // (an event leaves `audit_pending` in the transaction that chains it): no lock needed.
        if !store::audit::any_pending(&self.db).await? {
            return Ok(0);
        }
        let mut chained = 0;
        loop {
            let mut tx = self.db.begin().await?;
            store::audit::lock_chain(&mut tx).await?;
            let pending = store::audit::pending(&mut tx, CHAIN_BATCH).await?;
            if pending.is_empty() {
                tx.commit().await?;
                return Ok(chained);
            }
            let head = store::audit::head(&mut tx).await?;
            let (ids, events): (Vec<i64>, Vec<UnchainedEvent>) = pending.into_iter().unzip();
            let rows = audit::chain((head.0, &head.1), events);
            store::audit::append(&mut tx, &rows).await?;
            store::audit::unstage(&mut tx, &ids).await?;
            tx.commit().await?;
            chained += ids.len() as u64;
            if (ids.len() as i64) < CHAIN_BATCH {
                return Ok(chained);
            }
        }
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
    /// SQLite: chains the change's events after the head and inserts them in its own
    /// transaction, which already excludes every other writer. Returns the new head.
    async fn chain_in_transaction(&mut self, events: Vec<UnchainedEvent>) -> Result<(i64, String)> {
        // With one event and the head this process committed last, one conditional insert;
        // if another process appended since, it inserts nothing and the head is read.
        if let (Some(seen), 1) = (self.state.audit_head_seen(), events.len()) {
            let rows = audit::chain((seen.0, &seen.1), events.clone());
            if store::audit::append_if_head(&mut self.tx, (seen.0, &seen.1), &rows[0]).await? {
                return Ok((rows[0].seq, rows[0].hash.clone()));
            }
        }
        let head = store::audit::head(&mut self.tx).await?;
        let rows = audit::chain((head.0, &head.1), events);
        store::audit::append(&mut self.tx, &rows).await?;
        let last = rows.last().expect("at least one event");
        Ok((last.seq, last.hash.clone()))
    }

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
        let mut sqlite_head = None;
        let mut staged = false;
        if !self.audit.is_empty() {
            let mut events = audit::unchained(&self.audit, self.state.clock.now(), &context.origin);
            if !self.erasures.is_empty() {
                // The erasing change's own events keep no personal detail either (their
                // client address is the leaving member's).
                for event in &mut events {
                    (event.detail, event.client) = (None, None);
                }
            }
            if self.tx.is_postgres() {
                // Unchained, without the chain's lock, so changes commit in parallel; the
                // chainer chains them in a batch right after (`services::audit::run_chainer`).
                store::audit::stage(&mut self.tx, &events).await?;
                staged = true;
            } else {
                sqlite_head = Some(self.chain_in_transaction(events).await?);
            }
        }
        for erasure in &self.erasures {
            store::outbox::discard_unsent_to(&mut self.tx, &erasure.email).await?;
            store::rate_limits::forget(&mut self.tx, &erasure.email).await?;
            store::rate_limits::forget(&mut self.tx, &erasure.username).await?;
            // So no chainer moves their pending events, detail and all, between the two
            // updates of `erase_member`.
            store::audit::lock_chain(&mut self.tx).await?;
            store::audit::erase_member(&mut self.tx, erasure.user_id).await?;
            store::idempotency::forget_member(&mut self.tx, erasure.user_id).await?;
        }
        self.tx.commit().await?;
        if let Some(head) = sqlite_head {
            self.state.audit_head_committed(head);
        }
        if staged {
            self.state.audit_wake.notify_one();
        }
        if !self.outbox.is_empty() {
            self.state.outbox_wake.notify_one();
        }
        Ok(())
    }
}
