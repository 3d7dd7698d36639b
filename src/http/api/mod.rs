//! The JSON API: the reference's routes and ours. Each handler extracts the caller and a
//! command, calls one service function, and renders its view or message as JSON.

pub mod accounts;
pub mod admin;
pub mod meetings;
pub mod relations;
pub mod users;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;

use super::error::MessageBody;
use crate::domain::messages::Message;
use crate::state::AppState;

/// Every route of the JSON API.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(accounts::routes())
        .merge(users::routes())
        .merge(admin::routes())
        .merge(relations::routes())
        .merge(meetings::routes())
}

/// A `{"message"}` answer with a status.
pub fn message(status: StatusCode, message: Message) -> Response {
    (status, axum::Json(MessageBody::from(message))).into_response()
}
