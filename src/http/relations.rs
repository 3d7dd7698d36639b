//! Mentorship relations, their tasks and comments, and the home and dashboard summaries.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{AuthUser, JsonBody, PathParams, QueryParams, message};
use crate::app::AppState;
use crate::domain::messages;
use crate::error::{ErrorResponse, MessageBody, Result};
use crate::services::relations::{self, RelationList};
use crate::services::tasks;
use crate::store::relations::RelationRow;
use crate::store::tasks::{CommentRow, TaskRow};

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

/// A party of a relation; both null once that member deleted their account.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Party {
    pub id: Option<i64>,
    pub name: Option<String>,
}

/// A mentorship relation as the lists show it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Relation {
    pub id: i64,
    pub action_user_id: i64,
    /// The caller sent the request.
    pub sent_by_me: bool,
    pub mentor: Party,
    pub mentee: Party,
    pub creation_date: f64,
    pub accept_date: Option<f64>,
    pub start_date: Option<f64>,
    pub end_date: f64,
    /// 1 pending, 2 accepted, 3 rejected, 4 cancelled, 5 completed.
    pub state: i64,
    pub notes: String,
}

impl Relation {
    fn new(r: RelationRow, me: i64) -> Relation {
        Relation {
            id: r.id,
            action_user_id: r.action_user_id,
            sent_by_me: r.action_user_id == me,
            mentor: Party {
                id: r.mentor_name.as_ref().and(r.mentor_id),
                name: r.mentor_name,
            },
            mentee: Party {
                id: r.mentee_name.as_ref().and(r.mentee_id),
                name: r.mentee_name,
            },
            creation_date: r.creation_date,
            accept_date: r.accept_date,
            start_date: r.start_date,
            end_date: r.end_date,
            state: r.state,
            notes: r.notes,
        }
    }
}

fn relations(rows: Vec<RelationRow>, me: i64) -> Vec<Relation> {
    rows.into_iter().map(|r| Relation::new(r, me)).collect()
}

/// A task of a relation.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Task {
    pub id: i64,
    pub description: String,
    pub is_done: bool,
    pub created_at: f64,
    pub completed_at: Option<f64>,
}

impl From<TaskRow> for Task {
    fn from(t: TaskRow) -> Task {
        Task {
            id: t.id,
            description: t.description,
            is_done: t.is_done,
            created_at: t.created_at,
            completed_at: t.completed_at,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Comment {
    pub id: i64,
    pub user_id: i64,
    pub task_id: i64,
    pub relation_id: i64,
    pub creation_date: f64,
    pub modification_date: Option<f64>,
    pub comment: String,
}

impl From<CommentRow> for Comment {
    fn from(c: CommentRow) -> Comment {
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
}

#[derive(Deserialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct SendRequest {
    mentor_id: i64,
    mentee_id: i64,
    /// UNIX seconds, 4 to 24 weeks from now.
    end_date: f64,
    #[schema(max_length = 400)]
    notes: String,
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
    body: JsonBody,
) -> Result<Response> {
    let outcome = relations::send_request(&state, user.id, body.as_ref()).await?;
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
    let rows = relations::list(
        &state,
        user.id,
        RelationList::All,
        query.get("relation_state").map(String::as_str),
    )
    .await?;
    Ok(axum::Json(relations(rows, user.id)))
}

/// Relations whose end date has passed.
#[utoipa::path(get, path = "/mentorship_relations/past", tag = "Mentorship relations", security(("bearer" = [])),
    responses((status = 200, body = Vec<Relation>), (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
pub async fn list_past(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<axum::Json<Vec<Relation>>> {
    let rows = relations::list(&state, user.id, RelationList::Past, None).await?;
    Ok(axum::Json(relations(rows, user.id)))
}

/// The current relation, or a message saying there is none (the apps tell them apart by shape).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum CurrentRelation {
    Relation(Relation),
    None(MessageBody),
}

/// The caller's accepted relation, or `{"message": "You are not in a current mentorship relation."}`.
#[utoipa::path(get, path = "/mentorship_relations/current", tag = "Mentorship relations", security(("bearer" = [])),
    responses((status = 200, body = CurrentRelation, description = "The relation, or a message when there is none"),
        (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
pub async fn get_current(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<axum::Json<CurrentRelation>> {
    Ok(axum::Json(
        match relations::current(&state, user.id).await? {
            Some(row) => CurrentRelation::Relation(Relation::new(row, user.id)),
            None => CurrentRelation::None(messages::NOT_IN_MENTORED_RELATION_CURRENTLY.into()),
        },
    ))
}

/// Pending requests, sent and received, whose end date is still ahead.
#[utoipa::path(get, path = "/mentorship_relations/pending", tag = "Mentorship relations", security(("bearer" = [])),
    responses((status = 200, body = Vec<Relation>), (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
pub async fn list_pending(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<axum::Json<Vec<Relation>>> {
    let rows = relations::list(&state, user.id, RelationList::Pending, None).await?;
    Ok(axum::Json(relations(rows, user.id)))
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

#[derive(Deserialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct CreateTask {
    #[schema(max_length = 1000)]
    description: String,
}

/// Adds a task to an accepted relation.
#[utoipa::path(post, path = "/mentorship_relation/{relation_id}/task", tag = "Tasks", request_body = CreateTask, security(("bearer" = [])),
    params(("relation_id" = i64, Path)),
    responses((status = 201, body = MessageBody), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 413, body = ErrorResponse)))]
pub async fn create_task(
    State(state): State<AppState>,
    user: AuthUser,
    PathParams(id): PathParams<i64>,
    body: JsonBody,
) -> Result<Response> {
    Ok(message(
        StatusCode::CREATED,
        tasks::create_task(&state, user.id, id, body.as_ref()).await?,
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
    let rows = tasks::list_tasks(&state, user.id, id).await?;
    Ok(axum::Json(rows.into_iter().map(Into::into).collect()))
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

#[derive(Deserialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct CommentRequest {
    /// At most 400 characters, whitespace not counted.
    comment: String,
}

/// Comments on a task of an accepted relation.
#[utoipa::path(post, path = "/mentorship_relation/{relation_id}/task/{task_id}/comment", tag = "Task comments", request_body = CommentRequest,
    security(("bearer" = [])), params(("relation_id" = i64, Path), ("task_id" = i64, Path)),
    responses((status = 201, body = MessageBody), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 413, body = ErrorResponse)))]
pub async fn create_comment(
    State(state): State<AppState>,
    user: AuthUser,
    PathParams((id, task_id)): PathParams<(i64, i64)>,
    body: JsonBody,
) -> Result<Response> {
    Ok(message(
        StatusCode::CREATED,
        tasks::create_comment(&state, user.id, id, task_id, body.as_ref()).await?,
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
    let rows = tasks::list_comments(&state, user.id, id, task_id).await?;
    Ok(axum::Json(rows.into_iter().map(Into::into).collect()))
}

/// Edits the caller's comment.
#[utoipa::path(put, path = "/mentorship_relation/{relation_id}/task/{task_id}/comment/{comment_id}", tag = "Task comments",
    request_body = CommentRequest, security(("bearer" = [])),
    params(("relation_id" = i64, Path), ("task_id" = i64, Path), ("comment_id" = i64, Path)),
    responses((status = 200, body = MessageBody), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 413, body = ErrorResponse)))]
pub async fn update_comment(
    State(state): State<AppState>,
    user: AuthUser,
    PathParams((id, task_id, comment_id)): PathParams<(i64, i64, i64)>,
    body: JsonBody,
) -> Result<Response> {
    Ok(message(
        StatusCode::OK,
        tasks::update_comment(&state, user.id, id, task_id, comment_id, body.as_ref()).await?,
    ))
}

/// Deletes the caller's comment.
#[utoipa::path(delete, path = "/mentorship_relation/{relation_id}/task/{task_id}/comment/{comment_id}", tag = "Task comments",
    security(("bearer" = [])), params(("relation_id" = i64, Path), ("task_id" = i64, Path), ("comment_id" = i64, Path)),
    responses((status = 200, body = MessageBody), (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
pub async fn delete_comment(
    State(state): State<AppState>,
    user: AuthUser,
    PathParams((id, task_id, comment_id)): PathParams<(i64, i64, i64)>,
) -> Result<Response> {
    Ok(message(
        StatusCode::OK,
        tasks::delete_comment(&state, user.id, id, task_id, comment_id).await?,
    ))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct HomeStatistics {
    pub name: String,
    pub pending_requests: i64,
    pub accepted_requests: i64,
    pub rejected_requests: i64,
    pub completed_relations: i64,
    pub cancelled_relations: i64,
    /// The latest three completed tasks, most recent first.
    pub achievements: Vec<Task>,
}

/// Counts of the caller's relations by state, and their latest achievements.
#[utoipa::path(get, path = "/home", tag = "Users", security(("bearer" = [])),
    responses((status = 200, body = HomeStatistics), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
pub async fn home(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<axum::Json<HomeStatistics>> {
    let home = tasks::home(&state, user.id).await?;
    Ok(axum::Json(HomeStatistics {
        name: home.name,
        pending_requests: home.counts[0],
        accepted_requests: home.counts[1],
        rejected_requests: home.counts[2],
        cancelled_relations: home.counts[3],
        completed_relations: home.counts[4],
        achievements: home.achievements.into_iter().map(Into::into).collect(),
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DashboardParty {
    pub id: Option<i64>,
    pub user_name: Option<String>,
    pub photo_url: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DashboardRelation {
    pub id: i64,
    pub action_user_id: i64,
    pub mentor: DashboardParty,
    pub mentee: DashboardParty,
    pub creation_date: f64,
    pub accept_date: Option<f64>,
    pub start_date: Option<f64>,
    pub end_date: f64,
    pub state: i64,
    pub notes: String,
}

#[derive(Serialize, Default, utoipa::ToSchema)]
pub struct ByState {
    pub accepted: Vec<DashboardRelation>,
    pub rejected: Vec<DashboardRelation>,
    pub completed: Vec<DashboardRelation>,
    pub cancelled: Vec<DashboardRelation>,
    pub pending: Vec<DashboardRelation>,
}

#[derive(Serialize, Default, utoipa::ToSchema)]
pub struct SentReceived {
    pub sent: ByState,
    pub received: ByState,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DashboardBody {
    pub as_mentor: SentReceived,
    pub as_mentee: SentReceived,
    /// Present only when the caller has a current relation: its tasks not done yet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tasks_todo: Option<Vec<Task>>,
    /// Present only when the caller has a current relation: its tasks done.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tasks_done: Option<Vec<Task>>,
}

/// The caller's relations grouped by role, direction and state, and the tasks of the current one.
#[utoipa::path(get, path = "/dashboard", tag = "Users", security(("bearer" = [])),
    responses((status = 200, body = DashboardBody), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
pub async fn dashboard(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<axum::Json<DashboardBody>> {
    let dashboard = tasks::dashboard(&state, user.id).await?;
    let mut body = DashboardBody {
        as_mentor: SentReceived::default(),
        as_mentee: SentReceived::default(),
        tasks_todo: None,
        tasks_done: None,
    };
    for r in dashboard.relations {
        let as_mentor = r.mentor_id == Some(user.id);
        let sent = r.action_user_id == user.id;
        let party =
            |id: Option<i64>, username: Option<String>, photo_url: Option<String>| DashboardParty {
                id: username.as_ref().and(id),
                user_name: username,
                photo_url,
            };
        let state_value = r.state;
        let item = DashboardRelation {
            id: r.id,
            action_user_id: r.action_user_id,
            mentor: party(r.mentor_id, r.mentor_username, r.mentor_photo_url),
            mentee: party(r.mentee_id, r.mentee_username, r.mentee_photo_url),
            creation_date: r.creation_date,
            accept_date: r.accept_date,
            start_date: r.start_date,
            end_date: r.end_date,
            state: state_value,
            notes: r.notes,
        };
        let role = if as_mentor {
            &mut body.as_mentor
        } else {
            &mut body.as_mentee
        };
        let direction = if sent {
            &mut role.sent
        } else {
            &mut role.received
        };
        let bucket = match state_value {
            1 => &mut direction.pending,
            2 => &mut direction.accepted,
            3 => &mut direction.rejected,
            4 => &mut direction.cancelled,
            _ => &mut direction.completed,
        };
        bucket.push(item);
    }
    if let Some(tasks) = dashboard.current_tasks {
        let (done, todo): (Vec<_>, Vec<_>) = tasks.into_iter().partition(|t| t.is_done);
        body.tasks_todo = Some(todo.into_iter().map(Into::into).collect());
        body.tasks_done = Some(done.into_iter().map(Into::into).collect());
    }
    Ok(axum::Json(body))
}
