//! Live: real plugins from the npm registry of this machine's npm configuration, installed as plain npm
//! installs them (`npm install --ignore-scripts`), run in the sandbox with no way out (no egress proxy).
//! `@elizaos/plugin-evm` failed with EMFILE at the old 256 open files; `@elizaos/plugin-local-ai` stops at
//! Node's addon gate until native.addons is granted. Skipped, with the reason printed, when npm cannot
//! reach a registry.

use crate::common::*;
use plughub_engine::SandboxPolicy;
use std::path::Path;
use std::process::Command;

/// `package` installed by npm into a new folder that stands as the plugin's package (its package.json
/// names the plugin and re-exports it); `None` (printed as SKIPPED) when npm cannot reach a registry.
fn npm_installed(package: &str) -> Option<tempfile::TempDir> {
    let skip = |why: String| {
        println!("SKIPPED {package}: {why}");
        None
    };
    match Command::new("npm")
        .args(["view", package, "version"])
        .output()
    {
        Ok(out) if out.status.success() => {}
        Ok(out) => {
            return skip(format!(
                "npm cannot reach a registry: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Err(e) => return skip(format!("cannot run npm ({e})")),
    }
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("npm")
        .args([
            "install",
            "--ignore-scripts",
            "--no-audit",
            "--no-fund",
            "--no-package-lock",
            package,
        ])
        .current_dir(dir.path())
        .env_remove("NPM_CONFIG_REGISTRY")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "npm install {package}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(
        dir.path().join("package.json"),
        json!({ "name": package, "version": "0.0.0", "type": "module", "main": "index.mjs" })
            .to_string(),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("index.mjs"),
        format!("export * from '{package}';\nexport {{ default }} from '{package}';\n"),
    )
    .unwrap();
    Some(dir)
}

fn boxed(
    package: &Path,
    run: &Path,
    settings: &[(&str, &str)],
    policy: SandboxPolicy,
) -> PluginSpec {
    let mut spec = spec("plugin-hello", run, settings);
    spec.worker.package_dir = package.to_path_buf();
    spec.worker.sandbox = Some(policy);
    spec.worker.memory_mb = None;
    spec.worker.start_timeout = SECOND * 120;
    spec.init_timeout = SECOND * 120;
    spec
}

#[tokio::test(flavor = "multi_thread")]
async fn plugin_evm_loads_and_inits_in_the_sandbox() {
    let Some(package) = npm_installed("@elizaos/plugin-evm") else {
        return;
    };
    let run_dir = tempfile::tempdir().unwrap();
    // A key of the right shape that holds nothing.
    let key = format!("0x{}", "11".repeat(32));
    let settings = [("EVM_PRIVATE_KEY", key.as_str())];
    let runtime = Arc::new(LocalRuntime::default());
    // The old figure: its module graph does not load within 256 open files.
    let old = SandboxPolicy {
        max_open_files: 256,
        ..SandboxPolicy::default()
    };
    let failed = LoadedPlugin::load(
        &boxed(package.path(), run_dir.path(), &settings, old),
        runtime.clone(),
    )
    .await
    .err()
    .expect("256 open files are too few for plugin-evm");
    println!(
        "plugin-evm at 256 open files: {}",
        failed
            .to_string()
            .lines()
            .find(|l| l.contains("Error") || l.contains("EMFILE"))
            .unwrap_or_default()
    );
    let plugin = LoadedPlugin::load(
        &boxed(
            package.path(),
            run_dir.path(),
            &settings,
            SandboxPolicy::default(),
        ),
        runtime,
    )
    .await
    .unwrap();
    let actions: Vec<String> = plugin
        .manifest()
        .actions
        .iter()
        .map(|a| a.name.clone())
        .collect();
    assert!(!actions.is_empty(), "{:?}", plugin.manifest());
    println!(
        "plugin-evm loads and inits in the sandbox; actions: {}",
        actions.join(", ")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn plugin_local_ai_gets_past_the_addon_gate_with_native_addons() {
    let Some(package) = npm_installed("@elizaos/plugin-local-ai") else {
        return;
    };
    let run_dir = tempfile::tempdir().unwrap();
    let runtime = Arc::new(LocalRuntime::default());
    let refused = LoadedPlugin::load(
        &boxed(
            package.path(),
            run_dir.path(),
            &[],
            SandboxPolicy::default(),
        ),
        runtime.clone(),
    )
    .await
    .err()
    .expect("Node's addon gate stops it")
    .to_string();
    assert!(
        refused.contains("loading addons is disabled")
            && refused.contains("grants it native.addons"),
        "{refused}"
    );
    let granted = SandboxPolicy {
        native_addons: true,
        ..SandboxPolicy::default()
    };
    let after = match LoadedPlugin::load(
        &boxed(package.path(), run_dir.path(), &[], granted),
        runtime,
    )
    .await
    {
        Ok(_) => "it inits".to_string(),
        Err(e) => e.to_string(),
    };
    assert!(!after.contains("loading addons is disabled"), "{after}");
    println!("plugin-local-ai with native.addons: {after}");
}
