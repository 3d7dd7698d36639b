//! The audit trail's pure rules: what an event is, how it is chained to the one before, and how
//! a stored chain is checked.
//!
//! Each event's hash is `SHA-256(prev_hash || "\n" || canonical chained fields)`. The chained
//! fields hold only ids, the action, the subject, the time, the request id and a digest of the
//! personal detail (the JSON detail and the client address). The personal detail itself is
//! stored outside the chain: erasing it (account deletion) leaves the chain verifiable, and
//! while it is present its digest proves it unchanged.

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::clock::Timestamp;
use super::messages;
use crate::error::{Error, Result};

/// The hash before the first event (and the anchor before any pruning).
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One event a change records, queued on its unit of work.
#[derive(Debug, Clone)]
pub struct Event {
    /// The member who acted; `None` for the system (jobs, the operator's CLI).
    pub actor: Option<i64>,
    /// What happened, `area.verb` (`relation.accept`, `login.failure`).
    pub action: &'static str,
    /// What it happened to, `kind:id` (`user:42`, `meeting:7`).
    pub subject: String,
    /// A small JSON object of ids and states; never a secret, a token or a password.
    pub detail: Value,
}

impl Event {
    pub fn new(actor: Option<i64>, action: &'static str, subject: String) -> Event {
        Event {
            actor,
            action,
            subject,
            detail: Value::Object(Default::default()),
        }
    }

    /// The same event with `detail`.
    pub fn with(mut self, detail: Value) -> Event {
        self.detail = detail;
        self
    }
}

/// `user:42`.
pub fn user(id: i64) -> String {
    format!("user:{id}")
}

/// `relation:7`.
pub fn relation(id: i64) -> String {
    format!("relation:{id}")
}

/// `meeting:7`.
pub fn meeting(id: i64) -> String {
    format!("meeting:{id}")
}

/// `task:<relation>/<task>` (task ids are numbered per relation).
pub fn task(relation_id: i64, task_id: i64) -> String {
    format!("task:{relation_id}/{task_id}")
}

/// `comment:9`.
pub fn comment(id: i64) -> String {
    format!("comment:{id}")
}

/// An event as stored: its place in the chain, the chained fields and the personal detail.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredEvent {
    pub seq: i64,
    pub at: Timestamp,
    pub actor_id: Option<i64>,
    pub action: String,
    pub subject: String,
    pub request_id: Option<String>,
    pub detail_digest: String,
    pub prev_hash: String,
    pub hash: String,
    /// JSON text; `None` once erased.
    pub detail: Option<String>,
    /// The client's address; `None` once erased, or when the change came from no request.
    pub client: Option<String>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The digest of the personal detail that the chain covers.
pub fn detail_digest(detail: Option<&str>, client: Option<&str>) -> String {
    let canonical = serde_json::to_string(&(detail, client)).expect("strings serialize");
    hex(&Sha256::digest(canonical.as_bytes()))
}

/// The hash of an event: the previous hash and the chained fields, in a fixed JSON form. The
/// time enters as whole microseconds, so it reads back the same from either database.
pub fn event_hash(event: &StoredEvent) -> String {
    let chained = serde_json::to_string(&(
        event.seq,
        (event.at * 1e6).round() as i64,
        event.actor_id,
        &event.action,
        &event.subject,
        &event.request_id,
        &event.detail_digest,
    ))
    .expect("plain values serialize");
    let mut hasher = Sha256::new();
    hasher.update(event.prev_hash.as_bytes());
    hasher.update(b"\n");
    hasher.update(chained.as_bytes());
    hex(&hasher.finalize())
}

/// Where the request behind a change came from: stored with its events (outside the chain
/// for the client address, which is personal).
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub client: Option<String>,
    pub request_id: Option<String>,
}

/// An event as written with its change, before it has a place in the chain: its time, actor,
/// action, subject and origin. On PostgreSQL it waits in `audit_pending` until a chaining step
/// gives it a `seq` and hashes; on SQLite it is chained at once.
#[derive(Debug, Clone, PartialEq)]
pub struct UnchainedEvent {
    pub at: Timestamp,
    pub actor_id: Option<i64>,
    pub action: String,
    pub subject: String,
    pub request_id: Option<String>,
    /// JSON text; `None` once erased.
    pub detail: Option<String>,
    pub client: Option<String>,
}

/// The events a change queued, stamped with its time and origin.
pub fn unchained(events: &[Event], at: Timestamp, origin: &Origin) -> Vec<UnchainedEvent> {
    // Stored times are microseconds (PostgreSQL keeps no more): hash what reads back.
    let at = (at * 1e6).round() / 1e6;
    events
        .iter()
        .map(|event| UnchainedEvent {
            at,
            actor_id: event.actor,
            action: event.action.to_owned(),
            subject: event.subject.clone(),
            request_id: origin.request_id.clone(),
            detail: Some(event.detail.to_string()),
            client: origin.client.clone(),
        })
        .collect()
}

/// Chains `events` after the head (`seq`, `hash`), in order: the rows to insert.
pub fn chain(head: (i64, &str), events: Vec<UnchainedEvent>) -> Vec<StoredEvent> {
    let (mut seq, prev) = head;
    let mut prev = prev.to_owned();
    events
        .into_iter()
        .map(|event| {
            seq += 1;
            let mut stored = StoredEvent {
                seq,
                at: event.at,
                actor_id: event.actor_id,
                action: event.action,
                subject: event.subject,
                request_id: event.request_id,
                detail_digest: detail_digest(event.detail.as_deref(), event.client.as_deref()),
                prev_hash: std::mem::take(&mut prev),
                hash: String::new(),
                detail: event.detail,
                client: event.client,
            };
            stored.hash = event_hash(&stored);
            prev = stored.hash.clone();
            stored
        })
        .collect()
}

/// What is wrong with the first bad event of a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Events are missing before this one (deleted, or the chain reordered).
    Gap { expected: i64, found: i64 },
    /// Its `prev_hash` is not the previous event's hash (an event before it was replaced).
    Link { seq: i64 },
    /// Its hash does not match its chained fields (it was edited).
    Edited { seq: i64 },
    /// Its personal detail does not match the digest the chain covers (it was edited).
    DetailEdited { seq: i64 },
    /// The chain ends before the head says it does (the last events were deleted).
    Truncated { last: i64, head: i64 },
    /// The chain ends at another event than the head's (the end was replaced).
    HeadMismatch { seq: i64 },
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fault::Gap { expected, found } => write!(
                f,
                "event {expected} is missing (the next one found is {found}): deleted or reordered"
            ),
            Fault::Link { seq } => write!(
                f,
                "event {seq} does not follow the event before it: an earlier event was replaced"
            ),
            Fault::Edited { seq } => write!(f, "event {seq} was edited: its hash does not match"),
            Fault::DetailEdited { seq } => write!(
                f,
                "event {seq} was edited: its detail or client does not match its digest"
            ),
            Fault::Truncated { last, head } => write!(
                f,
                "events {} to {head} are missing: the end of the trail was deleted",
                last + 1
            ),
            Fault::HeadMismatch { seq } => {
                write!(f, "event {seq} is not the end the chain recorded")
            }
        }
    }
}

impl Fault {
    /// The first bad event's number.
    pub fn seq(&self) -> i64 {
        match self {
            Fault::Gap { expected, .. } => *expected,
            Fault::Truncated { last, .. } => last + 1,
            Fault::Link { seq }
            | Fault::Edited { seq }
            | Fault::DetailEdited { seq }
            | Fault::HeadMismatch { seq } => *seq,
        }
    }
}

/// Walks a chain batch by batch: starts at the anchor and checks each event in turn.
#[derive(Debug, Clone)]
pub struct Verifier {
    seq: i64,
    hash: String,
    checked: u64,
}

impl Verifier {
    /// Starts after the anchor (the last pruned event, or the genesis).
    pub fn new(anchor_seq: i64, anchor_hash: &str) -> Verifier {
        Verifier {
            seq: anchor_seq,
            hash: anchor_hash.to_owned(),
            checked: 0,
        }
    }

    /// Checks the next event.
    pub fn check(&mut self, event: &StoredEvent) -> Result<(), Fault> {
        if event.seq != self.seq + 1 {
            return Err(Fault::Gap {
                expected: self.seq + 1,
                found: event.seq,
            });
        }
        if event.prev_hash != self.hash {
            return Err(Fault::Link { seq: event.seq });
        }
        if event_hash(event) != event.hash {
            return Err(Fault::Edited { seq: event.seq });
        }
        // Erased detail (both gone) has nothing left to check; anything present must match.
        if (event.detail.is_some() || event.client.is_some())
            && detail_digest(event.detail.as_deref(), event.client.as_deref())
                != event.detail_digest
        {
            return Err(Fault::DetailEdited { seq: event.seq });
        }
        self.seq = event.seq;
        self.hash = event.hash.clone();
        self.checked += 1;
        Ok(())
    }

    /// The last event checked (the anchor if none).
    pub fn last_seq(&self) -> i64 {
        self.seq
    }

    /// Ends the walk against the head the appends keep: how many events were checked.
    pub fn finish(self, head_seq: i64, head_hash: &str) -> Result<u64, Fault> {
        if self.seq < head_seq {
            return Err(Fault::Truncated {
                last: self.seq,
                head: head_seq,
            });
        }
        if self.seq != head_seq || self.hash != head_hash {
            return Err(Fault::HeadMismatch { seq: self.seq });
        }
        Ok(self.checked)
    }
}

/// What `GET /admin/audit` asks for: each filter optional, a page of at most 100.
#[derive(Debug, Clone)]
pub struct AuditQuery {
    pub actor_id: Option<i64>,
    pub action: Option<String>,
    pub subject: Option<String>,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    pub page: super::Page,
}

impl AuditQuery {
    pub fn from_query(query: &std::collections::HashMap<String, String>) -> Result<AuditQuery> {
        let value = |key: &str| {
            query
                .get(key)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let invalid = || Error::invalid(messages::INVALID_AUDIT_FILTER);
        let time = |key: &str| -> Result<Option<Timestamp>> {
            match value(key) {
                None => Ok(None),
                Some(text) => text
                    .parse::<f64>()
                    .ok()
                    .filter(|t| t.is_finite())
                    .or_else(|| super::clock::parse_rfc3339(&text))
                    .map(Some)
                    .ok_or_else(invalid),
            }
        };
        let actor_id = match value("actor_id") {
            None => None,
            Some(text) => Some(text.parse::<i64>().map_err(|_| invalid())?),
        };
        Ok(AuditQuery {
            actor_id,
            action: value("action"),
            subject: value("subject"),
            since: time("since")?,
            until: time("until")?,
            page: super::Page::from_query(query),
        })
    }
}

impl utoipa::IntoParams for AuditQuery {
    fn into_params(
        _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        use super::query_param;
        use utoipa::openapi::schema::Type;
        vec![
            query_param("actor_id", Type::Integer, "Events by this member."),
            query_param(
                "action",
                Type::String,
                "Events of this action, e.g. relation.accept.",
            ),
            query_param(
                "subject",
                Type::String,
                "Events about this subject, e.g. user:42.",
            ),
            query_param(
                "since",
                Type::String,
                "From this time on (RFC 3339 or UNIX seconds).",
            ),
            query_param(
                "until",
                Type::String,
                "Before this time (RFC 3339 or UNIX seconds).",
            ),
            query_param("page", Type::Integer, "From 1."),
            query_param("per_page", Type::Integer, "20 by default, at most 100."),
        ]
    }
}

/// An event as admins (and the member, in their export) see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditEvent {
    /// Its place in the chain.
    pub id: i64,
    /// UNIX seconds.
    pub at: Timestamp,
    /// The member who acted; null for the system.
    pub actor_id: Option<i64>,
    pub action: String,
    /// `kind:id`, e.g. `user:42`, `meeting:7`.
    pub subject: String,
    /// A small JSON object; null once erased.
    #[schema(value_type = Option<Object>)]
    pub detail: Option<Value>,
    /// The client's address; null once erased or when no request made the change.
    pub client: Option<String>,
    pub request_id: Option<String>,
}

impl From<StoredEvent> for AuditEvent {
    fn from(e: StoredEvent) -> AuditEvent {
        AuditEvent {
            id: e.seq,
            at: e.at,
            actor_id: e.actor_id,
            action: e.action,
            subject: e.subject,
            detail: e.detail.and_then(|d| serde_json::from_str(&d).ok()),
            client: e.client,
            request_id: e.request_id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(n: usize) -> Vec<StoredEvent> {
        let events: Vec<Event> = (0..n)
            .map(|i| {
                Event::new(Some(i as i64), "relation.send", relation(i as i64))
                    .with(serde_json::json!({"state": "PENDING"}))
            })
            .collect();
        let origin = Origin {
            client: Some("127.0.0.1".into()),
            request_id: Some("r-1".into()),
        };
        chain(
            (0, GENESIS),
            unchained(&events, 1_780_000_000.123_456, &origin),
        )
    }

    fn verify(events: &[StoredEvent], head: (i64, &str)) -> Result<u64, Fault> {
        let mut verifier = Verifier::new(0, GENESIS);
        for event in events {
            verifier.check(event)?;
        }
        verifier.finish(head.0, head.1)
    }

    #[test]
    fn a_fresh_chain_verifies() {
        let events = sample(5);
        let last = events.last().unwrap();
        assert_eq!(verify(&events, (5, &last.hash.clone())), Ok(5));
    }

    #[test]
    fn each_kind_of_tampering_names_the_first_bad_event() {
        let events = sample(5);
        let head = (5, events[4].hash.clone());
        let mut edited = events.clone();
        edited[2].action = "relation.accept".into();
        assert_eq!(
            verify(&edited, (head.0, &head.1)),
            Err(Fault::Edited { seq: 3 })
        );

        let mut detail = events.clone();
        detail[1].detail = Some("{\"state\":\"ACCEPTED\"}".into());
        assert_eq!(
            verify(&detail, (head.0, &head.1)),
            Err(Fault::DetailEdited { seq: 2 })
        );

        let mut deleted = events.clone();
        deleted.remove(3);
        assert_eq!(
            verify(&deleted, (head.0, &head.1)),
            Err(Fault::Gap {
                expected: 4,
                found: 5
            })
        );

        let mut swapped = events.clone();
        swapped.swap(1, 2);
        (swapped[1].seq, swapped[2].seq) = (2, 3);
        assert_eq!(
            verify(&swapped, (head.0, &head.1)),
            Err(Fault::Link { seq: 2 })
        );

        assert_eq!(
            verify(&events[..4], (head.0, &head.1)),
            Err(Fault::Truncated { last: 4, head: 5 })
        );
    }

    #[test]
    fn erased_detail_still_verifies() {
        let mut events = sample(3);
        events[1].detail = None;
        events[1].client = None;
        let head = events[2].hash.clone();
        assert_eq!(verify(&events, (3, &head)), Ok(3));
    }
}
