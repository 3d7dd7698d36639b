//! The length and character rules of text fields, each written once: the checks that refuse
//! input and the OpenAPI schema that documents it are both made from these values.
//!
//! The reference counts a text's length after removing all whitespace (`" a"` is one
//! character), which `minLength`/`maxLength` cannot say; the schema says it with a pattern.

use utoipa::openapi::schema::{Object, ObjectBuilder, SchemaType, Type};

use crate::error::{Error, ErrorKind, Result};

/// Which characters a field may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allowed {
    Any,
    /// Letters, whitespace and `-` (the reference's name rule).
    Name,
    /// Letters, digits and `_` (the reference's username rule).
    Username,
    /// Anything but the space character (U+0020; a tab is fine, as in the reference).
    Password,
    /// An `http` or `https` URL with a host: a profile link other members open, so no
    /// `javascript:` or `data:` address.
    WebAddress,
}

/// A text field's rule: lengths counted without whitespace, and the characters allowed.
#[derive(Debug, Clone, Copy)]
pub struct TextRule {
    /// The name the error messages give the field.
    pub field: &'static str,
    pub min: usize,
    pub max: usize,
    pub allowed: Allowed,
}

const fn rule(field: &'static str, min: usize, max: usize, allowed: Allowed) -> TextRule {
    TextRule {
        field,
        min,
        max,
        allowed,
    }
}

pub const NAME: TextRule = rule("name", 2, 30, Allowed::Name);
pub const USERNAME: TextRule = rule("username", 5, 25, Allowed::Username);
pub const PASSWORD: TextRule = rule("password", 8, 64, Allowed::Password);
pub const NEW_PASSWORD: TextRule = PASSWORD.named("new_password");
pub const BIO: TextRule = rule("bio", 0, 450, Allowed::Any);
pub const LOCATION: TextRule = rule("location", 0, 60, Allowed::Any);
pub const OCCUPATION: TextRule = rule("occupation", 0, 60, Allowed::Any);
pub const ORGANIZATION: TextRule = rule("organization", 0, 60, Allowed::Any);
pub const SLACK_USERNAME: TextRule = rule("slack_username", 0, 60, Allowed::Any);
pub const SOCIAL_MEDIA_LINKS: TextRule = rule("social_media_links", 0, 400, Allowed::Any);
pub const SKILLS: TextRule = rule("skills", 0, 450, Allowed::Any);
pub const INTERESTS: TextRule = rule("interests", 0, 150, Allowed::Any);
// The reference leaves these two unchecked; its columns hold 200 characters.
pub const RESUME_URL: TextRule = rule("resume_url", 0, 200, Allowed::WebAddress);
pub const PHOTO_URL: TextRule = rule("photo_url", 0, 200, Allowed::WebAddress);
pub const RELATION_NOTES: TextRule = rule("notes", 0, 400, Allowed::Any);
pub const TASK_DESCRIPTION: TextRule = rule("description", 0, 1_000, Allowed::Any);
pub const COMMENT: TextRule = rule("comment", 0, 400, Allowed::Any);
pub const MEETING_PLACE: TextRule = rule("place", 0, 300, Allowed::Any);
pub const MEETING_NOTES: TextRule = rule("notes", 0, 1_000, Allowed::Any);

/// The length the reference measures: characters left after removing all whitespace.
pub fn stripped_len(text: &str) -> usize {
    text.chars().filter(|c| !c.is_whitespace()).count()
}

impl TextRule {
    /// The same rule under another field name (`new_password`).
    pub const fn named(self, field: &'static str) -> TextRule {
        TextRule { field, ..self }
    }

    /// With a minimum: `The {field} field has to be longer than {min-1} characters and shorter
    /// than {max+1} characters.`; without: `The {field} field has to be shorter than {max+1}
    /// characters.`
    pub fn check_length(&self, text: &str) -> Result<()> {
        let len = stripped_len(text);
        if len >= self.min && len <= self.max {
            return Ok(());
        }
        let message = if self.min > 0 {
            format!(
                "The {} field has to be longer than {} characters and shorter than {} characters.",
                self.field,
                self.min - 1,
                self.max + 1
            )
        } else {
            format!(
                "The {} field has to be shorter than {} characters.",
                self.field,
                self.max + 1
            )
        };
        Err(Error::with_text(
            ErrorKind::Invalid,
            "INVALID_LENGTH",
            message,
        ))
    }

    /// Whether every character is allowed (the reference's regular expressions).
    pub fn allows(&self, text: &str) -> bool {
        match self.allowed {
            Allowed::Any => true,
            Allowed::Name => {
                !text.is_empty()
                    && text
                        .chars()
                        .all(|c| c.is_ascii_alphabetic() || c.is_whitespace() || c == '-')
            }
            Allowed::Username => {
                !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            }
            Allowed::Password => !text.contains(' '),
            Allowed::WebAddress => {
                !text.contains(char::is_whitespace)
                    && url::Url::parse(text).is_ok_and(|url| {
                        matches!(url.scheme(), "http" | "https") && url.host().is_some()
                    })
            }
        }
    }

    /// The JSON-schema pattern of values this rule accepts: `min` to `max` characters that are
    /// not whitespace, with any whitespace around them where the rule allows it.
    pub fn pattern(&self) -> String {
        let (min, max) = (self.min, self.max);
        match self.allowed {
            Allowed::Any => format!(r"^\s*(?:\S\s*){{{min},{max}}}$"),
            Allowed::Name => format!(r"^\s*(?:[a-zA-Z-]\s*){{{min},{max}}}$"),
            Allowed::Username => format!(r"^[a-zA-Z0-9_]{{{min},{max}}}$"),
            Allowed::Password => format!(r"^[^\S ]*(?:\S[^\S ]*){{{min},{max}}}$"),
            // An empty text clears the field.
            Allowed::WebAddress => r"^(?:https?://\S+)?$".to_owned(),
        }
    }

    /// The OpenAPI schema of a field under this rule.
    pub fn schema(&self) -> Object {
        self.schema_of(SchemaType::new(Type::String))
    }

    /// The schema of a field under this rule that also takes `null` (it then clears the field).
    pub fn nullable_schema(&self) -> Object {
        self.schema_of(SchemaType::from_iter([Type::String, Type::Null]))
    }

    fn schema_of(&self, schema_type: SchemaType) -> Object {
        let mut description = format!("At most {} characters, whitespace not counted", self.max);
        if self.min > 0 {
            description = format!(
                "{} to {} characters, whitespace not counted",
                self.min, self.max
            );
        }
        match self.allowed {
            Allowed::Any => {}
            Allowed::Name => description.push_str("; letters, spaces and `-`"),
            Allowed::Username => description.push_str("; letters, digits and `_`"),
            Allowed::Password => description.push_str("; no space"),
            Allowed::WebAddress => {
                description = format!("An http or https URL of at most {} characters", self.max);
            }
        }
        let mut schema = ObjectBuilder::new()
            .schema_type(schema_type)
            .pattern(Some(self.pattern()))
            .description(Some(format!("{description}.")));
        if self.allowed == Allowed::WebAddress {
            schema = schema.max_length(Some(self.max));
        }
        schema.build()
    }
}

/// Schema functions for `#[schema(schema_with = ...)]`, which takes a function path.
pub mod schema {
    use super::*;

    macro_rules! schema_fns {
        ($($name:ident => $rule:expr),* $(,)?) => {
            $(pub fn $name() -> Object { $rule.schema() })*
            /// The same rules, for fields that also take `null`.
            pub mod nullable {
                use super::*;
                $(pub fn $name() -> Object { $rule.nullable_schema() })*
            }
        };
    }

    schema_fns! {
        name => NAME,
        username => USERNAME,
        password => PASSWORD,
        new_password => NEW_PASSWORD,
        bio => BIO,
        location => LOCATION,
        occupation => OCCUPATION,
        organization => ORGANIZATION,
        slack_username => SLACK_USERNAME,
        social_media_links => SOCIAL_MEDIA_LINKS,
        skills => SKILLS,
        interests => INTERESTS,
        resume_url => RESUME_URL,
        photo_url => PHOTO_URL,
        relation_notes => RELATION_NOTES,
        task_description => TASK_DESCRIPTION,
        comment => COMMENT,
        meeting_place => MEETING_PLACE,
        meeting_notes => MEETING_NOTES,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_ignore_whitespace() {
        assert!(NAME.check_length("a b").is_ok());
        let err = USERNAME.check_length("ab  cd").unwrap_err();
        assert_eq!(
            err.to_string(),
            "The username field has to be longer than 4 characters and shorter than 26 characters."
        );
        assert_eq!(
            BIO.check_length(&"x".repeat(451)).unwrap_err().to_string(),
            "The bio field has to be shorter than 451 characters."
        );
    }

    const RULES: [TextRule; 4] = [NAME, USERNAME, PASSWORD, BIO];

    /// What the checks accept, as one answer.
    fn accepted(rule: &TextRule, text: &str) -> bool {
        rule.check_length(text).is_ok() && rule.allows(text)
    }

    #[test]
    fn a_name_of_one_letter_and_a_space_is_refused_by_checks_and_schema_alike() {
        let pattern = regex::Regex::new(&NAME.pattern()).unwrap();
        assert!(!accepted(&NAME, " a"));
        assert!(!pattern.is_match(" a"));
        assert!(accepted(&NAME, " a b"));
        assert!(pattern.is_match(" a b"));
        assert!(accepted(&PASSWORD, "tab\tis-fine"));
        assert!(!accepted(&PASSWORD, "no spaces here"));
    }

    proptest::proptest! {
        /// The schema promises exactly what the server accepts.
        #[test]
        fn the_schema_pattern_accepts_exactly_what_the_checks_accept(
            text in "[ a-zA-Z0-9_\\-\t\u{2003}é!]{0,70}"
        ) {
            for rule in RULES {
                let pattern = regex::Regex::new(&rule.pattern()).unwrap();
                proptest::prop_assert_eq!(
                    pattern.is_match(&text),
                    accepted(&rule, &text),
                    "{} on {:?}", rule.field, text
                );
            }
        }
    }
}
