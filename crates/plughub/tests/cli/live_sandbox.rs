//! Live: real plugins from the npm registry of this machine's npm configuration that the sandbox's old
//! figures or its gates stopped. `@elizaos/plugin-evm` failed with EMFILE at 256 open files;
//! `@elizaos/plugin-local-ai` stops at Node's addon gate until an org owner grants native.addons.
//! Granted domains never resolve (`*.invalid`): every request of theirs fails at the egress proxy. Skipped,
//! with the reason printed, when npm cannot reach a registry.

use crate::common::*;
use std::path::Path;

fn plughub_live(data_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_plughub"));
    cmd.arg("--data-dir").arg(data_dir);
    cmd.env_remove("NPM_CONFIG_REGISTRY")
        .env_remove("PLUGHUB_DATABASE_URL")
        .env_remove("PLUGHUB_SANDBOX")
        .env(
            "PLUGHUB_REGISTRY_URL",
            closed_port_url("generated-registry.json"),
        );
    cmd
}

/// Whether npm reaches a registry serving `package` (else the test prints SKIPPED and returns).
fn reachable(package: &str) -> bool {
    match Command::new("npm")
        .args(["view", package, "version"])
        .output()
    {
        Ok(out) if out.status.success() => true,
        Ok(out) => {
            println!(
                "SKIPPED {package}: npm cannot reach a registry: {}",
                text(&out.stderr).trim()
            );
            false
        }
        Err(e) => {
            println!("SKIPPED {package}: cannot run npm ({e})");
            false
        }
    }
}

fn ok_live(d: &Path, args: &[&str]) -> String {
    let out = run(plughub_live(d).args(args));
    assert!(
        out.status.success(),
        "{args:?}: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// Installs `plugin` in a new organisation `live` and grants what it asks for, but with a domain that
/// never resolves in place of its domains and without the permissions `withheld`.
fn install_offline(d: &Path, plugin: &str, withheld: &[&str]) -> Value {
    ok_live(d, &["admin", "create-org", "live"]);
    ok_live(d, &["install", plugin, "--org", "live", "--core", "v1"]);
    let view: Value = serde_json::from_str(&ok_live(
        d,
        &["permissions", plugin, "--org", "live", "--json"],
    ))
    .unwrap();
    let mut grant: Vec<String> = ["grant", plugin, "--org", "live"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for (name, argument) in view["requested"].as_object().unwrap() {
        if withheld.contains(&name.as_str()) {
            continue;
        }
        match name.as_str() {
            "network.external" => grant.extend(["--domain".into(), "plughub-test.invalid".into()]),
            "secrets.access" => {
                for secret in argument.as_array().unwrap() {
                    grant.extend(["--secret".into(), secret.as_str().unwrap().into()]);
                }
            }
            "process.spawn" => {}
            flag => grant.extend(["--permission".into(), flag.into()]),
        }
    }
    let grant: Vec<&str> = grant.iter().map(String::as_str).collect();
    ok_live(d, &grant);
    view
}

#[test]
fn plugin_evm_loads_and_inits_in_the_sandbox() {
    let plugin = "@elizaos/plugin-evm";
    if !reachable(plugin) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    install_offline(d, plugin, &[]);
    // A key of the right shape that holds nothing (its settings validator wants one).
    let key = format!("EVM_PRIVATE_KEY=0x{}", "11".repeat(32));
    ok_live(d, &["configure", plugin, "--org", "live", &key]);
    let out = run(plughub_live(d).args(["inspect", plugin, "--org", "live", "--json"]));
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("EMFILE"), "{stderr}");
    assert!(out.status.success(), "{stderr}");
    let manifest: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        !manifest["actions"].as_array().unwrap().is_empty(),
        "{manifest}"
    );
    println!(
        "live sandbox: {plugin} loads and inits; actions {}",
        manifest["actions"]
    );
}

#[test]
fn plugin_local_ai_needs_native_addons_and_gets_past_the_gate_with_it() {
    let plugin = "@elizaos/plugin-local-ai";
    if !reachable(plugin) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let view = install_offline(d, plugin, &["native.addons"]);
    assert_eq!(
        view["requested"]["native.addons"], true,
        "its tree holds compiled addons (node-llama-cpp's): {view}"
    );
    let out = run(plughub_live(d).args(["inspect", plugin, "--org", "live"]));
    let refused = text(&out.stderr);
    assert!(!out.status.success(), "{refused}");
    // Asked for and not granted, it does not start: the refusal names the permission to grant. (Started
    // anyway, Node's addon gate stops it with the same advice: see the engine's grants tests.)
    assert!(
        refused.contains("native.addons"),
        "the refusal names the permission to grant: {refused}"
    );
    ok_live(
        d,
        &[
            "grant",
            plugin,
            "--org",
            "live",
            "--permission",
            "native.addons",
        ],
    );
    let out = run(plughub_live(d).args(["inspect", plugin, "--org", "live", "--json"]));
    let after = text(&out.stderr);
    assert!(!after.contains("loading addons is disabled"), "{after}");
    println!(
        "live sandbox: {plugin} with native.addons: {} {}",
        if out.status.success() {
            "inits"
        } else {
            "stops later"
        },
        after.lines().take(12).collect::<Vec<_>>().join("\n")
    );
}
