//! A fresh install serving the starter catalogue offline, then a sync; search and info.

use crate::common::*;

#[tokio::test]
async fn a_fresh_install_serves_the_starter_offline_and_says_so_then_a_sync_replaces_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (server, addr) = start_server(&data);

    let (status, body) = http_get(&addr, "/api/plugins?q=openai");
    assert_eq!(status, 200);
    assert_eq!(body["hits"][0]["name"], "@elizaos/plugin-openai");
    let (_, all) = http_get(&addr, "/api/plugins?per_page=100");
    assert!(
        all["total"].as_u64().unwrap() >= 382,
        "the whole registry: {}",
        all["total"]
    );
    let (status, solana) = http_get(&addr, "/api/plugins/solana");
    assert_eq!(status, 200, "{solana}");
    assert_eq!(solana["compat_unknown"][0]["status"], "unknown", "{solana}");
    assert_eq!(solana["registry_snapshot"], "2026-04-22T00:49:19.407Z");

    // The background sync cannot reach anything: the catalogue says so and keeps the starter.
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        let (_, status) = http_get(&addr, "/api/catalog/status");
        if status["recent_syncs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["status"] == "failed")
        {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the background sync never finished: {status}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(status["starter_only"], true);
    let failed = &status["recent_syncs"][0]["report"]["sources"];
    assert!(failed.to_string().contains("cannot"), "{failed}");
    let (_, health) = http_get(&addr, "/healthz");
    assert_eq!(health["catalog"]["starter_only"], true);
    drop(server);

    // The CLI says the same.
    let out = run(plughub(&data).args(["catalog", "status"]));
    assert!(out.status.success());
    assert!(
        text(&out.stdout).contains("starter carried by plughub"),
        "{}",
        text(&out.stdout)
    );

    // A sync that reaches a registry (the snapshot, and npm on loopback) replaces the starter.
    let npm = LoopbackNpm::start().await;
    npm.publish(
        "@elizaos/plugin-openai",
        packument("@elizaos/plugin-openai", "OpenAI", &[("1.6.0", "^1.7.0")]),
    );
    let snapshot = registry_snapshot_dir().join("generated-registry.json");
    let data2 = data.clone();
    let npm_url = npm.url.clone();
    let out = tokio::task::spawn_blocking(move || {
        run(plughub(&data2)
            .args([
                "catalog",
                "sync",
                "--json",
                "--npm-registry",
                &npm_url,
                "--from",
            ])
            .arg(&snapshot))
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["status"], "ok", "{report}");
    assert!(npm.requests() > 0);
    let out = run(plughub(&data).args(["catalog", "status", "--json"]));
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["starter_only"], false);
    assert!(status["plugins"].as_u64().unwrap() >= 372);
}

/// No network and no sync: the starter alone. The whole registry is there, and a release on
/// `"@elizaos/core": "latest"` shows its core major as unknown, with the reason.
#[test]
fn a_first_start_offline_serves_the_whole_registry_and_says_what_it_does_not_know() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = run(plughub(&data).args(["catalog", "status"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let status = text(&out.stdout);
    assert!(
        status.contains("registry:main of 2026-04-22T00:49:19.407Z")
            && status.contains("registry:next of 2026-02-09T02:30:56.148Z"),
        "{status}"
    );
    let out = run(plughub(&data).args(["catalog", "status", "--json"]));
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(status["plugins"].as_u64().unwrap() >= 382, "{status}");
    assert_eq!(status["starter_only"], true);

    let out = run(plughub(&data).args(["info", "solana"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let info = text(&out.stdout);
    assert!(
        info.contains("core ?") && info.contains("unknown major: 1.2.6 (core latest)"),
        "{info}"
    );
    assert!(
        info.contains("'latest'") && info.contains("compatibility run"),
        "{info}"
    );
    assert!(info.contains("snapshot of 2026-04-22"), "{info}");
    // A description only the registry gives.
    assert!(info.contains("Core Solana blockchain plugin"), "{info}");

    let out = run(plughub(&data).args(["info", "solana", "--json"]));
    let info: Value = serde_json::from_slice(&out.stdout).unwrap();
    let unknown = info["compat_unknown"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["version"] == "1.2.6")
        .unwrap_or_else(|| panic!("{info}"));
    assert_eq!(unknown["status"], "unknown");
    assert_eq!(unknown["core_range"], "latest");

    let out = run(plughub(&data).args(["search", "solana"]));
    let table = text(&out.stdout);
    assert!(
        table.contains("v?") && table.contains("core major unknown"),
        "{table}"
    );
}

#[test]
fn search_and_info_for_people_and_scripts() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let snapshot = registry_snapshot_dir().join("generated-registry.json");
    let out = run(plughub(&data)
        .args(["catalog", "sync", "--no-npm", "--from"])
        .arg(&snapshot));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("372"), "{}", text(&out.stdout));

    let out = run(plughub(&data).args(["search", "solana", "--json"]));
    assert!(out.status.success());
    let results: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(results["hits"][0]["name"], "@elizaos/plugin-solana");

    let out = run(plughub(&data).args(["search", "solana"]));
    let table = text(&out.stdout);
    assert!(
        table.contains("plugin")
            && table.contains("@elizaos/plugin-solana")
            && table.contains("of "),
        "{table}"
    );

    let out = run(plughub(&data).args(["info", "plugin-solana", "--json"]));
    let info: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["name"], "@elizaos/plugin-solana");

    let out = run(plughub(&data).args(["info", "solanna"]));
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("did you mean: @elizaos/plugin-solana"),
        "{err}"
    );

    let out = run(plughub(&data).args(["search", "x", "--compat", "v7"]));
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("expected v0, v1 or v2"));
}

#[test]
fn a_bad_database_url_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(plughub(dir.path()).args([
        "--database-url",
        "mysql://root@127.0.0.1/x",
        "search",
        "x",
    ]));
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("expected postgres://"),
        "{}",
        text(&out.stderr)
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://app:hunter2@127.0.0.1:{port}/db");
    let out = run(plughub(dir.path()).args(["--database-url", &url, "search", "x"]));
    let err = text(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("is the PostgreSQL server running") && !err.contains("hunter2"),
        "{err}"
    );
}

/// What packages declare: carried by the starter for every plugin npm had, shown by `info` offline; and
/// `catalog analyze`, which fetches and analyses, says what it did.
#[tokio::test]
async fn package_facts_offline_from_the_starter_and_analysed_on_demand() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = run(plughub(&data).args(["info", "openai", "--json"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let info: Value = serde_json::from_slice(&out.stdout).unwrap();
    let package = &info["package"];
    assert_eq!(package["kinds"], serde_json::json!(["model"]), "{package}");
    assert_eq!(package["version"], info["latest_version"]);
    let models: Vec<&str> = package["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "model")
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(models.contains(&"TEXT_LARGE"), "{models:?}");
    let out = run(plughub(&data).args(["info", "bootstrap"]));
    let shown = text(&out.stdout);
    assert!(
        shown.contains("Package ") && shown.contains("REFLECTION") && shown.contains("Asks for"),
        "{shown}"
    );

    // Names are required; every plugin the starter analysed is unchanged without asking npm.
    let out = run(plughub(&data).args(["catalog", "analyze"]));
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("--all"), "{}", text(&out.stderr));
    let out = run(plughub(&data).args(["catalog", "analyze", "openai", "bootstrap"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("0 analysed, 2 unchanged, 0 not on npm, 0 failed"),
        "{}",
        text(&out.stdout)
    );

    // Against a registry on loopback: a newer openai is fetched and read; solana is not there.
    let npm = LoopbackNpm::start().await;
    let manifest = serde_json::json!({ "name": "@elizaos/plugin-openai", "version": "9.0.0",
                                       "type": "module", "main": "dist/index.js" });
    let code = r#"import { ModelType } from "@elizaos/core";
        export default { name: "openai", models: { [ModelType.TEXT_LARGE]: async () => "", TEXT_SMALL: async () => "" } };"#;
    npm.publish_version(
        manifest.clone(),
        plughub_testkit::tarball::package(&manifest, &[("dist/index.js", code)]),
        None,
    );
    let url = npm.url.clone();
    let data2 = data.clone();
    let out = tokio::task::spawn_blocking(move || {
        run(plughub(&data2).args([
            "catalog",
            "analyze",
            "openai",
            "solana",
            "--force",
            "--json",
            "--npm-registry",
            &url,
        ]))
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["analysed"][0]["name"], "@elizaos/plugin-openai");
    assert_eq!(report["analysed"][0]["version"], "9.0.0");
    assert_eq!(
        report["not_on_npm"],
        serde_json::json!(["@elizaos/plugin-solana"])
    );
    let out = run(plughub(&data).args(["info", "openai", "--json"]));
    let info: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["package"]["version"], "9.0.0");
    assert_eq!(info["package"]["components"].as_array().unwrap().len(), 2);
}

/// `plughub search --min-rating` and `--sort rating` read the ratings of published reviews (written here
/// with the reviews' own rules, by members of an organisation that has the plugins installed).
#[tokio::test]
async fn search_by_rating_reads_the_reviews() {
    use plughub_domain::{EventType, NewEvent, Plan, Role, ThingKind};
    use plughub_market::reviews::{Draft, Reviewed, Reviews};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = run(plughub(&data).args(["search", "--sort", "rating", "--json"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let store = store_of(&data).await;
    let mut tx = store.begin().await.unwrap();
    let acme = tx
        .create_group("acme", Plan::Pro, None, "test")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let accounts = plughub_accounts::Accounts::new(store.clone());
    let mut people = Vec::new();
    for email in ["ada@acme.test", "bo@acme.test"] {
        accounts
            .create_person(email, "", None, "test")
            .await
            .unwrap();
        accounts
            .set_role(email, "acme", Role::OrgUser, "test")
            .await
            .unwrap();
        let token = accounts
            .create_token(email, "t", 1, "test")
            .await
            .unwrap()
            .1;
        people.push(accounts.authenticate_token(&token).await.unwrap());
    }
    let reviews = Reviews::new(store.clone());
    for (plugin, stars) in [
        ("@elizaos/plugin-sui", [5, 4]),
        ("@elizaos/plugin-aptos", [3, 3]),
    ] {
        let properties =
            serde_json::json!({ "plugin": plugin, "version": "1.0.0", "state": "ACTIVE" })
                .to_string();
        let mut tx = store.begin().await.unwrap();
        tx.insert_thing(
            &plughub_store::NewThing {
                kind: ThingKind::PluginInstance,
                name: plugin,
                group_id: Some(&acme.id),
                status: "active",
                properties: &properties,
            },
            NewEvent {
                event_type: EventType::PluginInstalled,
                actor: "test".into(),
                target: None,
                group_id: Some(acme.id.clone()),
                metadata: serde_json::json!({ "phase": "installed", "plugin": plugin, "version": "1.0.0" }),
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let entry = store
            .thing_by_name(ThingKind::ElizaosPlugin, None, plugin)
            .await
            .unwrap()
            .unwrap();
        for (person, stars) in people.iter().zip(stars) {
            reviews
                .put(
                    person,
                    Reviewed {
                        id: &entry.id,
                        name: plugin,
                    },
                    &acme,
                    Draft { stars, text: "" },
                )
                .await
                .unwrap();
        }
    }
    store.close().await;

    let out = run(plughub(&data).args(["search", "--min-rating", "4", "--json"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let found: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = found["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["@elizaos/plugin-sui"]);
    assert_eq!(found["hits"][0]["rating"], 4.5);
    let out = run(plughub(&data).args(["search", "--sort", "rating", "--per-page", "2", "--json"]));
    let sorted: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = sorted["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["@elizaos/plugin-sui", "@elizaos/plugin-aptos"]);
    let out = run(plughub(&data).args(["search", "--sort", "rating", "--per-page", "2"]));
    let table = text(&out.stdout);
    assert!(
        table.contains("rating") && table.contains("4.5 (2)") && table.contains("3.0 (2)"),
        "{table}"
    );
    let out = run(plughub(&data).args(["search", "--min-rating", "7"]));
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("min_rating is 1 to 5"),
        "{}",
        text(&out.stderr)
    );
}

/// `plughub search --runs` and the `runs on plughub` column, and `info`'s line, read the trials a
/// compatibility run wrote to the store (written here as `compat run` writes them).
#[tokio::test]
async fn search_and_info_say_whether_a_plugin_runs_on_plughub() {
    use plughub_domain::trial::{Cause, Reached, Trial};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = run(plughub(&data).args(["search", "sui", "--json"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let store = store_of(&data).await;
    let trial = |plugin: &str, reached: Reached, cause: Option<Cause>| Trial {
        plugin: plugin.into(),
        package: plugin.into(),
        version: "1.0.0".into(),
        core_major: Some(1),
        registry: "http://127.0.0.1:9/".into(),
        reached,
        cause,
        message: None,
        duration_ms: 1000,
        disk_bytes: 1000,
        packages: 10,
        manifest: None,
        needs: vec![],
        npm: None,
        rules: "0.1.0/1".into(),
        tried_at: "2026-12-07T09:00:00.000Z".into(),
    };
    let mut tx = store.begin().await.unwrap();
    for t in [
        trial("@elizaos/plugin-sui", Reached::Inited, None),
        trial(
            "@elizaos/plugin-aptos",
            Reached::Loaded,
            Some(Cause::SandboxLimit),
        ),
    ] {
        tx.put_trial(&t, None, "compat").await.unwrap();
    }
    tx.commit().await.unwrap();
    store.close().await;

    let names = |out: &std::process::Output| -> Vec<String> {
        assert!(out.status.success(), "{}", text(&out.stderr));
        let found: Value = serde_json::from_slice(&out.stdout).unwrap();
        found["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["name"].as_str().unwrap().to_string())
            .collect()
    };
    let out = run(plughub(&data).args(["search", "--runs", "yes", "--json"]));
    assert_eq!(names(&out), ["@elizaos/plugin-sui"]);
    let out = run(plughub(&data).args(["search", "--runs", "no", "--json"]));
    assert_eq!(names(&out), ["@elizaos/plugin-aptos"]);
    let out = run(plughub(&data).args(["search", "aptos", "--per-page", "1"]));
    let table = text(&out.stdout);
    assert!(
        table.contains("runs on plughub") && table.contains("fails at init: hit a sandbox limit"),
        "{table}"
    );
    let out = run(plughub(&data).args(["info", "sui"]));
    assert!(
        text(&out.stdout).contains("yes (v1.0.0, tried 2026-12-07)"),
        "{}",
        text(&out.stdout)
    );
    let out = run(plughub(&data).args(["search", "--runs", "maybe"]));
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("expected yes, no or untried"),
        "{}",
        text(&out.stderr)
    );
}
