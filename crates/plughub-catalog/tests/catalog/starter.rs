//! The starter catalogue: the whole registry (main and next) with npm's data, served by a fresh store with
//! no network at all; what a later sync makes of it; and how it is built.

use crate::snapshot;
use plughub_catalog::compat::CompatStatus;
use plughub_catalog::sources::npm::NpmClient;
use plughub_catalog::sources::registry;
use plughub_catalog::sync::NoProgress;
use plughub_catalog::{Catalog, SearchRequest, SyncOptions, starter};
use plughub_domain::{CatalogEntry, SourceKind, SourceRecord, ThingKind};
use plughub_testkit::http::{LoopbackNpm, closed_port_url, packument};
use plughub_testkit::{TestBackend, TestStore};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// A registry snapshot file as published, read as plain JSON (not through plughub's parser).
fn registry_file(file: &str) -> Value {
    serde_json::from_slice(&std::fs::read(snapshot(file)).unwrap()).unwrap()
}

fn text(v: &Value) -> Option<String> {
    v.as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
}

/// Everything (deprecated too), on one page per 100.
fn all_names(catalog: &Catalog) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for page in 1.. {
        let mut request = SearchRequest::new("");
        request.deprecated = None;
        request.per_page = SearchRequest::MAX_PER_PAGE;
        request.page = page;
        let hits = catalog.search(&request).unwrap().hits;
        if hits.is_empty() {
            break;
        }
        names.extend(hits.into_iter().map(|h| h.name));
    }
    names
}

#[tokio::test]
async fn a_first_start_with_no_network_serves_the_whole_registry_with_every_description() {
    // No source at all is configured: the catalogue is opened on a fresh store, and that is all.
    let t = TestStore::new(TestBackend::Sqlite).await;
    let catalog = Catalog::open(t.store.clone()).await.unwrap();
    let carried = starter::embedded().unwrap();
    let npm_of: BTreeMap<&str, &starter::StarterEntry> = carried
        .entries
        .iter()
        .map(|e| (e.name.as_str(), e))
        .collect();

    let files = [
        ("generated-registry.json", SourceKind::RegistryMain),
        ("next/generated-registry.json", SourceKind::RegistryNext),
    ];
    let docs: Vec<(Value, SourceKind)> = files
        .iter()
        .map(|(f, kind)| (registry_file(f), *kind))
        .collect();
    let mut registry_names = BTreeSet::new();
    for (doc, _) in &docs {
        registry_names.extend(doc["registry"].as_object().unwrap().keys().cloned());
    }
    assert_eq!(registry_names.len(), 382, "main and next together");
    let known: BTreeSet<String> = starter::known_plugin_names().into_iter().collect();
    let expected: BTreeSet<String> = registry_names.union(&known).cloned().collect();

    // Every name, served: by search, and by name.
    assert_eq!(all_names(&catalog), expected);
    let status = catalog.status().await.unwrap();
    assert!(status.starter_only);
    assert_eq!(status.plugins, expected.len());
    assert_eq!(
        status.starter_generated_at.as_deref(),
        Some(carried.generated_at.as_str())
    );
    let snapshots: BTreeMap<String, String> = docs
        .iter()
        .map(|(doc, kind)| {
            (
                kind.as_str().to_string(),
                text(&doc["lastUpdatedAt"]).unwrap(),
            )
        })
        .collect();
    assert_eq!(status.starter_registry_snapshots, snapshots);

    let (mut described, mut from_registry, mut from_npm) = (0, 0, 0);
    for name in &expected {
        let view = catalog.info(name).await.unwrap().view;
        assert_eq!(&view.name, name);
        let listed: Vec<(&Value, SourceKind, String)> = docs
            .iter()
            .filter_map(|(doc, kind)| {
                let entry = doc["registry"].get(name)?;
                Some((entry, *kind, text(&doc["lastUpdatedAt"]).unwrap()))
            })
            .collect();
        let npm = npm_of.get(name.as_str()).and_then(|e| e.npm.as_ref());

        // The description npm gives, else the registry's (main's first): every name that has one in
        // either source shows one.
        let registry_description = listed.iter().find_map(|(e, _, _)| text(&e["description"]));
        let npm_description = npm.and_then(|n| n.description.clone());
        assert_eq!(
            view.description.as_deref().map(str::trim),
            npm_description
                .as_deref()
                .or(registry_description.as_deref()),
            "{name}"
        );
        described += usize::from(view.description.is_some());
        from_npm += usize::from(npm_description.is_some());
        from_registry += usize::from(npm_description.is_none() && registry_description.is_some());

        // Stars and topics as the registry gives them, and the date of its snapshot.
        let stars = listed
            .iter()
            .filter_map(|(e, _, _)| e["stargazers_count"].as_u64())
            .max()
            .unwrap_or(0);
        assert_eq!(view.stars, stars, "{name}");
        let mut topics: Vec<String> = listed
            .iter()
            .flat_map(|(e, _, _)| e["topics"].as_array().cloned().unwrap_or_default())
            .filter_map(|t| t.as_str().map(String::from))
            .collect();
        topics.sort();
        topics.dedup();
        assert_eq!(view.topics, topics, "{name}");
        assert_eq!(
            view.registry_snapshot,
            listed.iter().map(|(_, _, date)| date.clone()).max(),
            "{name}"
        );
        for (_, kind, _) in &listed {
            assert!(view.sources.contains(&kind.as_str().to_string()), "{name}");
        }
        // npm's facts where npm had the package; the others are the registry's alone, not a 404 (the
        // builder's npm is not the user's).
        match npm {
            Some(npm) => {
                assert!(view.sources.contains(&"starter".to_string()), "{name}");
                assert_eq!(view.versions, npm.versions.len(), "{name}");
            }
            None => {
                assert_eq!(view.versions, 0, "{name}");
                assert!(!view.sources.contains(&"starter".to_string()), "{name}");
                assert!(
                    !view.flags.iter().any(|f| f.contains("404")),
                    "{name}: {:?}",
                    view.flags
                );
            }
        }
        assert!(view.deprecated.is_none(), "{name}: {:?}", view.deprecated);
    }
    println!(
        "{} names: {described} described ({from_npm} by npm, {from_registry} by the registry only)",
        expected.len()
    );
    assert!(from_registry > 100, "{from_registry}");

    // A name only the registry describes is found by the words of its description.
    let hits = catalog
        .search(&SearchRequest::new(
            "token operations trading DeFi integrations",
        ))
        .unwrap()
        .hits;
    assert!(
        hits.iter()
            .take(5)
            .any(|h| h.name == "@elizaos/plugin-solana"),
        "{:?}",
        hits.iter().map(|h| &h.name).collect::<Vec<_>>()
    );
    t.cleanup().await;
}

#[tokio::test]
async fn the_seeded_store_is_what_a_sync_of_the_same_snapshots_writes() {
    // The registry files read by a sync into a store of their own...
    let synced = TestStore::new(TestBackend::Sqlite).await;
    crate::import(
        &synced.store,
        &["generated-registry.json", "next/generated-registry.json"],
    )
    .await;
    let by_sync: BTreeMap<String, CatalogEntry> = synced
        .store
        .catalog_rows()
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.name, serde_json::from_str(&r.properties).unwrap()))
        .collect();

    // ...hold the same registry records as the starter's seed, date and all.
    let t = TestStore::new(TestBackend::Sqlite).await;
    let catalog = Catalog::open(t.store.clone()).await.unwrap();
    let seeded: BTreeMap<String, CatalogEntry> = t
        .store
        .catalog_rows()
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.name, serde_json::from_str(&r.properties).unwrap()))
        .collect();
    for (name, entry) in &by_sync {
        let registry_records = |e: &CatalogEntry| -> BTreeMap<SourceKind, SourceRecord> {
            e.sources
                .iter()
                .filter(|(k, _)| matches!(k, SourceKind::RegistryMain | SourceKind::RegistryNext))
                .map(|(k, r)| (*k, r.clone()))
                .collect()
        };
        assert_eq!(
            registry_records(&seeded[name]),
            registry_records(entry),
            "{name}"
        );
    }

    // So a registry sync of the same snapshots over the starter merges without a change.
    let options = SyncOptions::offline(vec![
        snapshot("generated-registry.json"),
        snapshot("next/generated-registry.json"),
    ]);
    let report = catalog.sync(&options, &NoProgress).await.unwrap();
    assert_eq!(report.status, "ok");
    assert_eq!(
        (report.discovered, report.updated, report.unchanged),
        (0, 0, seeded.len()),
        "{report:?}"
    );
    assert!(
        report.sources[0]
            .notes
            .contains(&"snapshot of 2026-04-22T00:49:19.407Z".to_string()),
        "{:?}",
        report.sources[0].notes
    );
    synced.cleanup().await;
    t.cleanup().await;
}

/// plugin-solana 1.2.6, its latest, depends on `"@elizaos/core": "latest"` in npm's data: its core major is
/// unknown, with the reason, beside what the registry claims.
#[tokio::test]
async fn a_release_on_core_latest_shows_its_major_as_unknown_with_the_reason() {
    let t = TestStore::new(TestBackend::Sqlite).await;
    let catalog = Catalog::open(t.store.clone()).await.unwrap();
    let carried = starter::embedded().unwrap();
    let npm = carried
        .entries
        .iter()
        .find(|e| e.name == "@elizaos/plugin-solana")
        .and_then(|e| e.npm.as_ref())
        .expect("npm has plugin-solana");
    let release = npm.versions.iter().find(|v| v.version == "1.2.6").unwrap();
    assert_eq!(release.core_range.as_deref(), Some("latest"), "npm's data");

    let view = catalog.info("solana").await.unwrap().view;
    let unknown = view
        .compat_unknown
        .iter()
        .find(|c| c.version.as_deref() == Some("1.2.6"))
        .unwrap_or_else(|| panic!("{:?}", view.compat_unknown));
    assert_eq!(unknown.status, CompatStatus::Unknown);
    assert_eq!(unknown.core_range.as_deref(), Some("latest"));
    assert_eq!(unknown.source, "starter");
    let note = unknown.note.as_deref().unwrap();
    assert!(
        note.contains("'latest'") && note.contains("unknown until a compatibility run"),
        "{note}"
    );
    // The registry's claim of v1 for the same release stays a claim.
    assert_eq!(
        view.compat[&plughub_domain::CoreMajor::V1].status,
        CompatStatus::Unverified
    );

    // As the API's JSON has it, and as search summarises it.
    let json = serde_json::to_value(&view).unwrap();
    let listed = json["compat_unknown"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["version"] == "1.2.6")
        .unwrap();
    assert_eq!(listed["status"], "unknown");
    assert_eq!(listed["note"], note);
    let hit = &catalog.search(&SearchRequest::new("solana")).unwrap().hits[0];
    assert_eq!(hit.name, "@elizaos/plugin-solana");
    assert!(hit.compat_unknown);
    assert!(
        hit.compat_summary().ends_with("v?"),
        "{}",
        hit.compat_summary()
    );
    t.cleanup().await;
}

#[tokio::test]
async fn a_live_sync_replaces_the_starters_npm_data_and_keeps_the_registrys() {
    let t = TestStore::new(TestBackend::Sqlite).await;
    let catalog = Catalog::open(t.store.clone()).await.unwrap();
    let carried = starter::embedded().unwrap();

    // No source reachable: the sync fails, says why, and the starter stays.
    let mut offline = SyncOptions::offline(vec![closed_port_url("generated-registry.json")]);
    offline.npm_registry = Some(closed_port_url(""));
    offline.npm_seeds = starter::known_plugin_names();
    let report = catalog.sync(&offline, &NoProgress).await.unwrap();
    assert_eq!(report.status, "failed");
    let npm = report.sources.iter().find(|s| s.name == "npm").unwrap();
    assert!(
        npm.error.as_deref().unwrap().contains("cannot be reached"),
        "{npm:?}"
    );
    let status = catalog.status().await.unwrap();
    assert!(status.starter_only, "still the starter");
    assert_eq!(status.recent_syncs[0].status, "failed");
    assert_eq!(
        catalog.search(&SearchRequest::new("openai")).unwrap().hits[0].name,
        "@elizaos/plugin-openai"
    );

    // An npm registry that answers: the entries it has become npm entries; the others lose the starter's
    // npm data (a 404 now), and those the registry lists stay listed.
    let npm = LoopbackNpm::start().await;
    npm.publish(
        "@elizaos/plugin-openai",
        packument(
            "@elizaos/plugin-openai",
            "OpenAI models",
            &[("1.6.0", "^1.7.0"), ("1.7.0", "^1.7.2")],
        ),
    );
    npm.publish(
        "@example/plugin-newcomer",
        packument(
            "@example/plugin-newcomer",
            "Brand new",
            &[("0.1.0", "^1.0.0")],
        ),
    );
    let mut live = SyncOptions::offline(vec![]);
    live.npm_registry = Some(npm.url.clone());
    live.npm_seeds = vec![
        "@elizaos/plugin-openai".into(),
        "@example/plugin-newcomer".into(),
    ];
    let report = catalog.sync(&live, &NoProgress).await.unwrap();
    assert_eq!(report.status, "ok", "{report:?}");
    assert_eq!(report.discovered, 1);
    let status = catalog.status().await.unwrap();
    assert!(!status.starter_only);

    let openai = t
        .store
        .thing_by_name(ThingKind::ElizaosPlugin, None, "@elizaos/plugin-openai")
        .await
        .unwrap()
        .unwrap();
    let sources = openai.properties["sources"].as_object().unwrap();
    assert!(sources.contains_key(SourceKind::Npm.as_str()));
    assert!(!sources.contains_key(SourceKind::Starter.as_str()));
    assert!(sources.contains_key(SourceKind::RegistryMain.as_str()));
    let detail = catalog.info("openai").await.unwrap();
    assert_eq!(detail.view.latest_version.as_deref(), Some("1.7.0"));
    assert_eq!(detail.view.description.as_deref(), Some("OpenAI models"));
    assert_eq!(
        detail.readme.as_deref(),
        Some("# @elizaos/plugin-openai\n\nOpenAI models")
    );
    assert_eq!(
        detail.view.registry_snapshot.as_deref(),
        Some("2026-04-22T00:49:19.407Z")
    );
    let count = t
        .store
        .count_things(ThingKind::ElizaosPlugin)
        .await
        .unwrap() as usize;
    assert_eq!(count, carried.entries.len() + 1, "nothing is deleted");

    // A registry plugin this npm does not have: listed still (by the registry), and said to be missing.
    let anthropic = catalog.info("anthropic").await.unwrap();
    assert!(
        anthropic.view.deprecated.is_none(),
        "{:?}",
        anthropic.view.sources
    );
    assert!(
        anthropic.view.flags.iter().any(|f| f.contains("(404)")),
        "{:?}",
        anthropic.view.flags
    );
    // A plugin only the known list and npm gave: no source lists it any more, so it is deprecated.
    let known_only = carried
        .entries
        .iter()
        .find(|e| e.registry.is_empty() && e.npm.is_some())
        .expect("the known list has names the registry never had");
    let view = catalog.info(&known_only.name).await.unwrap().view;
    assert!(
        view.deprecated.is_some(),
        "{}: {:?}",
        known_only.name,
        view.sources
    );
    assert_eq!(
        catalog
            .search(&SearchRequest::new("newcomer"))
            .unwrap()
            .hits[0]
            .name,
        "@example/plugin-newcomer"
    );
    t.cleanup().await;
}

#[tokio::test]
async fn the_starter_holds_the_known_list_and_the_registry_and_nothing_else() {
    let carried = starter::embedded().unwrap();
    let mut expected: BTreeSet<String> = starter::known_plugin_names().into_iter().collect();
    for (file, kind) in [
        ("generated-registry.json", SourceKind::RegistryMain),
        ("next/generated-registry.json", SourceKind::RegistryNext),
    ] {
        let doc = registry_file(file);
        expected.extend(doc["registry"].as_object().unwrap().keys().cloned());
        let carried_snapshot = carried
            .registries
            .iter()
            .find(|r| r.source == kind)
            .unwrap();
        assert_eq!(
            carried_snapshot.last_updated_at.as_deref(),
            doc["lastUpdatedAt"].as_str()
        );
        assert_eq!(
            carried_snapshot.entries,
            doc["registry"].as_object().unwrap().len()
        );
    }
    let names: BTreeSet<String> = carried.entries.iter().map(|e| e.name.clone()).collect();
    assert_eq!(names, expected);
    for entry in &carried.entries {
        assert!(
            entry.npm.is_some() || !entry.registry.is_empty(),
            "{} has no data",
            entry.name
        );
        if let Some(npm) = &entry.npm {
            assert!(!npm.versions.is_empty(), "{} has no versions", entry.name);
        }
    }
}

/// build-starter's work, against npm on loopback: the snapshots' names and the known list's, each asked
/// of npm; a 404 keeps the registry's data only; a name npm cannot answer fails the build.
#[tokio::test]
async fn a_starter_is_built_from_the_snapshots_the_known_list_and_npm() {
    let main = registry::parse_generated(
        &std::fs::read(snapshot("generated-registry.json")).unwrap(),
        "main",
    )
    .unwrap();
    let next = registry::parse_generated(
        &std::fs::read(snapshot("next/generated-registry.json")).unwrap(),
        "next",
    )
    .unwrap();
    let npm = LoopbackNpm::start().await;
    npm.publish(
        "@elizaos/plugin-solana",
        packument("@elizaos/plugin-solana", "Solana", &[("1.2.6", "latest")]),
    );
    npm.publish(
        "@example/plugin-known",
        packument("@example/plugin-known", "Known", &[("0.1.0", "^1.0.0")]),
    );
    // A name npm will not serve (the registry lists `@elizaos/plugin-ATTPs`; npm names have no capitals).
    npm.refuse("@elizaos/plugin-ATTPs");
    let client = NpmClient::new(&npm.url);
    let (built, notes) = starter::build(
        &client,
        vec![main.clone(), next.clone()],
        vec!["@example/plugin-known".into()],
    )
    .await
    .unwrap();
    assert_eq!(built.entries.len(), 383);
    assert_eq!(notes.not_on_npm.len(), 381);
    // A refusal says so, with what to configure should the registry want a token.
    assert!(
        notes
            .not_on_npm
            .iter()
            .any(|n| n.starts_with("@elizaos/plugin-ATTPs (the registry refused (403 Forbidden): ")),
        "{:?}",
        &notes.not_on_npm[..3]
    );
    assert!(
        notes
            .not_on_npm
            .contains(&"@elizaos/plugin-openai (404)".to_string())
    );
    let solana = built
        .entries
        .iter()
        .find(|e| e.name == "@elizaos/plugin-solana")
        .unwrap();
    assert_eq!(
        solana.npm.as_ref().unwrap().description.as_deref(),
        Some("Solana")
    );
    assert_eq!(
        solana.readme.as_deref(),
        Some("# @elizaos/plugin-solana\n\nSolana")
    );
    assert_eq!(
        solana.registry[&SourceKind::RegistryNext]
            .snapshot_at
            .as_deref(),
        Some("2026-02-09T02:30:56.148Z")
    );
    let known = built
        .entries
        .iter()
        .find(|e| e.name == "@example/plugin-known")
        .unwrap();
    assert!(known.registry.is_empty() && known.npm.is_some());
    assert_eq!(
        built
            .registries
            .iter()
            .map(|r| r.source)
            .collect::<Vec<_>>(),
        [SourceKind::RegistryMain, SourceKind::RegistryNext]
    );
    // As the binary carries it: gzip-compressed, read back the same.
    let again = starter::from_gzip(&starter::to_gzip(&built)).unwrap();
    assert_eq!(
        serde_json::to_value(&again).unwrap(),
        serde_json::to_value(&built).unwrap()
    );

    // Two snapshots of one shape, or an npm that fails a name, build nothing.
    let err = starter::build(&client, vec![main.clone(), main], vec![])
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("two registry snapshots"), "{err}");
    let mut impatient = NpmClient::new(&npm.url);
    impatient.attempts = 1;
    npm.fail_next("@example/plugin-known", 1);
    let err = starter::build(
        &impatient,
        vec![],
        vec![
            "@example/plugin-known".into(),
            "@elizaos/plugin-solana".into(),
        ],
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("@example/plugin-known"), "{err}");
}

#[tokio::test]
async fn the_real_declarations_become_settings_schemas() {
    let t = TestStore::new(TestBackend::Sqlite).await;
    let catalog = Catalog::open(t.store.clone()).await.unwrap();
    let openai = catalog.info("openai").await.unwrap();
    let key = openai.settings.param("OPENAI_API_KEY").unwrap();
    assert!(key.required && key.sensitive);
    assert_eq!(
        openai
            .settings
            .param("OPENAI_EMBEDDING_DIMENSIONS")
            .unwrap()
            .default,
        Some(serde_json::json!(1536))
    );
    // Declared `"default": "false"` on a boolean in the published package.
    let elevenlabs = catalog.info("elevenlabs").await.unwrap();
    assert_eq!(
        elevenlabs
            .settings
            .param("ELEVENLABS_STT_DIARIZE")
            .unwrap()
            .default,
        Some(serde_json::json!(false))
    );
    // Every declaration in the starter reads without losing a parameter.
    let mut params = 0;
    for entry in starter::embedded().unwrap().entries {
        let Some(npm) = &entry.npm else { continue };
        let declared = npm
            .agent_config
            .as_ref()
            .and_then(|a| a.get("pluginParameters"))
            .and_then(|p| p.as_object())
            .map_or(0, |p| p.len());
        let schema = plughub_domain::config_schema::ConfigSchema::from_declarations(
            npm.agent_config.as_ref(),
            None,
        );
        assert_eq!(schema.params.len(), declared, "{}", entry.name);
        params += declared;
    }
    assert!(params > 200, "{params}");
    t.cleanup().await;
}

/// Seeding is one transaction: one event per entry, and one run that says what the starter carried.
#[tokio::test]
async fn the_seed_is_one_run_with_an_event_per_entry() {
    let t = TestStore::new(TestBackend::Sqlite).await;
    let added = starter::seed_if_empty(&t.store).await.unwrap();
    let carried = starter::embedded().unwrap();
    assert_eq!(added, carried.entries.len());
    assert_eq!(starter::seed_if_empty(&t.store).await.unwrap(), 0, "once");
    let discovered = plughub_store::EventFilter {
        event_type: Some(plughub_domain::EventType::PluginDiscovered),
        ..Default::default()
    };
    assert_eq!(
        t.store.count_events(&discovered).await.unwrap() as usize,
        carried.entries.len()
    );
    let runs = t.store.sync_runs(10).await.unwrap();
    assert_eq!(runs.len(), 1);
    let sources: Vec<&str> = runs[0].report["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(sources, ["starter", "registry:main", "registry:next"]);
    t.cleanup().await;
}
