//! Admin management: the member a grant or a revocation names.

use serde_json::Value;

use crate::domain::json::{self, FromJson, JsonType, SchemaCheck};
use crate::domain::messages;
use crate::error::{Error, Result};

/// The member to make an admin, or to revoke.
#[derive(Debug, Clone, Copy, utoipa::ToSchema)]
pub struct AdminTarget {
    pub user_id: i64,
}

impl FromJson for AdminTarget {
    /// The reference validates this body against its schema: `user_id` is a required integer.
    fn from_json(body: Option<&Value>) -> Result<AdminTarget> {
        let object = json::object(body);
        SchemaCheck::new(object)
            .required("user_id", JsonType::Integer)
            .finish()?;
        let user_id = object["user_id"]
            .as_i64()
            .ok_or_else(|| Error::not_found(messages::USER_DOES_NOT_EXIST))?;
        Ok(AdminTarget { user_id })
    }
}
