//! Installs of real plugins from the npm registry of the npm configuration: cold (nothing stored yet) and
//! warm (the same plugin@version already in the package store, for a second organisation).
//! Run: cargo bench -p plughub-lifecycle --bench install

use plughub_domain::Plan;
use plughub_lifecycle::{InstallOptions, Installer};
use plughub_store::{Location, Store};
use std::time::Instant;

const PLUGINS: [&str; 5] = [
    "@elizaos/plugin-openai",
    "@elizaos/plugin-anthropic",
    "@elizaos/plugin-telegram",
    "@elizaos/plugin-sql",
    "@elizaos/plugin-bootstrap",
];

fn main() {
    let Ok(registry) = plughub_npm::npm_registry_url() else {
        println!("no npm registry configured: nothing to measure");
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&Location::DataDir(dir.path().join("data")))
            .await
            .unwrap();
        let mut tx = store.begin().await.unwrap();
        for org in ["cold", "warm"] {
            tx.create_group(org, Plan::Enterprise, None, "bench")
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        let mut installer = Installer::open(store, &dir.path().join("packages"), &registry)
            .await
            .unwrap();
        installer.installs_per_hour = 1_000;
        let options = InstallOptions {
            actor: "bench".into(),
            ..Default::default()
        };
        // pnpm itself, once, outside the figures.
        let _ = installer
            .install("cold", "@elizaos/plugin-openai", &options)
            .await
            .unwrap();
        installer
            .uninstall("cold", "@elizaos/plugin-openai", "bench")
            .await
            .unwrap();

        println!("| plugin | cold install | warm install (stored already) |");
        println!("| --- | --- | --- |");
        let (mut cold_total, mut warm_total) = (0.0, 0.0);
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
                }
                (c, w) => println!(
                    "| {plugin} | {:?} | {:?} |",
                    c.err().map(|e| e.to_string()),
                    w.err().map(|e| e.to_string())
                ),
            }
        }
        println!(
            "\ntotal: cold {cold_total:.1} s, warm {warm_total:.2} s for {} plugins",
            PLUGINS.len()
        );
        let du = std::process::Command::new("du")
            .args(["-sm"])
            .arg(dir.path().join("packages/pkgs"))
            .arg(dir.path().join("packages/pnpm-store"))
            .output()
            .unwrap();
        println!(
            "disk (packages, then the store's remainder):\n{}",
            String::from_utf8_lossy(&du.stdout)
        );
    });
}
