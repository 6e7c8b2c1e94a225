//! Installs of ten real plugins from the npm registry of the npm configuration, through plughub: cold
//! (empty package store and empty caches), then warm (the same plugin@version already stored, for a second
//! organisation); against plain `npm install --ignore-scripts` of the same versions, a folder each, with an
//! empty npm cache. Disk counts each file once however many hard links it has.
//! Run: cargo bench -p plughub-lifecycle --bench install

use plughub_domain::Plan;
use plughub_lifecycle::{InstallOptions, Installer, LifecycleError};
use plughub_store::{Location, Store};
use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Instant;

const PLUGINS: [&str; 10] = [
    "@elizaos/plugin-openai",
    "@elizaos/plugin-anthropic",
    "@elizaos/plugin-groq",
    "@elizaos/plugin-openrouter",
    "@elizaos/plugin-sql",
    "@elizaos/plugin-bootstrap",
    "@elizaos/plugin-telegram",
    "@elizaos/plugin-discord",
    "@elizaos/plugin-knowledge",
    "@elizaos/plugin-evm",
];

fn main() {
    let Ok(registry) = plughub_npm::npm_registry_url() else {
        println!("no npm registry configured: nothing to measure");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // Cold means cold: pnpm's metadata cache and npm's cache start empty for this run.
    let caches = dir.path().join("caches");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let installed = runtime.block_on(through_plughub(dir.path(), &registry, &caches));
    through_npm(dir.path(), &installed, &caches);
}

/// Installs through plughub; returns the versions installed, for npm to install the same.
async fn through_plughub(root: &Path, registry: &str, caches: &Path) -> Vec<String> {
    let store = Store::open(&Location::DataDir(root.join("data")))
        .await
        .unwrap();
    let mut tx = store.begin().await.unwrap();
    for org in ["cold", "warm"] {
        tx.create_group(org, Plan::Enterprise, None, "bench")
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let packages = root.join("packages");
    // pnpm itself is installed before the clock starts; its caches point into this run's folder.
    let tools = packages.join("tools");
    std::fs::create_dir_all(&tools).unwrap();
    let npm_install = std::process::Command::new("npm")
        .args(["install", "--prefix"])
        .arg(&tools)
        .args([
            "--ignore-scripts",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            "pnpm@9",
        ])
        .status()
        .unwrap();
    assert!(npm_install.success());
    let wrapper = tools.join("node_modules/.bin/pnpm");
    let real = tools.join("node_modules/.bin/pnpm-real");
    std::fs::rename(&wrapper, &real).unwrap();
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nexec env XDG_CACHE_HOME={} {} \"$@\"\n",
            caches.join("pnpm").display(),
            real.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();

    let mut installer = Installer::open(store, &packages, registry).await.unwrap();
    installer.installs_per_hour = 1_000;
    let options = InstallOptions::by("bench");
    println!("| plugin | plughub cold | plughub warm (stored already) |");
    println!("| --- | --- | --- |");
    let (mut cold_total, mut warm_total) = (0.0, 0.0);
    let mut versions = Vec::new();
    for plugin in PLUGINS {
        let start = Instant::now();
        let cold = installer.install("cold", plugin, &options).await;
        let cold_s = start.elapsed().as_secs_f64();
        let start = Instant::now();
        let warm = installer.install("warm", plugin, &options).await;
        let warm_s = start.elapsed().as_secs_f64();
        match (cold, warm) {
            (Ok(r), Ok(_)) => {
                println!(
                    "| {}@{} | {cold_s:.2} s | {warm_s:.3} s |",
                    r.plugin,
                    r.version()
                );
                cold_total += cold_s;
                warm_total += warm_s;
                versions.push(format!("{}@{}", r.plugin, r.version()));
            }
            // Installed already as another plugin's dependency.
            (
                Err(LifecycleError::AlreadyInstalled {
                    plugin, version, ..
                }),
                _,
            ) => {
                println!("| {plugin}@{version} | (with a plugin that needs it) | |");
                versions.push(format!("{plugin}@{version}"));
            }
            (c, w) => println!(
                "| {plugin} | {:?} | {:?} |",
                c.err().map(|e| e.to_string()),
                w.err().map(|e| e.to_string())
            ),
        }
    }
    let disk = unique_bytes(&[packages.join("pkgs"), packages.join("pnpm-store")]);
    println!(
        "\nplughub: cold {cold_total:.1} s, warm {warm_total:.2} s for {} plugins; disk {:.0} MB",
        versions.len(),
        disk as f64 / 1e6
    );
    versions
}

fn through_npm(root: &Path, versions: &[String], caches: &Path) {
    let started = Instant::now();
    let mut folders = Vec::new();
    for spec in versions {
        let folder = root.join("npm").join(spec.replace(['/', '@'], "_"));
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(
            folder.join("package.json"),
            r#"{"name":"x","version":"1.0.0","private":true}"#,
        )
        .unwrap();
        let start = Instant::now();
        let status = std::process::Command::new("npm")
            .current_dir(&folder)
            .args([
                "install",
                "--ignore-scripts",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                "--cache",
            ])
            .arg(caches.join("npm"))
            .arg(spec)
            .status()
            .unwrap();
        println!(
            "npm {spec}: {:.1} s{}",
            start.elapsed().as_secs_f64(),
            if status.success() { "" } else { " (failed)" }
        );
        folders.push(folder);
    }
    let disk = unique_bytes(&folders);
    println!(
        "npm: {:.1} s for {} plugins; disk {:.0} MB",
        started.elapsed().as_secs_f64(),
        versions.len(),
        disk as f64 / 1e6
    );
}

/// Bytes of the files under `roots`, each file counted once however many hard links it has.
fn unique_bytes(roots: &[std::path::PathBuf]) -> u64 {
    fn walk(path: &Path, seen: &mut HashSet<(u64, u64)>, total: &mut u64) {
        let Ok(meta) = std::fs::symlink_metadata(path) else {
            return;
        };
        if meta.is_dir() {
            for entry in std::fs::read_dir(path).into_iter().flatten().flatten() {
                walk(&entry.path(), seen, total);
            }
        } else if meta.is_file() && seen.insert((meta.dev(), meta.ino())) {
            *total += meta.len();
        }
    }
    let mut seen = HashSet::new();
    let mut total = 0;
    for root in roots {
        walk(root, &mut seen, &mut total);
    }
    total
}
