//! Several nodes on one store: each keeps its own search index, and follows the catalogue changes the
//! others make.

use crate::snapshot;
use plughub_catalog::sync::NoProgress;
use plughub_catalog::{Catalog, SearchRequest, SyncOptions};
use plughub_testkit::http::{LoopbackNpm, packument};
use plughub_testkit::{TestBackend, TestStore};

fn names(catalog: &Catalog, query: &str) -> Vec<String> {
    catalog
        .search(&SearchRequest::new(query))
        .unwrap()
        .hits
        .into_iter()
        .map(|h| h.name)
        .collect()
}

fn npm_sync(npm: &LoopbackNpm, seeds: &[&str]) -> SyncOptions {
    let mut options = SyncOptions::offline(vec![]);
    options.npm_registry = Some(npm.url.clone());
    options.npm_seeds = seeds.iter().map(|s| s.to_string()).collect();
    options
}

#[tokio::test]
async fn a_sync_on_one_postgres_node_reaches_the_search_of_another() {
    let t = TestStore::new(TestBackend::Postgres).await;
    // Two nodes: two connection pools on one database, each with its own index.
    let node_a = Catalog::open(t.store.clone()).await.unwrap();
    let node_b = Catalog::open(t.reopen().await).await.unwrap();
    assert!(
        !node_b.refresh_if_changed().await.unwrap(),
        "both start from the same starter"
    );
    assert_eq!(names(&node_b, "anthropic")[0], "@elizaos/plugin-anthropic");
    assert_eq!(names(&node_b, "pi-ai")[0], "@elizaos/plugin-pi-ai");

    // Node A syncs from an npm registry that has a newcomer and one of the starter's plugins: the newcomer
    // is added, and the starter's entries that no other source lists (the known list's) are deprecated.
    let npm = LoopbackNpm::start().await;
    npm.publish(
        "@elizaos/plugin-openai",
        packument(
            "@elizaos/plugin-openai",
            "OpenAI models",
            &[("1.7.0", "^1.7.2")],
        ),
    );
    npm.publish(
        "@example/plugin-zebracorn",
        packument(
            "@example/plugin-zebracorn",
            "Herds zebracorns",
            &[("0.1.0", "^1.0.0")],
        ),
    );
    let report = node_a
        .sync(
            &npm_sync(
                &npm,
                &["@elizaos/plugin-openai", "@example/plugin-zebracorn"],
            ),
            &NoProgress,
        )
        .await
        .unwrap();
    assert_eq!((report.status.as_str(), report.discovered), ("ok", 1));
    assert_eq!(names(&node_a, "zebracorn"), ["@example/plugin-zebracorn"]);
    assert!(
        !node_a.refresh_if_changed().await.unwrap(),
        "its own sync refreshed node A"
    );

    // Node B serves what it had until it looks.
    assert!(names(&node_b, "zebracorn").is_empty());
    assert_eq!(names(&node_b, "pi-ai")[0], "@elizaos/plugin-pi-ai");
    assert!(node_b.refresh_if_changed().await.unwrap());
    assert_eq!(names(&node_b, "zebracorn"), ["@example/plugin-zebracorn"]);
    assert!(
        !names(&node_b, "pi-ai").contains(&"@elizaos/plugin-pi-ai".to_string()),
        "deprecated by the sync, so hidden"
    );
    assert_eq!(
        names(&node_b, "anthropic")[0],
        "@elizaos/plugin-anthropic",
        "the registry lists it still"
    );
    assert!(!node_b.refresh_if_changed().await.unwrap());

    // An update of an entry node B already has: a new description.
    npm.publish(
        "@example/plugin-zebracorn",
        packument(
            "@example/plugin-zebracorn",
            "Herds zebracorns and okapis",
            &[("0.1.0", "^1.0.0"), ("0.2.0", "^1.0.0")],
        ),
    );
    let report = node_a
        .sync(&npm_sync(&npm, &["@example/plugin-zebracorn"]), &NoProgress)
        .await
        .unwrap();
    assert_eq!(report.updated, 1, "{report:?}");
    assert!(names(&node_b, "okapis").is_empty());
    assert!(node_b.refresh_if_changed().await.unwrap());
    assert_eq!(names(&node_b, "okapis"), ["@example/plugin-zebracorn"]);
    assert!(!node_b.refresh_if_changed().await.unwrap());

    node_b.store().close().await;
    t.cleanup().await;
}

#[tokio::test]
async fn an_update_of_an_existing_entry_changes_the_fingerprint_on_sqlite() {
    let t = TestStore::new(TestBackend::Sqlite).await;
    let node_a = Catalog::open(t.store.clone()).await.unwrap();
    // A second handle on the same file, as `plughub catalog sync` beside a running server.
    let node_b = Catalog::open(t.reopen().await).await.unwrap();
    node_a
        .sync(
            &SyncOptions::offline(vec![snapshot("generated-registry.json")]),
            &NoProgress,
        )
        .await
        .unwrap();
    assert!(node_b.refresh_if_changed().await.unwrap());
    let before = t.store.catalog_fingerprint().await.unwrap();
    assert!(!node_b.refresh_if_changed().await.unwrap());

    // The same registry, with one entry's description rewritten.
    let mut doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(snapshot("generated-registry.json")).unwrap())
            .unwrap();
    doc["registry"]["@elizaos/plugin-solana"]["description"] =
        serde_json::json!("Solana, now with quokkas");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("generated-registry.json");
    std::fs::write(&file, doc.to_string()).unwrap();
    let report = node_a
        .sync(
            &SyncOptions::offline(vec![file.display().to_string()]),
            &NoProgress,
        )
        .await
        .unwrap();
    assert_eq!((report.discovered, report.updated), (0, 1), "{report:?}");
    assert_ne!(t.store.catalog_fingerprint().await.unwrap(), before);

    assert!(names(&node_b, "quokkas").is_empty());
    assert!(node_b.refresh_if_changed().await.unwrap());
    assert_eq!(names(&node_b, "quokkas"), ["@elizaos/plugin-solana"]);
    assert!(!node_b.refresh_if_changed().await.unwrap());

    node_b.store().close().await;
    t.cleanup().await;
}
