//! A member's data export (`GET /user/export`): everything the service holds about them, as
//! one JSON document. docs/DATA-EXPORT.md describes it field by field; change both together.

use serde::Serialize;

use super::audit::AuditEvent;
use super::clock::Timestamp;
use super::meetings::{Invitation, Meeting};
use super::relations::Relation;
use super::tasks::{Comment, Task};
use super::users::{Preferences, UserProfile};

/// The document's format, so that a reader can tell versions apart.
pub const FORMAT: &str = "mentorship-export/1";

#[derive(Debug, Serialize)]
pub struct DataExport {
    pub format: &'static str,
    pub exported_at: Timestamp,
    pub profile: UserProfile,
    pub preferences: Preferences,
    pub relations: Vec<Relation>,
    pub tasks: Vec<RelationTask>,
    pub comments: Vec<Comment>,
    pub meetings: Vec<Meeting>,
    pub invitations_sent: Vec<MeetingInvitation>,
    pub invitations_received: Vec<MeetingInvitation>,
    pub audit_events: Vec<AuditEvent>,
}

/// A task with the relation it belongs to (task ids are numbered per relation).
#[derive(Debug, Serialize)]
pub struct RelationTask {
    pub relation_id: i64,
    #[serde(flatten)]
    pub task: Task,
}

/// A substitute invitation with the meeting it was for.
#[derive(Debug, Serialize)]
pub struct MeetingInvitation {
    pub meeting_id: i64,
    #[serde(flatten)]
    pub invitation: Invitation,
}
