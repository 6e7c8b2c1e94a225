//! What a package asks for: the one reading of it, used by installs (what an organisation grants) and by
//! the catalogue (what anyone may search by). Its package.json's `plughub.permissions` declaration is
//! taken as written; without one, the analysis's evidence stands in: the network and the endpoint hosts
//! it names, the permission of each runtime call, and secret-looking settings it reads. The secrets its
//! settings declare are asked for either way: a plugin cannot use its own API key without them.

use crate::report::Report;
use crate::uses::Uses;
use plughub_domain::config_schema::{ConfigSchema, looks_sensitive};
use plughub_domain::permissions::{Permission, PermissionError, Permissions, needed_by_call};
use serde_json::Value;
use std::path::Path;

/// The permissions a package asks for, and whether it declared them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requested {
    pub permissions: Permissions,
    /// Declared in its package.json (else inferred from its code).
    pub declared: bool,
}

/// What the package in `dir`, analysed as `report`, asks for. A declaration that cannot be read is an
/// error: installs refuse the package rather than guess.
pub fn requested_permissions(dir: &Path, report: &Report) -> Result<Requested, PermissionError> {
    let manifest = read_json(&dir.join("package.json")).unwrap_or(Value::Null);
    let declaration = manifest.pointer("/plughub/permissions");
    let mut permissions = match declaration {
        Some(value) => Permissions::parse(value)?,
        None => {
            let mut inferred = inferred_permissions(&report.uses);
            if holds_native_addon(dir) {
                inferred.add(Permission::NativeAddons);
            }
            inferred
        }
    };
    permissions.add_secrets(
        settings_schema(dir)
            .params
            .iter()
            .filter(|p| p.sensitive)
            .map(|p| p.name.clone()),
    );
    Ok(Requested {
        permissions,
        declared: declaration.is_some(),
    })
}

/// What code that reaches for `uses` needs: the network with the hosts it names, the permission of each
/// runtime call, the secret-looking settings it reads.
pub fn inferred_permissions(uses: &Uses) -> Permissions {
    let mut asked = Permissions::default();
    if uses.network {
        // Hosts are names the analysis accepted as domains; one that is not is left for the grant.
        for host in &uses.hosts {
            let _ = asked.add_domains([host.clone()]);
        }
        asked.network.get_or_insert_with(Default::default);
    }
    for call in &uses.runtime_calls {
        if let Some(permission) = needed_by_call(call) {
            asked.add(permission);
        }
    }
    asked.add_secrets(uses.settings.iter().filter(|s| looks_sensitive(s)).cloned());
    asked
}

/// Whether the package tree in `dir` (its node_modules included, once installed: an install asks again
/// after its dependencies are in) holds a compiled native addon (a `.node` file): loading one needs
/// native.addons. Symbolic links are not followed (pnpm's links lead into the same tree).
pub fn holds_native_addon(dir: &Path) -> bool {
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let path = entry.path();
            if kind.is_dir() {
                folders.push(path);
            } else if kind.is_file() && path.extension().is_some_and(|e| e == "node") {
                return true;
            }
        }
    }
    false
}

/// The settings the package in `dir` declares (package.json `agentConfig`, v2 `elizaos.plugin.json`).
pub fn settings_schema(dir: &Path) -> ConfigSchema {
    let manifest = read_json(&dir.join("package.json"));
    let plugin_json = read_json(&dir.join("elizaos.plugin.json"));
    ConfigSchema::from_declarations(
        manifest.as_ref().and_then(|m| m.get("agentConfig")),
        plugin_json.as_ref(),
    )
}

fn read_json(path: &Path) -> Option<Value> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn package(manifest: Value) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("package.json"), manifest.to_string()).unwrap();
        dir
    }

    fn report_with(uses: Uses) -> Report {
        Report::new(None, None, 0, 0, vec![], std::time::Duration::ZERO).with_uses(uses)
    }

    #[test]
    fn a_declaration_is_taken_as_written_and_declared_secrets_added() {
        let dir = package(json!({
            "name": "p", "version": "1.0.0",
            "plughub": { "permissions": ["storage.read"] },
            "agentConfig": { "pluginParameters": {
                "P_API_KEY": { "type": "string", "sensitive": true },
                "P_MODE": { "type": "string" } } }
        }));
        let uses = Uses {
            network: true,
            ..Uses::default()
        };
        let asked = requested_permissions(dir.path(), &report_with(uses)).unwrap();
        assert!(asked.declared);
        assert_eq!(
            asked.permissions.lines(),
            ["storage.read", "secrets.access: P_API_KEY"]
        );
    }

    #[test]
    fn a_compiled_addon_in_the_tree_asks_for_native_addons() {
        let dir = package(json!({ "name": "p", "version": "1.0.0" }));
        let asked = requested_permissions(dir.path(), &report_with(Uses::default())).unwrap();
        assert!(!asked.permissions.native_addons);
        let bins = dir
            .path()
            .join("node_modules/@node-llama-cpp/linux-x64/bins");
        std::fs::create_dir_all(&bins).unwrap();
        std::fs::write(bins.join("llama-addon.node"), b"\x7fELF").unwrap();
        let asked = requested_permissions(dir.path(), &report_with(Uses::default())).unwrap();
        assert_eq!(asked.permissions.lines(), ["native.addons"]);
    }

    #[test]
    fn without_a_declaration_the_code_speaks() {
        let dir = package(json!({ "name": "p", "version": "1.0.0" }));
        let mut uses = Uses {
            network: true,
            ..Uses::default()
        };
        uses.hosts.insert("api.weather.io".into());
        uses.runtime_calls.insert("createMemory".into());
        uses.runtime_calls.insert("useModel".into());
        uses.settings.insert("WEATHER_API_KEY".into());
        uses.settings.insert("WEATHER_UNITS".into());
        let asked = requested_permissions(dir.path(), &report_with(uses)).unwrap();
        assert!(!asked.declared);
        assert_eq!(
            asked.permissions.lines(),
            [
                "network.external: api.weather.io",
                "storage.write",
                "secrets.access: WEATHER_API_KEY"
            ]
        );
    }

    #[test]
    fn a_malformed_declaration_is_an_error() {
        let dir = package(json!({ "plughub": { "permissions": ["storage.delete"] } }));
        let err = requested_permissions(dir.path(), &report_with(Uses::default())).unwrap_err();
        assert!(err.to_string().contains("storage.delete"), "{err}");
    }
}
