//! The page templates, compiled into the binary.

use std::sync::LazyLock;

use minijinja::Environment;

const TEMPLATES: &[(&str, &str)] = &[
    (
        "layout.html",
        include_str!("../../../templates/pages/layout.html"),
    ),
    (
        "message.html",
        include_str!("../../../templates/pages/message.html"),
    ),
    (
        "invitation.html",
        include_str!("../../../templates/pages/invitation.html"),
    ),
];

/// The console's pages (`templates/console/`), on their own layout.
const CONSOLE_TEMPLATES: &[(&str, &str)] = &[
    (
        "console/layout.html",
        include_str!("../../../templates/console/layout.html"),
    ),
    (
        "console/sign_in.html",
        include_str!("../../../templates/console/sign_in.html"),
    ),
    (
        "console/error.html",
        include_str!("../../../templates/console/error.html"),
    ),
    (
        "console/overview.html",
        include_str!("../../../templates/console/overview.html"),
    ),
    (
        "console/members.html",
        include_str!("../../../templates/console/members.html"),
    ),
    (
        "console/member.html",
        include_str!("../../../templates/console/member.html"),
    ),
    (
        "console/relations.html",
        include_str!("../../../templates/console/relations.html"),
    ),
    (
        "console/meetings.html",
        include_str!("../../../templates/console/meetings.html"),
    ),
    (
        "console/meeting.html",
        include_str!("../../../templates/console/meeting.html"),
    ),
    (
        "console/mail.html",
        include_str!("../../../templates/console/mail.html"),
    ),
    (
        "console/jobs.html",
        include_str!("../../../templates/console/jobs.html"),
    ),
    (
        "console/audit.html",
        include_str!("../../../templates/console/audit.html"),
    ),
];

/// A stored time as the console shows it: UTC, to the minute.
fn time(at: Option<f64>) -> String {
    at.and_then(|at| chrono::DateTime::from_timestamp(at.floor() as i64, 0))
        .map(|at| at.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| "-".to_owned())
}

/// An age in words ("3 min"), for the oldest unsent mail.
fn age(seconds: Option<f64>) -> String {
    match seconds {
        None => "-".to_owned(),
        Some(s) if s < 120.0 => format!("{} s", s.max(0.0).round()),
        Some(s) if s < 7200.0 => format!("{} min", (s / 60.0).round()),
        Some(s) if s < 172_800.0 => format!("{} h", (s / 3600.0).round()),
        Some(s) => format!("{} days", (s / 86_400.0).round()),
    }
}

/// The member app's pages (`templates/member/`), on their own layout.
const MEMBER_TEMPLATES: &[(&str, &str)] = &[
    (
        "member/layout.html",
        include_str!("../../../templates/member/layout.html"),
    ),
    (
        "member/error.html",
        include_str!("../../../templates/member/error.html"),
    ),
    (
        "member/message.html",
        include_str!("../../../templates/member/message.html"),
    ),
    (
        "member/forgot_password.html",
        include_str!("../../../templates/member/forgot_password.html"),
    ),
    (
        "member/reset_password.html",
        include_str!("../../../templates/member/reset_password.html"),
    ),
    (
        "member/sign_in.html",
        include_str!("../../../templates/member/sign_in.html"),
    ),
    (
        "member/sign_up.html",
        include_str!("../../../templates/member/sign_up.html"),
    ),
    (
        "member/home.html",
        include_str!("../../../templates/member/home.html"),
    ),
    (
        "member/profile.html",
        include_str!("../../../templates/member/profile.html"),
    ),
    (
        "member/directory.html",
        include_str!("../../../templates/member/directory.html"),
    ),
    (
        "member/member.html",
        include_str!("../../../templates/member/member.html"),
    ),
    (
        "member/relations.html",
        include_str!("../../../templates/member/relations.html"),
    ),
    (
        "member/relation.html",
        include_str!("../../../templates/member/relation.html"),
    ),
    (
        "member/task.html",
        include_str!("../../../templates/member/task.html"),
    ),
    (
        "member/meeting.html",
        include_str!("../../../templates/member/meeting.html"),
    ),
    (
        "member/invitations.html",
        include_str!("../../../templates/member/invitations.html"),
    ),
];

/// A stored time as a member reads it: in their zone (an IANA name), to the minute.
fn local(at: Option<f64>, zone: Option<String>) -> String {
    let zone = crate::domain::meetings::zone(zone.as_deref());
    at.and_then(|at| chrono::DateTime::from_timestamp(at.floor() as i64, 0))
        .map(|at| {
            at.with_timezone(&zone)
                .format("%a %-d %b %Y, %H:%M")
                .to_string()
        })
        .unwrap_or_else(|| "-".to_owned())
}

static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.add_filter("time", time);
    env.add_filter("age", age);
    env.add_filter("local", local);
    for (name, source) in TEMPLATES
        .iter()
        .chain(CONSOLE_TEMPLATES)
        .chain(MEMBER_TEMPLATES)
    {
        env.add_template(name, source)
            .expect("a page template parses");
    }
    env
});

/// Renders a page. The templates are part of the binary and tested, so a failure is a bug:
/// it is logged, and the visitor sees a plain sentence rather than nothing.
pub fn render(name: &str, context: minijinja::Value) -> String {
    ENV.get_template(name)
        .and_then(|template| template.render(context))
        .unwrap_or_else(|err| {
            tracing::error!(error = %err, template = name, "a page could not be rendered");
            "<!doctype html><title>Error</title><p>This page could not be shown.</p>".to_owned()
        })
}

/// Anything serializable, as a template's context.
pub fn to_value<T: serde::Serialize>(value: &T) -> minijinja::Value {
    minijinja::Value::from(minijinja::value::Serde(value))
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_page_renders_and_escapes() {
        for (name, _) in super::TEMPLATES {
            let html = super::render(
                name,
                minijinja::context! {
                    title => "<b>t</b>", message => "<i>m</i>", token => "x", mentor => "<b>m</b>",
                    action => "/x?a=<b>", error => "<b>e</b>",
                },
            );
            assert!(!html.contains("could not be shown"), "{name} renders");
            assert!(!html.contains("<b>"), "{name} escapes");
        }
    }

    #[test]
    fn every_console_page_renders_and_escapes() {
        let member = minijinja::context! { id => 1, username => "<b>u</b>", name => "<b>n</b>" };
        for (name, _) in super::CONSOLE_TEMPLATES {
            let html = super::ENV.get_template(name).unwrap().render(
                minijinja::context! {
                    title => "<b>t</b>", username => "<b>me</b>", csrf => "\"><b>", notice => "<b>n</b>",
                    message => "<b>m</b>", error => "<b>e</b>", back => "/console",
                    page => minijinja::context! { member => member.clone(), rows => vec![member.clone()], q => "<b>q</b>", counted_at => 0.0, figures => minijinja::context! {}, meeting => member.clone() },
                },
            );
            let html = html.unwrap_or_else(|err| panic!("{name}: {err:#}"));
            assert!(!html.contains("could not be shown"), "{name} renders");
            assert!(!html.contains("<b>"), "{name} escapes");
        }
    }

    #[test]
    fn every_member_page_renders_and_escapes() {
        let b = "<b>x</b>";
        let party = minijinja::context! { id => 1, name => b };
        let relation = minijinja::context! { id => 1, mentor => party.clone(), mentee => party.clone(), end_date => 0.0, notes => b, state => 4 };
        let member = minijinja::context! { id => 1, username => b, name => b, bio => b, registration_date => 0.0, email => b, mentor => party.clone(), mentee => party.clone() };
        for (name, _) in super::MEMBER_TEMPLATES {
            let html = super::ENV.get_template(name).unwrap().render(
                minijinja::context! {
                    title => b, username => b, csrf => "\"><b>", notice => b, zone => "Europe/Paris",
                    message => b, error => b, back => "/app", values => minijinja::context! { name => b },
                    page => minijinja::context! {
                        member => member.clone(), me => member.clone(), rows => vec![member.clone()],
                        search => b, name => b, achievements => vec![minijinja::context! { description => b, completed_at => 0.0 }],
                        preferences => minijinja::context! { timezone => b }, zones => vec![b],
                        current => vec![relation.clone()], received => vec![relation.clone()],
                        sent => vec![relation.clone()], past => vec![relation.clone()],
                        relation => relation.clone(), relation_id => 1,
                        tasks => vec![minijinja::context! { id => 1, description => b, is_done => true, completed_at => 0.0 }],
                        task => minijinja::context! { id => 1, description => b },
                        comments => vec![minijinja::context! { id => 1, user_id => 1, comment => b, creation_date => 0.0 }],
                        meeting => minijinja::context! { id => 1, relation_id => 1, proposer_id => 2, state => "proposed", start_date => 0.0, end_date => 0.0, place => b, notes => b, mentor => party.clone(), mentee => party.clone(), substitute => party.clone(), substitute_status => "pending" },
                        meetings => vec![minijinja::context! { id => 1, state => "confirmed", start_date => 0.0, place => b, substitute => party.clone(), substitute_status => "pending" }],
                        candidates => vec![minijinja::context! { id => 1, name => b, username => b, reasons => vec![b] }],
                        is_mentor => true,
                    },
                },
            );
            let html = html.unwrap_or_else(|err| panic!("{name}: {err:#}"));
            assert!(!html.contains("could not be shown"), "{name} renders");
            assert!(!html.contains("<b>"), "{name} escapes");
        }
    }

    #[test]
    fn member_times_read_in_their_zone() {
        // 2026-12-01 10:00 UTC is 11:00 in Paris.
        let at = Some(1_796_119_200.0);
        assert_eq!(
            super::local(at, Some("Europe/Paris".into())),
            "Tue 1 Dec 2026, 11:00"
        );
        assert_eq!(super::local(at, None), "Tue 1 Dec 2026, 10:00");
    }
}
