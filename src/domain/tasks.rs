//! Tasks of a relation and their comments: the commands and what the API shows of them.

use serde::Serialize;
use serde_json::Value;

use crate::domain::clock::Timestamp;
use crate::domain::json::{FromJson, field_not_valid};
use crate::domain::messages;
use crate::domain::rules;
use crate::error::{Error, Result};

/// A new task.
#[derive(Debug, Clone, utoipa::ToSchema)]
pub struct NewTask {
    #[schema(schema_with = rules::schema::task_description)]
    pub description: String,
}

impl FromJson for NewTask {
    fn from_json(body: Option<&Value>) -> Result<NewTask> {
        let description = match body.and_then(|b| b.get("description")) {
            None => return Err(Error::invalid(messages::DESCRIPTION_FIELD_IS_MISSING)),
            Some(Value::String(s)) => s.clone(),
            Some(_) => return Err(field_not_valid("description")),
        };
        rules::TASK_DESCRIPTION.check_length(&description)?;
        Ok(NewTask { description })
    }
}

/// The text of a new or edited comment.
// Checked before anything else, as the reference does.
#[derive(Debug, Clone, utoipa::ToSchema)]
pub struct CommentText {
    #[schema(schema_with = rules::schema::comment)]
    pub comment: String,
}

impl FromJson for CommentText {
    fn from_json(body: Option<&Value>) -> Result<CommentText> {
        let comment = match body.and_then(|b| b.get("comment")) {
            None => return Err(Error::invalid(messages::COMMENT_FIELD_IS_MISSING)),
            Some(Value::String(s)) => s.clone(),
            Some(_) => return Err(Error::invalid(messages::COMMENT_NOT_IN_STRING_FORMAT)),
        };
        rules::COMMENT.check_length(&comment)?;
        Ok(CommentText { comment })
    }
}

/// A task of a relation.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Task {
    pub id: i64,
    pub description: String,
    pub is_done: bool,
    pub created_at: Timestamp,
    pub completed_at: Option<Timestamp>,
}

/// A comment on a task.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Comment {
    pub id: i64,
    pub user_id: i64,
    pub task_id: i64,
    pub relation_id: i64,
    pub creation_date: Timestamp,
    pub modification_date: Option<Timestamp>,
    pub comment: String,
}
