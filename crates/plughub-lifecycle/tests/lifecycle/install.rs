//! Installing plugins for organisations, against a registry the test serves on loopback, with the real pnpm.

use crate::common::*;
#[tokio::test]
async fn install_share_uninstall_and_collect() {
    let (t, npm, dir) = world().await;
    publish_plugin(
        &npm,
        "@acme/plugin-hello",
        "1.0.0",
        "export default { name: 'hello' };",
        None,
    );
    let packages = dir.path().join("packages");
    let inst = installer(t.store.clone(), &packages, &npm.url).await;

    let record = inst
        .install("acme", "@acme/plugin-hello", &opts("alice"))
        .await
        .unwrap();
    assert_eq!(
        (record.state, record.version()),
        (State::Installed, "1.0.0")
    );
    assert!(
        record
            .current
            .integrity
            .as_deref()
            .unwrap()
            .starts_with("sha512-")
    );
    let folder = record.current.package.clone().unwrap();
    assert!(
        packages
            .join("pkgs")
            .join(&folder)
            .join("node_modules/@acme/dep/index.js")
            .exists()
    );
    assert_eq!(inst.list("acme").await.unwrap(), vec![record.clone()]);

    let again = inst
        .install("acme", "@acme/plugin-hello", &opts("alice"))
        .await
        .unwrap_err();
    assert!(
        matches!(again, LifecycleError::AlreadyInstalled { .. }),
        "{again}"
    );

    // Another organisation: the same version is stored once and not downloaded again.
    let requests = npm.requests();
    inst.install("globex", "@acme/plugin-hello@1.0.0", &opts("bob"))
        .await
        .unwrap();
    assert_eq!(
        npm.requests(),
        requests + 1,
        "only the package document was read"
    );
    assert_eq!(inst.packages().folders(), vec![folder.clone()]);

    // Uninstalled in one organisation, the package stays for the other; then it is collected.
    assert!(
        inst.uninstall("acme", "@acme/plugin-hello", "alice")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(inst.list("acme").await.unwrap().is_empty());
    assert_eq!(
        inst.uninstall("globex", "@acme/plugin-hello", "bob")
            .await
            .unwrap(),
        vec![folder]
    );
    assert!(inst.packages().folders().is_empty());
    let err = inst
        .uninstall("globex", "@acme/plugin-hello", "bob")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not installed"), "{err}");

    // The events tell the story, in order.
    let acme = t.store.group_by_name("acme").await.unwrap().unwrap();
    let events = t
        .store
        .events(&EventFilter {
            group_id: Some(acme.id),
            ..Default::default()
        })
        .await
        .unwrap();
    let story: Vec<String> = events
        .iter()
        .map(|e| {
            format!(
                "{}:{}",
                e.event_type,
                e.metadata["phase"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(
        story,
        [
            "group_created:",
            "plugin_installed:started",
            "plugin_installed:installed",
            "plugin_uninstalled:"
        ]
    );
    // Reinstalling after an uninstall works.
    inst.install("acme", "@acme/plugin-hello", &opts("alice"))
        .await
        .unwrap();
    t.cleanup().await;
}

#[tokio::test]
async fn risky_plugins_need_an_owner_to_accept_the_risk() {
    let (t, npm, dir) = world().await;
    let code = "import cp from 'node:child_process'; export default { init: (c) => eval(c.CODE) };";
    publish_plugin(
        &npm,
        "@acme/plugin-risky",
        "1.0.0",
        code,
        Some(json!({ "postinstall": "node steal.js" })),
    );
    let inst = installer(t.store.clone(), &dir.path().join("packages"), &npm.url).await;

    let err = inst
        .install("acme", "@acme/plugin-risky", &opts("alice"))
        .await
        .unwrap_err();
    let LifecycleError::TooRisky { score, .. } = &err else {
        panic!("{err}")
    };
    assert!(*score >= 50, "{score}");
    assert!(
        err.to_string()
            .contains("plughub audit @acme/plugin-risky@1.0.0"),
        "{err}"
    );
    let acme = t.store.group_by_name("acme").await.unwrap().unwrap();
    let thing = t
        .store
        .thing_by_name(
            ThingKind::PluginInstance,
            Some(&acme.id),
            "@acme/plugin-risky",
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(thing.properties["state"], "FAILED");
    assert!(
        inst.packages().folders().is_empty(),
        "nothing half-installed"
    );
    let errors = EventFilter {
        event_type: Some(EventType::PluginErrorOccurred),
        ..Default::default()
    };
    assert_eq!(t.store.count_events(&errors).await.unwrap(), 1);

    // An owner accepts it: installed, and the acceptance is on record.
    let accepted = InstallOptions {
        accept_risk_by: Some("alice".into()),
        actor: "alice".into(),
        ..Default::default()
    };
    let record = inst
        .install("acme", "@acme/plugin-risky", &accepted)
        .await
        .unwrap();
    assert_eq!(record.current.risk_accepted_by.as_deref(), Some("alice"));
    // The report is kept with the instance and shown with it.
    let report = inst
        .analysis("acme", "@acme/plugin-risky")
        .await
        .unwrap()
        .expect("the analysis is stored");
    assert_eq!(Some(report.score), record.current.risk_score);
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.rule.id() == "install-script"),
        "{:?}",
        report.findings
    );
    t.cleanup().await;
}

#[tokio::test]
async fn the_hourly_install_limit_and_unknown_things() {
    let (t, npm, dir) = world().await;
    for name in ["@acme/plugin-a", "@acme/plugin-b", "@acme/plugin-c"] {
        publish_plugin(&npm, name, "1.0.0", "export default {};", None);
    }
    let mut inst = installer(t.store.clone(), &dir.path().join("packages"), &npm.url).await;
    inst.installs_per_hour = 2;
    inst.install("acme", "@acme/plugin-a", &opts("a"))
        .await
        .unwrap();
    inst.install("acme", "@acme/plugin-b", &opts("a"))
        .await
        .unwrap();
    let err = inst
        .install("acme", "@acme/plugin-c", &opts("a"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            LifecycleError::RateLimited {
                count: 2,
                limit: 2,
                ..
            }
        ),
        "{err}"
    );
    inst.install("globex", "@acme/plugin-c", &opts("b"))
        .await
        .unwrap();

    let err = inst
        .install("nobody", "@acme/plugin-a", &opts("a"))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("plughub admin create-org nobody"),
        "{err}"
    );
    let err = inst
        .install("globex", "@acme/plugin-absent", &opts("b"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not on the npm registry"), "{err}");
    t.cleanup().await;
}

#[tokio::test]
async fn a_crash_mid_install_is_settled_on_the_next_start() {
    let (t, npm, dir) = world().await;
    let packages = dir.path().join("packages");
    // What a process killed during an install leaves: an instance in INSTALLING and a staging folder.
    let acme = t.store.group_by_name("acme").await.unwrap().unwrap();
    let record = json!({ "plugin": "@acme/plugin-x", "version": "1.0.0", "state": "INSTALLING",
                         "package": null, "integrity": null, "risk_score": null });
    let mut tx = t.store.begin().await.unwrap();
    let event = plughub_domain::NewEvent {
        event_type: EventType::PluginInstalled,
        actor: "alice".into(),
        target: None,
        group_id: Some(acme.id.clone()),
        metadata: json!({ "phase": "started" }),
    };
    let thing = NewThing {
        kind: ThingKind::PluginInstance,
        name: "@acme/plugin-x",
        group_id: Some(&acme.id),
        status: "draft",
        properties: &record.to_string(),
    };
    tx.insert_thing(&thing, event.clone()).await.unwrap();
    // Another machine sharing the store is installing this one right now: not ours to settle.
    let elsewhere = json!({ "plugin": "@acme/plugin-y", "version": "1.0.0", "state": "INSTALLING",
                            "worker": "node-b.elsewhere" });
    let other = NewThing {
        name: "@acme/plugin-y",
        properties: &elsewhere.to_string(),
        ..thing.clone()
    };
    tx.insert_thing(&other, event).await.unwrap();
    tx.commit().await.unwrap();
    let staging = PackageStore::new(&packages).staging().unwrap();
    std::fs::create_dir_all(staging.join("node_modules")).unwrap();

    // While another process on this machine installs (it holds the shared lock), nothing is settled:
    // that work is in flight, not lost.
    let busy = PackageStore::new(&packages).lock_shared().unwrap();
    let inst = installer(t.store.clone(), &packages, &npm.url).await;
    let instance = || {
        t.store
            .thing_by_name(ThingKind::PluginInstance, Some(&acme.id), "@acme/plugin-x")
    };
    assert_eq!(
        instance().await.unwrap().unwrap().properties["state"],
        "INSTALLING"
    );
    assert!(staging.exists());
    drop(busy);
    assert_eq!(
        inst.recover().await.unwrap(),
        vec!["@acme/plugin-x".to_string()]
    );
    let thing = instance().await.unwrap().unwrap();
    assert_eq!(thing.properties["state"], "FAILED");
    let theirs = t
        .store
        .thing_by_name(ThingKind::PluginInstance, Some(&acme.id), "@acme/plugin-y")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        theirs.properties["state"], "INSTALLING",
        "another machine's install in flight is left to it"
    );
    assert!(
        thing.properties["error"]
            .as_str()
            .unwrap()
            .contains("interrupted")
    );
    assert!(!staging.exists(), "the orphan is collected");
    let errors = t
        .store
        .events(&EventFilter {
            event_type: Some(EventType::PluginErrorOccurred),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(errors[0].metadata["operation"], "recover");
    // And the plugin can be installed again.
    publish_plugin(&npm, "@acme/plugin-x", "1.0.0", "export default {};", None);
    assert_eq!(
        inst.install("acme", "@acme/plugin-x", &opts("alice"))
            .await
            .unwrap()
            .state,
        State::Installed
    );
    t.cleanup().await;
}

#[tokio::test]
async fn configuration_is_checked_and_secrets_are_sealed_out_of_sight() {
    let (t, npm, dir) = world().await;
    let manifest = json!({ "name": "@acme/plugin-weather", "version": "1.0.0", "type": "module", "main": "dist/index.js",
        "agentConfig": { "pluginType": "elizaos:plugin:1.0.0", "pluginParameters": {
            "WEATHER_API_KEY": { "type": "string", "description": "key", "required": true, "sensitive": true },
            "WEATHER_UNITS": { "type": "string", "required": false, "default": "metric" },
            "WEATHER_TIMEOUT_MS": { "type": "number", "required": false, "default": "5000" },
            "WEATHER_CACHE": { "type": "boolean", "required": false, "default": "false" } } } });
    npm.publish_version(
        manifest.clone(),
        package(&manifest, &[("dist/index.js", "export default {};")]),
        None,
    );
    let inst = installer(t.store.clone(), &dir.path().join("packages"), &npm.url).await;
    inst.install("acme", "@acme/plugin-weather", &opts("alice"))
        .await
        .unwrap();
    let keys = plughub_secrets::KeyRing::load_or_create(&dir.path().join("keys.json")).unwrap();
    let set = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<std::collections::BTreeMap<_, _>>()
    };

    // Every problem at once, and nothing stored.
    let err = inst
        .configure(
            "acme",
            "@acme/plugin-weather",
            &set(&[("WEATHER_TIMEOUT_MS", "soon"), ("WEATHER_COLOUR", "red")]),
            &keys,
            "alice",
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("WEATHER_TIMEOUT_MS: expected a number, got 'soon'"),
        "{err}"
    );
    assert!(err.contains("WEATHER_COLOUR: not a setting"), "{err}");
    assert!(
        err.contains("WEATHER_API_KEY: a required secret has no value"),
        "{err}"
    );
    let view = inst
        .config_view("acme", "@acme/plugin-weather")
        .await
        .unwrap();
    assert_eq!(view.missing, ["WEATHER_API_KEY"]);
    assert!(view.values.is_empty());

    let secret = "wk-live-9f8e7d6c5b4a";
    let view = inst
        .configure(
            "acme",
            "@acme/plugin-weather",
            &set(&[("WEATHER_API_KEY", secret), ("WEATHER_CACHE", "yes")]),
            &keys,
            "alice",
        )
        .await
        .unwrap();
    assert_eq!(view.values["WEATHER_CACHE"], json!(true));
    assert_eq!(view.secrets_set, ["WEATHER_API_KEY"]);
    assert!(view.missing.is_empty());
    // A later change of one setting keeps the secret set earlier.
    inst.configure(
        "acme",
        "@acme/plugin-weather",
        &set(&[("WEATHER_UNITS", "imperial")]),
        &keys,
        "alice",
    )
    .await
    .unwrap();

    // The secret is nowhere in plain text: not in the stored instance, not in any event, not in the view.
    let acme = t.store.group_by_name("acme").await.unwrap().unwrap();
    let thing = t
        .store
        .thing_by_name(
            ThingKind::PluginInstance,
            Some(&acme.id),
            "@acme/plugin-weather",
        )
        .await
        .unwrap()
        .unwrap();
    assert!(!thing.properties.to_string().contains(secret));
    let events = t.store.events(&EventFilter::default()).await.unwrap();
    assert!(
        events
            .iter()
            .all(|e| !e.metadata.to_string().contains(secret))
    );
    let configured: Vec<_> = events
        .iter()
        .filter(|e| e.event_type == EventType::PluginConfigured)
        .collect();
    assert_eq!(configured.len(), 2);
    assert_eq!(
        configured[0].metadata["secrets"],
        json!(["WEATHER_API_KEY"])
    );
    let view = inst
        .config_view("acme", "@acme/plugin-weather")
        .await
        .unwrap();
    assert!(!serde_json::to_string(&view).unwrap().contains(secret));
    assert_eq!(view.values["WEATHER_UNITS"], json!("imperial"));
    // It opens with the key ring, for this instance and setting only.
    let sealed = thing.properties["secrets"]["WEATHER_API_KEY"]
        .as_str()
        .unwrap();
    assert_eq!(
        keys.open(&format!("{}/WEATHER_API_KEY", thing.id), sealed)
            .unwrap()
            .expose(),
        secret
    );
    assert!(
        keys.open(&format!("{}/WEATHER_UNITS", thing.id), sealed)
            .is_err()
    );
    t.cleanup().await;
}

#[tokio::test]
async fn a_local_package_never_stands_in_for_the_published_one() {
    let (t, npm, dir) = world().await;
    publish_plugin(
        &npm,
        "@acme/plugin-hello",
        "1.0.0",
        "export default { name: 'hello' };",
        None,
    );
    // A tarball that claims to be the published version, with other code.
    let manifest = json!({ "name": "@acme/plugin-hello", "version": "1.0.0", "main": "index.js" });
    let tgz = dir.path().join("impostor-1.0.0.tgz");
    std::fs::write(
        &tgz,
        package(
            &manifest,
            &[("index.js", "export default { name: 'impostor' };")],
        ),
    )
    .unwrap();
    let inst = installer(t.store.clone(), &dir.path().join("packages"), &npm.url).await;
    let local = inst
        .install("acme", tgz.to_str().unwrap(), &opts("alice"))
        .await
        .unwrap();
    let published = inst
        .install("globex", "@acme/plugin-hello@1.0.0", &opts("bob"))
        .await
        .unwrap();
    let (local_folder, npm_folder) = (
        local.current.package.unwrap(),
        published.current.package.unwrap(),
    );
    assert_ne!(local_folder, npm_folder);
    assert!(local_folder.contains("+local-"), "{local_folder}");
    let code =
        std::fs::read_to_string(inst.packages().path(&npm_folder).join("dist/index.js")).unwrap();
    assert!(
        code.contains("'hello'"),
        "globex runs the published code: {code}"
    );
    t.cleanup().await;
}
