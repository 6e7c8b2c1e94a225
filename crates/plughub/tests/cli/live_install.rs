//! Live: real `@elizaos/plugin-*` packages installed through the binary from the npm registry of this
//! machine's npm configuration, with their settings schemas and analysis recorded in
//! `target/live-install-report.json`; then loaded and initialised offline with the settings they need,
//! their true manifests shown, and components of two of them run end to end. Skipped, with the reason
//! printed, when npm cannot reach a registry.

use crate::common::*;

const PLUGINS: [&str; 3] = [
    "@elizaos/plugin-openai",
    "@elizaos/plugin-groq",
    "@elizaos/plugin-ollama",
];

pub fn plughub_live(data_dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_plughub"));
    cmd.arg("--data-dir").arg(data_dir);
    cmd.env_remove("NPM_CONFIG_REGISTRY")
        .env_remove("PLUGHUB_DATABASE_URL")
        .env(
            "PLUGHUB_REGISTRY_URL",
            closed_port_url("generated-registry.json"),
        );
    cmd
}

#[test]
fn live_install_of_real_plugins_records_schemas_and_analysis() {
    let probe = Command::new("npm")
        .args(["view", PLUGINS[0], "version"])
        .output();
    match probe {
        Ok(out) if out.status.success() => {}
        Ok(out) => {
            println!(
                "SKIPPED live install: npm cannot reach a registry: {}",
                text(&out.stderr).trim()
            );
            return;
        }
        Err(e) => {
            println!("SKIPPED live install: cannot run npm ({e})");
            return;
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = run(plughub_live(d).args(["admin", "create-org", "live"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut report = Vec::new();
    for plugin in PLUGINS {
        let out =
            run(plughub_live(d)
                .args(["install", plugin, "--org", "live", "--core", "v1", "--json"]));
        assert!(out.status.success(), "{plugin}: {}", text(&out.stderr));
        let record: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(record["state"], "INSTALLED", "{record}");
        assert!(record["integrity"].as_str().unwrap().starts_with("sha512-"));
        let package = d
            .join("packages/pkgs")
            .join(record["package"].as_str().unwrap());
        assert!(
            package
                .join("node_modules/@elizaos/core/package.json")
                .exists(),
            "{plugin}: core is linked"
        );

        let out = run(plughub_live(d).args(["config", plugin, "--org", "live", "--json"]));
        assert!(out.status.success(), "{}", text(&out.stderr));
        let config: Value = serde_json::from_slice(&out.stdout).unwrap();
        let params = config["schema"]["params"].as_array().unwrap();
        assert!(
            !params.is_empty(),
            "{plugin} declares its settings: {config}"
        );
        let out = run(plughub_live(d).args([
            "audit",
            &format!("{plugin}@{}", record["version"].as_str().unwrap()),
            "--json",
        ]));
        assert!(out.status.success(), "{}", text(&out.stderr));
        let audit: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            audit["score"], record["risk_score"],
            "the install gate used the same analysis"
        );
        println!(
            "live install: {plugin}@{} risk {} settings {} ({} secret) findings {}",
            record["version"],
            record["risk_score"],
            params.len(),
            params.iter().filter(|p| p["sensitive"] == true).count(),
            audit["findings"].as_array().map_or(0, Vec::len)
        );
        report.push(serde_json::json!({
            "plugin": plugin, "version": record["version"], "integrity": record["integrity"],
            "risk_score": record["risk_score"], "schema": config["schema"],
            "findings": audit["findings"],
        }));
    }
    let listed = text(&run(plughub_live(d).args(["installed", "--org", "live"])).stdout);
    assert!(
        listed.contains("@elizaos/plugin-ollama@")
            && listed.contains("high install-script package.json"),
        "the findings are shown with the plugin: {listed}"
    );
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("live-install-report.json");
    std::fs::write(&path, serde_json::to_string_pretty(&report).unwrap()).unwrap();
    println!("live install report: {}", path.display());
    // Stored once: the three share one pnpm store, so each version of @elizaos/core is one copy on disk.
    let cores: Vec<std::path::PathBuf> = std::fs::read_dir(d.join("packages/pkgs"))
        .unwrap()
        .map(|e| {
            e.unwrap()
                .path()
                .join("node_modules/@elizaos/core/package.json")
        })
        .filter(|p| p.exists())
        .collect();
    assert_eq!(cores.len(), 3);
    use std::os::unix::fs::MetadataExt;
    let mut versions = std::collections::BTreeSet::new();
    let mut inodes = std::collections::BTreeSet::new();
    for core in &cores {
        let manifest: Value =
            serde_json::from_str(&std::fs::read_to_string(core).unwrap()).unwrap();
        versions.insert(manifest["version"].as_str().unwrap().to_string());
        let meta = std::fs::metadata(core).unwrap();
        inodes.insert((meta.dev(), meta.ino()));
    }
    assert_eq!(
        inodes.len(),
        versions.len(),
        "one copy on disk per version of @elizaos/core: {versions:?}"
    );
    run_them(d);
}

/// Every one loads, inits offline with the settings it needs, and shows what it has; components of two
/// run end to end.
fn run_them(d: &std::path::Path) {
    for plugin in ["@elizaos/plugin-knowledge", "@elizaos/plugin-bootstrap"] {
        let out = run(plughub_live(d).args(["install", plugin, "--org", "live", "--core", "v1"]));
        assert!(out.status.success(), "{plugin}: {}", text(&out.stderr));
    }
    for (plugin, key) in [
        ("@elizaos/plugin-openai", "OPENAI_API_KEY=sk-offline"),
        ("@elizaos/plugin-groq", "GROQ_API_KEY=gsk-offline"),
    ] {
        let out = run(plughub_live(d).args(["configure", plugin, "--org", "live", key]));
        assert!(out.status.success(), "{plugin}: {}", text(&out.stderr));
    }
    // What each asks for is inferred from its code (none declares plughub.permissions); an owner grants it.
    for plugin in [
        "@elizaos/plugin-openai",
        "@elizaos/plugin-groq",
        "@elizaos/plugin-ollama",
        "@elizaos/plugin-knowledge",
        "@elizaos/plugin-bootstrap",
    ] {
        let out = run(plughub_live(d).args(["permissions", plugin, "--org", "live", "--json"]));
        assert!(out.status.success(), "{plugin}: {}", text(&out.stderr));
        let view: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(view["declared"], false, "{plugin}: {view}");
        eprintln!("{plugin} asks for {}", view["requested"]);
        match plugin {
            "@elizaos/plugin-openai" => {
                let secrets = view["requested"]["secrets.access"].to_string();
                assert!(secrets.contains("OPENAI_API_KEY"), "{view}");
                assert!(view["requested"]["network.external"].is_array(), "{view}");
            }
            "@elizaos/plugin-bootstrap" => {
                assert_eq!(view["requested"]["storage.read"], true, "{view}");
                assert_eq!(view["requested"]["storage.write"], true, "{view}");
            }
            _ => {}
        }
        let out = run(plughub_live(d).args(["grant", plugin, "--org", "live"]));
        assert!(out.status.success(), "{plugin}: {}", text(&out.stderr));
        // Ollama reaches the network at an address set by a setting (a local server by default), and
        // others fetch what a message links to: the owner has to name where.
        let out = run(plughub_live(d).args(["permissions", plugin, "--org", "live", "--json"]));
        let view: Value = serde_json::from_slice(&out.stdout).unwrap();
        if view["missing"]["network.external"] == serde_json::json!([]) {
            let out = run(plughub_live(d).args(["inspect", plugin, "--org", "live"]));
            assert!(
                text(&out.stderr).contains("network.external (no domain named"),
                "{}",
                text(&out.stderr)
            );
            let out = run(plughub_live(d).args([
                "grant",
                plugin,
                "--org",
                "live",
                "--domain",
                "models.plughub.test",
            ]));
            assert!(out.status.success(), "{plugin}: {}", text(&out.stderr));
        }
    }
    for (plugin, has) in [
        ("@elizaos/plugin-openai", "models:TEXT_EMBEDDING"),
        ("@elizaos/plugin-groq", "models:TEXT_LARGE"),
        ("@elizaos/plugin-ollama", "models:TEXT_SMALL"),
        ("@elizaos/plugin-knowledge", "actions:SEARCH_KNOWLEDGE"),
        ("@elizaos/plugin-bootstrap", "providers:TIME"),
    ] {
        let out = run(plughub_live(d).args(["inspect", plugin, "--org", "live", "--json"]));
        assert!(out.status.success(), "{plugin}: {}", text(&out.stderr));
        let manifest: Value = serde_json::from_slice(&out.stdout).unwrap();
        let (section, name) = has.split_once(':').unwrap();
        let names: Vec<&str> = manifest[section]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().or_else(|| c["name"].as_str()).unwrap())
            .collect();
        assert!(names.contains(&name), "{plugin}: {names:?}");
        println!("live run: {plugin} loads; {section}: {}", names.join(", "));
    }
    let out = run(plughub_live(d).args([
        "provide",
        "@elizaos/plugin-bootstrap",
        "TIME",
        "--org",
        "live",
    ]));
    assert!(
        text(&out.stdout).contains("The current date and time is"),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let out = run(plughub_live(d).args([
        "run",
        "@elizaos/plugin-bootstrap",
        "NONE",
        "--org",
        "live",
        "--text",
        "hi",
        "--json",
    ]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["result"]["success"], true, "{answer}");
    let out = run(plughub_live(d).args([
        "provide",
        "@elizaos/plugin-knowledge",
        "AVAILABLE_DOCUMENTS",
        "--org",
        "live",
        "--json",
    ]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    // bootstrap's REPLY composes a prompt from its providers and asks the agent's text model: with
    // plughub's offline model active for the agent, it answers in the XML the template asks for.
    let ok = |args: &[&str]| {
        let out = run(plughub_live(d).args(args));
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        out
    };
    ok(&["agent", "create", "eliza", "--org", "live"]);
    ok(&[
        "install",
        "@plughub/plugin-local-model",
        "--org",
        "live",
        "--grant",
    ]);
    for plugin in ["@plughub/plugin-local-model", "@elizaos/plugin-bootstrap"] {
        ok(&["activate", plugin, "--org", "live", "--agent", "eliza"]);
    }
    let out = ok(&[
        "run",
        "@elizaos/plugin-bootstrap",
        "REPLY",
        "--org",
        "live",
        "--agent",
        "eliza",
        "--text",
        "hello there",
        "--json",
    ]);
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    let reply = answer["callbacks"][0]["text"].as_str().unwrap_or_default();
    assert!(reply.starts_with("[local-model TEXT_"), "{answer}");
    for provider in ["RECENT_MESSAGES", "ACTIONS", "CHARACTER"] {
        ok(&[
            "provide",
            "@elizaos/plugin-bootstrap",
            provider,
            "--org",
            "live",
            "--agent",
            "eliza",
            "--text",
            "hello there",
        ]);
    }
    println!(
        "live run: bootstrap TIME, NONE, REPLY (through the local model), RECENT_MESSAGES, ACTIONS, CHARACTER and knowledge AVAILABLE_DOCUMENTS ran end to end: {reply}"
    );
}

/// Live (its dependencies come from the npm registry): the clients plugins use — Node's fetch, a copy
/// of undici of the plugin's own, axios — all go through plughub's egress proxy unchanged. Each request
/// shows up as the proxy's event, refused for a host not granted and for a granted name that resolves
/// to loopback, and the loopback listener sees no connection.
#[tokio::test(flavor = "multi_thread")]
async fn live_network_clients_go_through_the_egress_proxy() {
    let probe = Command::new("npm")
        .args(["view", "undici", "version"])
        .output();
    if !probe.is_ok_and(|out| out.status.success()) {
        println!("SKIPPED live network clients: npm cannot reach a registry");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ok = |args: &[&str]| {
        let out = run(plughub_live(d).args(args));
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        text(&out.stdout)
    };
    ok(&["admin", "create-org", "live"]);
    let fixture = plughub_testkit::fixture_plugin("plugin-netclients");
    ok(&[
        "install",
        fixture.to_str().unwrap(),
        "--org",
        "live",
        "--grant",
    ]);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let loopback = format!(
        "http://localhost:{}/",
        listener.local_addr().unwrap().port()
    );
    let store = store_of(d).await;
    let requests_to = |host: &'static str| {
        let store = store.clone();
        async move {
            store
                .events(&plughub_store::EventFilter {
                    event_type: Some(plughub_domain::EventType::PluginNetworkRequest),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_iter()
                .filter(|e| e.metadata["host"] == host && e.metadata["status"] == 403)
                .count()
        }
    };
    for action in ["NODE_FETCH", "UNDICI_REQUEST", "UNDICI_FETCH", "AXIOS"] {
        for (url, host) in [
            (
                "http://not-granted.plughub.test/",
                "not-granted.plughub.test",
            ),
            (loopback.as_str(), "localhost"),
        ] {
            let before = requests_to(host).await;
            let answer = ok(&[
                "run",
                "@fixture/plugin-netclients",
                action,
                "--org",
                "live",
                "--text",
                url,
            ]);
            assert!(answer.starts_with("failed:"), "{action} {url}: {answer}");
            assert!(
                requests_to(host).await > before,
                "{action} {url} went through the proxy and was refused there: {answer}"
            );
        }
    }
    assert!(listener.accept().is_err(), "the listener saw no connection");
}
