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
    let shouty = json!({ "name": "@fixture/plugin-Shouty", "version": "1.0.0" });
    npm.publish_version(shouty.clone(), package(&shouty, &[]), None);
    let catalog = Catalog::open(t.store.clone()).await.unwrap();
    let all = [
        "@fixture/plugin-hello",
        "@fixture/plugin-quiet",
        "@fixture/plugin-liar",
        "@fixture/plugin-gone",
        "@fixture/plugin-Shouty",
    ];
    catalog
        .sync(&npm_only(&npm.url, &all), &NoProgress)
        .await
        .unwrap();
    npm.unpublish("@fixture/plugin-gone");
    // A name npm refuses for good (capitals), as it refuses the registry's `@elizaos/plugin-ATTPs`.
    npm.refuse("@fixture/plugin-Shouty");

    // Short names, as `info` reads them.
    let report = catalog
        .analyze(
            &names(
                &[
                    "hello",
                    "plugin-quiet",
                    "liar",
                    "gone",
                    "@fixture/plugin-Shouty",
                ],
                &npm,
            ),
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
    assert_eq!(
        report.not_on_npm,
        ["@fixture/plugin-Shouty", "@fixture/plugin-gone"]
    );
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
    assert!(
        facts
            .integrity
            .as_deref()
            .is_some_and(|i| i.starts_with("sha512-"))
    );
    let action = facts.components.iter().find(|c| c.name == "HELLO").unwrap();
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
    let fixtures: Vec<&String> = by_name
        .keys()
        .filter(|n| n.starts_with("@fixture/"))
        .collect();
    assert_eq!(fixtures.len(), 2, "{fixtures:?}");
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
    let mut analysed: Vec<&str> = events
        .iter()
        .map(|e| e.metadata["plugin"].as_str().unwrap())
        .collect();
    analysed.sort();
    assert_eq!(analysed, ["@fixture/plugin-hello", "@fixture/plugin-quiet"]);

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
    // One body a plugin, replaced in place.
    let stored = t.store.catalog_knowledge(KNOWLEDGE_KIND).await.unwrap();
    assert_eq!(stored.len(), by_name.len());
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
    assert!(matches!(err, CatalogError::NpmUnreachable { .. }), "{err}");
    assert!(
        !package_facts_by_name(&t.store)
            .await
            .unwrap()
            .contains_key("@fixture/plugin-hello")
    );
    t.cleanup().await;
}

#[tokio::test]
async fn a_starter_build_adds_the_facts_and_a_rebuild_downloads_only_what_changed() {
    use plughub_catalog::sources::npm::NpmClient;
    use plughub_catalog::starter;
    let npm = LoopbackNpm::start().await;
    publish_hello(&npm, "1.0.0");
    publish_quiet(&npm);
    // A document whose version has no tarball: nothing to analyse.
    npm.publish(
        "@fixture/plugin-paper",
        plughub_testkit::http::packument("@fixture/plugin-paper", "Paper", &[("1.0.0", "^1.0.0")]),
    );
    let client = NpmClient::new(&npm.url);
    let known = vec![
        "@fixture/plugin-hello".to_string(),
        "@fixture/plugin-quiet".to_string(),
        "@fixture/plugin-paper".to_string(),
        "@fixture/plugin-absent".to_string(),
    ];
    let empty = starter::StarterCatalog {
        generated_at: String::new(),
        registries: vec![],
        entries: vec![],
    };
    let (mut first, _) = starter::build(&client, vec![], known.clone())
        .await
        .unwrap();
    let notes = starter::add_package_facts(&client, &mut first, &empty, 2, &|_| {}).await;
    assert_eq!((notes.analysed, notes.reused), (2, 0));
    assert_eq!(notes.failed.len(), 1, "{:?}", notes.failed);
    assert!(
        notes.failed[0].starts_with("@fixture/plugin-paper:"),
        "{:?}",
        notes.failed
    );
    let facts = |s: &starter::StarterCatalog, name: &str| {
        s.entries
            .iter()
            .find(|e| e.name == name)
            .unwrap()
            .package
            .clone()
    };
    let hello = facts(&first, "@fixture/plugin-hello").unwrap();
    assert_eq!(hello.version, "1.0.0");
    assert!(hello.components.iter().any(|c| c.name == "HELLO"));
    assert!(facts(&first, "@fixture/plugin-absent").is_none());
    // Carried as the binary carries it.
    let first = starter::from_gzip(&starter::to_gzip(&first)).unwrap();
    assert_eq!(facts(&first, "@fixture/plugin-hello"), Some(hello.clone()));

    // A rebuild: hello has a new version, quiet has not; only hello's tarball is fetched.
    publish_hello(&npm, "1.1.0");
    let (mut second, _) = starter::build(&client, vec![], known).await.unwrap();
    let before = npm.requests();
    let notes = starter::add_package_facts(&client, &mut second, &first, 2, &|_| {}).await;
    assert_eq!((notes.analysed, notes.reused), (1, 1));
    // Hello's document and tarball, and the document of the package that has none.
    assert_eq!(npm.requests() - before, 3);
    assert_eq!(
        facts(&second, "@fixture/plugin-hello").unwrap().version,
        "1.1.0"
    );
    assert_eq!(
        facts(&second, "@fixture/plugin-quiet"),
        facts(&first, "@fixture/plugin-quiet")
    );
}

#[tokio::test]
async fn a_first_start_has_the_facts_of_every_package_npm_had() {
    let t = TestStore::new(TestBackend::Sqlite).await;
    let catalog = Catalog::open(t.store.clone()).await.unwrap();
    let carried = plughub_catalog::starter::embedded().unwrap();
    let by_name = package_facts_by_name(&t.store).await.unwrap();
    let with_npm = carried.entries.iter().filter(|e| e.npm.is_some()).count();
    assert!(with_npm >= 100, "{with_npm}");
    let mut kinds = std::collections::BTreeMap::new();
    for entry in &carried.entries {
        match (&entry.npm, &entry.package) {
            (Some(_), Some(facts)) => {
                assert_eq!(by_name.get(&entry.name), Some(facts), "{}", entry.name);
                // Of the version the catalogue serves: nothing to analyse again.
                let view = catalog.info(&entry.name).await.unwrap();
                assert_eq!(
                    view.view.latest_version.as_deref(),
                    Some(facts.version.as_str())
                );
                assert_eq!(view.package.as_ref(), Some(facts));
                for kind in &facts.kinds {
                    *kinds.entry(*kind).or_insert(0) += 1;
                }
            }
            (Some(_), None) => panic!("{}: npm data without package facts", entry.name),
            (None, package) => assert!(package.is_none(), "{}", entry.name),
        }
    }
    println!("{with_npm} packages with facts; plugins by kind: {kinds:?}");
    for kind in [
        PluginKind::Action,
        PluginKind::Model,
        PluginKind::Client,
        PluginKind::Adapter,
    ] {
        assert!(
            kinds.get(&kind).is_some_and(|n| *n >= 3),
            "{kind:?}: {kinds:?}"
        );
    }
    t.cleanup().await;
}
