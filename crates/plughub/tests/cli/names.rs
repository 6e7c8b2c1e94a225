//! A short name means the catalogue's plugin, as `info` shows it, for install, update and audit, on a
//! local store and through a server; a package neither in the catalogue nor shaped like an elizaOS plugin
//! is refused before anything is installed, unless it is installed as a private plugin.

use crate::common::*;
use std::path::Path;

const REFUSED: &str = "left-pad@1.3.0 is not in the catalogue and does not look like an elizaOS plugin: no elizaos keyword, no agentConfig, no @elizaos/core dependency";

fn publish(npm: &LoopbackNpm, manifest: Value, code: &str) {
    let tarball = plughub_testkit::tarball::package(&manifest, &[("index.js", code)]);
    npm.publish_version(manifest, tarball, None);
}

/// A small `@elizaos/plugin-solana` at `version`, named as the catalogue's plugin.
fn publish_solana_plugin(npm: &LoopbackNpm, version: &str) {
    publish(
        npm,
        serde_json::json!({ "name": "@elizaos/plugin-solana", "version": version, "type": "module",
            "main": "index.js", "keywords": ["elizaos-plugins", "solana"],
            "agentConfig": { "pluginType": "elizaos:plugin:1.0.0", "pluginParameters": {} } }),
        "export default { name: 'solana', description: 'a fixture named as the catalogue plugin', actions: [] };",
    );
}

/// The registry with the catalogue's plugin and the unrelated npm packages its short name and another
/// bare name also name.
async fn registry() -> LoopbackNpm {
    let npm = LoopbackNpm::start().await;
    publish_solana_plugin(&npm, "1.0.0");
    publish(
        &npm,
        serde_json::json!({ "name": "solana", "version": "3.0.0", "main": "index.js" }),
        "module.exports = () => require('child_process').spawn('solana', ['--version']);",
    );
    publish(
        &npm,
        serde_json::json!({ "name": "left-pad", "version": "1.3.0", "main": "index.js",
            "keywords": ["leftpad", "pad"] }),
        "module.exports = (s, n) => String(s).padStart(n);",
    );
    npm
}

/// A data directory with organisation acme and the catalogue synced from the registry snapshot.
async fn data_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    share_pnpm(dir.path()).await;
    ok(plughub(dir.path()).args(["admin", "create-org", "acme", "--plan", "pro"]));
    ok(plughub(dir.path())
        .args(["catalog", "sync", "--no-npm", "--from"])
        .arg(registry_snapshot_dir().join("generated-registry.json")));
    dir
}

/// Runs a command that must fail; returns its stderr.
fn fails(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(!out.status.success(), "{cmd:?}: {}", text(&out.stdout));
    text(&out.stderr)
}

fn installed_names(dir: &Path) -> Vec<String> {
    let list: Vec<Value> = serde_json::from_str(&ok(plughub(dir).args([
        "installed",
        "--org",
        "acme",
        "--json",
    ])))
    .unwrap();
    list.iter()
        .map(|r| r["plugin"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn install_update_and_audit_read_a_short_name_as_info_does() {
    let npm = registry().await;
    let dir = data_dir().await;
    let d = dir.path();
    let registry = ["--npm-registry", &npm.url];

    let info: Value =
        serde_json::from_str(&ok(plughub(d).args(["info", "solana", "--json"]))).unwrap();
    assert_eq!(info["name"], "@elizaos/plugin-solana");

    let out = ok(plughub(d)
        .args(["install", "solana", "--org", "acme"])
        .args(registry));
    assert!(
        out.contains("installed @elizaos/plugin-solana@1.0.0 for acme"),
        "{out}"
    );

    // Refused on its package document: nothing downloaded, nothing installed.
    let requests = npm.requests();
    let err = fails(
        plughub(d)
            .args(["install", "left-pad", "--org", "acme"])
            .args(registry),
    );
    assert!(
        err.contains(REFUSED) && err.contains("pass --not-in-catalogue"),
        "{err}"
    );
    assert_eq!(npm.requests(), requests + 1, "only the package document");
    assert_eq!(installed_names(d), ["@elizaos/plugin-solana"]);

    // Audit reads the name the same way: what it analyses is what an install would install.
    let audit: Value = serde_json::from_str(&ok(plughub(d)
        .args(["audit", "solana", "--json"])
        .args(registry)))
    .unwrap();
    assert_eq!(
        (&audit["name"], &audit["version"]),
        (
            &Value::from("@elizaos/plugin-solana"),
            &Value::from("1.0.0")
        )
    );
    let err = fails(plughub(d).args(["audit", "left-pad"]).args(registry));
    assert!(err.contains(REFUSED), "{err}");
    let audit: Value = serde_json::from_str(&ok(plughub(d)
        .args(["audit", "left-pad", "--not-in-catalogue", "--json"])
        .args(registry)))
    .unwrap();
    assert_eq!(audit["name"], "left-pad");

    publish_solana_plugin(&npm, "1.1.0");
    let out = ok(plughub(d)
        .args(["update", "solana", "--org", "acme"])
        .args(registry));
    assert!(
        out.contains("updated @elizaos/plugin-solana from 1.0.0 to 1.1.0 for acme"),
        "{out}"
    );

    // A private plugin by its owner's word: installed as written; the loader is still the last word,
    // and left-pad exports no plugin.
    let out = ok(plughub(d)
        .args(["install", "left-pad", "--org", "acme", "--not-in-catalogue"])
        .args(registry));
    assert!(out.contains("installed left-pad@1.3.0 for acme"), "{out}");
    assert_eq!(installed_names(d).len(), 2);
    let err = fails(plughub(d).args(["inspect", "left-pad", "--org", "acme"]));
    assert!(err.contains("exports no elizaOS plugin"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn through_a_server_the_server_reads_the_name() {
    let npm = registry().await;
    let server_dir = data_dir().await;
    let client_dir = tempfile::tempdir().unwrap();
    let dir = server_dir.path();
    let token = org_owner_token(dir, "owner@acme.test", "acme");
    let (_server, addr) = serve(plughub(dir).env("NPM_CONFIG_REGISTRY", &npm.url).args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--no-sync",
    ]));
    let url = format!("http://{addr}");
    let client = || {
        let mut cmd = plughub(client_dir.path());
        cmd.args(["--server", &url, "--token", &token]);
        cmd
    };

    let out = ok(client().args(["install", "solana", "--org", "acme"]));
    assert!(
        out.contains("installed @elizaos/plugin-solana@1.0.0 in acme"),
        "{out}"
    );
    let err = fails(client().args(["install", "left-pad", "--org", "acme"]));
    assert!(
        err.contains(REFUSED) && err.contains("(not_a_plugin, HTTP 422)"),
        "{err}"
    );
    let out = ok(client().args(["install", "left-pad", "--org", "acme", "--not-in-catalogue"]));
    assert!(out.contains("installed left-pad@1.3.0 in acme"), "{out}");

    publish_solana_plugin(&npm, "1.1.0");
    let out = ok(client().args(["update", "solana", "--org", "acme"]));
    assert!(
        out.contains("updated @elizaos/plugin-solana from 1.0.0 to 1.1.0"),
        "{out}"
    );
    assert_eq!(installed_names(dir), ["@elizaos/plugin-solana", "left-pad"]);
}
