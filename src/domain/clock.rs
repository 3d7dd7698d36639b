//! The one source of "now" in the system. Production reads the system clock; tests and the
//! `--now` option of `mentorship jobs run` set it, so no rule ever depends on sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// UNIX time in seconds (UTC), with microsecond precision.
pub type Timestamp = f64;

/// A clock that is either the system clock or a manually set one, shared by all clones.
#[derive(Clone, Debug)]
pub struct Clock {
    /// Microseconds since the epoch when set manually; `i64::MIN` means "follow the system clock".
    manual_micros: Arc<AtomicI64>,
}

const SYSTEM: i64 = i64::MIN;

impl Clock {
    pub fn system() -> Clock {
        Clock {
            manual_micros: Arc::new(AtomicI64::new(SYSTEM)),
        }
    }

    /// A clock frozen at `at` until it is set or advanced again.
    pub fn manual(at: Timestamp) -> Clock {
        let clock = Clock::system();
        clock.set(at);
        clock
    }

    pub fn now(&self) -> Timestamp {
        match self.manual_micros.load(Ordering::SeqCst) {
            SYSTEM => system_now(),
            micros => micros as f64 / 1e6,
        }
    }

    pub fn set(&self, at: Timestamp) {
        self.manual_micros
            .store((at * 1e6).round() as i64, Ordering::SeqCst);
    }

    /// Moves a manual clock forward (a system clock becomes manual at now + `seconds`).
    pub fn advance(&self, seconds: f64) {
        self.set(self.now() + seconds);
    }
}

pub fn system_now() -> Timestamp {
    let elapsed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (elapsed.as_micros() as f64) / 1e6
}

/// Formats a timestamp as the reference's ISO-8601 naive UTC string (`2026-11-22T23:56:32.276863`).
pub fn iso_naive(at: Timestamp) -> String {
    let micros = (at * 1e6).round() as i64;
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string())
        .unwrap_or_default()
}

/// Formats a timestamp as a human-readable date for e-mails (`24-11-2026`, as the reference).
pub fn day_month_year(at: Timestamp) -> String {
    chrono::DateTime::from_timestamp(at as i64, 0)
        .map(|t| t.format("%d-%m-%Y").to_string())
        .unwrap_or_default()
}

/// Parses an RFC 3339 date-time (`2026-12-01T23:59:00Z`) into a timestamp.
pub fn parse_rfc3339(text: &str) -> Option<Timestamp> {
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.timestamp_micros() as f64 / 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_is_shared_by_its_clones_and_advances() {
        let clock = Clock::manual(1_000.5);
        let other = clock.clone();
        other.advance(10.0);
        assert_eq!(clock.now(), 1_010.5);
    }

    #[test]
    fn iso_naive_matches_the_reference_format() {
        assert_eq!(
            iso_naive(1_795_393_779.276863),
            "2026-11-23T00:29:39.276863"
        );
    }
}
