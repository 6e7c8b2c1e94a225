//! Against the npm registry of this machine's npm configuration; skipped, with the reason printed, when it
//! cannot be reached. The mirror on these machines holds part of npm and has no search endpoint, so the
//! test asserts what any registry must give, and prints what this one gave.

use crate::snapshot;
use plughub_catalog::sources::npm_config::npm_registry_url;
use plughub_catalog::sync::NoProgress;
use plughub_catalog::{Catalog, SyncOptions, starter};
use plughub_domain::SourceKind;
use plughub_testkit::{TestBackend, TestStore};

#[tokio::test]
async fn live_npm_discovery_merges_with_the_snapshot() {
    let registry = match npm_registry_url() {
        Ok(url) => url,
        Err(e) => {
            println!("SKIPPED live npm test: {e}");
            return;
        }
    };
    let client = plughub_catalog::sources::npm::NpmClient::new(&registry);
    let probe = plughub_catalog::sources::npm::packument(&client, "@elizaos/plugin-openai").await;
    if let plughub_catalog::sources::npm::PackumentOutcome::Failed { reason, .. } = probe {
        println!(
            "SKIPPED live npm test: the npm registry at {registry} cannot be reached: {reason}"
        );
        return;
    }

    let t = TestStore::new(TestBackend::Sqlite).await;
    let catalog = Catalog::open(t.store.clone()).await.unwrap();
    let mut options = SyncOptions::offline(vec![snapshot("generated-registry.json")]);
    options.npm_registry = Some(registry);
    options.npm_discover = true;
    options.npm_seeds = starter::known_plugin_names();
    let report = catalog.sync(&options, &NoProgress).await.unwrap();
    let npm = report.sources.iter().find(|s| s.name == "npm").unwrap();
    println!(
        "live npm: {} packages found; notes: {:?}",
        npm.entries, npm.notes
    );
    assert!(npm.ok, "{npm:?}");
    assert!(npm.entries >= 20, "{npm:?}");

    // One entry per npm name, carrying both sources where both know it.
    let detail = catalog.info("@elizaos/plugin-openai").await.unwrap();
    assert!(
        detail
            .view
            .sources
            .contains(&SourceKind::RegistryMain.as_str().to_string()),
        "{:?}",
        detail.view.sources
    );
    assert!(
        detail
            .view
            .sources
            .contains(&SourceKind::Npm.as_str().to_string())
    );
    assert!(detail.view.versions > 0 && detail.view.latest_version.is_some());
    assert!(
        detail
            .view
            .compat
            .contains_key(&plughub_domain::CoreMajor::V1),
        "{:?}",
        detail.view.compat
    );
    let params = detail
        .view
        .agent_config
        .as_ref()
        .and_then(|a| a.get("pluginParameters"));
    assert!(params.is_some_and(|p| p.get("OPENAI_API_KEY").is_some()));
    // Registry entries that npm does not have are shown as such, not dropped.
    let status = catalog.status().await.unwrap();
    assert!(status.plugins >= 372 && !status.starter_only);
    t.cleanup().await;
}
