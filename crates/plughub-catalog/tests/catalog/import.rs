use crate::{import, snapshot};
use plughub_catalog::sync::{self, NoProgress};
use plughub_catalog::{Catalog, SearchRequest, SyncOptions};
use plughub_domain::{EventType, SourceKind, ThingKind};
use plughub_store::EventFilter;
use plughub_testkit::{BACKENDS, TestStore};

#[tokio::test]
async fn the_snapshot_imports_merges_and_reimports_idempotently_on_both_backends() {
    for backend in BACKENDS {
        let t = TestStore::new(backend).await;
        let store = &t.store;

        let first = import(store, &["generated-registry.json"]).await;
        assert_eq!(first.status, "ok");
        assert_eq!(first.discovered, 372, "{backend:?}");
        assert_eq!(
            store.count_things(ThingKind::ElizaosPlugin).await.unwrap(),
            372
        );
        let discovered = EventFilter {
            event_type: Some(EventType::PluginDiscovered),
            ..Default::default()
        };
        assert_eq!(
            store.count_events(&discovered).await.unwrap(),
            372,
            "one event per new entry"
        );

        // `next` over `main`: entries in both gain a second source instead of a second row.
        let next = import(store, &["next/generated-registry.json"]).await;
        let main: serde_json::Value =
            serde_json::from_slice(&std::fs::read(snapshot("generated-registry.json")).unwrap())
                .unwrap();
        let next_doc: serde_json::Value = serde_json::from_slice(
            &std::fs::read(snapshot("next/generated-registry.json")).unwrap(),
        )
        .unwrap();
        let main_names: std::collections::BTreeSet<&String> =
            main["registry"].as_object().unwrap().keys().collect();
        let only_in_next = next_doc["registry"]
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| !main_names.contains(k))
            .count();
        assert_eq!(next.discovered, only_in_next, "{backend:?}");
        let total = store.count_things(ThingKind::ElizaosPlugin).await.unwrap() as usize;
        assert_eq!(total, 372 + only_in_next, "merged, not duplicated");
        let solana = store
            .thing_by_name(ThingKind::ElizaosPlugin, None, "@elizaos/plugin-solana")
            .await
            .unwrap()
            .unwrap();
        let sources = solana.properties["sources"].as_object().unwrap();
        assert!(
            sources.contains_key(SourceKind::RegistryMain.as_str())
                && sources.contains_key(SourceKind::RegistryNext.as_str())
        );

        // A second import of the same data changes nothing and writes no event.
        let events_before = store.count_events(&EventFilter::default()).await.unwrap();
        let again = import(
            store,
            &["generated-registry.json", "next/generated-registry.json"],
        )
        .await;
        assert_eq!((again.discovered, again.updated), (0, 0), "{backend:?}");
        assert_eq!(again.unchanged, total);
        assert_eq!(
            store.count_events(&EventFilter::default()).await.unwrap(),
            events_before,
            "{backend:?}"
        );
        t.cleanup().await;
    }
}

#[tokio::test]
async fn an_entry_that_disappears_upstream_is_deprecated_never_deleted() {
    let t = TestStore::new(plughub_testkit::TestBackend::Sqlite).await;
    import(&t.store, &["generated-registry.json"]).await;

    // The same registry without one entry.
    let mut doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(snapshot("generated-registry.json")).unwrap())
            .unwrap();
    doc["registry"]
        .as_object_mut()
        .unwrap()
        .remove("@elizaos/plugin-solana")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("generated-registry.json");
    std::fs::write(&file, doc.to_string()).unwrap();
    let report = sync::sync(
        &t.store,
        &SyncOptions::offline(vec![file.display().to_string()]),
        &NoProgress,
    )
    .await
    .unwrap();
    assert_eq!((report.updated, report.newly_deprecated), (1, 1));

    let thing = t
        .store
        .thing_by_name(ThingKind::ElizaosPlugin, None, "@elizaos/plugin-solana")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(thing.status, "deprecated");
    let events = t
        .store
        .events(&EventFilter {
            target: Some(thing.id.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    let last = events.last().unwrap();
    assert_eq!(last.event_type, EventType::PluginUpdated);
    assert!(
        last.metadata["deprecated"]
            .as_str()
            .unwrap()
            .contains("no longer listed"),
        "{}",
        last.metadata
    );

    // Hidden from search by default, found when asked for, and back when it comes back.
    let catalog = Catalog::open(t.store.clone()).await.unwrap();
    let hits = catalog
        .search(&SearchRequest::new("@elizaos/plugin-solana"))
        .unwrap();
    assert!(hits.hits.iter().all(|h| h.name != "@elizaos/plugin-solana"));
    let mut with_deprecated = SearchRequest::new("@elizaos/plugin-solana");
    with_deprecated.deprecated = None;
    assert_eq!(
        catalog.search(&with_deprecated).unwrap().hits[0].name,
        "@elizaos/plugin-solana"
    );
    import(&t.store, &["generated-registry.json"]).await;
    let thing = t
        .store
        .thing_by_name(ThingKind::ElizaosPlugin, None, "@elizaos/plugin-solana")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(thing.status, "listed");
    t.cleanup().await;
}

#[tokio::test]
async fn dirty_core_ranges_are_kept_and_flagged() {
    let t = TestStore::new(plughub_testkit::TestBackend::Sqlite).await;
    import(&t.store, &["generated-registry.json"]).await;
    let catalog = Catalog::open(t.store.clone()).await.unwrap();
    // plugin-solana's v1 release depends on core `latest` in the snapshot.
    let detail = catalog.info("@elizaos/plugin-solana").await.unwrap();
    let v1 = &detail.view.compat[&plughub_domain::CoreMajor::V1];
    assert_eq!(v1.status, plughub_catalog::compat::CompatStatus::Unverified);
    assert_eq!(v1.core_range.as_deref(), Some("latest"));
    assert!(
        detail.view.flags.iter().any(|f| f.contains("'latest'")),
        "{:?}",
        detail.view.flags
    );
    // The `--compat v1` filter that insists on proof leaves it out; the lenient one keeps it.
    let mut strict = SearchRequest::new("solana");
    strict.compat = Some(plughub_domain::CoreMajor::V1);
    assert!(
        catalog
            .search(&strict)
            .unwrap()
            .hits
            .iter()
            .any(|h| h.name == "@elizaos/plugin-solana")
    );
    strict.verified_compat_only = true;
    assert!(
        catalog
            .search(&strict)
            .unwrap()
            .hits
            .iter()
            .all(|h| h.name != "@elizaos/plugin-solana")
    );
    t.cleanup().await;
}

#[tokio::test]
async fn registry_records_carry_their_snapshots_date_and_a_new_date_alone_changes_nothing() {
    let t = TestStore::new(plughub_testkit::TestBackend::Sqlite).await;
    import(&t.store, &["generated-registry.json"]).await;
    let catalog = Catalog::open(t.store.clone()).await.unwrap();
    let solana = catalog.info("solana").await.unwrap().view;
    assert_eq!(
        solana.registry_snapshot.as_deref(),
        Some("2026-04-22T00:49:19.407Z")
    );

    // The same registry published again later: nothing changed, so no entry is updated and the records
    // keep the date of the snapshot that first said what they say.
    let text = std::fs::read_to_string(snapshot("generated-registry.json")).unwrap();
    let later = text.replacen("2026-04-22T00:49:19.407Z", "2026-05-01T00:00:00.000Z", 1);
    assert_ne!(later, text);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("generated-registry.json");
    std::fs::write(&file, later).unwrap();
    let report = sync::sync(
        &t.store,
        &SyncOptions::offline(vec![file.to_string_lossy().into_owned()]),
        &NoProgress,
    )
    .await
    .unwrap();
    assert_eq!((report.updated, report.unchanged), (0, 372), "{report:?}");
    assert_eq!(
        report.sources[0].notes[0],
        "snapshot of 2026-05-01T00:00:00.000Z"
    );
    catalog.refresh().await.unwrap();
    let solana = catalog.info("solana").await.unwrap().view;
    assert_eq!(
        solana.registry_snapshot.as_deref(),
        Some("2026-04-22T00:49:19.407Z")
    );
    t.cleanup().await;
}
