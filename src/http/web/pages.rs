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
    (
        "reset_password.html",
        include_str!("../../../templates/pages/reset_password.html"),
    ),
    (
        "forgot_password.html",
        include_str!("../../../templates/pages/forgot_password.html"),
    ),
];

static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    for (name, source) in TEMPLATES {
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
}
