//! `plughub compat`: the compatibility run over catalogue plugins published on a loopback registry (one
//! that inits, one whose init rejects placeholder settings, one with a `workspace:` dependency that no
//! registry has, one the registry does not have), resumed, retried and reported; and live, over real
//! `@elizaos/plugin-*` packages from the npm registry of this machine's npm configuration.

use crate::common::*;
use std::path::Path;

const OK: &str = "@fixture/plugin-compat-ok";
const STRICT: &str = "@fixture/plugin-compat-strict";
const WORKSPACE: &str = "@fixture/plugin-compat-workspace";
const GONE: &str = "@fixture/plugin-compat-gone";

fn publish(npm: &LoopbackNpm, name: &str, extra: Value, code: &str) {
    let mut manifest = serde_json::json!({ "name": name, "version": "1.0.0", "type": "module",
        "main": "index.js", "keywords": ["elizaos-plugin"] });
    for (k, v) in extra.as_object().into_iter().flatten() {
        manifest[k] = v.clone();
    }
    let tarball = plughub_testkit::tarball::package(&manifest, &[("index.js", code)]);
    npm.publish_version(manifest, tarball, None);
}

/// A registry snapshot naming the four plugins, each for core v1 at 1.0.0.
fn registry_file(dir: &Path) -> std::path::PathBuf {
    let mut registry = serde_json::Map::new();
    for name in [OK, STRICT, WORKSPACE, GONE] {
        registry.insert(
            name.to_string(),
            serde_json::json!({
                "git": { "repo": format!("fixture/{}", name.rsplit('/').next().unwrap()),
                         "v0": { "version": null, "branch": null },
                         "v1": { "version": "1.0.0", "branch": "main" },
                         "alpha": { "version": null, "branch": null } },
                "npm": { "repo": name, "v0": null, "v1": "1.0.0", "alpha": null,
                         "v0CoreRange": null, "v1CoreRange": "^1.0.0", "alphaCoreRange": null },
                "supports": { "v0": false, "v1": true, "alpha": false },
                "description": "a compatibility fixture", "homepage": null,
                "topics": ["elizaos-plugin"], "stargazers_count": 0, "language": "TypeScript"
            }),
        );
    }
    let path = dir.join("generated-registry.json");
    std::fs::write(
        &path,
        serde_json::to_vec(&serde_json::json!({
            "lastUpdatedAt": "2026-12-01T00:00:00.000Z", "registry": registry
        }))
        .unwrap(),
    )
    .unwrap();
    path
}

async fn world() -> (tempfile::TempDir, LoopbackNpm) {
    let dir = tempfile::tempdir().unwrap();
    share_pnpm(dir.path()).await;
    let npm = LoopbackNpm::start().await;
    publish(
        &npm,
        OK,
        serde_json::json!({ "agentConfig": { "pluginParameters": {
            "COMPAT_API_KEY": { "type": "string", "required": true, "sensitive": true },
            "COMPAT_BASE_URL": { "type": "string", "required": true } } } }),
        "export default { name: 'compat-ok', description: 'inits',
           actions: [{ name: 'HELLO_COMPAT', description: 'says hello', validate: async () => true,
                       handler: async () => ({ success: true }) }],
           init: async (config) => {
             if (!config.COMPAT_API_KEY || !config.COMPAT_BASE_URL.endsWith('.invalid/')) throw new Error('no placeholders');
           } };",
    );
    publish(
        &npm,
        STRICT,
        serde_json::json!({ "agentConfig": { "pluginParameters": {
            "STRICT_API_KEY": { "type": "string", "required": true, "sensitive": true } } } }),
        "export default { name: 'compat-strict', description: 'rejects placeholders',
           init: async (config) => {
             if (!String(config.STRICT_API_KEY).startsWith('sk-')) {
               throw new Error('Invalid plugin configuration: STRICT_API_KEY must start with sk-');
             }
           } };",
    );
    // Its dependency is not on any registry, so no rewrite of `workspace:` can find it.
    publish(
        &npm,
        WORKSPACE,
        serde_json::json!({ "dependencies": { "@fixture/compat-internal": "workspace:*" } }),
        "export default { name: 'compat-workspace', description: 'never installs' };",
    );
    let from = registry_file(dir.path());
    let data = dir.path().to_path_buf();
    let url = npm.url.clone();
    let out = tokio::task::spawn_blocking(move || {
        run(plughub(&data)
            .args([
                "catalog",
                "sync",
                "--json",
                "--npm-registry",
                &url,
                "--from",
            ])
            .arg(&from))
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    (dir, npm)
}

/// `plughub compat …` on the loopback registry, run off the test's runtime (the registry serves on it).
async fn compat(d: &Path, npm: &LoopbackNpm, args: &[&str]) -> Output {
    let mut cmd = plughub(d);
    cmd.arg("compat")
        .args(args)
        .args(["--npm-registry", &npm.url]);
    tokio::task::spawn_blocking(move || run(&mut cmd))
        .await
        .unwrap()
}

fn by_plugin(trials: &Value, plugin: &str) -> Value {
    trials
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["plugin"] == plugin)
        .unwrap_or_else(|| panic!("no trial of {plugin}: {trials}"))
        .clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_classifies_resumes_retries_and_reports() {
    let (dir, npm) = world().await;
    let d = dir.path();
    let names = [OK, STRICT, WORKSPACE, GONE];
    let mut args = vec!["run", "--json", "--jobs", "2"];
    args.extend(names);
    let out = compat(d, &npm, &args).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let trials: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(trials.as_array().unwrap().len(), 4, "{trials}");
    let offline_import = std::process::Command::new("unshare")
        .args(["--net", "true"])
        .status()
        .is_ok_and(|s| s.success());

    let ok = by_plugin(&trials, OK);
    assert_eq!(ok["reached"], "inited", "{ok}");
    assert_eq!(ok["cause"], Value::Null);
    assert_eq!(ok["version"], "1.0.0");
    assert_eq!(ok["core_major"], 1);
    assert_eq!(ok["registry"], npm.url.as_str());
    assert_eq!(ok["manifest"]["actions"][0]["name"], "HELLO_COMPAT", "{ok}");
    assert!(ok["disk_bytes"].as_i64().unwrap() > 0, "{ok}");
    assert_eq!(
        ok["npm"]["reached"],
        if offline_import {
            "loaded"
        } else {
            "installed"
        },
        "{ok}"
    );

    let strict = by_plugin(&trials, STRICT);
    assert_eq!(strict["reached"], "loaded", "{strict}");
    assert_eq!(strict["cause"], "settings_rejected", "{strict}");
    assert!(
        strict["message"]
            .as_str()
            .unwrap()
            .contains("STRICT_API_KEY must start with sk-"),
        "{strict}"
    );

    let workspace = by_plugin(&trials, WORKSPACE);
    assert_eq!(workspace["reached"], "nothing", "{workspace}");
    assert_eq!(workspace["cause"], "workspace_dependency", "{workspace}");
    assert_eq!(workspace["npm"]["reached"], "nothing", "{workspace}");

    let gone = by_plugin(&trials, GONE);
    assert_eq!(gone["reached"], "nothing", "{gone}");
    assert_eq!(gone["cause"], "package_missing", "{gone}");

    // Each trial's instance went again, and its package folder with it.
    let pkgs = d.join("packages/pkgs");
    let left: Vec<String> = std::fs::read_dir(&pkgs)
        .map(|r| {
            r.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains("compat"))
                .collect()
        })
        .unwrap_or_default();
    assert!(left.is_empty(), "package folders left: {left:?}");

    // Resumed: nothing changed, nothing is tried again.
    let mut args = vec!["run", "--no-npm-baseline"];
    args.extend(names);
    let out = compat(d, &npm, &args).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(said.contains("tried 0 versions"), "{said}");
    assert!(said.contains("4 skipped"), "{said}");

    // --retry tries again.
    let out = compat(
        d,
        &npm,
        &["run", "--retry", "--no-npm-baseline", "--json", OK],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let again: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(again.as_array().unwrap().len(), 1);
    assert_eq!(again[0]["reached"], "inited", "{again}");

    // The report adds up what is stored: one row per version.
    let out = compat(d, &npm, &["report", "--json"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let totals = &report["totals"];
    assert_eq!(totals["tried"], 4, "{report}");
    assert_eq!(totals["installed"], 2, "{report}");
    assert_eq!(totals["loaded"], 2, "{report}");
    assert_eq!(totals["inited"], 1, "{report}");
    // The retried one was tried without plain npm.
    assert_eq!(totals["npm_tried"], 3, "{report}");
    assert_eq!(
        report["registries"],
        serde_json::json!([npm.url]),
        "{report}"
    );
    let causes: Vec<(&str, &str)> = report["causes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["cause"].as_str().unwrap(), g["fault"].as_str().unwrap()))
        .collect();
    for expected in [
        ("settings_rejected", "plugin"),
        ("workspace_dependency", "plugin"),
        ("package_missing", "plugin"),
    ] {
        assert!(causes.contains(&expected), "{causes:?}");
    }
    if offline_import {
        let behind: Vec<&str> = report["behind_npm"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["plugin"].as_str().unwrap())
            .collect();
        assert_eq!(
            behind,
            [STRICT],
            "plain npm loads it; its init rejects placeholders"
        );
    }
    let out = compat(d, &npm, &["report", "--markdown"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let md = text(&out.stdout);
    assert!(md.contains("| plughub | 4 | 2 | 2 | 1 (25%) |"), "{md}");
    assert!(md.contains(&npm.url), "the registry is named: {md}");
    assert!(md.contains("`plughub compat run --all`"), "{md}");

    let out = run(plughub(d).args(["compat", "show", STRICT]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(shown.contains("settings_rejected"), "{shown}");
    assert!(
        shown.contains("STRICT_API_KEY must start with sk-"),
        "{shown}"
    );
}

/// Live: real plugins from the npm registry of this machine's npm configuration, tried under plughub
/// and plain npm. Skipped, with the reason printed, when npm cannot reach a registry.
#[test]
fn live_compat_run_on_real_plugins() {
    const PLUGINS: [&str; 2] = ["@elizaos/plugin-bootstrap", "@elizaos/plugin-openai"];
    if !npm_serves(PLUGINS[0]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_plughub"));
    cmd.arg("--data-dir")
        .arg(dir.path())
        .env_remove("NPM_CONFIG_REGISTRY")
        .env_remove("PLUGHUB_DATABASE_URL")
        .env(
            "PLUGHUB_REGISTRY_URL",
            closed_port_url("generated-registry.json"),
        )
        .args(["compat", "run", "--json", "--jobs", "2"])
        .args(PLUGINS);
    let out = run(&mut cmd);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let trials: Value = serde_json::from_slice(&out.stdout).unwrap();
    let registry = npm_registry();
    let registry = if registry.ends_with('/') {
        registry
    } else {
        format!("{registry}/")
    };
    for t in trials.as_array().unwrap() {
        assert_eq!(t["registry"], registry.as_str(), "{t}");
        println!(
            "live compat: {}@{} core {}: {} {} ({} ms, {} bytes); plain npm {}",
            t["plugin"],
            t["version"],
            t["core_major"],
            t["reached"],
            t["cause"],
            t["duration_ms"],
            t["disk_bytes"],
            t["npm"]["reached"]
        );
        if t["reached"] == "inited" {
            assert!(t["manifest"]["name"].is_string(), "{t}");
        } else {
            assert!(t["cause"].is_string() && t["message"].is_string(), "{t}");
        }
    }
    let bootstrap_inits = trials.as_array().unwrap().iter().any(|t| {
        t["plugin"] == PLUGINS[0]
            && t["reached"] == "inited"
            && t["manifest"]["providers"]
                .as_array()
                .is_some_and(|p| p.iter().any(|c| c["name"] == "TIME"))
    });
    assert!(bootstrap_inits, "a version of bootstrap inits: {trials}");
}
