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

    #[test]
    fn short_names_drop_scope_and_plugin_affixes() {
        assert_eq!(short_name("@elizaos/plugin-solana"), "solana");
        assert_eq!(short_name("@blockrun/elizaos-plugin"), "elizaos");
        assert_eq!(short_name("plugin-x"), "x");
    }
}
