use crate::{import, snapshot};
use plughub_catalog::sync::{self, NoProgress};
use plughub_catalog::{Catalog, CatalogError, SyncOptions};
use plughub_domain::ThingKind;
use plughub_store::{EventFilter, Store};
use plughub_testkit::http::{closed_port_url, truncating_server};
use plughub_testkit::{TestBackend, TestStore};

/// Syncs one bad source over the imported snapshot and checks the catalogue did not move.
async fn assert_rejected(store: &Store, location: String, expected: &[&str]) {
    let things = store.count_things(ThingKind::ElizaosPlugin).await.unwrap();
    let events = store.count_events(&EventFilter::default()).await.unwrap();
    let report = sync::sync(
        store,
        &SyncOptions::offline(vec![location.clone()]),
        &NoProgress,
    )
    .await
    .unwrap();
    assert_eq!(report.status, "failed", "{location}");
    let error = report.sources[0].error.clone().unwrap();
    for needle in expected {
        assert!(
            error.contains(needle),
            "{location}: '{error}' should contain '{needle}'"
        );
    }
    assert_eq!(
        store.count_things(ThingKind::ElizaosPlugin).await.unwrap(),
        things,
        "nothing half-written"
    );
    assert_eq!(
        store.count_events(&EventFilter::default()).await.unwrap(),
        events,
        "no event"
    );
    let run = &store.sync_runs(1).await.unwrap()[0];
    assert_eq!(
        run.status, "failed",
        "the failed run is recorded for `catalog status`"
    );
}

#[tokio::test]
async fn bad_sources_fail_clearly_and_change_nothing() {
    let t = TestStore::new(TestBackend::Sqlite).await;
    import(&t.store, &["generated-registry.json"]).await;
    let dir = tempfile::tempdir().unwrap();
    let original = std::fs::read(snapshot("generated-registry.json")).unwrap();

    let malformed = dir.path().join("malformed.json");
    std::fs::write(
        &malformed,
        b"{\"lastUpdatedAt\": \"x\", \"registry\": {\"a\": }",
    )
    .unwrap();
    assert_rejected(
        &t.store,
        malformed.display().to_string(),
        &["malformed.json", "not valid registry JSON", "line 1"],
    )
    .await;

    let mut doc: serde_json::Value = serde_json::from_slice(&original).unwrap();
    doc["registry"]["@elizaos/plugin-solana"]["topics"] = serde_json::json!("crypto");
    doc["registry"]["@elizaos/plugin-evm"]["supports"]["v1"] = serde_json::json!("yes");
    let wrong_types = dir.path().join("wrong-types.json");
    std::fs::write(&wrong_types, doc.to_string()).unwrap();
    assert_rejected(
        &t.store,
        wrong_types.display().to_string(),
        &[
            "2 registry entries with wrong types",
            "@elizaos/plugin-solana",
            "@elizaos/plugin-evm",
            "nothing was imported",
        ],
    )
    .await;

    let truncated =
        truncating_server(original[..original.len() / 2].to_vec(), original.len()).await;
    assert_rejected(&t.store, truncated, &["download interrupted"]).await;

    // A whole body that is cut JSON (a proxy that ends the file early) is named as such too.
    let cut = dir.path().join("cut.json");
    std::fs::write(&cut, &original[..original.len() / 3]).unwrap();
    assert_rejected(
        &t.store,
        cut.display().to_string(),
        &["ends early", "truncated"],
    )
    .await;

    assert_rejected(
        &t.store,
        closed_port_url("generated-registry.json"),
        &["cannot read", "Connect"],
    )
    .await;
    assert_rejected(
        &t.store,
        dir.path().join("absent.json").display().to_string(),
        &["No such file"],
    )
    .await;
    t.cleanup().await;
}

#[tokio::test]
async fn a_sync_too_soon_after_the_last_is_refused_with_the_way_out() {
    let t = TestStore::new(TestBackend::Sqlite).await;
    import(&t.store, &["generated-registry.json"]).await;
    let mut options = SyncOptions::offline(vec![snapshot("generated-registry.json")]);
    options.min_interval = Some(std::time::Duration::from_secs(300));
    let err = sync::sync(&t.store, &options, &NoProgress)
        .await
        .unwrap_err();
    assert!(matches!(err, CatalogError::TooSoon { .. }));
    assert!(err.to_string().contains("--force"), "{err}");
    t.cleanup().await;
}

#[tokio::test]
async fn an_unknown_plugin_is_answered_with_the_closest_names() {
    let t = TestStore::new(TestBackend::Sqlite).await;
    import(&t.store, &["generated-registry.json"]).await;
    let catalog = Catalog::open(t.store.clone()).await.unwrap();
    let err = catalog.info("solanna").await.unwrap_err();
    let CatalogError::UnknownPlugin { suggestions, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(
        suggestions.first().map(String::as_str),
        Some("@elizaos/plugin-solana"),
        "{suggestions:?}"
    );
    assert!(err.to_string().contains("did you mean"), "{err}");
    let err = catalog.info("zzzzqqq").await.unwrap_err();
    assert!(err.to_string().contains("plughub search"), "{err}");
    t.cleanup().await;
}
