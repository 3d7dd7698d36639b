//! Mentorship relations, their tasks and comments, and the home and dashboard summaries.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::message;
use crate::domain::relations::{
    CurrentRelation, Dashboard, HomeStatistics, Relation, RelationList, SendRequest,
};
use crate::domain::tasks::{Comment, CommentText, NewTask, Task};
use crate::error::Result;
use crate::http::error::{ErrorResponse, MessageBody};
use crate::http::extract::{AuthUser, Command, PathParams, QueryParams};
use crate::services::{relations, tasks};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(send_request))
        .routes(routes!(list_relations))
        .routes(routes!(list_past))
        .routes(routes!(get_current))
        .routes(routes!(list_pending))
        .routes(routes!(accept))
        .routes(routes!(reject))
        .routes(routes!(cancel))
        .routes(routes!(delete_request))
        .routes(routes!(create_task))
        .routes(routes!(list_tasks))
        .routes(routes!(delete_task))
        .routes(routes!(complete_task))
        .routes(routes!(create_comment))
        .routes(routes!(list_comments))
        .routes(routes!(update_comment, delete_comment))
        .routes(routes!(home))
        .routes(routes!(dashboard))
}

/// Sends a mentorship request; the caller is the mentor or the mentee. The receiver is e-mailed.
#[utoipa::path(post, path = "/mentorship_relation/send_request", tag = "Mentorship relations", request_body = SendRequest,
    security(("bearer" = [])),
    responses((status = 201, body = MessageBody), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 404, body = ErrorResponse), (status = 409, body = ErrorResponse, description = "A pending request between the two exists"),
        (status = 413, body = ErrorResponse)))]
pub async fn send_request(
    State(state): State<AppState>,
    user: AuthUser,
    Command(request): Command<SendRequest>,
) -> Result<Response> {
    let outcome = relations::send_request(&state, user.id, request).await?;
    Ok(message(StatusCode::CREATED, outcome))
}

/// The caller's relations (as mentor first), optionally of one `relation_state`
/// (PENDING, ACCEPTED, REJECTED, CANCELLED, COMPLETED; any case).
#[utoipa::path(get, path = "/mentorship_relations", tag = "Mentorship relations", security(("bearer" = [])),
    params(("relation_state" = Option<String>, Query)),
    responses((status = 200, body = Vec<Relation>), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
pub async fn list_relations(
    State(state): State<AppState>,
    user: AuthUser,
    QueryParams(query): QueryParams,
) -> Result<axum::Json<Vec<Relation>>> {
    let relation_state = query.get("relation_state").map(String::as_str);
    Ok(axum::Json(
        relations::list_in_state(&state, user.id, relation_state).await?,
    ))
}

/// Relations whose end date has passed.
#[utoipa::path(get, path = "/mentorship_relations/past", tag = "Mentorship relations", security(("bearer" = [])),
    responses((status = 200, body = Vec<Relation>), (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
pub async fn list_past(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<axum::Json<Vec<Relation>>> {
    Ok(axum::Json(
        relations::list(&state, user.id, RelationList::Past).await?,
    ))
}

/// The caller's accepted relation, or `{"message": "You are not in a current mentorship relation."}`.
#[utoipa::path(get, path = "/mentorship_relations/current", tag = "Mentorship relations", security(("bearer" = [])),
    responses((status = 200, body = CurrentRelation, description = "The relation, or a message when there is none"),
        (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
pub async fn get_current(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<axum::Json<CurrentRelation>> {
    Ok(axum::Json(relations::current(&state, user.id).await?))
}

/// Pending requests, sent and received, whose end date is still ahead.
#[utoipa::path(get, path = "/mentorship_relations/pending", tag = "Mentorship relations", security(("bearer" = [])),
    responses((status = 200, body = Vec<Relation>), (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
pub async fn list_pending(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<axum::Json<Vec<Relation>>> {
    Ok(axum::Json(
        relations::list(&state, user.id, RelationList::Pending).await?,
    ))
}

/// Accepts a request the caller received; the sender is e-mailed.
#[utoipa::path(put, path = "/mentorship_relation/{relation_id}/accept", tag = "Mentorship relations", security(("bearer" = [])),
    params(("relation_id" = i64, Path)),
    responses((status = 200, body = MessageBody), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
pub async fn accept(
    State(state): State<AppState>,
    user: AuthUser,
    PathParams(id): PathParams<i64>,
) -> Result<Response> {
    Ok(message(
        StatusCode::OK,
        relations::accept(&state, user.id, id).await?,
    ))
}

/// Rejects a request the caller received; the sender is e-mailed.
#[utoipa::path(put, path = "/mentorship_relation/{relation_id}/reject", tag = "Mentorship relations", security(("bearer" = [])),
    params(("relation_id" = i64, Path)),
    responses((status = 200, body = MessageBody), (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
pub async fn reject(
    State(state): State<AppState>,
    user: AuthUser,
    PathParams(id): PathParams<i64>,
) -> Result<Response> {
    Ok(message(
        StatusCode::OK,
        relations::reject(&state, user.id, id).await?,
    ))
}

/// Cancels the caller's accepted relation; the other party is e-mailed.
#[utoipa::path(put, path = "/mentorship_relation/{relation_id}/cancel", tag = "Mentorship relations", security(("bearer" = [])),
    params(("relation_id" = i64, Path)),
    responses((status = 200, body = MessageBody), (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
pub async fn cancel(
    State(state): State<AppState>,
    user: AuthUser,
    PathParams(id): PathParams<i64>,
) -> Result<Response> {
    Ok(message(
        StatusCode::OK,
        relations::cancel(&state, user.id, id).await?,
    ))
}

/// Withdraws a pending request the caller sent.
#[utoipa::path(delete, path = "/mentorship_relation/{relation_id}", tag = "Mentorship relations", security(("bearer" = [])),
    params(("relation_id" = i64, Path)),
    responses((status = 200, body = MessageBody), (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
pub async fn delete_request(
    State(state): State<AppState>,
    user: AuthUser,
    PathParams(id): PathParams<i64>,
) -> Result<Response> {
    Ok(message(
        StatusCode::OK,
        relations::delete(&state, user.id, id).await?,
    ))
}

/// Adds a task to an accepted relation.
#[utoipa::path(post, path = "/mentorship_relation/{relation_id}/task", tag = "Tasks", request_body = NewTask, security(("bearer" = [])),
    params(("relation_id" = i64, Path)),
    responses((status = 201, body = MessageBody), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 413, body = ErrorResponse)))]
pub async fn create_task(
    State(state): State<AppState>,
    user: AuthUser,
    PathParams(id): PathParams<i64>,
    Command(task): Command<NewTask>,
) -> Result<Response> {
    Ok(message(
        StatusCode::CREATED,
        tasks::create_task(&state, user.id, id, task).await?,
    ))
}

/// The tasks of a relation, in any state.
#[utoipa::path(get, path = "/mentorship_relation/{relation_id}/tasks", tag = "Tasks", security(("bearer" = [])),
    params(("relation_id" = i64, Path)),
    responses((status = 200, body = Vec<Task>), (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
pub async fn list_tasks(
    State(state): State<AppState>,
    user: AuthUser,
    PathParams(id): PathParams<i64>,
) -> Result<axum::Json<Vec<Task>>> {
    Ok(axum::Json(tasks::list_tasks(&state, user.id, id).await?))
}

/// Deletes a task.
#[utoipa::path(delete, path = "/mentorship_relation/{relation_id}/task/{task_id}", tag = "Tasks", security(("bearer" = [])),
    params(("relation_id" = i64, Path), ("task_id" = i64, Path)),
    responses((status = 200, body = MessageBody), (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
pub async fn delete_task(
    State(state): State<AppState>,
    user: AuthUser,
    PathParams((id, task_id)): PathParams<(i64, i64)>,
) -> Result<Response> {
    Ok(message(
        StatusCode::OK,
        tasks::delete_task(&state, user.id, id, task_id).await?,
    ))
}

/// Marks a task done: it becomes an achievement.
#[utoipa::path(put, path = "/mentorship_relation/{relation_id}/task/{task_id}/complete", tag = "Tasks", security(("bearer" = [])),
    params(("relation_id" = i64, Path), ("task_id" = i64, Path)),
    responses((status = 200, body = MessageBody), (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse),
        (status = 404, body = ErrorResponse), (status = 409, body = ErrorResponse, description = "Already done")))]
pub async fn complete_task(
    State(state): State<AppState>,
    user: AuthUser,
    PathParams((id, task_id)): PathParams<(i64, i64)>,
) -> Result<Response> {
    Ok(message(
        StatusCode::OK,
        tasks::complete_task(&state, user.id, id, task_id).await?,
    ))
}

/// Comments on a task of an accepted relation.
#[utoipa::path(post, path = "/mentorship_relation/{relation_id}/task/{task_id}/comment", tag = "Task comments", request_body = CommentText,
    security(("bearer" = [])), params(("relation_id" = i64, Path), ("task_id" = i64, Path)),
    responses((status = 201, body = MessageBody), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 413, body = ErrorResponse)))]
pub async fn create_comment(
    State(state): State<AppState>,
    user: AuthUser,
    PathParams((id, task_id)): PathParams<(i64, i64)>,
    Command(text): Command<CommentText>,
) -> Result<Response> {
    Ok(message(
        StatusCode::CREATED,
        tasks::create_comment(&state, user.id, id, task_id, text).await?,
    ))
}

/// The comments of a task, oldest first.
#[utoipa::path(get, path = "/mentorship_relation/{relation_id}/task/{task_id}/comments", tag = "Task comments", security(("bearer" = [])),
    params(("relation_id" = i64, Path), ("task_id" = i64, Path)),
    responses((status = 200, body = Vec<Comment>), (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
pub async fn list_comments(
    State(state): State<AppState>,
    user: AuthUser,
    PathParams((id, task_id)): PathParams<(i64, i64)>,
) -> Result<axum::Json<Vec<Comment>>> {
    Ok(axum::Json(
        tasks::list_comments(&state, user.id, id, task_id).await?,
    ))
}

/// Edits the caller's comment.
#[utoipa::path(put, path = "/mentorship_relation/{relation_id}/task/{task_id}/comment/{comment_id}", tag = "Task comments",
    request_body = CommentText, security(("bearer" = [])),
    params(("relation_id" = i64, Path), ("task_id" = i64, Path), ("comment_id" = i64, Path)),
    responses((status = 200, body = MessageBody), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 413, body = ErrorResponse)))]
pub async fn update_comment(
    State(state): State<AppState>,
    user: AuthUser,
    PathParams(ids): PathParams<(i64, i64, i64)>,
    Command(text): Command<CommentText>,
) -> Result<Response> {
    Ok(message(
        StatusCode::OK,
        tasks::update_comment(&state, user.id, ids, text).await?,
    ))
}

/// Deletes the caller's comment.
#[utoipa::path(delete, path = "/mentorship_relation/{relation_id}/task/{task_id}/comment/{comment_id}", tag = "Task comments",
    security(("bearer" = [])), params(("relation_id" = i64, Path), ("task_id" = i64, Path), ("comment_id" = i64, Path)),
    responses((status = 200, body = MessageBody), (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
pub async fn delete_comment(
    State(state): State<AppState>,
    user: AuthUser,
    PathParams(ids): PathParams<(i64, i64, i64)>,
) -> Result<Response> {
    Ok(message(
        StatusCode::OK,
        tasks::delete_comment(&state, user.id, ids).await?,
    ))
}

/// Counts of the caller's relations by state, and their latest achievements.
#[utoipa::path(get, path = "/home", tag = "Users", security(("bearer" = [])),
    responses((status = 200, body = HomeStatistics), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
pub async fn home(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<axum::Json<HomeStatistics>> {
    Ok(axum::Json(tasks::home(&state, user.id).await?))
}

/// The caller's relations grouped by role, direction and state, and the tasks of the current one.
#[utoipa::path(get, path = "/dashboard", tag = "Users", security(("bearer" = [])),
    responses((status = 200, body = Dashboard), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
pub async fn dashboard(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<axum::Json<Dashboard>> {
    Ok(axum::Json(tasks::dashboard(&state, user.id).await?))
}
