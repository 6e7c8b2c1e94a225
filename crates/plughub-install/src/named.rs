//! Which npm package a name given to an install or an audit means. A name the catalogue knows means the
//! catalogue's plugin, resolved as `plughub info` resolves it (`solana` is `@elizaos/plugin-solana`, not
//! the unrelated npm package `solana`). Any other name is taken as written, and only when its package.json
//! looks like an elizaOS plugin's; else it is refused before anything is downloaded, unless whoever asks
//! says it is a private plugin (`--not-in-catalogue`).

use crate::InstallError;
use crate::fetch::document;
use crate::resolve::{Resolved, resolve};
use crate::source::PackageSource;
use plughub_domain::CoreMajor;
use plughub_domain::names::{Catalogue, catalogue_plugin};
use serde_json::Value;

/// How a name given by a user is read.
#[derive(Clone, Copy)]
pub enum Naming<'a> {
    /// Through the catalogue (none: an empty one); a name it does not hold must look like a plugin.
    Catalogue(Option<&'a dyn Catalogue>),
    /// As written, unchecked: a private plugin vouched for, or a name a plugin's own package.json gives.
    AsWritten,
}

/// What a package.json says of being an elizaOS plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PluginShape {
    /// A keyword `elizaos`, `elizaos-plugin`, `elizaos-plugins` (what the catalogue's npm discovery
    /// searches for).
    pub keyword: bool,
    /// The `agentConfig` elizaOS reads a plugin's settings from.
    pub agent_config: bool,
    /// `@elizaos/core` among its dependencies or peer dependencies.
    pub core_dependency: bool,
}

impl PluginShape {
    pub fn of(manifest: &Value) -> PluginShape {
        let keyword = manifest
            .get("keywords")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_ascii_lowercase)
            .any(|k| k == "elizaos" || k.starts_with("elizaos-"));
        let core_dependency = ["dependencies", "peerDependencies"].iter().any(|field| {
            manifest
                .get(field)
                .and_then(|d| d.get("@elizaos/core"))
                .is_some()
        });
        PluginShape {
            keyword,
            agent_config: manifest.get("agentConfig").is_some_and(Value::is_object),
            core_dependency,
        }
    }

    /// Any one of the signs is enough: plugins differ in which they carry, and a package with none of
    /// them is not one elizaOS was meant to load.
    pub fn looks_like_plugin(&self) -> bool {
        self.keyword || self.agent_config || self.core_dependency
    }
}

/// The version of the package `name` means that an install or an audit takes, checked as `naming` says.
pub async fn locate_named(
    client: &dyn PackageSource,
    name: &str,
    wanted: Option<&str>,
    core: Option<CoreMajor>,
    naming: Naming<'_>,
) -> Result<Resolved, InstallError> {
    let catalogue = match naming {
        Naming::AsWritten => {
            let doc = document(client, name).await?;
            return resolve(&doc, name, wanted, core);
        }
        Naming::Catalogue(catalogue) => catalogue,
    };
    if let Some(plugin) = catalogue.and_then(|c| catalogue_plugin(c, name)) {
        let doc = document(client, &plugin).await?;
        return resolve(&doc, &plugin, wanted, core);
    }
    let doc = document(client, name).await?;
    let resolved = resolve(&doc, name, wanted, core)?;
    let shape = PluginShape::of(&resolved.manifest);
    if !shape.looks_like_plugin() {
        return Err(InstallError::NotAPlugin {
            name: resolved.name,
            version: resolved.version,
            suggestions: catalogue.map(|c| c.suggest(name)).unwrap_or_default(),
        });
    }
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn any_sign_of_a_plugin_is_enough_and_none_is_not() {
        let left_pad = json!({ "name": "left-pad", "keywords": ["pad", "left"],
                               "dependencies": { "lodash": "4" } });
        assert!(!PluginShape::of(&left_pad).looks_like_plugin());
        for manifest in [
            json!({ "keywords": ["ElizaOS-Plugin"] }),
            json!({ "keywords": ["elizaos"] }),
            json!({ "agentConfig": { "pluginType": "elizaos:plugin:1.0.0" } }),
            json!({ "peerDependencies": { "@elizaos/core": "^1.0.0" } }),
            json!({ "dependencies": { "@elizaos/core": "workspace:*" } }),
        ] {
            assert!(PluginShape::of(&manifest).looks_like_plugin(), "{manifest}");
        }
        // Near misses are not signs.
        let near = json!({ "keywords": ["eliza"], "agentConfig": "x",
                           "devDependencies": { "@elizaos/core": "1" } });
        assert!(!PluginShape::of(&near).looks_like_plugin());
    }
}
