use plughub_catalog::sync::NoProgress;
use plughub_catalog::{Catalog, SearchRequest, SyncOptions, starter};
use plughub_domain::{SourceKind, ThingKind};
use plughub_testkit::http::{LoopbackNpm, closed_port_url, packument};
use plughub_testkit::{TestBackend, TestStore};

#[tokio::test]
async fn a_fresh_store_serves_the_starter_offline_and_a_live_sync_replaces_it() {
    let t = TestStore::new(TestBackend::Sqlite).await;
    let catalog = Catalog::open(t.store.clone()).await.unwrap();

    // Dozens of real plugins, searchable, and the catalogue says where they came from.
    let carried = starter::embedded().unwrap();
    assert!(carried.entries.len() >= 40, "{}", carried.entries.len());
    let status = catalog.status().await.unwrap();
    assert!(status.starter_only);
    assert_eq!(status.plugins, carried.entries.len());
    assert_eq!(
        status.starter_generated_at.as_deref(),
        Some(carried.generated_at.as_str())
    );
    let hits = catalog.search(&SearchRequest::new("openai")).unwrap();
    assert_eq!(hits.hits[0].name, "@elizaos/plugin-openai");
    assert!(
        hits.hits[0]
            .compat
            .contains_key(&plughub_domain::CoreMajor::V1)
    );

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

    // A registry that answers: the entries it has become npm entries, the rest are marked withdrawn.
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
    assert!(
        sources.contains_key(SourceKind::Npm.as_str())
            && !sources.contains_key(SourceKind::Starter.as_str())
    );
    let detail = catalog.info("openai").await.unwrap();
    assert_eq!(detail.view.latest_version.as_deref(), Some("1.7.0"));
    assert_eq!(
        detail.readme.as_deref(),
        Some("# @elizaos/plugin-openai\n\nOpenAI models")
    );
    // Starter entries the live registry does not have are deprecated, not deleted.
    let count = t
        .store
        .count_things(ThingKind::ElizaosPlugin)
        .await
        .unwrap() as usize;
    assert_eq!(count, carried.entries.len() + 1);
    let anthropic = catalog.info("anthropic").await.unwrap();
    assert!(
        anthropic.view.deprecated.is_some(),
        "{:?}",
        anthropic.view.sources
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
async fn the_known_plugins_list_and_the_starter_agree() {
    let names = starter::known_plugin_names();
    let carried = starter::embedded().unwrap();
    for entry in &carried.entries {
        assert!(
            names.contains(&entry.name),
            "{} is in the starter but not in the known list",
            entry.name
        );
        assert!(
            !entry.npm.versions.is_empty(),
            "{} has no versions",
            entry.name
        );
    }
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
        let declared = entry
            .npm
            .agent_config
            .as_ref()
            .and_then(|a| a.get("pluginParameters"))
            .and_then(|p| p.as_object())
            .map_or(0, |p| p.len());
        let schema = plughub_domain::config_schema::ConfigSchema::from_declarations(
            entry.npm.agent_config.as_ref(),
            None,
        );
        assert_eq!(schema.params.len(), declared, "{}", entry.name);
        params += declared;
    }
    assert!(params > 200, "{params}");
    t.cleanup().await;
}
