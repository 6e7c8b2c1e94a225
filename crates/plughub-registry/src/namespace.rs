//! Who may publish where, beyond holding the publisher: the namespaces nobody may claim (`@elizaos` and
//! every scope of the official registry), and npm's rule: a namespace npm already has is not plughub's
//! to give unless it is proven to be the same publisher's (docs/publishing.md says how).

use crate::{RegistryError, Result};
use plughub_npm::{DocumentOutcome, NpmClient};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::LazyLock;

/// Scopes reserved whatever the registry snapshot says: elizaOS's own.
const ALWAYS_RESERVED: [&str; 2] = ["@elizaos", "@elizaos-plugins"];

/// `@elizaos`, `@elizaos-plugins` and every scope of the official registry's snapshot the binary carries
/// (the starter catalogue's registry records): plugins published there are elizaOS's, and a plughub
/// package of the same scope would pass for one of them.
pub static RESERVED_SCOPES: LazyLock<BTreeSet<String>> = LazyLock::new(|| {
    let mut scopes: BTreeSet<String> = ALWAYS_RESERVED.iter().map(|s| s.to_string()).collect();
    if let Ok(starter) = plughub_catalog::starter::embedded() {
        scopes.extend(
            starter
                .entries
                .iter()
                .filter(|e| !e.registry.is_empty())
                .filter_map(|e| e.name.split_once('/'))
                .filter(|(scope, _)| scope.starts_with('@'))
                .map(|(scope, _)| scope.to_string()),
        );
    }
    scopes
});

/// Whether `namespace` (an `@scope` or an unscoped name) may never be published to.
pub fn is_reserved(namespace: &str) -> bool {
    RESERVED_SCOPES.contains(namespace)
}

/// What npm says of a namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnNpm {
    /// npm has nothing of it.
    Free,
    /// npm has it: the packages that show it.
    Taken(Vec<String>),
    /// npm has it, and one of its versions names the plughub publisher (`"plughub": {"publisher":
    /// "<namespace>"}` in its package.json): the same people hold both.
    Proven(String),
}

/// The most of a scope's npm packages read for a proof.
const MAX_READ: usize = 20;

/// Asks npm whether it has `namespace` for publishing `name`: for a scope, the name itself or any
/// package of the scope in npm's search; for an unscoped name, the name.
pub async fn on_npm(npm: &NpmClient, namespace: &str, name: &str) -> Result<OnNpm> {
    // A scope the npm configuration sends to a registry of its own is looked for there (its search
    // too): that is where npm clients would take its packages from.
    let scoped;
    let npm = match npm.config().scopes.get(&namespace.to_ascii_lowercase()) {
        Some(registry) if registry != npm.base() => {
            let mut config = npm.config().clone();
            config.registry = registry.clone();
            scoped = NpmClient::with_config(config);
            &scoped
        }
        _ => npm,
    };
    let mut found: Vec<(String, Value)> = Vec::new();
    if let Some(doc) = document(npm, name).await? {
        found.push((name.to_string(), doc));
    }
    if let Some(scope) = namespace.strip_prefix('@') {
        let prefix = format!("{namespace}/");
        // A registry without search (a private one) answers with an error: the name's own document is
        // then all that can be asked.
        if let Ok(names) = npm.search(&format!("scope:{scope}")).await {
            let scoped: BTreeSet<String> = names
                .into_iter()
                .filter(|n| n.starts_with(&prefix) && n != name)
                .collect();
            for other in scoped.into_iter().take(MAX_READ) {
                match document(npm, &other).await? {
                    Some(doc) => found.push((other, doc)),
                    // Listed by search but gone: still a package npm had under the scope.
                    None => found.push((other, Value::Null)),
                }
            }
        }
    }
    if found.is_empty() {
        return Ok(OnNpm::Free);
    }
    for (package, doc) in &found {
        if names_publisher(doc, namespace) {
            return Ok(OnNpm::Proven(package.clone()));
        }
    }
    Ok(OnNpm::Taken(found.into_iter().map(|(n, _)| n).collect()))
}

/// Whether any version of an npm document says `"plughub": {"publisher": namespace}`.
fn names_publisher(doc: &Value, namespace: &str) -> bool {
    doc.get("versions")
        .and_then(Value::as_object)
        .is_some_and(|versions| {
            versions
                .values()
                .any(|v| v.pointer("/plughub/publisher").and_then(Value::as_str) == Some(namespace))
        })
}

async fn document(npm: &NpmClient, name: &str) -> Result<Option<Value>> {
    match npm.document(name).await {
        DocumentOutcome::Found(doc) => Ok(Some(*doc)),
        DocumentOutcome::Missing => Ok(None),
        DocumentOutcome::Failed { reason, .. } => Err(RegistryError::Npm(format!(
            "could not ask the npm registry at {} whether it has {name} ({reason}); nothing was published: try again later",
            npm.base()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elizaos_and_the_registry_scopes_are_reserved() {
        assert!(is_reserved("@elizaos"));
        assert!(is_reserved("@elizaos-plugins"));
        assert!(!is_reserved("@acme"));
        assert!(!is_reserved("plugin-x"));
        // The snapshot carries more than elizaOS's own scope.
        assert!(RESERVED_SCOPES.len() > 2, "{:?}", *RESERVED_SCOPES);
    }
}
