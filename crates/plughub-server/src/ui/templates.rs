//! The templates, compiled into the binary and parsed once. Every `.html` template escapes what it
//! prints unless told it is safe (only the sanitised README is), so plugin data cannot add markup.

use minijinja::Environment;
use std::sync::LazyLock;

/// Name and source of each template; `layout.html` and `macros.html` are what the pages share.
const TEMPLATES: &[(&str, &str)] = &[
    ("layout.html", include_str!("../../templates/layout.html")),
    ("macros.html", include_str!("../../templates/macros.html")),
    ("error.html", include_str!("../../templates/error.html")),
    ("login.html", include_str!("../../templates/login.html")),
    ("catalog.html", include_str!("../../templates/catalog.html")),
    ("plugin.html", include_str!("../../templates/plugin.html")),
    (
        "compatibility.html",
        include_str!("../../templates/compatibility.html"),
    ),
    ("install.html", include_str!("../../templates/install.html")),
    (
        "installed.html",
        include_str!("../../templates/installed.html"),
    ),
    (
        "playground.html",
        include_str!("../../templates/playground.html"),
    ),
    (
        "activity.html",
        include_str!("../../templates/activity.html"),
    ),
    (
        "analytics.html",
        include_str!("../../templates/analytics.html"),
    ),
    (
        "security.html",
        include_str!("../../templates/security.html"),
    ),
    ("account.html", include_str!("../../templates/account.html")),
    ("members.html", include_str!("../../templates/members.html")),
    (
        "invitation.html",
        include_str!("../../templates/invitation.html"),
    ),
    ("admin.html", include_str!("../../templates/admin.html")),
    (
        "publisher.html",
        include_str!("../../templates/publisher.html"),
    ),
    (
        "collections.html",
        include_str!("../../templates/collections.html"),
    ),
    (
        "collection.html",
        include_str!("../../templates/collection.html"),
    ),
    ("compare.html", include_str!("../../templates/compare.html")),
    (
        "admin_publishers.html",
        include_str!("../../templates/admin_publishers.html"),
    ),
    (
        "admin_registry.html",
        include_str!("../../templates/admin_registry.html"),
    ),
    ("reviews.html", include_str!("../../templates/reviews.html")),
    (
        "moderation.html",
        include_str!("../../templates/moderation.html"),
    ),
    (
        "notifications.html",
        include_str!("../../templates/notifications.html"),
    ),
    (
        "webhooks.html",
        include_str!("../../templates/webhooks.html"),
    ),
    (
        "changelog.html",
        include_str!("../../templates/changelog.html"),
    ),
    (
        "api_docs.html",
        include_str!("../../templates/api_docs.html"),
    ),
];

/// What a URL path segment or query value keeps unencoded: the unreserved characters (RFC 3986).
const URL_COMPONENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

pub static TEMPLATES_ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .unwrap_or_else(|e| panic!("template {name}: {e:#}"));
    }
    env.add_function("asset", |name: &str| super::assets::url(name));
    // minijinja's own `urlencode` leaves `/` as it is (as Jinja's does), which breaks a path segment
    // holding a scoped plugin's name: `/api/orgs/acme/plugins/@elizaos/plugin-x/activate` matches no
    // route. Every use here is one segment or one query value: encode all but the unreserved characters.
    env.add_filter("urlencode", |value: &str| {
        percent_encoding::utf8_percent_encode(value, URL_COMPONENT).to_string()
    });
    // The API reference's descriptions mark code with backticks, as the OpenAPI document's Markdown does.
    env.add_filter("ticks", |value: &str| {
        minijinja::Value::from_safe_string(super::api_docs::ticks(value))
    });
    env.set_formatter(format_value);
    env
});

/// minijinja's HTML escaping, but for `/`, which needs none in text or quoted attributes: paths and
/// plugin names (`@scope/name`) stay readable in the page's source.
fn format_value(
    out: &mut minijinja::Output,
    state: &mut minijinja::State,
    value: &minijinja::Value,
) -> Result<(), minijinja::Error> {
    match value.as_str() {
        Some(text)
            if !value.is_safe() && matches!(state.auto_escape(), minijinja::AutoEscape::Html) =>
        {
            let mut escaped = String::with_capacity(text.len());
            for c in text.chars() {
                match c {
                    '&' => escaped.push_str("&amp;"),
                    '<' => escaped.push_str("&lt;"),
                    '>' => escaped.push_str("&gt;"),
                    '"' => escaped.push_str("&quot;"),
                    '\'' => escaped.push_str("&#x27;"),
                    c => escaped.push(c),
                }
            }
            out.write_str(&escaped).map_err(minijinja::Error::from)
        }
        _ => minijinja::escape_formatter(out, state, value),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_template_parses() {
        assert!(super::TEMPLATES_ENV.templates().count() >= super::TEMPLATES.len());
    }

    #[test]
    fn a_scoped_name_is_one_path_segment() {
        let env = &super::TEMPLATES_ENV;
        let out = env
            .render_str(
                "{{ n|urlencode }}",
                minijinja::context! { n => "@elizaos/plugin-x v1&2" },
            )
            .unwrap();
        assert_eq!(out, "%40elizaos%2Fplugin-x%20v1%262");
    }
}
