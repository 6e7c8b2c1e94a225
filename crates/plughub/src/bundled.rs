//! Plugins carried inside the binary and installed by their name with no registry: plughub's offline
//! model provider, so that an agent can run model-using plugins on a machine with no model API.

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

struct Bundled {
    name: &'static str,
    version: &'static str,
    files: &'static [(&'static str, &'static str)],
}

const BUNDLED: &[Bundled] = &[Bundled {
    name: "@plughub/plugin-local-model",
    version: "1.0.0",
    files: &[
        (
            "package.json",
            include_str!("../../../plugins/plugin-local-model/package.json"),
        ),
        (
            "index.js",
            include_str!("../../../plugins/plugin-local-model/index.js"),
        ),
    ],
}];

/// The folder to install from when `spec` names a bundled plugin (bare, or at its own version): its
/// files written under `dir`. `None` for anything else, which the registry resolves.
pub fn source(spec: &str, dir: &Path) -> Result<Option<PathBuf>> {
    let Some(bundled) = BUNDLED
        .iter()
        .find(|b| spec == b.name || spec.starts_with(&format!("{}@", b.name)))
    else {
        return Ok(None);
    };
    // Never looked up in a registry, where somebody else could publish the name.
    if spec != bundled.name && spec != format!("{}@{}", bundled.name, bundled.version) {
        anyhow::bail!(
            "{spec}: plughub carries {}@{} only; ask for it without a version",
            bundled.name,
            bundled.version
        );
    }
    let folder = dir.join(format!(
        "{}-{}",
        bundled.name.trim_start_matches('@').replace('/', "-"),
        bundled.version
    ));
    std::fs::create_dir_all(&folder)
        .with_context(|| format!("cannot create {}", folder.display()))?;
    for (file, text) in bundled.files {
        let path = folder.join(file);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(Some(folder))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_bundled_name_is_taken_from_the_binary() {
        let dir = tempfile::tempdir().unwrap();
        let folder = source("@plughub/plugin-local-model", dir.path())
            .unwrap()
            .unwrap();
        let manifest: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(folder.join("package.json")).unwrap())
                .unwrap();
        assert_eq!(manifest["name"], "@plughub/plugin-local-model");
        assert_eq!(manifest["version"], "1.0.0");
        assert!(folder.join("index.js").is_file());
        assert!(
            source("@plughub/plugin-local-model@1.0.0", dir.path())
                .unwrap()
                .is_some()
        );
        let other = source("@plughub/plugin-local-model@2.0.0", dir.path()).unwrap_err();
        assert!(
            other
                .to_string()
                .contains("carries @plughub/plugin-local-model@1.0.0 only")
        );
        assert!(
            source("@elizaos/plugin-openai", dir.path())
                .unwrap()
                .is_none()
        );
    }
}
