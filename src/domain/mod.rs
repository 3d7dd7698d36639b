//! Pure types and rules, no I/O: the commands read from requests, the views the API shows,
//! the state machines and the validation rules, the messages, and the clock.

pub mod accounts;
pub mod admin;
pub mod audit;
pub mod calendar;
pub mod clock;
pub mod console;
pub mod export;
pub mod idempotency;
pub mod json;
pub mod limits;
pub mod meetings;
pub mod messages;
pub mod relations;
pub mod rules;
pub mod sessions;
pub mod tasks;
pub mod users;

use std::collections::HashMap;

/// A page of a list beyond the reference's: `page` from 1, `per_page` 20 by default, at most
/// 100. Values that are not integers fall back to the defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub limit: i64,
    pub offset: i64,
}

impl Page {
    pub const MAX_PER_PAGE: i64 = 100;

    pub fn from_query(query: &HashMap<String, String>) -> Page {
        let int = |key: &str, default: i64| {
            query
                .get(key)
                .and_then(|v| v.parse::<i64>().ok())
                .unwrap_or(default)
        };
        let limit = int("per_page", 20).clamp(0, Page::MAX_PER_PAGE);
        let page = int("page", 1).max(1);
        Page {
            limit,
            offset: (page - 1).saturating_mul(limit),
        }
    }
}

/// An optional query parameter of a list, for the OpenAPI description of the query types.
pub fn query_param(
    name: &str,
    schema_type: utoipa::openapi::schema::Type,
    description: &str,
) -> utoipa::openapi::path::Parameter {
    use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
    use utoipa::openapi::schema::ObjectBuilder;
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(utoipa::openapi::Required::False)
        .description(Some(description))
        .schema(Some(ObjectBuilder::new().schema_type(schema_type).build()))
        .build()
}

impl utoipa::IntoParams for Page {
    fn into_params(
        _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        use utoipa::openapi::schema::Type;
        vec![
            query_param("page", Type::Integer, "From 1."),
            query_param("per_page", Type::Integer, "20 by default, at most 100."),
        ]
    }
}
