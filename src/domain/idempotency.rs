//! Idempotent retries: the pure rules. A retry with the same `Idempotency-Key` and the same
//! request gets the first answer again; the same key with another request is refused.

use sha2::{Digest, Sha256};

use super::clock::Timestamp;

/// Keys are kept this long (and purged after).
pub const KEPT_SECS: f64 = 24.0 * 3_600.0;
/// A claim whose request has not committed a change after this long is taken to have died
/// with its process (requests time out after 30 s), and the key may be claimed again.
pub const IN_FLIGHT_LEASE_SECS: f64 = 60.0;
/// The longest key taken.
pub const MAX_KEY_LEN: usize = 255;

/// Whether a key is usable: 1 to 255 printable ASCII characters.
pub fn valid_key(key: &[u8]) -> bool {
    !key.is_empty() && key.len() <= MAX_KEY_LEN && key.iter().all(|b| (0x20..=0x7e).contains(b))
}

/// What identifies a request: its method, path with query, and body.
pub fn fingerprint(method: &str, path_and_query: &str, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(method.as_bytes());
    hasher.update(b"\n");
    hasher.update(path_and_query.as_bytes());
    hasher.update(b"\n");
    hasher.update(body);
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Where a claimed key stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Its request is running (or died before changing anything).
    InFlight,
    /// Its request's change committed; the answer is not stored yet.
    Committed,
    /// The answer is stored.
    Completed,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::InFlight => "in_flight",
            KeyState::Committed => "committed",
            KeyState::Completed => "completed",
        }
    }

    pub fn parse(text: &str) -> Option<KeyState> {
        [KeyState::InFlight, KeyState::Committed, KeyState::Completed]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// A stored key, as the decision needs it.
#[derive(Debug, Clone)]
pub struct StoredKey {
    pub fingerprint: String,
    pub state: KeyState,
    pub created_at: Timestamp,
}

/// What to do with a request whose key is already stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The key is free again (expired, or its request died without a change): claim it anew.
    Reclaim,
    /// Send the stored answer again.
    Replay,
    /// Another request used this key: 422.
    Mismatch,
    /// The first request has not answered yet: 409.
    Busy,
}

/// Decides about a request with `fingerprint` whose key is already stored.
pub fn decide(stored: &StoredKey, fingerprint: &str, now: Timestamp) -> Decision {
    if stored.created_at < now - KEPT_SECS {
        return Decision::Reclaim;
    }
    if stored.fingerprint != fingerprint {
        return Decision::Mismatch;
    }
    match stored.state {
        KeyState::Completed => Decision::Replay,
        KeyState::InFlight if stored.created_at < now - IN_FLIGHT_LEASE_SECS => Decision::Reclaim,
        KeyState::InFlight | KeyState::Committed => Decision::Busy,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_short_printable_ascii() {
        assert!(valid_key(b"a"));
        assert!(valid_key(b"4f1c-9a ~!"));
        assert!(valid_key(&[b'k'; 255]));
        assert!(!valid_key(b""));
        assert!(!valid_key(&[b'k'; 256]));
        assert!(!valid_key(b"tab\there"));
        assert!(!valid_key("clé".as_bytes()));
    }

    #[test]
    fn decisions() {
        let now = 1_000_000.0;
        let stored = |state, age: f64| StoredKey {
            fingerprint: "f".into(),
            state,
            created_at: now - age,
        };
        assert_eq!(
            decide(&stored(KeyState::Completed, 5.0), "f", now),
            Decision::Replay
        );
        assert_eq!(
            decide(&stored(KeyState::Completed, 5.0), "g", now),
            Decision::Mismatch
        );
        assert_eq!(
            decide(&stored(KeyState::InFlight, 5.0), "f", now),
            Decision::Busy
        );
        assert_eq!(
            decide(&stored(KeyState::InFlight, 61.0), "f", now),
            Decision::Reclaim
        );
        assert_eq!(
            decide(&stored(KeyState::Committed, 600.0), "f", now),
            Decision::Busy
        );
        assert_eq!(
            decide(&stored(KeyState::Completed, KEPT_SECS + 1.0), "g", now),
            Decision::Reclaim
        );
        assert_ne!(
            fingerprint("POST", "/a", b"{}"),
            fingerprint("PUT", "/a", b"{}")
        );
        assert_ne!(
            fingerprint("POST", "/a", b"{}"),
            fingerprint("POST", "/a", b"{ }")
        );
    }
}
