//! The npm source against a registry on loopback: discovery through search where it is offered, retries
//! for failures that pass, and what is reported when it fails for good.

use plughub_catalog::sync::{self, NoProgress};
use plughub_catalog::{Catalog, SyncOptions};
use plughub_domain::ThingKind;
use plughub_testkit::http::{LoopbackNpm, packument};
use plughub_testkit::{TestBackend, TestStore};

fn npm_only(url: &str, seeds: &[&str]) -> SyncOptions {
    let mut options = SyncOptions::offline(vec![]);
    options.npm_registry = Some(url.to_string());
    options.npm_seeds = seeds.iter().map(|s| s.to_string()).collect();
    options
}

#[tokio::test]
async fn search_discovers_plugins_no_list_names() {
    let t = TestStore::new(TestBackend::Sqlite).await;
    let npm = LoopbackNpm::start().await;
    npm.publish(
        "@acme/plugin-weather",
        packument("@acme/plugin-weather", "Forecasts", &[("1.0.0", "^1.0.0")]),
    );
    npm.publish(
        "@acme/agent-tool",
        packument("@acme/agent-tool", "x", &[("1.0.0", "^1.0.0")]),
    );
    npm.publish(
        "@elizaos/core",
        packument("@elizaos/core", "the core", &[("1.7.0", "^1.0.0")]),
    );

    // Without search: only what the seeds name.
    let mut options = npm_only(&npm.url, &["@acme/plugin-seeded"]);
    options.npm_discover = true;
    let report = sync::sync(&t.store, &options, &NoProgress).await.unwrap();
    let notes = report.sources[0].notes.join("\n");
    assert!(
        notes.contains("npm search is not available on this registry"),
        "{notes}"
    );
    assert_eq!(
        t.store
            .count_things(ThingKind::ElizaosPlugin)
            .await
            .unwrap(),
        0
    );

    npm.enable_search();
    let report = sync::sync(&t.store, &options, &NoProgress).await.unwrap();
    assert_eq!(report.status, "ok");
    let names: Vec<String> = t
        .store
        .catalog_rows()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    // Plugins by name: the core and tools are not plugins, even with the keyword.
    assert!(
        names.contains(&"@acme/plugin-weather".to_string()),
        "{names:?}"
    );
    assert!(
        !names.contains(&"@acme/agent-tool".to_string()),
        "{names:?}"
    );
    assert!(!names.contains(&"@elizaos/core".to_string()), "{names:?}");
    t.cleanup().await;
}

#[tokio::test]
async fn failures_that_pass_are_retried_and_the_rest_are_reported() {
    let t = TestStore::new(TestBackend::Sqlite).await;
    let npm = LoopbackNpm::start().await;
    npm.publish(
        "@acme/plugin-flaky",
        packument("@acme/plugin-flaky", "Flaky", &[("1.0.0", "^1.0.0")]),
    );
    npm.publish(
        "@acme/plugin-down",
        packument("@acme/plugin-down", "Down", &[("1.0.0", "^1.0.0")]),
    );
    npm.publish(
        "@acme/plugin-fine",
        packument("@acme/plugin-fine", "Fine", &[("1.0.0", "^1.0.0")]),
    );
    npm.fail_next("@acme/plugin-flaky", 2);
    npm.fail_next("@acme/plugin-down", 100);

    let options = npm_only(
        &npm.url,
        &[
            "@acme/plugin-fine",
            "@acme/plugin-flaky",
            "@acme/plugin-down",
        ],
    );
    let report = sync::sync(&t.store, &options, &NoProgress).await.unwrap();
    let npm_report = &report.sources[0];
    assert!(npm_report.ok);
    assert_eq!(npm_report.entries, 2, "{npm_report:?}");
    let notes = npm_report.notes.join("\n");
    assert!(
        notes.contains("@acme/plugin-down: the registry answered 503"),
        "{notes}"
    );
    let catalog = Catalog::open(t.store.clone()).await.unwrap();
    assert_eq!(
        catalog
            .info("@acme/plugin-flaky")
            .await
            .unwrap()
            .view
            .latest_version
            .as_deref(),
        Some("1.0.0")
    );
    assert!(
        catalog.info("@acme/plugin-down").await.is_err(),
        "never seen, so not listed"
    );
    t.cleanup().await;
}

#[tokio::test]
async fn an_unpublished_package_is_withdrawn_and_a_registry_name_npm_lacks_is_flagged() {
    let t = TestStore::new(TestBackend::Sqlite).await;
    let npm = LoopbackNpm::start().await;
    npm.publish(
        "@acme/plugin-gone",
        packument("@acme/plugin-gone", "Soon gone", &[("1.0.0", "^1.0.0")]),
    );
    sync::sync(
        &t.store,
        &npm_only(&npm.url, &["@acme/plugin-gone"]),
        &NoProgress,
    )
    .await
    .unwrap();
    npm.unpublish("@acme/plugin-gone");
    let report = sync::sync(
        &t.store,
        &npm_only(&npm.url, &["@acme/plugin-gone"]),
        &NoProgress,
    )
    .await
    .unwrap();
    assert_eq!(report.newly_deprecated, 1);
    let catalog = Catalog::open(t.store.clone()).await.unwrap();
    let gone = catalog.info("@acme/plugin-gone").await.unwrap();
    assert!(gone.view.deprecated.is_some());
    assert_eq!(
        gone.view.latest_version.as_deref(),
        None,
        "withdrawn data is not shown as current"
    );
    t.cleanup().await;
}
