//! Members: the profile a member edits, the directory's query, and what members see of each
//! other. The rules are the reference's (its lengths are counted without whitespace).

use std::collections::HashMap;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::domain::clock::Timestamp;
use crate::domain::json::{FromJson, field_not_valid};
use crate::domain::messages::{self, Message};
use crate::domain::rules::{self, TextRule};
use crate::error::{Error, Result};

/// An address the reference accepts (`^[a-zA-Z0-9_.+-]+@[a-zA-Z0-9-]+\.[a-zA-Z0-9-.]+$`) and
/// that can be mailed: a real parser refuses what the reference's pattern lets through
/// (`x@-x.com`, `x@x..com`, `.x@x.com`, `a..b@x.com`), whose mail no server would take.
pub fn is_valid_email(email: &str) -> bool {
    matches_reference_pattern(email)
        && email_address::EmailAddress::parse_with_options(
            email,
            email_address::Options::default()
                .without_display_text()
                .without_domain_literal(),
        )
        .is_ok()
}

fn matches_reference_pattern(email: &str) -> bool {
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

/// The profile fields to change; those left out stay as they are. An empty string or `null`
/// clears an optional text (not the name nor the username).
// `None` leaves a field as it is; for the optional texts, `Some(None)` clears it.
#[derive(Debug, Default, Clone, utoipa::ToSchema)]
pub struct ProfileUpdate {
    #[schema(schema_with = rules::schema::nullable::name)]
    pub name: Option<String>,
    #[schema(schema_with = rules::schema::nullable::username)]
    pub username: Option<String>,
    #[schema(schema_with = rules::schema::nullable::bio)]
    pub bio: Option<Option<String>>,
    #[schema(schema_with = rules::schema::nullable::location)]
    pub location: Option<Option<String>>,
    #[schema(schema_with = rules::schema::nullable::occupation)]
    pub occupation: Option<Option<String>>,
    #[schema(schema_with = rules::schema::nullable::organization)]
    pub organization: Option<Option<String>>,
    #[schema(schema_with = rules::schema::nullable::slack_username)]
    pub slack_username: Option<Option<String>>,
    #[schema(schema_with = rules::schema::nullable::social_media_links)]
    pub social_media_links: Option<Option<String>>,
    #[schema(schema_with = rules::schema::nullable::skills)]
    pub skills: Option<Option<String>>,
    #[schema(schema_with = rules::schema::nullable::interests)]
    pub interests: Option<Option<String>>,
    #[schema(schema_with = rules::schema::nullable::resume_url)]
    pub resume_url: Option<Option<String>>,
    #[schema(schema_with = rules::schema::nullable::photo_url)]
    pub photo_url: Option<Option<String>>,
    #[schema(value_type = bool, required = false)]
    pub need_mentoring: Option<bool>,
    #[schema(value_type = bool, required = false)]
    pub available_to_mentor: Option<bool>,
}

impl FromJson for ProfileUpdate {
    const NON_JSON_IS_NO_BODY: bool = true;

    /// In the reference's order. Wrong types, which the reference answers with a 500, are a
    /// 400 `Field <name> is not valid.` here.
    fn from_json(body: Option<&Value>) -> Result<ProfileUpdate> {
        let object = match body {
            Some(Value::Object(map)) if !map.is_empty() => map,
            _ => {
                return Err(Error::invalid(
                    messages::NO_DATA_FOR_UPDATING_PROFILE_WAS_SENT,
                ));
            }
        };
        let mut update = ProfileUpdate::default();
        if let Some(username) = optional_text(object, rules::USERNAME.field)?.flatten() {
            rules::USERNAME.check_length(&username)?;
            if !rules::USERNAME.allows(&username) {
                return Err(Error::invalid(
                    messages::NEW_USERNAME_INPUT_BY_USER_IS_INVALID,
                ));
            }
            update.username = Some(username);
        }
        if let Some(name) = optional_text(object, rules::NAME.field)?.flatten() {
            rules::NAME.check_length(&name)?;
            if !rules::NAME.allows(&name) {
                return Err(Error::invalid(messages::NAME_INPUT_BY_USER_IS_INVALID));
            }
            update.name = Some(name);
        }
        let text = |rule: TextRule| -> Result<Option<Option<String>>> {
            let value = optional_text(object, rule.field)?;
            if let Some(Some(text)) = &value {
                rule.check_length(text)?;
                if !rule.allows(text) {
                    return Err(not_a_web_address(rule.field));
                }
            }
            Ok(value)
        };
        update.bio = text(rules::BIO)?;
        update.location = text(rules::LOCATION)?;
        update.occupation = text(rules::OCCUPATION)?;
        update.organization = text(rules::ORGANIZATION)?;
        update.slack_username = text(rules::SLACK_USERNAME)?;
        update.social_media_links = text(rules::SOCIAL_MEDIA_LINKS)?;
        update.skills = text(rules::SKILLS)?;
        update.interests = text(rules::INTERESTS)?;
        update.resume_url = text(rules::RESUME_URL)?;
        update.photo_url = text(rules::PHOTO_URL)?;
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
}

/// `The photo_url field must be an http or https URL.`
fn not_a_web_address(field: &str) -> Error {
    Error::with_text(
        crate::error::ErrorKind::Invalid,
        "INVALID_URL",
        format!("The {field} field must be an http or https URL."),
    )
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
        Some(_) => Err(Error::invalid(invalid)),
    }
}

/// How many skill words a directory query filters on.
pub const SKILL_WORDS_PER_QUERY: usize = 3;

/// The words of a profile text (skills, interests) that substitute candidates and the
/// directory's skills filter are matched on:
/// lower-cased, split at anything but letters, digits, `+` and `#` (so `C++` and `C#` stay
/// words), at least two characters long, each once, at most 32.
pub fn profile_words(text: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for word in text
        .split(|c: char| !(c.is_alphanumeric() || c == '+' || c == '#'))
        .map(str::to_lowercase)
        .filter(|w| w.chars().count() >= 2)
    {
        if !words.contains(&word) {
            words.push(word);
        }
        if words.len() == 32 {
            break;
        }
    }
    words
}

/// A member's preferences: the time zone their e-mails show times in, and whether they get
/// meeting reminders.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Preferences {
    /// An IANA time zone name (`Europe/Lisbon`).
    pub timezone: String,
    pub meeting_reminders: bool,
}

impl Default for Preferences {
    fn default() -> Preferences {
        Preferences {
            timezone: "UTC".to_owned(),
            meeting_reminders: true,
        }
    }
}

/// The preferences to change; those left out stay as they are.
#[derive(Debug, Clone, Default, utoipa::ToSchema)]
pub struct PreferencesUpdate {
    /// An IANA time zone name (`Europe/Lisbon`).
    #[schema(value_type = String, required = false)]
    pub timezone: Option<chrono_tz::Tz>,
    #[schema(value_type = bool, required = false)]
    pub meeting_reminders: Option<bool>,
}

impl FromJson for PreferencesUpdate {
    fn from_json(body: Option<&Value>) -> Result<PreferencesUpdate> {
        let object = match body {
            Some(Value::Object(map)) if !map.is_empty() => map,
            _ => return Err(Error::invalid(messages::NO_PREFERENCES_SENT)),
        };
        let timezone = match object.get("timezone") {
            None => None,
            Some(Value::String(name)) => Some(
                name.parse::<chrono_tz::Tz>()
                    .map_err(|_| Error::invalid(messages::UNKNOWN_TIMEZONE))?,
            ),
            Some(_) => return Err(Error::invalid(messages::UNKNOWN_TIMEZONE)),
        };
        let meeting_reminders = match object.get("meeting_reminders") {
            None => None,
            Some(Value::Bool(on)) => Some(*on),
            Some(_) => return Err(field_not_valid("meeting_reminders")),
        };
        Ok(PreferencesUpdate {
            timezone,
            meeting_reminders,
        })
    }
}

/// The largest page of the directory.
pub const DIRECTORY_MAX_PER_PAGE: i64 = 50;

/// `GET /users` and `GET /users/verified`: what to find, and which page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DirectoryQuery {
    /// Lower-cased text to find in the name or username.
    pub search: Option<String>,
    pub need_mentoring: Option<bool>,
    pub available_to_mentor: Option<bool>,
    /// Words the member's skills must all hold (the first three of the `skills` text, split
    /// like [`profile_words`]).
    pub skills: Vec<String>,
    pub limit: i64,
    pub offset: i64,
}

impl DirectoryQuery {
    /// Reads the query as the reference does: values that are not integers fall back to the
    /// defaults, `per_page` is capped at 50, a negative one means 20.
    pub fn from_query(query: &HashMap<String, String>) -> DirectoryQuery {
        let int = |key: &str, default: i64| {
            query
                .get(key)
                .and_then(|v| v.trim().parse::<i64>().ok())
                .unwrap_or(default)
        };
        let page = int("page", 1).max(1);
        let per_page = match int("per_page", 10) {
            n if n < 0 => 20,
            n => n.min(DIRECTORY_MAX_PER_PAGE),
        };
        let flag = |key: &str| match query.get(key).map(|v| v.to_ascii_lowercase()).as_deref() {
            Some("true" | "1") => Some(true),
            Some("false" | "0") => Some(false),
            _ => None,
        };
        DirectoryQuery {
            search: query
                .get("search")
                .map(|s| s.trim().to_lowercase())
                .filter(|s| !s.is_empty()),
            need_mentoring: flag("need_mentoring"),
            available_to_mentor: flag("available_to_mentor"),
            skills: profile_words(query.get("skills").map_or("", String::as_str))
                .into_iter()
                .take(SKILL_WORDS_PER_QUERY)
                .collect(),
            limit: per_page,
            offset: (page - 1).saturating_mul(per_page),
        }
    }

    /// Whether the query can match no one: an empty page, or a search for a control character
    /// (names and usernames hold none but whitespace; PostgreSQL's search key joins the two
    /// with one, chr(1), which must not let a match span them, and its text cannot hold NUL).
    pub fn finds_no_one(&self) -> bool {
        self.limit == 0
            || self
                .search
                .as_deref()
                .is_some_and(|text| text.chars().any(|c| c.is_control() && !c.is_whitespace()))
    }
}

impl utoipa::IntoParams for DirectoryQuery {
    fn into_params(
        _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        use crate::domain::query_param;
        use utoipa::openapi::schema::Type;
        vec![
            query_param(
                "search",
                Type::String,
                "Text to find in the name or username, in any case.",
            ),
            query_param("page", Type::Integer, "From 1."),
            query_param("per_page", Type::Integer, "10 by default, at most 50."),
            query_param(
                "need_mentoring",
                Type::Boolean,
                "Only members who do, or do not.",
            ),
            query_param(
                "available_to_mentor",
                Type::Boolean,
                "Only members who are, or are not.",
            ),
            query_param(
                "skills",
                Type::String,
                "Only members whose skills hold each of these words (any case; the first three).",
            ),
        ]
    }
}

/// The caller's own profile (`GET /user`), with every field of the reference.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserProfile {
    pub id: i64,
    pub name: String,
    pub username: String,
    pub email: String,
    pub terms_and_conditions_checked: bool,
    pub is_admin: bool,
    /// UNIX seconds.
    pub registration_date: Timestamp,
    pub is_email_verified: bool,
    /// ISO-8601, UTC, without a zone (`2026-11-22T23:56:32.276863`), as the reference.
    pub email_verification_date: Option<String>,
    pub bio: Option<String>,
    pub location: Option<String>,
    pub occupation: Option<String>,
    pub organization: Option<String>,
    pub slack_username: Option<String>,
    pub social_media_links: Option<String>,
    pub skills: Option<String>,
    pub interests: Option<String>,
    pub resume_url: Option<String>,
    pub photo_url: Option<String>,
    pub need_mentoring: bool,
    pub available_to_mentor: bool,
    /// Always null (kept for the reference's clients).
    pub current_mentorship_role: Option<i64>,
    /// Always null (kept for the reference's clients).
    pub membership_status: Option<i64>,
}

/// What members see of each other.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PublicUser {
    pub id: i64,
    pub username: String,
    pub name: String,
    pub slack_username: Option<String>,
    pub bio: Option<String>,
    pub location: Option<String>,
    pub occupation: Option<String>,
    pub organization: Option<String>,
    pub interests: Option<String>,
    pub skills: Option<String>,
    pub need_mentoring: bool,
    pub available_to_mentor: bool,
    /// Not in a current relation, and wants to mentor or be mentored.
    pub is_available: bool,
    /// UNIX seconds.
    pub registration_date: Timestamp,
}

/// An admin as other admins see them.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PublicAdmin {
    pub id: i64,
    pub username: String,
    pub name: String,
    pub slack_username: Option<String>,
    pub bio: Option<String>,
    pub location: Option<String>,
    pub occupation: Option<String>,
    pub organization: Option<String>,
    pub skills: Option<String>,
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
            "",
            "a@b",
            "@b.co",
            "a@.co",
            "a@b.",
            "a b@c.de",
            "a@b@c.de",
            "a@b_c.de",
            "x@-x.com",
            "x@x..com",
            ".x@x.com",
            "a..b@x.com",
        ] {
            assert!(!is_valid_email(bad), "{bad} should be invalid");
        }
    }

    #[test]
    fn profile_words_are_lower_case_distinct_and_keep_language_names() {
        assert_eq!(
            profile_words("Rust, C++ and c#; rust / Open-Source a"),
            vec!["rust", "c++", "and", "c#", "open", "source"]
        );
    }

    #[test]
    fn preferences_take_iana_zones_only() {
        let update =
            PreferencesUpdate::from_json(Some(&json!({"timezone": "Europe/Lisbon"}))).unwrap();
        assert_eq!(update.timezone, Some(chrono_tz::Europe::Lisbon));
        let err = PreferencesUpdate::from_json(Some(&json!({"timezone": "Mars/Olympus"})));
        assert_eq!(
            err.unwrap_err().to_string(),
            messages::UNKNOWN_TIMEZONE.text
        );
    }

    #[test]
    fn a_profile_update_clears_empty_fields_and_rejects_wrong_types() {
        let update =
            ProfileUpdate::from_json(Some(&json!({"bio": "", "location": "Lisbon"}))).unwrap();
        assert_eq!(update.bio, Some(None));
        assert_eq!(update.location, Some(Some("Lisbon".into())));
        assert_eq!(update.skills, None);
        let err = ProfileUpdate::from_json(Some(&json!({"bio": 5}))).unwrap_err();
        assert_eq!(err.to_string(), "Field bio is not valid.");
        let err = ProfileUpdate::from_json(Some(&json!({"photo_url": "javascript:alert(1)"})));
        assert_eq!(
            err.unwrap_err().to_string(),
            "The photo_url field must be an http or https URL."
        );
        let ok = ProfileUpdate::from_json(Some(&json!({"resume_url": "https://x.org/cv.pdf"})));
        assert!(ok.is_ok());
    }

    fn query(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn directory_paging_follows_the_reference() {
        let page = |pairs: &[(&str, &str)]| {
            let q = DirectoryQuery::from_query(&query(pairs));
            (q.limit, q.offset)
        };
        assert_eq!(page(&[]), (10, 0));
        assert_eq!(page(&[("page", "3"), ("per_page", "500")]), (50, 100));
        assert_eq!(page(&[("page", "-2"), ("per_page", "-1")]), (20, 0));
        assert_eq!(page(&[("per_page", "abc")]), (10, 0));
    }
}
