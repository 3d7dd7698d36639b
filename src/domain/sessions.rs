//! Browser sessions of the web layer: who they are for and how long they live.

use super::clock::Timestamp;

/// A session ends after this long without a request.
pub const IDLE_TIMEOUT_SECS: f64 = 30.0 * 60.0;
/// A session ends this long after sign-in, however busy.
pub const ABSOLUTE_TIMEOUT_SECS: f64 = 12.0 * 3600.0;
/// A request moves the idle deadline only when the last move is older than this: a page view
/// then costs a write at most once a minute, and the idle timeout is exact to within a minute.
pub const TOUCH_AFTER_SECS: f64 = 60.0;

/// Which part of the web layer a session signs in to. A console session is refused by the
/// member pages and the other way round, so the admin rights checked at the console's sign-in
/// never follow a member session, and the cookies of each can have their own path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// `/console/`: admins only.
    Console,
    /// The member web app (issue 19).
    Member,
}

impl Audience {
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Console => "console",
            Audience::Member => "member",
        }
    }
}

/// When a session used at `last_seen` ends: idle timeout, capped by the absolute one.
pub fn expires_at(created_at: Timestamp, last_seen: Timestamp) -> Timestamp {
    (last_seen + IDLE_TIMEOUT_SECS).min(created_at + ABSOLUTE_TIMEOUT_SECS)
}

/// Whether a request at `now` should move the idle deadline.
pub fn needs_touch(last_seen: Timestamp, now: Timestamp) -> bool {
    now - last_seen >= TOUCH_AFTER_SECS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_absolute_timeout_caps_the_idle_one() {
        assert_eq!(expires_at(0.0, 0.0), IDLE_TIMEOUT_SECS);
        assert_eq!(expires_at(0.0, 11.9 * 3600.0), ABSOLUTE_TIMEOUT_SECS);
        assert!(!needs_touch(100.0, 159.0));
        assert!(needs_touch(100.0, 160.0));
    }
}
