//! Queries on `tasks` and `task_comments`.

use super::{Conn, Db, Tx, with_conn, with_db, with_tx};
use crate::domain::clock::Timestamp;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TaskRow {
    pub relation_id: i64,
    pub id: i64,
    pub description: String,
    pub is_done: bool,
    pub created_at: f64,
    pub completed_at: Option<f64>,
}

/// Adds a task with the relation's next id. The counter row is updated in the same
/// transaction, so concurrent creations get distinct ids and no id is ever reused.
pub async fn insert(
    tx: &mut Tx,
    relation_id: i64,
    description: &str,
    now: Timestamp,
) -> Result<i64, sqlx::Error> {
    let id = with_tx!(tx, |c| {
        sqlx::query_scalar::<_, i64>(
        "UPDATE mentorship_relations SET next_task_id = next_task_id + 1 WHERE id = $1 RETURNING next_task_id - 1"
    )
    .bind(relation_id)
    .fetch_one(&mut *c)
    .await
    })?;
    with_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO tasks (relation_id, id, description, is_done, created_at) VALUES ($1, $2, $3, FALSE, $4)"
    )
    .bind(relation_id)
    .bind(id)
    .bind(description)
    .bind(now)
    .execute(c)
    .await
    .map(|_| id)
    })
}

pub async fn list(db: &Db, relation_id: i64) -> Result<Vec<TaskRow>, sqlx::Error> {
    with_db!(db, |c| sqlx::query_as::<_, TaskRow>(
        "SELECT * FROM tasks WHERE relation_id = $1 ORDER BY id"
    )
    .bind(relation_id)
    .fetch_all(c)
    .await)
}

pub async fn find(
    conn: impl Into<Conn<'_>>,
    relation_id: i64,
    task_id: i64,
) -> Result<Option<TaskRow>, sqlx::Error> {
    with_conn!(conn.into(), |c| sqlx::query_as::<_, TaskRow>(
        "SELECT * FROM tasks WHERE relation_id = $1 AND id = $2"
    )
    .bind(relation_id)
    .bind(task_id)
    .fetch_optional(c)
    .await)
}

pub async fn delete(tx: &mut Tx, relation_id: i64, task_id: i64) -> Result<u64, sqlx::Error> {
    with_tx!(tx, |c| sqlx::query(
        "DELETE FROM tasks WHERE relation_id = $1 AND id = $2"
    )
    .bind(relation_id)
    .bind(task_id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
}

/// Marks a task done; 0 rows when it was done already (so of two racing calls one wins).
pub async fn complete(
    tx: &mut Tx,
    relation_id: i64,
    task_id: i64,
    now: Timestamp,
) -> Result<u64, sqlx::Error> {
    with_tx!(tx, |c| {
        sqlx::query(
        "UPDATE tasks SET is_done = TRUE, completed_at = $3 WHERE relation_id = $1 AND id = $2 AND NOT is_done"
    )
    .bind(relation_id)
    .bind(task_id)
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CommentRow {
    pub id: i64,
    pub user_id: i64,
    pub task_id: i64,
    pub relation_id: i64,
    pub creation_date: f64,
    pub modification_date: Option<f64>,
    pub comment: String,
}

pub async fn insert_comment(
    tx: &mut Tx,
    user_id: i64,
    relation_id: i64,
    task_id: i64,
    comment: &str,
    now: Timestamp,
) -> Result<i64, sqlx::Error> {
    with_tx!(tx, |c| {
        sqlx::query_scalar::<_, i64>(
        "INSERT INTO task_comments (user_id, relation_id, task_id, creation_date, comment) VALUES ($1, $2, $3, $4, $5) RETURNING id"
    )
    .bind(user_id)
    .bind(relation_id)
    .bind(task_id)
    .bind(now)
    .bind(comment)
    .fetch_one(c)
    .await
    })
}

pub async fn comments(
    db: &Db,
    relation_id: i64,
    task_id: i64,
) -> Result<Vec<CommentRow>, sqlx::Error> {
    with_db!(db, |c| sqlx::query_as::<_, CommentRow>(
        "SELECT * FROM task_comments WHERE relation_id = $1 AND task_id = $2 ORDER BY id"
    )
    .bind(relation_id)
    .bind(task_id)
    .fetch_all(c)
    .await)
}

pub async fn find_comment(
    tx: &mut Tx,
    relation_id: i64,
    comment_id: i64,
) -> Result<Option<CommentRow>, sqlx::Error> {
    with_tx!(tx, |c| sqlx::query_as::<_, CommentRow>(
        "SELECT * FROM task_comments WHERE id = $1 AND relation_id = $2"
    )
    .bind(comment_id)
    .bind(relation_id)
    .fetch_optional(c)
    .await)
}

pub async fn update_comment(
    tx: &mut Tx,
    comment_id: i64,
    comment: &str,
    now: Timestamp,
) -> Result<u64, sqlx::Error> {
    with_tx!(tx, |c| sqlx::query(
        "UPDATE task_comments SET comment = $2, modification_date = $3 WHERE id = $1"
    )
    .bind(comment_id)
    .bind(comment)
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
}

pub async fn delete_comment(tx: &mut Tx, comment_id: i64) -> Result<u64, sqlx::Error> {
    with_tx!(tx, |c| sqlx::query(
        "DELETE FROM task_comments WHERE id = $1"
    )
    .bind(comment_id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
}

/// Every task of every relation `user_id` is a party of (their data export), by relation.
pub async fn of_member(db: &Db, user_id: i64) -> Result<Vec<TaskRow>, sqlx::Error> {
    with_db!(db, |c| sqlx::query_as::<_, TaskRow>(
        "SELECT t.* FROM tasks t WHERE t.relation_id IN (
             SELECT id FROM mentorship_relations WHERE mentor_id = $1
             UNION SELECT id FROM mentorship_relations WHERE mentee_id = $1)
         ORDER BY t.relation_id, t.id"
    )
    .bind(user_id)
    .fetch_all(c)
    .await)
}

/// Every comment on the tasks of [`of_member`], by id.
pub async fn comments_of_member(db: &Db, user_id: i64) -> Result<Vec<CommentRow>, sqlx::Error> {
    with_db!(db, |c| sqlx::query_as::<_, CommentRow>(
        "SELECT k.* FROM task_comments k WHERE k.relation_id IN (
             SELECT id FROM mentorship_relations WHERE mentor_id = $1
             UNION SELECT id FROM mentorship_relations WHERE mentee_id = $1)
         ORDER BY k.id"
    )
    .bind(user_id)
    .fetch_all(c)
    .await)
}
