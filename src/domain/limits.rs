//! Rate limits: how many hits a key may take in a window, and what a refused hit is told.
//! The counting is one atomic statement in the store (`store::rate_limits::hit`).

use crate::domain::clock::Timestamp;

/// A limit on the hits of one key.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limit {
    /// Windows of this many seconds, aligned on the epoch.
    pub window_secs: f64,
    /// Hits allowed in a window.
    pub max_hits: i64,
    /// Past `max_hits`, one more hit every this many seconds (spacing attempts out rather than
    /// refusing them until the window ends); `None` refuses until then.
    pub spacing_secs: Option<f64>,
}

/// The outcome of a hit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RateDecision {
    Allowed,
    /// Refused; trying again after this many seconds may succeed.
    Refused {
        retry_after_secs: u64,
    },
}

impl Limit {
    pub fn window_start(&self, now: Timestamp) -> Timestamp {
        (now / self.window_secs).floor() * self.window_secs
    }

    /// What a refused hit is told, given the last hit counted.
    pub fn refusal(&self, now: Timestamp, last_hit_at: Timestamp) -> RateDecision {
        let until = match self.spacing_secs {
            Some(spacing) => last_hit_at + spacing,
            None => self.window_start(now) + self.window_secs,
        };
        RateDecision::Refused {
            retry_after_secs: (until - now).ceil().max(1.0) as u64,
        }
    }
}

/// Logins for one account from one client address: 5 a minute, as in the reference.
pub const LOGIN_PER_ADDRESS: Limit = Limit {
    window_secs: 60.0,
    max_hits: 5,
    spacing_secs: None,
};

/// Logins for one account from anywhere: past 10 a minute, one every 3 seconds. A guess spread
/// over many addresses is slowed down, while the owner, from an address of their own, is kept
/// waiting seconds at most (strangers cannot lock them out).
pub const LOGIN_PER_ACCOUNT: Limit = Limit {
    window_secs: 60.0,
    max_hits: 10,
    spacing_secs: Some(3.0),
};

/// Mails of one kind (verification, password reset) to one address: 3 an hour.
pub const MAILS_PER_ADDRESS: Limit = Limit {
    window_secs: 3_600.0,
    max_hits: 3,
    spacing_secs: None,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_says_when_to_come_back() {
        let now = 1_000_030.0;
        assert_eq!(
            LOGIN_PER_ADDRESS.refusal(now, now - 1.0),
            RateDecision::Refused {
                retry_after_secs: 50
            }
        );
        assert_eq!(
            LOGIN_PER_ACCOUNT.refusal(now, now - 1.0),
            RateDecision::Refused {
                retry_after_secs: 2
            }
        );
    }
}
