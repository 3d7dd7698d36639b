//! `GET /user/export`: a member's data in their own hands.

use crate::domain::audit::AuditEvent;
use crate::domain::export::{self, DataExport, MeetingInvitation, RelationTask};
use crate::domain::meetings::SubstituteStatus;
use crate::domain::relations::RelationList;
use crate::error::Result;
use crate::services::meetings::meeting_view;
use crate::services::substitutes::invitation_view;
use crate::services::tasks::{comment_view, task_view};
use crate::services::{relations, users};
use crate::state::AppState;
use crate::store;

/// Everything held about the caller: profile, preferences, relations (the other party by id
/// and name only), the tasks and comments of those relations, their meetings, the substitute
/// invitations they sent and received, and their audit events. A fixed number of queries.
pub async fn export(state: &AppState, me: i64) -> Result<DataExport> {
    let profile = users::me(state, me).await?;
    let preferences = users::preferences(state, me).await?;
    let relations = relations::list(state, me, RelationList::All(None)).await?;
    let tasks = store::tasks::of_member(&state.db, me)
        .await?
        .into_iter()
        .map(|row| RelationTask {
            relation_id: row.relation_id,
            task: task_view(row),
        })
        .collect();
    let comments = store::tasks::comments_of_member(&state.db, me)
        .await?
        .into_iter()
        .map(comment_view)
        .collect();
    let now = state.clock.now();
    // A meeting the member only declined to stand in for is not theirs to read (as with
    // `GET /meeting/<id>`): its invitation is listed, the meeting's details are not.
    let meetings = store::meetings::of_member(&state.db, me)
        .await?
        .into_iter()
        .filter(|m| {
            m.is_party(me)
                || (m.substitute_user_id == Some(me)
                    && m.substitute_status != Some(SubstituteStatus::Rejected))
        })
        .map(|m| meeting_view(m, now))
        .collect();
    let (received, sent) = store::substitutes::of_member(&state.db, me).await?;
    let with_meeting = |rows: Vec<store::substitutes::InvitationRow>| {
        rows.into_iter()
            .map(|row| MeetingInvitation {
                meeting_id: row.meeting_id,
                invitation: invitation_view(row),
            })
            .collect()
    };
    let audit_events = super::audit::of_member(state, me)
        .await?
        .into_iter()
        .map(AuditEvent::from)
        .collect();
    Ok(DataExport {
        format: export::FORMAT,
        exported_at: now,
        profile,
        preferences,
        relations,
        tasks,
        comments,
        meetings,
        invitations_sent: with_meeting(sent),
        invitations_received: with_meeting(received),
        audit_events,
    })
}
