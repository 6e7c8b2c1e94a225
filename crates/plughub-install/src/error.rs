#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("'{0}' is not a package name, a name@version, a folder or a .tgz file")]
    BadSpec(String),
    #[error(
        "{name} is not on the npm registry at {registry} (404): check the name, or whether your registry mirrors it"
    )]
    NotOnNpm { name: String, registry: String },
    #[error(
        "{name} is published to plughub, which is its only source: it has no published version there (each is quarantined, rejected or unpublished), and it is never taken from npm instead"
    )]
    NotPublished { name: String },
    #[error("{name}: no version matches '{wanted}' (notarget); {available}")]
    NoTarget {
        name: String,
        wanted: String,
        available: String,
    },
    #[error("{name}: no version works with core {core}; {available}")]
    NoCompatible {
        name: String,
        core: String,
        available: String,
    },
    #[error(
        "{name}@{version} is not in the catalogue and does not look like an elizaOS plugin: no elizaos keyword, no agentConfig, no @elizaos/core dependency{}; if it is a private plugin, pass --not-in-catalogue (through the API: \"not_in_catalogue\": true)",
        closest(.suggestions)
    )]
    NotAPlugin {
        name: String,
        version: String,
        /// Catalogue plugins of names close to the one asked for.
        suggestions: Vec<String>,
    },
    #[error(
        "{plugin} depends on {dependency}@{spec}, a reference to its author's monorepo that npm replaces with a version when it publishes, and plughub cannot replace it: {reason}. The plugin's author must publish it with that dependency as a version range"
    )]
    WorkspaceDependency {
        plugin: String,
        dependency: String,
        spec: String,
        reason: String,
    },
    #[error("{name}@{version}: the package document has no tarball to download")]
    NoTarball { name: String, version: String },
    #[error(
        "{name}@{version}: the tarball does not match its integrity ({expected}): it was altered or corrupted in transit, and was not installed"
    )]
    IntegrityMismatch {
        name: String,
        version: String,
        expected: String,
    },
    #[error("{name}@{version}: the integrity string '{value}' cannot be read: {reason}")]
    BadIntegrity {
        name: String,
        version: String,
        value: String,
        reason: String,
    },
    #[error("unsafe archive: {0}; nothing was extracted")]
    Unsafe(String),
    #[error("the plugin's dependencies could not be installed: {0}")]
    Dependencies(String),
    #[error("the npm registry could not be used: {0}")]
    Npm(String),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

fn closest(suggestions: &[String]) -> String {
    match suggestions {
        [] => String::new(),
        names => format!(" (the catalogue has {})", names.join(", ")),
    }
}

impl InstallError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> InstallError {
        InstallError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}
