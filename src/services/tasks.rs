//! Tasks and their comments inside a relation, and the `/home` and `/dashboard` summaries.
//! Every change checks and writes in one unit of work, with the relation row locked.

use crate::domain::audit::{self, Event};
use crate::domain::messages::{self, Message};
use crate::domain::relations::{
    Dashboard, DashboardParty, DashboardRelation, HomeStatistics, RelationState,
};
use crate::domain::tasks::{Comment, CommentText, NewTask, Task};
use crate::error::{Error, Result};
use crate::services::require_verified_user;
use crate::state::AppState;
use crate::store::relations::{RelationRow, RelationScope};
use crate::store::tasks::{CommentRow, TaskRow};
use crate::store::{self, Conn};

async fn relation(conn: impl Into<Conn<'_>>, relation_id: i64) -> Result<RelationRow> {
    store::relations::find(conn, relation_id)
        .await?
        .ok_or_else(|| Error::not_found(messages::MENTORSHIP_RELATION_DOES_NOT_EXIST))
}

/// 403, not the reference's 401: the Android app logs out on every 401.
fn require_involved(relation: &RelationRow, me: i64) -> Result<()> {
    if relation.involves(me) {
        Ok(())
    } else {
        Err(Error::forbidden(
            messages::USER_NOT_INVOLVED_IN_THIS_MENTOR_RELATION,
        ))
    }
}

fn require_accepted(relation: &RelationRow) -> Result<()> {
    if relation.state == RelationState::Accepted {
        Ok(())
    } else {
        Err(Error::forbidden(messages::UNACCEPTED_STATE_RELATION))
    }
}

async fn task(conn: impl Into<Conn<'_>>, relation_id: i64, task_id: i64) -> Result<TaskRow> {
    store::tasks::find(conn, relation_id, task_id)
        .await?
        .ok_or_else(|| Error::not_found(messages::TASK_DOES_NOT_EXIST))
}

/// `POST /mentorship_relation/<id>/task`.
pub async fn create_task(
    state: &AppState,
    me: i64,
    relation_id: i64,
    new: NewTask,
) -> Result<Message> {
    require_verified_user(state, me).await?;
    let mut work = state.unit_of_work().await?;
    let relation = relation(work.tx(), relation_id).await?;
    require_accepted(&relation)?;
    require_involved(&relation, me)?;
    let task_id =
        store::tasks::insert(work.tx(), relation_id, &new.description, state.clock.now()).await?;
    work.audit(Event::new(
        Some(me),
        "task.create",
        audit::task(relation_id, task_id),
    ));
    work.commit().await?;
    Ok(messages::TASK_WAS_CREATED_SUCCESSFULLY)
}

/// `GET /mentorship_relation/<id>/tasks`: in any state of the relation.
pub async fn list_tasks(state: &AppState, me: i64, relation_id: i64) -> Result<Vec<Task>> {
    require_verified_user(state, me).await?;
    let relation = relation(&state.db, relation_id).await?;
    require_involved(&relation, me)?;
    let tasks = store::tasks::list(&state.db, relation_id).await?;
    Ok(tasks.into_iter().map(task_view).collect())
}

/// `DELETE /mentorship_relation/<id>/task/<task_id>`.
pub async fn delete_task(
    state: &AppState,
    me: i64,
    relation_id: i64,
    task_id: i64,
) -> Result<Message> {
    require_verified_user(state, me).await?;
    let mut work = state.unit_of_work().await?;
    let relation = relation(work.tx(), relation_id).await?;
    task(work.tx(), relation_id, task_id).await?;
    require_involved(&relation, me)?;
    store::tasks::delete(work.tx(), relation_id, task_id).await?;
    work.audit(Event::new(
        Some(me),
        "task.delete",
        audit::task(relation_id, task_id),
    ));
    work.commit().await?;
    Ok(messages::TASK_WAS_DELETED_SUCCESSFULLY)
}

/// `PUT /mentorship_relation/<id>/task/<task_id>/complete`.
pub async fn complete_task(
    state: &AppState,
    me: i64,
    relation_id: i64,
    task_id: i64,
) -> Result<Message> {
    require_verified_user(state, me).await?;
    let mut work = state.unit_of_work().await?;
    let relation = relation(work.tx(), relation_id).await?;
    require_involved(&relation, me)?;
    task(work.tx(), relation_id, task_id).await?;
    if store::tasks::complete(work.tx(), relation_id, task_id, state.clock.now()).await? == 0 {
        return Err(Error::conflict(messages::TASK_WAS_ALREADY_ACHIEVED));
    }
    work.audit(Event::new(
        Some(me),
        "task.complete",
        audit::task(relation_id, task_id),
    ));
    work.commit().await?;
    Ok(messages::TASK_WAS_ACHIEVED_SUCCESSFULLY)
}

/// The common checks of every comment operation, in the reference's order, after the caller's
/// own check ([`require_verified_user`]).
async fn comment_scope(conn: Conn<'_>, me: i64, relation_id: i64, task_id: i64) -> Result<()> {
    let (relation, conn) = match conn {
        Conn::Db(db) => (relation(db, relation_id).await?, Conn::Db(db)),
        Conn::Tx(tx) => (relation(&mut *tx, relation_id).await?, Conn::Tx(tx)),
    };
    require_involved(&relation, me)?;
    require_accepted(&relation)?;
    task(conn, relation_id, task_id).await?;
    Ok(())
}

pub async fn create_comment(
    state: &AppState,
    me: i64,
    relation_id: i64,
    task_id: i64,
    text: CommentText,
) -> Result<Message> {
    require_verified_user(state, me).await?;
    let mut work = state.unit_of_work().await?;
    comment_scope(work.tx().into(), me, relation_id, task_id).await?;
    let comment_id = store::tasks::insert_comment(
        work.tx(),
        me,
        relation_id,
        task_id,
        &text.comment,
        state.clock.now(),
    )
    .await?;
    work.audit(
        Event::new(Some(me), "comment.create", audit::comment(comment_id))
            .with(serde_json::json!({"relation_id": relation_id, "task_id": task_id})),
    );
    work.commit().await?;
    Ok(messages::TASK_COMMENT_WAS_CREATED_SUCCESSFULLY)
}

pub async fn list_comments(
    state: &AppState,
    me: i64,
    relation_id: i64,
    task_id: i64,
) -> Result<Vec<Comment>> {
    require_verified_user(state, me).await?;
    comment_scope((&state.db).into(), me, relation_id, task_id).await?;
    let comments = store::tasks::comments(&state.db, relation_id, task_id).await?;
    Ok(comments.into_iter().map(comment_view).collect())
}

/// A comment of this relation that `me` wrote, on this task; the errors the reference gives.
fn own_comment(
    comment: Option<CommentRow>,
    me: i64,
    task_id: i64,
    not_yours: Message,
) -> Result<CommentRow> {
    let comment = comment.ok_or_else(|| Error::not_found(messages::TASK_COMMENT_DOES_NOT_EXIST))?;
    if comment.user_id != me {
        return Err(Error::forbidden(not_yours));
    }
    if comment.task_id != task_id {
        return Err(Error::not_found(
            messages::TASK_COMMENT_WITH_GIVEN_TASK_ID_DOES_NOT_EXIST,
        ));
    }
    Ok(comment)
}

pub async fn update_comment(
    state: &AppState,
    me: i64,
    (relation_id, task_id, comment_id): (i64, i64, i64),
    text: CommentText,
) -> Result<Message> {
    require_verified_user(state, me).await?;
    let mut work = state.unit_of_work().await?;
    comment_scope(work.tx().into(), me, relation_id, task_id).await?;
    let found = store::tasks::find_comment(work.tx(), relation_id, comment_id).await?;
    own_comment(
        found,
        me,
        task_id,
        messages::TASK_COMMENT_WAS_NOT_CREATED_BY_YOU,
    )?;
    store::tasks::update_comment(work.tx(), comment_id, &text.comment, state.clock.now()).await?;
    work.audit(Event::new(
        Some(me),
        "comment.update",
        audit::comment(comment_id),
    ));
    work.commit().await?;
    Ok(messages::TASK_COMMENT_WAS_UPDATED_SUCCESSFULLY)
}

pub async fn delete_comment(
    state: &AppState,
    me: i64,
    (relation_id, task_id, comment_id): (i64, i64, i64),
) -> Result<Message> {
    require_verified_user(state, me).await?;
    let mut work = state.unit_of_work().await?;
    comment_scope(work.tx().into(), me, relation_id, task_id).await?;
    let found = store::tasks::find_comment(work.tx(), relation_id, comment_id).await?;
    own_comment(
        found,
        me,
        task_id,
        messages::TASK_COMMENT_WAS_NOT_CREATED_BY_YOU_DELETE,
    )?;
    store::tasks::delete_comment(work.tx(), comment_id).await?;
    work.audit(Event::new(
        Some(me),
        "comment.delete",
        audit::comment(comment_id),
    ));
    work.commit().await?;
    Ok(messages::TASK_COMMENT_WAS_DELETED_SUCCESSFULLY)
}

/// `GET /home`: the counts by state and the last three achievements, latest completed first.
pub async fn home(state: &AppState, me: i64) -> Result<HomeStatistics> {
    let home = store::relations::home_summary(&state.db, me)
        .await?
        .ok_or_else(|| Error::not_found(messages::USER_NOT_FOUND))?;
    let mut achievements: Vec<Task> = home.achievements.into_iter().map(task_view).collect();
    achievements.sort_by(|a, b| {
        b.completed_at
            .partial_cmp(&a.completed_at)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    Ok(HomeStatistics {
        name: home.name,
        pending_requests: home.pending,
        accepted_requests: home.accepted,
        rejected_requests: home.rejected,
        completed_relations: home.completed,
        cancelled_relations: home.cancelled,
        achievements,
    })
}

/// `GET /dashboard`: every relation by role, direction and state, and the tasks of the
/// current one.
pub async fn dashboard(state: &AppState, me: i64) -> Result<Dashboard> {
    store::users::find_by_id(&state.db, me)
        .await?
        .ok_or_else(|| Error::not_found(messages::USER_NOT_FOUND))?;
    let relations =
        store::relations::list_for_user(&state.db, me, RelationScope::All(None)).await?;
    let mut dashboard = Dashboard::default();
    for r in relations {
        // `user_name` carries the member's (display) name, as the reference sends it.
        let party =
            |id: Option<i64>, name: Option<String>, photo_url: Option<String>| DashboardParty {
                id: name.as_ref().and(id),
                user_name: name,
                photo_url,
            };
        let role = if r.mentor_id == Some(me) {
            &mut dashboard.as_mentor
        } else {
            &mut dashboard.as_mentee
        };
        let direction = if r.action_user_id == me {
            &mut role.sent
        } else {
            &mut role.received
        };
        direction.bucket(r.state).push(DashboardRelation {
            id: r.id,
            action_user_id: r.action_user_id,
            mentor: party(r.mentor_id, r.mentor_name, r.mentor_photo_url),
            mentee: party(r.mentee_id, r.mentee_name, r.mentee_photo_url),
            creation_date: r.creation_date,
            accept_date: r.accept_date,
            start_date: r.start_date,
            end_date: r.end_date,
            state: r.state.number(),
            notes: r.notes,
        });
    }
    if let Some(current) = store::relations::current_of(&state.db, me).await? {
        let tasks = store::tasks::list(&state.db, current.id).await?;
        let (done, todo): (Vec<_>, Vec<_>) = tasks.into_iter().partition(|t| t.is_done);
        dashboard.tasks_todo = Some(todo.into_iter().map(task_view).collect());
        dashboard.tasks_done = Some(done.into_iter().map(task_view).collect());
    }
    Ok(dashboard)
}

pub fn task_view(t: TaskRow) -> Task {
    Task {
        id: t.id,
        description: t.description,
        is_done: t.is_done,
        created_at: t.created_at,
        completed_at: t.completed_at,
    }
}

pub fn comment_view(c: CommentRow) -> Comment {
    Comment {
        id: c.id,
        user_id: c.user_id,
        task_id: c.task_id,
        relation_id: c.relation_id,
        creation_date: c.creation_date,
        modification_date: c.modification_date,
        comment: c.comment,
    }
}
