//! Package facts of catalogue plugins, against a registry on loopback serving real package folders (the
//! fixture plugins): fetched as installs fetch, analysed, kept as the plugin's knowledge, shown by `info`,
//! not fetched again while the catalogue's version is the one analysed, and every other outcome reported.

use plughub_catalog::package::{KNOWLEDGE_KIND, NoAnalyzeProgress};
use plughub_catalog::sync::NoProgress;
use plughub_catalog::{AnalyzeOptions, Catalog, CatalogError, SyncOptions, package_facts_by_name};
use plughub_domain::{ComponentKind, EventType, PluginKind};
use plughub_store::EventFilter;
use plughub_testkit::http::LoopbackNpm;
use plughub_testkit::tarball::package;
use plughub_testkit::{TestBackend, TestStore, fixture_plugin};
use serde_json::{Value, json};

/// Publishes the fixture plugin `plugin-hello` as npm would serve it, at `version`.
fn publish_hello(npm: &LoopbackNpm, version: &str) {
    let dir = fixture_plugin("plugin-hello");
    let mut manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("package.json")).unwrap()).unwrap();
    manifest["version"] = json!(version);
    let code = std::fs::read_to_string(dir.join("dist/index.js")).unwrap();
    npm.publish_version(
        manifest.clone(),
        package(&manifest, &[("dist/index.js", &code)]),
        None,
    );
}

/// A plugin that declares what it asks for: nothing of the network.
fn publish_quiet(npm: &LoopbackNpm) {
    let manifest = json!({ "name": "@fixture/plugin-quiet", "version": "2.0.0", "type": "module",
                           "main": "dist/index.js",
                           "plughub": { "permissions": ["storage.read"] } });
    let code = r#"
        const NOTE = "TAKE_NOTE";
        const note = { name: NOTE, similes: ["REMEMBER"], description: "Keeps a note",
                       validate: async () => true, handler: async (runtime) => runtime.getCache("notes") };
        export default { name: "quiet", actions: [note] };
    "#;
    npm.publish_version(
        manifest.clone(),
        package(&manifest, &[("dist/index.js", code)]),
        None,
    );
}

fn npm_only(url: &str, seeds: &[&str]) -> SyncOptions {
    let mut options = SyncOptions::offline(vec![]);
    options.npm_registry = Some(url.to_string());
    options.npm_seeds = seeds.iter().map(|s| s.to_string()).collect();
    options
}

fn names(names: &[&str], npm: &LoopbackNpm) -> AnalyzeOptions {
    AnalyzeOptions {
        names: Some(names.iter().map(|n| n.to_string()).collect()),
        npm_registry: Some(npm.url.clone()),
        ..AnalyzeOptions::default()
    }
}

#[tokio::test]
async fn catalogue_plugins_are_analysed_kept_and_shown() {
    let t = TestStore::new(TestBackend::Sqlite).await;
    let npm = LoopbackNpm::start().await;
    publish_hello(&npm, "1.0.0");
    publish_quiet(&npm);
    let liar = json!({ "name": "@fixture/plugin-liar", "version": "1.0.0", "main": "index.js" });
    npm.publish_version(
        liar.clone(),
        package(&liar, &[("index.js", "export default {}")]),
        Some("sha512-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="),
    );
    let gone = json!({ "name": "@fixture/plugin-gone", "version": "1.0.0" });
    npm.publish_version(gone.clone(), package(&gone, &[]), None);
    let catalog = Catalog::open(t.store.clone()).await.unwrap();
    let all = [
        "@fixture/plugin-hello",
        "@fixture/plugin-quiet",
        "@fixture/plugin-liar",
        "@fixture/plugin-gone",
    ];
    catalog
        .sync(&npm_only(&npm.url, &all), &NoProgress)
        .await
        .unwrap();
    npm.unpublish("@fixture/plugin-gone");

    // Short names, as `info` reads them.
    let report = catalog
        .analyze(
            &names(&["hello", "plugin-quiet", "liar", "gone"], &npm),
            &NoAnalyzeProgress,
        )
        .await
        .unwrap();
    let analysed: Vec<(&str, &str)> = report
        .analysed
        .iter()
        .map(|a| (a.name.as_str(), a.version.as_str()))
        .collect();
    assert_eq!(
        analysed,
        [
            ("@fixture/plugin-hello", "1.0.0"),
            ("@fixture/plugin-quiet", "2.0.0")
        ]
    );
    assert_eq!(report.not_on_npm, ["@fixture/plugin-gone"]);
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].name, "@fixture/plugin-liar");
    assert!(
        report.failed[0].reason.contains("integrity"),
        "{}",
        report.failed[0].reason
    );
    assert!(report.unchanged.is_empty());

    // Shown by `info` (and so by GET /api/plugins/{name}).
    let hello = catalog.info("hello").await.unwrap();
    let facts = hello.package.expect("facts of the analysed version");
    assert_eq!(facts.version, "1.0.0");
    assert!(facts.integrity.as_deref().is_some_and(|i| i.starts_with("sha512-")));
    let action = facts
        .components
        .iter()
        .find(|c| c.name == "HELLO")
        .unwrap();
    assert_eq!(action.kind, ComponentKind::Action);
    assert_eq!(action.similes, ["GREET"]);
    assert!(facts.is(PluginKind::Evaluator) && facts.is(PluginKind::Service));
    assert!(!facts.permissions_declared && !facts.needs_network());
    assert!(
        facts.permissions.secrets.contains("HELLO_API_KEY"),
        "{:?}",
        facts.permissions
    );

    // Read back by name for search, the declared permissions as declared.
    let by_name = package_facts_by_name(&t.store).await.unwrap();
    assert_eq!(by_name.len(), 2, "{:?}", by_name.keys());
    let quiet = &by_name["@fixture/plugin-quiet"];
    assert!(quiet.permissions_declared);
    assert_eq!(quiet.permissions.lines(), ["storage.read"]);
    assert_eq!(quiet.components[0].name, "TAKE_NOTE");
    assert_eq!(quiet.kinds, [PluginKind::Action]);
    assert!(catalog.info("liar").await.unwrap().package.is_none());

    // Each analysis is a catalogue event, in no organisation.
    let events = t
        .store
        .events(&EventFilter {
            event_type: Some(EventType::PluginAnalysed),
            ..EventFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(events.len(), 2);
    assert!(events.iter().all(|e| e.group_id.is_none()));
    assert_eq!(events[0].metadata["plugin"], "@fixture/plugin-hello");

    // Unchanged versions are not fetched again: not even their documents.
    let before = npm.requests();
    let again = catalog
        .analyze(&names(&["hello", "quiet"], &npm), &NoAnalyzeProgress)
        .await
        .unwrap();
    assert!(again.analysed.is_empty());
    assert_eq!(again.unchanged.len(), 2);
    assert_eq!(npm.requests(), before);

    // A new version, once the catalogue knows it, is analysed; --force analyses the same again.
    publish_hello(&npm, "1.1.0");
    catalog
        .sync(&npm_only(&npm.url, &all), &NoProgress)
        .await
        .unwrap();
    let mut options = names(&["hello", "quiet"], &npm);
    let newer = catalog.analyze(&options, &NoAnalyzeProgress).await.unwrap();
    assert_eq!(newer.analysed.len(), 1);
    assert_eq!(newer.analysed[0].version, "1.1.0");
    assert_eq!(newer.unchanged, ["@fixture/plugin-quiet"]);
    options.force = true;
    let forced = catalog.analyze(&options, &NoAnalyzeProgress).await.unwrap();
    assert_eq!(forced.analysed.len(), 2);
    let stored = t
        .store
        .catalog_knowledge(KNOWLEDGE_KIND)
        .await
        .unwrap();
    assert_eq!(stored.len(), 2);
    t.cleanup().await;
}

#[tokio::test]
async fn unknown_names_and_an_unreachable_registry_are_refused_whole() {
    let t = TestStore::new(TestBackend::Sqlite).await;
    let npm = LoopbackNpm::start().await;
    publish_hello(&npm, "1.0.0");
    let catalog = Catalog::open(t.store.clone()).await.unwrap();
    catalog
        .sync(&npm_only(&npm.url, &["@fixture/plugin-hello"]), &NoProgress)
        .await
        .unwrap();
    let err = catalog
        .analyze(&names(&["hello", "helo-world"], &npm), &NoAnalyzeProgress)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CatalogError::UnknownPlugin { name, .. } if name == "helo-world"),
        "{err}"
    );
    let closed = AnalyzeOptions {
        npm_registry: Some(plughub_testkit::http::closed_port_url("")),
        ..names(&["hello"], &npm)
    };
    let err = catalog
        .analyze(&closed, &NoAnalyzeProgress)
        .await
        .unwrap_err();
    assert!(
        matches!(err, CatalogError::NpmUnreachable { .. }),
        "{err}"
    );
    assert!(package_facts_by_name(&t.store).await.unwrap().is_empty());
    t.cleanup().await;
}
