//! Accounts: registration, login, passwords and e-mailed tokens. The commands read their bodies
//! with the reference's checks, in its order, and its messages.

use serde::Serialize;
use serde_json::Value;

use crate::domain::json::{self, FromJson, JsonType, SchemaCheck};
use crate::domain::messages;
use crate::domain::rules;
use crate::domain::users::is_valid_email;
use crate::error::{Error, Result};

/// A verification link works this long (the reference's 30 days).
pub const VERIFICATION_VALID_SECS: f64 = 30.0 * 86_400.0;
/// A password reset link works this long.
pub const RESET_VALID_SECS: f64 = 3_600.0;
pub const REFRESH_TOKEN_TTL_SECS: i64 = 28 * 86_400;

/// A new account. Lengths are counted without whitespace.
#[derive(Debug, Clone, utoipa::ToSchema)]
pub struct Registration {
    #[schema(schema_with = rules::schema::name)]
    pub name: String,
    /// Unique regardless of case.
    #[schema(schema_with = rules::schema::username)]
    pub username: String,
    #[schema(schema_with = rules::schema::password)]
    pub password: String,
    /// Unique regardless of case.
    #[schema(pattern = r"^[a-zA-Z0-9_.+-]+@[a-zA-Z0-9-]+\.[a-zA-Z0-9-.]+$")]
    pub email: String,
    /// Must be true.
    pub terms_and_conditions_checked: bool,
    /// False when left out.
    #[schema(required = false)]
    pub need_mentoring: bool,
    /// False when left out.
    #[schema(required = false)]
    pub available_to_mentor: bool,
}

impl FromJson for Registration {
    /// The reference's payload schema first (every field at once), then each rule in turn.
    fn from_json(body: Option<&Value>) -> Result<Registration> {
        if matches!(body, Some(value) if !value.is_object()) {
            return Err(Error::invalid(messages::MALFORMED_REQUEST));
        }
        let object = json::object(body);
        SchemaCheck::new(object)
            .required("name", JsonType::String)
            .required("username", JsonType::String)
            .required("password", JsonType::String)
            .required("email", JsonType::String)
            .required("terms_and_conditions_checked", JsonType::Boolean)
            .optional("need_mentoring", JsonType::Boolean)
            .optional("available_to_mentor", JsonType::Boolean)
            .finish()?;
        let text = |key: &str| object[key].as_str().unwrap_or_default().to_owned();
        let flag = |key: &str| object.get(key).and_then(Value::as_bool).unwrap_or(false);
        let registration = Registration {
            name: text("name"),
            username: text("username"),
            email: text("email"),
            password: text("password"),
            terms_and_conditions_checked: flag("terms_and_conditions_checked"),
            need_mentoring: flag("need_mentoring"),
            available_to_mentor: flag("available_to_mentor"),
        };
        if !rules::PASSWORD.allows(&registration.password) {
            return Err(Error::invalid(messages::USER_INPUTS_SPACE_IN_PASSWORD));
        }
        rules::NAME.check_length(&registration.name)?;
        rules::USERNAME.check_length(&registration.username)?;
        rules::PASSWORD.check_length(&registration.password)?;
        if !registration.terms_and_conditions_checked {
            return Err(Error::invalid(
                messages::TERMS_AND_CONDITIONS_ARE_NOT_CHECKED,
            ));
        }
        if !rules::NAME.allows(&registration.name) {
            return Err(Error::invalid(messages::NAME_INPUT_BY_USER_IS_INVALID));
        }
        if !is_valid_email(&registration.email) {
            return Err(Error::invalid(messages::EMAIL_INPUT_BY_USER_IS_INVALID));
        }
        if !rules::USERNAME.allows(&registration.username) {
            return Err(Error::invalid(messages::USERNAME_INPUT_BY_USER_IS_INVALID));
        }
        Ok(registration)
    }
}

/// An e-mail address.
#[derive(Debug, Clone, utoipa::ToSchema)]
pub struct EmailAddress {
    #[schema(pattern = r"^[a-zA-Z0-9_.+-]+@[a-zA-Z0-9-]+\.[a-zA-Z0-9-.]+$")]
    pub email: String,
}

impl FromJson for EmailAddress {
    /// Missing, then format, as the reference reads `email`.
    fn from_json(body: Option<&Value>) -> Result<EmailAddress> {
        let email = match body.and_then(|b| b.get("email")) {
            None | Some(Value::Null) => {
                return Err(Error::invalid(messages::EMAIL_FIELD_IS_MISSING));
            }
            Some(Value::String(s)) if s.is_empty() => {
                return Err(Error::invalid(messages::EMAIL_FIELD_IS_MISSING));
            }
            Some(Value::String(s)) => s.clone(),
            Some(_) => return Err(Error::invalid(messages::EMAIL_INPUT_BY_USER_IS_INVALID)),
        };
        if !is_valid_email(&email) {
            return Err(Error::invalid(messages::EMAIL_INPUT_BY_USER_IS_INVALID));
        }
        Ok(EmailAddress { email })
    }
}

/// `username` may be the username or the e-mail address.
#[derive(Debug, Clone, utoipa::ToSchema)]
pub struct Credentials {
    #[schema(min_length = 1)]
    pub username: String,
    #[schema(min_length = 1)]
    pub password: String,
}

impl FromJson for Credentials {
    fn from_json(body: Option<&Value>) -> Result<Credentials> {
        let object = json::object(body);
        Ok(Credentials {
            username: json::required_text(object, "username", messages::USERNAME_FIELD_IS_MISSING)?,
            password: json::required_text(object, "password", messages::PASSWORD_FIELD_IS_MISSING)?,
        })
    }
}

impl Credentials {
    /// Whether the login names an e-mail address rather than a username.
    pub fn is_email(&self) -> bool {
        is_valid_email(&self.username)
    }

    /// The login as the throttle counts it.
    pub fn throttle_key(&self) -> String {
        self.username.to_lowercase()
    }
}

/// The current password and a new one.
#[derive(Debug, Clone, utoipa::ToSchema)]
pub struct PasswordChange {
    pub current_password: String,
    /// Not the current one.
    #[schema(schema_with = rules::schema::new_password)]
    pub new_password: String,
}

impl FromJson for PasswordChange {
    /// The payload schema, then: not the same password, no space, length.
    fn from_json(body: Option<&Value>) -> Result<PasswordChange> {
        let object = json::object(body);
        SchemaCheck::new(object)
            .required("current_password", JsonType::String)
            .required("new_password", JsonType::String)
            .finish()?;
        let current = object["current_password"].as_str().unwrap_or_default();
        let new = object["new_password"].as_str().unwrap_or_default();
        if current == new {
            return Err(Error::invalid(messages::USER_ENTERED_CURRENT_PASSWORD));
        }
        check_new_password(rules::NEW_PASSWORD, new)?;
        Ok(PasswordChange {
            current_password: current.to_owned(),
            new_password: new.to_owned(),
        })
    }
}

/// A password the reference would accept: no space character, then its length.
fn check_new_password(rule: rules::TextRule, password: &str) -> Result<()> {
    if !rule.allows(password) {
        return Err(Error::invalid(messages::USER_INPUTS_SPACE_IN_PASSWORD));
    }
    rule.check_length(password)
}

/// The token of a reset link and the new password.
#[derive(Debug, Clone, utoipa::ToSchema)]
pub struct PasswordReset {
    /// The token of the e-mailed link.
    #[schema(min_length = 1)]
    pub token: String,
    #[schema(schema_with = rules::schema::password)]
    pub new_password: String,
}

impl FromJson for PasswordReset {
    /// The token first; then the password's rules, so a typo does not burn the link.
    fn from_json(body: Option<&Value>) -> Result<PasswordReset> {
        let object = json::object(body);
        let token = json::required_text(object, "token", messages::PASSWORD_RESET_TOKEN_INVALID)?;
        let new_password =
            json::required_text(object, "new_password", messages::PASSWORD_FIELD_IS_MISSING)?;
        check_new_password(rules::PASSWORD, &new_password)?;
        Ok(PasswordReset {
            token,
            new_password,
        })
    }
}

/// The answer to a login or a refresh.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    /// When the access token expires (UNIX seconds).
    pub access_expiry: f64,
    /// When the refresh token expires (UNIX seconds).
    pub refresh_expiry: f64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn registration_reports_every_schema_error_at_once() {
        let body = json!({"name": 5, "username": "alice", "password": "secret12", "email": null});
        let Err(Error::Rejected(err)) = Registration::from_json(Some(&body)) else {
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
}
