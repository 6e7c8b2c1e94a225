//! Plugin name normalisation, as the elizaOS CLI does it: `solana`, `plugin-solana`, `@elizaos/solana` and
//! `@elizaos/plugin-solana` all name `@elizaos/plugin-solana`.

/// The npm names a user's query may mean, most specific first.
pub fn candidate_names(query: &str) -> Vec<String> {
    let q = query.trim().to_ascii_lowercase();
    let mut out: Vec<String> = Vec::new();
    let mut push = |s: String| {
        if !s.is_empty() && !out.contains(&s) {
            out.push(s);
        }
    };
    push(q.clone());
    let (scope, bare) = match q.strip_prefix('@').and_then(|rest| rest.split_once('/')) {
        Some((scope, bare)) => (Some(scope.to_string()), bare.to_string()),
        None => (None, q.clone()),
    };
    let stem = bare.strip_prefix("plugin-").unwrap_or(&bare).to_string();
    if stem.is_empty() {
        return out;
    }
    let scope = scope.unwrap_or_else(|| "elizaos".to_string());
    push(format!("@{scope}/plugin-{stem}"));
    push(format!("@{scope}/{stem}"));
    push(format!("plugin-{stem}"));
    push(format!("@elizaos/plugin-{stem}"));
    out
}

/// The part of a name that says what the plugin is: `@elizaos/plugin-solana` → `solana`.
pub fn short_name(name: &str) -> &str {
    let bare = name.rsplit_once('/').map_or(name, |(_, b)| b);
    let bare = bare.strip_prefix("plugin-").unwrap_or(bare);
    bare.strip_suffix("-plugin").unwrap_or(bare)
}

/// The catalogue as an install asks it which plugin a name means. The trait lives here so that the
/// installer can ask the catalogue without depending on the crate that keeps it (dependencies point down);
/// the catalogue implements it with the same resolution `plughub info` uses.
pub trait Catalogue: Send + Sync {
    /// The catalogue's plugin a name means, by any usual spelling (`solana`, `plugin-solana`,
    /// `@elizaos/plugin-solana`).
    fn resolve(&self, name: &str) -> Option<String>;
    /// The closest names to one the catalogue does not hold, best first.
    fn suggest(&self, name: &str) -> Vec<String>;
}

/// The catalogue's plugin a name given to an install, update or audit means. A bare name is resolved as
/// `plughub info` resolves it; a scoped name may be spelt out within its own scope (`@elizaos/solana`)
/// but never moved to another one: `@acme/plugin-solana` is acme's package, not `@elizaos/plugin-solana`.
pub fn catalogue_plugin(catalogue: &dyn Catalogue, name: &str) -> Option<String> {
    let found = catalogue.resolve(name)?;
    let scope = |n: &str| {
        n.trim()
            .strip_prefix('@')
            .and_then(|rest| rest.split_once('/'))
            .map(|(scope, _)| scope.to_ascii_lowercase())
    };
    match scope(name) {
        Some(typed) if scope(&found).as_deref() != Some(typed.as_str()) => None,
        _ => Some(found),
    }
}

/// The namespace a package name belongs to, which one publisher owns: its npm scope (`@acme` for
/// `@acme/plugin-x`), or, for an unscoped name, the name itself.
pub fn namespace_of(name: &str) -> &str {
    match name.split_once('/') {
        Some((scope, _)) if scope.starts_with('@') => scope,
        _ => name,
    }
}

/// Whether an npm dependency of a plugin is itself an elizaOS plugin (which plughub installs as an instance
/// of its own) rather than a library: the naming convention every registry entry follows.
pub fn is_plugin_package(name: &str) -> bool {
    let bare = name.rsplit_once('/').map_or(name, |(_, b)| b);
    bare.starts_with("plugin-") || bare.ends_with("-plugin")
}

/// Whether `name` may name an organisation or an agent: 1 to 64 letters, digits, `-`, `_` or `.`, so it
/// reads the same in a URL, a shell and the store.
pub fn is_usable_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_dependencies_are_told_from_libraries() {
        assert!(is_plugin_package("@elizaos/plugin-sql"));
        assert!(is_plugin_package("plugin-x"));
        assert!(is_plugin_package("@blockrun/elizaos-plugin"));
        assert!(!is_plugin_package("@elizaos/core"));
        assert!(!is_plugin_package("pluginator"));
        assert!(!is_plugin_package("zod"));
    }

    #[test]
    fn every_usual_spelling_leads_to_the_scoped_plugin_name() {
        for q in [
            "solana",
            "plugin-solana",
            "@elizaos/solana",
            "@elizaos/plugin-solana",
            " Solana ",
        ] {
            let names = candidate_names(q);
            assert!(
                names.contains(&"@elizaos/plugin-solana".to_string()),
                "{q}: {names:?}"
            );
        }
    }

    #[test]
    fn a_foreign_scope_is_kept() {
        let names = candidate_names("@bealers/mattermost");
        assert!(
            names.contains(&"@bealers/plugin-mattermost".to_string()),
            "{names:?}"
        );
    }

    /// A catalogue holding the names given, resolved as the catalogue's index does (first candidate held).
    struct Held(Vec<&'static str>);

    impl Catalogue for Held {
        fn resolve(&self, name: &str) -> Option<String> {
            candidate_names(name)
                .into_iter()
                .find(|c| self.0.contains(&c.as_str()))
        }
        fn suggest(&self, _: &str) -> Vec<String> {
            Vec::new()
        }
    }

    #[test]
    fn a_bare_name_means_the_catalogue_plugin_and_a_scope_is_never_left() {
        let held = Held(vec!["@elizaos/plugin-solana", "plugin-x"]);
        let meant = |n| catalogue_plugin(&held, n);
        assert_eq!(meant("solana").as_deref(), Some("@elizaos/plugin-solana"));
        assert_eq!(
            meant("@elizaos/solana").as_deref(),
            Some("@elizaos/plugin-solana")
        );
        // acme's own packages stay acme's, though the catalogue holds plugins of the same short name.
        assert_eq!(meant("@acme/plugin-solana"), None);
        assert_eq!(meant("@acme/plugin-x"), None);
        assert_eq!(meant("left-pad"), None);
    }

    #[test]
    fn short_names_drop_scope_and_plugin_affixes() {
        assert_eq!(short_name("@elizaos/plugin-solana"), "solana");
        assert_eq!(short_name("@blockrun/elizaos-plugin"), "elizaos");
        assert_eq!(short_name("plugin-x"), "x");
    }

    #[test]
    fn a_namespace_is_the_scope_or_the_whole_unscoped_name() {
        assert_eq!(namespace_of("@acme/plugin-x"), "@acme");
        assert_eq!(namespace_of("@elizaos/plugin-openai"), "@elizaos");
        assert_eq!(namespace_of("plugin-foo"), "plugin-foo");
    }
}
