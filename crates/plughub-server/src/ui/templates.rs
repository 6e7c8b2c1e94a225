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
        "security.html",
        include_str!("../../templates/security.html"),
    ),
    ("account.html", include_str!("../../templates/account.html")),
];

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
    env.add_filter("urlencode", |value: &str| url_component(value));
    env
});

/// `value` as one URL path segment or query value: every byte but the unreserved characters (RFC 3986)
/// percent-encoded, as JavaScript's `encodeURIComponent` does (which also keeps `!*'()`).
fn url_component(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_template_parses() {
        assert!(super::TEMPLATES_ENV.templates().count() >= super::TEMPLATES.len());
    }
}
