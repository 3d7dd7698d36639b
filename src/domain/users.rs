//! The rules for user input, exactly as the reference applies them (anchor-api.md §4, §5.1).
//! Lengths are counted after removing all whitespace, as the reference does.

use serde_json::{Map, Value};

use crate::domain::messages::{self, Message};
use crate::error::{Error, Result};

pub const NAME_LENGTH: (usize, usize) = (2, 30);
pub const USERNAME_LENGTH: (usize, usize) = (5, 25);
pub const PASSWORD_LENGTH: (usize, usize) = (8, 64);

/// Optional profile text fields and their maximum (whitespace-stripped) lengths.
pub const PROFILE_TEXT_FIELDS: [(&str, usize); 10] = [
    ("bio", 450),
    ("location", 60),
    ("occupation", 60),
    ("organization", 60),
    ("slack_username", 60),
    ("social_media_links", 400),
    ("skills", 450),
    ("interests", 150),
    // The reference leaves these two unchecked; its columns hold 200 characters.
    ("resume_url", 200),
    ("photo_url", 200),
];

/// The length the reference measures: characters left after removing all whitespace.
pub fn stripped_len(text: &str) -> usize {
    text.chars().filter(|c| !c.is_whitespace()).count()
}

/// `The {field} field has to be longer than {min-1} characters and shorter than {max+1} characters.`
pub fn check_length(field: &str, text: &str, (min, max): (usize, usize)) -> Result<()> {
    let len = stripped_len(text);
    if len < min || len > max {
        return Err(Error::with_text(
            axum::http::StatusCode::BAD_REQUEST,
            "INVALID_LENGTH",
            format!(
                "The {field} field has to be longer than {} characters and shorter than {} characters.",
                min - 1,
                max + 1
            ),
        ));
    }
    Ok(())
}

/// `The {field} field has to be shorter than {max+1} characters.`
pub fn check_max_length(field: &str, text: &str, max: usize) -> Result<()> {
    if stripped_len(text) > max {
        return Err(Error::with_text(
            axum::http::StatusCode::BAD_REQUEST,
            "INVALID_LENGTH",
            format!(
                "The {field} field has to be shorter than {} characters.",
                max + 1
            ),
        ));
    }
    Ok(())
}

/// Letters, whitespace and `-`.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphabetic() || c.is_whitespace() || c == '-')
}

/// Letters, digits and `_`.
pub fn is_valid_username(username: &str) -> bool {
    !username.is_empty()
        && username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `^[a-zA-Z0-9_.+-]+@[a-zA-Z0-9-]+\.[a-zA-Z0-9-.]+$`, the reference's e-mail rule.
pub fn is_valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.+-".contains(c));
    let domain_ok = domain
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        && matches!(domain.find('.'), Some(dot) if dot > 0 && dot + 1 < domain.len());
    local_ok && domain_ok
}

/// A password the reference would accept: no space character, 8-64 characters.
pub fn check_password(field: &str, password: &str) -> Result<()> {
    if password.contains(' ') {
        return Err(Error::bad_request(messages::USER_INPUTS_SPACE_IN_PASSWORD));
    }
    check_length(field, password, PASSWORD_LENGTH)
}

/// A validated registration.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub name: String,
    pub username: String,
    pub email: String,
    pub password: String,
    pub need_mentoring: bool,
    pub available_to_mentor: bool,
}

/// Validates `POST /register` in the reference's order: payload schema, then each rule.
pub fn parse_registration(body: Option<&Value>) -> Result<NewUser> {
    let empty = Map::new();
    let object = match body {
        Some(Value::Object(map)) => map,
        Some(_) => return Err(Error::bad_request(messages::MALFORMED_REQUEST)),
        None => &empty,
    };
    let mut schema = SchemaCheck::new(object);
    schema.required("name", JsonType::String);
    schema.required("username", JsonType::String);
    schema.required("password", JsonType::String);
    schema.required("email", JsonType::String);
    schema.required("terms_and_conditions_checked", JsonType::Boolean);
    schema.optional("need_mentoring", JsonType::Boolean);
    schema.optional("available_to_mentor", JsonType::Boolean);
    schema.finish()?;

    let text = |key: &str| object[key].as_str().unwrap_or_default().to_owned();
    let flag = |key: &str| object.get(key).and_then(Value::as_bool).unwrap_or(false);
    let user = NewUser {
        name: text("name"),
        username: text("username"),
        email: text("email"),
        password: text("password"),
        need_mentoring: flag("need_mentoring"),
        available_to_mentor: flag("available_to_mentor"),
    };
    if user.password.contains(' ') {
        return Err(Error::bad_request(messages::USER_INPUTS_SPACE_IN_PASSWORD));
    }
    check_length("name", &user.name, NAME_LENGTH)?;
    check_length("username", &user.username, USERNAME_LENGTH)?;
    check_length("password", &user.password, PASSWORD_LENGTH)?;
    if !flag("terms_and_conditions_checked") {
        return Err(Error::bad_request(
            messages::TERMS_AND_CONDITIONS_ARE_NOT_CHECKED,
        ));
    }
    if !is_valid_name(&user.name) {
        return Err(Error::bad_request(messages::NAME_INPUT_BY_USER_IS_INVALID));
    }
    if !is_valid_email(&user.email) {
        return Err(Error::bad_request(messages::EMAIL_INPUT_BY_USER_IS_INVALID));
    }
    if !is_valid_username(&user.username) {
        return Err(Error::bad_request(
            messages::USERNAME_INPUT_BY_USER_IS_INVALID,
        ));
    }
    Ok(user)
}

/// A validated profile change: `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Debug, Default, Clone)]
pub struct ProfileUpdate {
    pub name: Option<String>,
    pub username: Option<String>,
    pub texts: Vec<(&'static str, Option<String>)>,
    pub need_mentoring: Option<bool>,
    pub available_to_mentor: Option<bool>,
}

/// Validates `PUT /user` in the reference's order. Wrong types, which the reference answers
/// with a 500, are a 400 `Field <name> is not valid.` here.
pub fn parse_profile_update(body: Option<&Value>) -> Result<ProfileUpdate> {
    let object = match body {
        Some(Value::Object(map)) if !map.is_empty() => map,
        _ => {
            return Err(Error::bad_request(
                messages::NO_DATA_FOR_UPDATING_PROFILE_WAS_SENT,
            ));
        }
    };
    let mut update = ProfileUpdate::default();

    if let Some(username) = optional_text(object, "username")?.flatten() {
        check_length("username", &username, USERNAME_LENGTH)?;
        if !is_valid_username(&username) {
            return Err(Error::bad_request(
                messages::NEW_USERNAME_INPUT_BY_USER_IS_INVALID,
            ));
        }
        update.username = Some(username);
    }
    if let Some(name) = optional_text(object, "name")?.flatten() {
        check_length("name", &name, NAME_LENGTH)?;
        if !is_valid_name(&name) {
            return Err(Error::bad_request(messages::NAME_INPUT_BY_USER_IS_INVALID));
        }
        update.name = Some(name);
    }
    for (field, max) in PROFILE_TEXT_FIELDS {
        if let Some(value) = optional_text(object, field)? {
            if let Some(text) = &value {
                check_max_length(field, text, max)?;
            }
            update.texts.push((field, value));
        }
    }
    update.need_mentoring = optional_flag(
        object,
        "need_mentoring",
        messages::FIELD_NEED_MENTORING_IS_NOT_VALID,
    )?;
    update.available_to_mentor = optional_flag(
        object,
        "available_to_mentor",
        messages::FIELD_AVAILABLE_TO_MENTOR_IS_INVALID,
    )?;
    Ok(update)
}

/// `None`: key absent. `Some(None)`: present but empty or null (clears the field).
fn optional_text(object: &Map<String, Value>, key: &str) -> Result<Option<Option<String>>> {
    match object.get(key) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) if s.is_empty() => Ok(Some(None)),
        Some(Value::String(s)) => Ok(Some(Some(s.clone()))),
        Some(_) => Err(field_not_valid(key)),
    }
}

fn optional_flag(object: &Map<String, Value>, key: &str, invalid: Message) -> Result<Option<bool>> {
    match object.get(key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        // The reference stores 0 and 1 as booleans; the apps never send them, old scripts might.
        Some(Value::Number(n)) if n.as_i64() == Some(0) => Ok(Some(false)),
        Some(Value::Number(n)) if n.as_i64() == Some(1) => Ok(Some(true)),
        Some(_) => Err(Error::bad_request(invalid)),
    }
}

pub fn field_not_valid(field: &str) -> Error {
    Error::with_text(
        axum::http::StatusCode::BAD_REQUEST,
        "FIELD_IS_NOT_VALID",
        format!("Field {field} is not valid."),
    )
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

    pub fn required(&mut self, key: &str, expected: JsonType) {
        match self.object.get(key) {
            None => {
                self.errors.insert(
                    key.to_owned(),
                    Value::String(format!("'{key}' is a required property")),
                );
            }
            Some(value) => self.check_type(key, value, expected),
        }
    }

    pub fn optional(&mut self, key: &str, expected: JsonType) {
        if let Some(value) = self.object.get(key) {
            self.check_type(key, value, expected);
        }
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

    pub fn finish(self) -> Result<()> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(Error::payload_validation(Value::Object(self.errors)))
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
    fn emails_follow_the_reference_rule() {
        for ok in [
            "a@b.co",
            "first.last+tag@mail-host.example.org",
            "x_y@a.b-c",
        ] {
            assert!(is_valid_email(ok), "{ok} should be valid");
        }
        for bad in [
            "", "a@b", "@b.co", "a@.co", "a@b.", "a b@c.de", "a@b@c.de", "a@b_c.de",
        ] {
            assert!(!is_valid_email(bad), "{bad} should be invalid");
        }
    }

    #[test]
    fn lengths_ignore_whitespace() {
        assert!(check_length("name", "a b", NAME_LENGTH).is_ok());
        let err = check_length("username", "ab  cd", USERNAME_LENGTH).unwrap_err();
        assert_eq!(
            err.to_string(),
            "The username field has to be longer than 4 characters and shorter than 26 characters."
        );
    }

    #[test]
    fn payload_validation_reports_every_field_like_jsonschema() {
        let body = json!({"name": 5, "username": "alice", "password": "secret12", "email": null});
        let Err(Error::Api(err)) = parse_registration(Some(&body)) else {
            panic!("must fail")
        };
        let errors = err.errors.unwrap();
        assert_eq!(errors["name"], "5 is not of type 'string'");
        assert_eq!(errors["email"], "None is not of type 'string'");
        assert_eq!(
            errors["terms_and_conditions_checked"],
            "'terms_and_conditions_checked' is a required property"
        );
    }

    #[test]
    fn a_profile_update_clears_empty_fields_and_rejects_wrong_types() {
        let update = parse_profile_update(Some(&json!({"bio": "", "location": "Lisbon"}))).unwrap();
        assert_eq!(
            update.texts,
            vec![("bio", None), ("location", Some("Lisbon".into()))]
        );
        let err = parse_profile_update(Some(&json!({"bio": 5}))).unwrap_err();
        assert_eq!(err.to_string(), "Field bio is not valid.");
    }
}
