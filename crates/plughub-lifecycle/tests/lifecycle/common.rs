//! What the lifecycle tests share: a store with two organisations, a registry served on loopback, and an
//! installer using the real pnpm.

pub use plughub_domain::lifecycle::State;
pub use plughub_domain::{EventType, Plan, ThingKind};
pub use plughub_lifecycle::{InstallOptions, Installer, LifecycleError, PackageStore};
pub use plughub_store::{EventFilter, NewThing, Store};
pub use plughub_testkit::http::LoopbackNpm;
pub use plughub_testkit::tarball::package;
pub use plughub_testkit::{TestBackend, TestStore};
pub use serde_json::json;
pub use std::path::Path;

/// pnpm is installed once for this test binary (tests may run at once).
pub async fn installer(store: Store, root: &Path, registry: &str) -> Installer {
    static TOOLS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _one = TOOLS.lock().await;
    let shared_tools = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("tools");
    let installer = Installer::open(store, root, registry).await.unwrap();
    // Share the pnpm the other tests already installed.
    std::fs::create_dir_all(root).unwrap();
    if !root.join("tools").exists() && shared_tools.exists() {
        std::os::unix::fs::symlink(&shared_tools, root.join("tools")).unwrap();
    }
    installer
}

pub fn publish_plugin(
    npm: &LoopbackNpm,
    name: &str,
    version: &str,
    code: &str,
    scripts: Option<serde_json::Value>,
) {
    // The elizaos keyword, as plugins are published: a name the catalogue does not hold must look like
    // a plugin to be installed.
    let mut manifest = json!({ "name": name, "version": version, "type": "module", "main": "dist/index.js",
                               "keywords": ["elizaos-plugin"],
                               "dependencies": { "@acme/dep": "^1.0.0" } });
    if let Some(s) = scripts {
        manifest["scripts"] = s;
    }
    npm.publish_version(
        manifest.clone(),
        package(&manifest, &[("dist/index.js", code)]),
        None,
    );
}

pub async fn world() -> (TestStore, LoopbackNpm, tempfile::TempDir) {
    let t = TestStore::new(TestBackend::Sqlite).await;
    let mut tx = t.store.begin().await.unwrap();
    tx.create_group("acme", Plan::Pro, None, "test")
        .await
        .unwrap();
    tx.create_group("globex", Plan::Free, None, "test")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let npm = LoopbackNpm::start().await;
    let dep = json!({ "name": "@acme/dep", "version": "1.0.0", "main": "index.js" });
    npm.publish_version(
        dep.clone(),
        package(&dep, &[("index.js", "module.exports = 42;")]),
        None,
    );
    (t, npm, tempfile::tempdir().unwrap())
}

pub fn opts(actor: &str) -> InstallOptions {
    InstallOptions {
        actor: actor.into(),
        ..Default::default()
    }
}

/// Publishes a plugin version whose package.json has `extra` merged in (dependencies, agentConfig, …).
pub fn publish_with(npm: &LoopbackNpm, name: &str, version: &str, extra: serde_json::Value) {
    let mut manifest = json!({ "name": name, "version": version, "type": "module",
                               "main": "dist/index.js", "keywords": ["elizaos-plugin"] });
    for (k, v) in extra.as_object().into_iter().flatten() {
        manifest[k] = v.clone();
    }
    npm.publish_version(
        manifest.clone(),
        package(&manifest, &[("dist/index.js", "export default {};")]),
        None,
    );
}

pub fn settings(pairs: &[(&str, &str)]) -> std::collections::BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The events of an organisation as `type:plugin:phase`, in order.
pub async fn story(store: &Store, org: &str) -> Vec<String> {
    let group = store.group_by_name(org).await.unwrap().unwrap();
    store
        .events(&EventFilter {
            group_id: Some(group.id),
            ..Default::default()
        })
        .await
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{}:{}:{}",
                e.event_type,
                e.metadata["plugin"].as_str().unwrap_or(""),
                e.metadata["phase"].as_str().unwrap_or("")
            )
        })
        .collect()
}
