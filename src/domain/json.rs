//! Reading commands out of JSON bodies, with the reference's checks and messages.
//!
//! A command is parsed from the body as sent (`None` when there is none, or it is `null`), in
//! the contract's order of checks, so the first failing check gives the contract's message. The
//! HTTP layer's extractor calls [`FromJson::from_json`]; services only ever see the command.

use serde_json::{Map, Value};

use crate::domain::messages::Message;
use crate::error::{Error, ErrorKind, Result};

/// A command read from a JSON request body.
pub trait FromJson: Sized {
    /// A body that is not JSON at all counts as no body (instead of a parse error): `PUT /user`
    /// answers it with "No data for updating profile was sent.", as the reference does.
    const NON_JSON_IS_NO_BODY: bool = false;

    fn from_json(body: Option<&Value>) -> Result<Self>;
}

/// The body's object, or an empty one when the body is absent or not an object.
pub fn object(body: Option<&Value>) -> &Map<String, Value> {
    static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);
    body.and_then(Value::as_object).unwrap_or(&EMPTY)
}

/// A field that must be present (any value, even `null`), or `missing`.
pub fn present<'a>(
    object: &'a Map<String, Value>,
    key: &str,
    missing: Message,
) -> Result<&'a Value> {
    object.get(key).ok_or_else(|| Error::invalid(missing))
}

/// A non-empty string field, or `missing` (absent, null, empty or not a string).
pub fn required_text(object: &Map<String, Value>, key: &str, missing: Message) -> Result<String> {
    match object.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        _ => Err(Error::invalid(missing)),
    }
}

/// `Field <name> is not valid.`: a value of the wrong type, which the reference answered with
/// a 500.
pub fn field_not_valid(field: &str) -> Error {
    Error::with_text(
        ErrorKind::Invalid,
        "FIELD_IS_NOT_VALID",
        format!("Field {field} is not valid."),
    )
}

/// A number as sent, or NaN when it is not a JSON number: the rules that check times then
/// refuse it with their own message, in their turn.
pub fn number_or_nan(value: &Value) -> f64 {
    value.as_f64().unwrap_or(f64::NAN)
}

/// The JSON types the reference's payload validation knows.
#[derive(Clone, Copy)]
pub enum JsonType {
    String,
    Boolean,
    Integer,
}

/// Reproduces flask-restx payload validation: every failing field is reported in `errors`
/// with jsonschema's wording, and the request fails with `Input payload validation failed`.
pub struct SchemaCheck<'a> {
    object: &'a Map<String, Value>,
    errors: Map<String, Value>,
}

impl<'a> SchemaCheck<'a> {
    pub fn new(object: &'a Map<String, Value>) -> SchemaCheck<'a> {
        SchemaCheck {
            object,
            errors: Map::new(),
        }
    }

    pub fn required(&mut self, key: &str, expected: JsonType) -> &mut Self {
        match self.object.get(key) {
            None => {
                self.errors.insert(
                    key.to_owned(),
                    Value::String(format!("'{key}' is a required property")),
                );
            }
            Some(value) => self.check_type(key, value, expected),
        }
        self
    }

    pub fn optional(&mut self, key: &str, expected: JsonType) -> &mut Self {
        if let Some(value) = self.object.get(key) {
            self.check_type(key, value, expected);
        }
        self
    }

    fn check_type(&mut self, key: &str, value: &Value, expected: JsonType) {
        let (ok, name) = match expected {
            JsonType::String => (value.is_string(), "string"),
            JsonType::Boolean => (value.is_boolean(), "boolean"),
            JsonType::Integer => (value.is_i64() || value.is_u64(), "integer"),
        };
        if !ok {
            self.errors.insert(
                key.to_owned(),
                Value::String(format!("{} is not of type '{name}'", python_repr(value))),
            );
        }
    }

    pub fn finish(&mut self) -> Result<()> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(Error::payload_validation(Value::Object(std::mem::take(
                &mut self.errors,
            ))))
        }
    }
}

/// How Python would print a JSON value, as jsonschema's messages show it.
fn python_repr(value: &Value) -> String {
    match value {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
        Value::Array(items) => {
            format!(
                "[{}]",
                items.iter().map(python_repr).collect::<Vec<_>>().join(", ")
            )
        }
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("'{k}': {}", python_repr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn payload_validation_reports_every_field_like_jsonschema() {
        let body = json!({"name": 5, "email": null});
        let err = SchemaCheck::new(object(Some(&body)))
            .required("name", JsonType::String)
            .required("email", JsonType::String)
            .required("terms", JsonType::Boolean)
            .finish()
            .unwrap_err();
        let Error::Rejected(err) = err else {
            panic!("a refusal")
        };
        let errors = err.errors.unwrap();
        assert_eq!(errors["name"], "5 is not of type 'string'");
        assert_eq!(errors["email"], "None is not of type 'string'");
        assert_eq!(errors["terms"], "'terms' is a required property");
    }
}
