//! Tasks and their comments inside a relation, and the `/home` and `/dashboard` summaries.

use serde_json::Value;

use crate::app::AppState;
use crate::domain::messages::{self, Message};
use crate::domain::relations::RelationState;
use crate::domain::users::check_max_length;
use crate::error::{Error, Result};
use crate::services::require_verified_user;
use crate::store::relations::{HomeSummary, RelationRow};
use crate::store::{self, tasks::CommentRow, tasks::TaskRow};

const COMMENT_MAX: usize = 400;
const DESCRIPTION_MAX: usize = 1000;

async fn relation(state: &AppState, relation_id: i64) -> Result<RelationRow> {
    store::relations::get(&state.db, relation_id)
        .await?
        .ok_or_else(|| Error::not_found(messages::MENTORSHIP_RELATION_DOES_NOT_EXIST))
}

/// 403, not the reference's 401: the Android app logs out on every 401 (deviation 11).
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
    if relation.state == RelationState::Accepted as i64 {
        Ok(())
    } else {
        Err(Error::forbidden(messages::UNACCEPTED_STATE_RELATION))
    }
}

async fn task(state: &AppState, relation_id: i64, task_id: i64) -> Result<TaskRow> {
    store::tasks::find(&state.db, relation_id, task_id)
        .await?
        .ok_or_else(|| Error::not_found(messages::TASK_DOES_NOT_EXIST))
}

/// `POST /mentorship_relation/<id>/task`.
pub async fn create_task(
    state: &AppState,
    me: i64,
    relation_id: i64,
    body: Option<&Value>,
) -> Result<Message> {
    let description = match body.and_then(|b| b.get("description")) {
        None => return Err(Error::bad_request(messages::DESCRIPTION_FIELD_IS_MISSING)),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(crate::domain::users::field_not_valid("description")),
    };
    check_max_length("description", &description, DESCRIPTION_MAX)?;
    require_verified_user(state, me).await?;
    let relation = relation(state, relation_id).await?;
    require_accepted(&relation)?;
    require_involved(&relation, me)?;
    let mut tx = state.db.begin().await?;
    store::tasks::insert(&mut tx, relation_id, &description, state.clock.now()).await?;
    tx.commit().await?;
    Ok(messages::TASK_WAS_CREATED_SUCCESSFULLY)
}

/// `GET /mentorship_relation/<id>/tasks`: in any state of the relation.
pub async fn list_tasks(state: &AppState, me: i64, relation_id: i64) -> Result<Vec<TaskRow>> {
    require_verified_user(state, me).await?;
    let relation = relation(state, relation_id).await?;
    require_involved(&relation, me)?;
    Ok(store::tasks::list(&state.db, relation_id).await?)
}

/// `DELETE /mentorship_relation/<id>/task/<task_id>`.
pub async fn delete_task(
    state: &AppState,
    me: i64,
    relation_id: i64,
    task_id: i64,
) -> Result<Message> {
    require_verified_user(state, me).await?;
    let relation = relation(state, relation_id).await?;
    task(state, relation_id, task_id).await?;
    require_involved(&relation, me)?;
    store::tasks::delete(&state.db, relation_id, task_id).await?;
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
    let relation = relation(state, relation_id).await?;
    require_involved(&relation, me)?;
    task(state, relation_id, task_id).await?;
    if store::tasks::complete(&state.db, relation_id, task_id, state.clock.now()).await? == 0 {
        return Err(Error::conflict(messages::TASK_WAS_ALREADY_ACHIEVED));
    }
    Ok(messages::TASK_WAS_ACHIEVED_SUCCESSFULLY)
}

/// The comment text of a POST or PUT, checked before anything else as the reference does.
pub fn comment_text(body: Option<&Value>) -> Result<String> {
    let comment = match body.and_then(|b| b.get("comment")) {
        None => return Err(Error::bad_request(messages::COMMENT_FIELD_IS_MISSING)),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(Error::bad_request(messages::COMMENT_NOT_IN_STRING_FORMAT)),
    };
    check_max_length("comment", &comment, COMMENT_MAX)?;
    Ok(comment)
}

/// The common checks of every comment operation, in the reference's order.
async fn comment_scope(state: &AppState, me: i64, relation_id: i64, task_id: i64) -> Result<()> {
    require_verified_user(state, me).await?;
    let relation = relation(state, relation_id).await?;
    require_involved(&relation, me)?;
    require_accepted(&relation)?;
    task(state, relation_id, task_id).await?;
    Ok(())
}

pub async fn create_comment(
    state: &AppState,
    me: i64,
    relation_id: i64,
    task_id: i64,
    body: Option<&Value>,
) -> Result<Message> {
    let comment = comment_text(body)?;
    comment_scope(state, me, relation_id, task_id).await?;
    store::tasks::insert_comment(
        &state.db,
        me,
        relation_id,
        task_id,
        &comment,
        state.clock.now(),
    )
    .await?;
    Ok(messages::TASK_COMMENT_WAS_CREATED_SUCCESSFULLY)
}

pub async fn list_comments(
    state: &AppState,
    me: i64,
    relation_id: i64,
    task_id: i64,
) -> Result<Vec<CommentRow>> {
    comment_scope(state, me, relation_id, task_id).await?;
    Ok(store::tasks::comments(&state.db, relation_id, task_id).await?)
}

/// A comment of this relation that `me` wrote, on this task; the errors the reference gives.
async fn own_comment(
    state: &AppState,
    me: i64,
    relation_id: i64,
    task_id: i64,
    comment_id: i64,
    not_yours: Message,
) -> Result<CommentRow> {
    let comment = store::tasks::find_comment(&state.db, relation_id, comment_id)
        .await?
        .ok_or_else(|| Error::not_found(messages::TASK_COMMENT_DOES_NOT_EXIST))?;
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
    relation_id: i64,
    task_id: i64,
    comment_id: i64,
    body: Option<&Value>,
) -> Result<Message> {
    let text = comment_text(body)?;
    comment_scope(state, me, relation_id, task_id).await?;
    own_comment(
        state,
        me,
        relation_id,
        task_id,
        comment_id,
        messages::TASK_COMMENT_WAS_NOT_CREATED_BY_YOU,
    )
    .await?;
    store::tasks::update_comment(&state.db, comment_id, &text, state.clock.now()).await?;
    Ok(messages::TASK_COMMENT_WAS_UPDATED_SUCCESSFULLY)
}

pub async fn delete_comment(
    state: &AppState,
    me: i64,
    relation_id: i64,
    task_id: i64,
    comment_id: i64,
) -> Result<Message> {
    comment_scope(state, me, relation_id, task_id).await?;
    own_comment(
        state,
        me,
        relation_id,
        task_id,
        comment_id,
        messages::TASK_COMMENT_WAS_NOT_CREATED_BY_YOU_DELETE,
    )
    .await?;
    store::tasks::delete_comment(&state.db, comment_id).await?;
    Ok(messages::TASK_COMMENT_WAS_DELETED_SUCCESSFULLY)
}

/// `GET /home`: the counts by state and the last three achievements, latest completed first.
pub async fn home(state: &AppState, me: i64) -> Result<HomeSummary> {
    let mut home = store::relations::home_summary(&state.db, me)
        .await?
        .ok_or_else(|| Error::not_found(messages::USER_NOT_FOUND))?;
    home.achievements.sort_by(|a, b| {
        b.completed_at
            .partial_cmp(&a.completed_at)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    Ok(home)
}

/// `GET /dashboard`: every relation, and the tasks of the current one.
pub struct Dashboard {
    pub relations: Vec<RelationRow>,
    pub current_tasks: Option<Vec<TaskRow>>,
}

pub async fn dashboard(state: &AppState, me: i64) -> Result<Dashboard> {
    store::users::find_by_id(&state.db, me)
        .await?
        .ok_or_else(|| Error::not_found(messages::USER_NOT_FOUND))?;
    let relations =
        store::relations::list_for_user(&state.db, me, store::relations::RelationScope::All(None))
            .await?;
    let current_tasks = match store::relations::current_of(&state.db, me).await? {
        Some(current) => Some(store::tasks::list(&state.db, current.id).await?),
        None => None,
    };
    Ok(Dashboard {
        relations,
        current_tasks,
    })
}
