//! E-mail templates: `templates/email/<name>/{subject.txt, body.txt, body.html}`, compiled into
//! the binary. The HTML part is auto-escaped; the subject loses any line break, so user values
//! can never inject a header.

use std::sync::LazyLock;

use anyhow::Context;
use minijinja::Environment;
use serde::Serialize;

macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        &[$(
            ($name,
             include_str!(concat!("../../templates/email/", $name, "/subject.txt")),
             include_str!(concat!("../../templates/email/", $name, "/body.txt")),
             include_str!(concat!("../../templates/email/", $name, "/body.html"))),
        )*]
    };
}

/// Every template: (name, subject, text body, HTML body).
const TEMPLATES: &[(&str, &str, &str, &str)] = templates![
    "verify_email",
    "reset_password",
    "relation_requested",
    "relation_accepted",
    "relation_rejected",
    "relation_cancelled",
    "relation_completed",
    "relation_partner_left",
    "meeting_proposed",
    "meeting_changed",
    "meeting_confirmed",
    "meeting_declined",
    "meeting_cancelled",
    "substitute_invitation",
    "substitute_accepted",
    "substitute_rejected",
    "substitute_mentee_notice",
    "substitute_confirmation",
    "substitution_ended",
    "invitation_closed",
    "meeting_scheduled",
    "meeting_removed",
    "meeting_notes_changed",
    "meeting_reminder",
    "relation_request_withdrawn",
    "console_test",
];

const LAYOUT: &str = include_str!("../../templates/email/layout.html");

static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.add_template("layout.html", LAYOUT)
        .expect("the layout parses");
    for (name, subject, text, html) in TEMPLATES {
        env.add_template_owned(format!("{name}/subject.txt"), *subject)
            .expect("subject parses");
        env.add_template_owned(format!("{name}/body.txt"), *text)
            .expect("text body parses");
        env.add_template_owned(format!("{name}/body.html"), *html)
            .expect("HTML body parses");
    }
    env
});

#[derive(Debug, Clone)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

pub fn render(name: &str, context: impl Serialize) -> anyhow::Result<Rendered> {
    let context = minijinja::Value::from(minijinja::value::Serde(&context));
    let part = |file: &str| -> anyhow::Result<String> {
        ENV.get_template(&format!("{name}/{file}"))
            .with_context(|| format!("no e-mail template {name}/{file}"))?
            .render(&context)
            .with_context(|| format!("rendering e-mail template {name}/{file}"))
    };
    let subject = part("subject.txt")?
        .replace(['\r', '\n'], " ")
        .trim()
        .to_owned();
    let text = part("body.txt")?;
    let body = part("body.html")?;
    let html = ENV
        .get_template("layout.html")?
        .render(minijinja::context! { subject => &subject, body => minijinja::Value::from_safe_string(body) })?;
    Ok(Rendered {
        subject,
        text,
        html,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_renders_and_escapes_html() {
        for (name, ..) in TEMPLATES {
            let context = serde_json::json!({
                "name": "<b>Ada</b>", "link": "http://x/y", "valid_days": 30, "sender": "Bob",
                "role_phrase": "to be your mentor", "end_date": "01-01-2027", "notes": "hi", "other": "Bob", "when": "1 Jan 2027 10:00 UTC",
                "mentor": "Bob", "mentee": "Eve", "substitute": "Sam", "accept_link": "http://x/a",
                "reject_link": "http://x/r", "expires": "8 Jan 2027 10:00 UTC", "place": "Room 1",
                "reason": "the relation ended", "outcome": "was withdrawn", "role": "mentor",
                "who": "the mentor took it back", "lead": "in 2 hours",
            });
            let mail = render(name, &context).unwrap();
            assert!(!mail.subject.is_empty(), "{name} has a subject");
            assert!(!mail.html.contains("<b>Ada</b>"), "{name} escapes HTML");
        }
    }
}
