//! What the console shows: the overview's figures, kept as a snapshot (JSON) and read back.

use serde::{Deserialize, Serialize};

/// The overview's figures are counted again once they are older than this.
pub const SNAPSHOT_MAX_AGE_SECS: f64 = 60.0;
/// How long a count may take before another instance may start one.
pub const SNAPSHOT_LEASE_SECS: f64 = 120.0;
/// Rows a console list shows per page.
pub const PAGE_SIZE: i64 = 50;

/// The overview's counts, as one snapshot.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Figures {
    pub members_verified: i64,
    pub members_unverified: i64,
    pub available_to_mentor: i64,
    pub need_mentoring: i64,
    /// (state name, count), every state listed.
    pub relations: Vec<(String, i64)>,
    pub meetings_next_7_days: i64,
    /// (invitation status, count), every status listed.
    pub substitutions: Vec<(String, i64)>,
    /// Meetings for which a substitute was ever invited.
    pub meetings_with_invitations: i64,
    /// Meetings a substitute attends in the mentor's place.
    pub meetings_saved: i64,
    pub mail_unsent: i64,
    pub mail_oldest_unsent_at: Option<f64>,
    pub mail_dead: i64,
}

impl Figures {
    /// The share of meetings with a substitute invitation that a substitute saved, in percent.
    pub fn saved_percent(&self) -> Option<f64> {
        (self.meetings_with_invitations > 0).then(|| {
            (100.0 * self.meetings_saved as f64 / self.meetings_with_invitations as f64).round()
        })
    }
}

/// The console's filters of the member list: each flag is required true, false, or either.
#[derive(Debug, Clone, Default)]
pub struct MemberFilter {
    /// Lower-cased text to find in the name or username (an exact e-mail when it has an `@`).
    pub search: Option<String>,
    pub verified: Option<bool>,
    pub available_to_mentor: Option<bool>,
    pub need_mentoring: Option<bool>,
    pub admin: Option<bool>,
}

/// Reads a yes/no filter of a list: `yes`, `no`, or anything else for either.
pub fn tri_state(value: Option<&str>) -> Option<bool> {
    match value {
        Some("yes") => Some(true),
        Some("no") => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_saved_share_is_a_rounded_percentage() {
        let figures = Figures {
            meetings_with_invitations: 3,
            meetings_saved: 2,
            ..Figures::default()
        };
        assert_eq!(figures.saved_percent(), Some(67.0));
        assert_eq!(Figures::default().saved_percent(), None);
        assert_eq!(tri_state(Some("yes")), Some(true));
        assert_eq!(tri_state(Some("")), None);
    }
}
