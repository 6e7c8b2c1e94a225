//! The lifecycle through the binary, against a registry served on loopback: every command once, then the
//! process killed at each step of an install and an update and started again.

use crate::common::*;
use plughub_lifecycle::InstanceRecord;
use plughub_store::{EventFilter, Location, Store};
use std::path::Path;

fn publish(npm: &LoopbackNpm, version: &str, extra: Value) {
    // The elizaos keyword, as plugins are published: the catalogue does not hold @acme's plugins.
    let mut manifest = serde_json::json!({ "name": "@acme/plugin-crash", "version": version,
        "type": "module", "main": "dist/index.js", "keywords": ["elizaos-plugin"],
        "dependencies": { "@acme/dep": "^1.0.0" } });
    for (k, v) in extra.as_object().into_iter().flatten() {
        manifest[k] = v.clone();
    }
    let tarball = plughub_testkit::tarball::package(
        &manifest,
        &[("dist/index.js", "export default { name: 'crash' };")],
    );
    npm.publish_version(manifest, tarball, None);
}

async fn world() -> (tempfile::TempDir, LoopbackNpm) {
    let dir = tempfile::tempdir().unwrap();
    share_pnpm(dir.path()).await;
    let npm = LoopbackNpm::start().await;
    let dep = serde_json::json!({ "name": "@acme/dep", "version": "1.0.0", "main": "index.js" });
    npm.publish_version(
        dep.clone(),
        plughub_testkit::tarball::package(&dep, &[("index.js", "module.exports = 42;")]),
        None,
    );
    let out = run(plughub(dir.path()).args(["admin", "create-org", "acme", "--plan", "pro"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    (dir, npm)
}

/// Runs a command and checks it succeeds; returns its stdout.
fn ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(out.status.success(), "{:?}: {}", cmd, text(&out.stderr));
    text(&out.stdout)
}

fn installed(dir: &Path) -> Vec<InstanceRecord> {
    serde_json::from_str(&ok(plughub(dir).args([
        "installed",
        "--org",
        "acme",
        "--json",
    ])))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_lifecycle_command_through_the_binary() {
    let (dir, npm) = world().await;
    let d = dir.path();
    publish(
        &npm,
        "1.0.0",
        serde_json::json!({ "agentConfig": { "pluginParameters": {
        "CRASH_API_KEY": { "type": "string", "required": true, "sensitive": true } } } }),
    );
    let out = run(plughub(d).args([
        "install",
        "@acme/plugin-crash",
        "--org",
        "acme",
        "--npm-registry",
        &npm.url,
    ]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let progress = text(&out.stderr);
    for step in [
        "resolving",
        "downloading 1.0.0",
        "analysing the code",
        "installing dependencies",
        "installed",
    ] {
        assert!(
            progress.contains(&format!("@acme/plugin-crash: {step}")),
            "{step}: {progress}"
        );
    }
    assert!(text(&out.stdout).starts_with("installed @acme/plugin-crash@1.0.0 for acme"));

    ok(plughub(d).args(["agent", "create", "eliza", "--org", "acme"]));
    let out = run(plughub(d).args([
        "activate",
        "@acme/plugin-crash",
        "--org",
        "acme",
        "--agent",
        "eliza",
    ]));
    assert!(
        text(&out.stderr).contains("needs CRASH_API_KEY before it can be used"),
        "{}",
        text(&out.stderr)
    );
    let secret = "ck-5f4e3d2c1b";
    ok(plughub(d).args([
        "configure",
        "@acme/plugin-crash",
        "--org",
        "acme",
        &format!("CRASH_API_KEY={secret}"),
    ]));
    let stdout = ok(plughub(d).args([
        "activate",
        "@acme/plugin-crash",
        "--org",
        "acme",
        "--agent",
        "eliza",
        "--actions",
        "A,B",
    ]));
    assert!(stdout.contains("active for agent eliza"), "{stdout}");
    let agents = ok(plughub(d).args(["agent", "list", "--org", "acme"]));
    assert!(
        agents.contains("@acme/plugin-crash  priority 0  A,B"),
        "{agents}"
    );

    // What an elizaOS agent needs to use it through plughub: the character fragment, token left blank.
    let out = run(plughub(d).args([
        "agent",
        "export",
        "eliza",
        "--org",
        "acme",
        "--url",
        "http://127.0.0.1:9999/",
    ]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let fragment: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        fragment,
        serde_json::json!({
            "name": "eliza",
            "plugins": ["@elizaos/plugin-sql", "@plughub/plugin-remote"],
            "settings": {
                "PLUGHUB_URL": "http://127.0.0.1:9999",
                "PLUGHUB_ORG": "acme",
                "PLUGHUB_AGENT": "eliza",
                "secrets": { "PLUGHUB_TOKEN": "" },
            },
        })
    );
    let said = text(&out.stderr);
    assert!(
        said.contains("Fill in settings.secrets.PLUGHUB_TOKEN")
            && said.contains("run in plughub: @acme/plugin-crash (models answered by plughub)"),
        "{said}"
    );
    let out = run(plughub(d).args(["agent", "export", "nobody", "--org", "acme"]));
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("no agent named 'nobody' in acme"),
        "{}",
        text(&out.stderr)
    );
    let stdout = ok(plughub(d).args(["agent", "models", "eliza", "agent", "--org", "acme"]));
    assert!(stdout.contains("use its own models"), "{stdout}");
    let agents: serde_json::Value = serde_json::from_str(&ok(
        plughub(d).args(["agent", "list", "--org", "acme", "--json"])
    ))
    .unwrap();
    assert_eq!(agents[0]["models"], "agent", "{agents}");

    publish(
        &npm,
        "1.1.0",
        serde_json::json!({ "agentConfig": { "pluginParameters": {
        "CRASH_API_KEY": { "type": "string", "required": true, "sensitive": true } } } }),
    );
    let stdout = ok(plughub(d).args([
        "update",
        "@acme/plugin-crash",
        "--org",
        "acme",
        "--npm-registry",
        &npm.url,
    ]));
    assert!(
        stdout.contains(
            "updated @acme/plugin-crash from 1.0.0 to 1.1.0 for acme (Active; configuration kept)"
        ),
        "{stdout}"
    );
    let stdout = ok(plughub(d).args(["rollback", "@acme/plugin-crash", "--org", "acme"]));
    assert!(
        stdout.contains("rolled back @acme/plugin-crash from 1.1.0 to 1.0.0"),
        "{stdout}"
    );
    let list = ok(plughub(d).args(["installed", "--org", "acme"]));
    assert!(
        list.contains("@acme/plugin-crash@1.0.0  Active  risk 0  (rollback to 1.1.0)"),
        "{list}"
    );

    let stdout = ok(plughub(d).args(["admin", "rotate-key", "--retire"]));
    assert!(
        stdout.contains("1 secret value(s) resealed; old keys retired"),
        "{stdout}"
    );
    let config = ok(plughub(d).args(["config", "@acme/plugin-crash", "--org", "acme"]));
    assert!(
        config.contains("CRASH_API_KEY = *** (set)") && !config.contains(secret),
        "{config}"
    );

    let out = run(plughub(d).args(["uninstall", "@acme/plugin-crash", "--org", "acme"]));
    assert!(
        text(&out.stderr).contains("deactivate it first"),
        "{}",
        text(&out.stderr)
    );
    ok(plughub(d).args(["deactivate", "@acme/plugin-crash", "--org", "acme"]));
    let stdout = ok(plughub(d).args(["uninstall", "@acme/plugin-crash", "--org", "acme"]));
    assert!(
        stdout.contains("removed package @acme+plugin-crash@1.0.0"),
        "{stdout}"
    );
    assert!(
        stdout.contains("removed package @acme+plugin-crash@1.1.0"),
        "{stdout}"
    );
}

/// Starts the command and kills it (SIGKILL) as soon as its progress shows `marker`; false when the
/// command finished first.
fn kill_at(cmd: &mut Command, marker: &str) -> bool {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stderr.take().unwrap()).lines();
    for line in lines.map_while(Result::ok) {
        if line.contains(marker) {
            child.kill().unwrap();
            child.wait().unwrap();
            return true;
        }
    }
    child.wait().unwrap();
    false
}

/// What a restart must find: no instance in a transient state, no staging folder, no package on disk that
/// no instance uses; and each interruption told by an event.
async fn check_settled(dir: &Path) -> (Option<InstanceRecord>, usize) {
    let records = installed(dir);
    assert!(records.len() <= 1, "{records:?}");
    let record = records.first().cloned();
    if let Some(record) = &record {
        assert!(
            matches!(
                record.state,
                plughub_domain::lifecycle::State::Installed
                    | plughub_domain::lifecycle::State::Failed
            ),
            "{record:?}"
        );
    }
    let pkgs = dir.join("packages/pkgs");
    let on_disk: Vec<String> = std::fs::read_dir(&pkgs)
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    let in_use: Vec<&String> = record.iter().flat_map(|r| r.packages()).collect();
    for folder in &on_disk {
        assert!(
            in_use.contains(&folder),
            "{folder} is on disk but unused: {record:?}"
        );
    }
    let store = Store::open(&Location::DataDir(dir.to_path_buf()))
        .await
        .unwrap();
    let recovered = store
        .events(&EventFilter {
            event_type: Some(plughub_domain::EventType::PluginErrorOccurred),
            ..Default::default()
        })
        .await
        .unwrap()
        .iter()
        .filter(|e| e.metadata["operation"] == "recover")
        .count();
    store.close().await;
    (record, recovered)
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_at_any_step_of_an_install_or_update_then_started_again() {
    let (dir, npm) = world().await;
    let d = dir.path();
    publish(&npm, "1.0.0", serde_json::json!({}));
    let install = || {
        let mut c = plughub(d);
        c.args([
            "install",
            "@acme/plugin-crash@1.0.0",
            "--org",
            "acme",
            "--npm-registry",
            &npm.url,
        ]);
        c
    };
    let mut recovered = 0;
    for step in [
        "resolving",
        "downloading",
        "analysing the code",
        "installing dependencies",
        ": installed",
    ] {
        assert!(
            kill_at(&mut install(), step),
            "the install never reached {step}"
        );
        let (record, now) = check_settled(d).await;
        println!(
            "install killed at {step}: {:?}",
            record.as_ref().map(|r| r.state)
        );
        match record {
            // Killed before anything was recorded.
            None => assert_eq!(step, "resolving"),
            Some(r) if r.state == plughub_domain::lifecycle::State::Failed => {
                assert_eq!(now, recovered + 1, "{step}: the interruption has its event");
                assert!(r.error.as_deref().unwrap().contains("interrupted"), "{r:?}");
            }
            Some(_) => {
                ok(plughub(d).args(["uninstall", "@acme/plugin-crash", "--org", "acme"]));
            }
        }
        recovered = now;
    }
    ok(&mut install());

    // Each round updates to a version never downloaded, so that every step is reached.
    let update = || {
        let mut c = plughub(d);
        c.args([
            "update",
            "@acme/plugin-crash",
            "--org",
            "acme",
            "--npm-registry",
            &npm.url,
        ]);
        c
    };
    let mut current = "1.0.0".to_string();
    let steps = [
        "resolving",
        "downloading",
        "analysing the code",
        "installing dependencies",
        "updated to",
    ];
    for (round, step) in steps.iter().enumerate() {
        let next = format!("2.0.{round}");
        publish(&npm, &next, serde_json::json!({}));
        assert!(
            kill_at(&mut update(), step),
            "the update never reached {step}"
        );
        let (record, now) = check_settled(d).await;
        let record = record.expect("the instance stays");
        println!(
            "update killed at {step}: {:?} {}",
            record.state,
            record.version()
        );
        assert_eq!(
            record.state,
            plughub_domain::lifecycle::State::Installed,
            "{step}: {record:?}"
        );
        assert!(record.replacing.is_none());
        assert!(
            record.version() == current || record.version() == next,
            "{step}: {record:?}"
        );
        if now > recovered {
            assert_eq!(
                record.version(),
                current,
                "an interrupted update keeps the old version"
            );
        }
        current = record.version().to_string();
        recovered = now;
    }
    let stdout = ok(&mut update());
    assert!(
        stdout.contains("to 2.0.5") || stdout.contains("at 2.0.4 already"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_update_that_asks_for_more_runs_once_it_is_granted() {
    let (dir, npm) = world().await;
    let d = dir.path();
    // A plugin that loads, each version declaring what it asks for.
    let publish = |npm: &LoopbackNpm, version: &str, list: Value| {
        let manifest = serde_json::json!({ "name": "@acme/plugin-crash", "version": version,
            "type": "module", "main": "index.js", "keywords": ["elizaos-plugin"],
            "plughub": { "permissions": list } });
        let code = "export default { name: 'asker', description: 'asks for things' };";
        let tarball = plughub_testkit::tarball::package(&manifest, &[("index.js", code)]);
        npm.publish_version(manifest, tarball, None);
    };
    publish(&npm, "1.0.0", serde_json::json!(["storage.read"]));
    let registry = ["--npm-registry", &npm.url];
    let plugin = "@acme/plugin-crash";
    let installed = ok(plughub(d)
        .args([
            "install",
            "@acme/plugin-crash@1.0.0",
            "--org",
            "acme",
            "--grant",
        ])
        .args(registry));
    assert!(installed.contains("asks for (declared):"), "{installed}");
    assert!(installed.contains("granted by cli"), "{installed}");
    ok(plughub(d).args(["inspect", plugin, "--org", "acme"]));

    // 1.1.0 also wants the network: updated, but it does not run until that is granted.
    publish(
        &npm,
        "1.1.0",
        serde_json::json!(["storage.read", "network.external:api.weather.test"]),
    );
    let updated = ok(plughub(d)
        .args(["update", plugin, "--org", "acme"])
        .args(registry));
    assert!(
        updated.contains("asks for more than is granted (network.external: api.weather.test)"),
        "{updated}"
    );
    let out = run(plughub(d).args(["inspect", plugin, "--org", "acme"]));
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains(
            "asks for permissions not granted in acme: network.external: api.weather.test"
        ),
        "{}",
        text(&out.stderr)
    );
    let store = Store::open(&Location::DataDir(d.to_path_buf()))
        .await
        .unwrap();
    let updates = store
        .events(&EventFilter {
            event_type: Some(plughub_domain::EventType::PluginUpdated),
            ..Default::default()
        })
        .await
        .unwrap();
    let update = updates
        .iter()
        .find(|e| e.metadata["phase"] == "updated")
        .expect("the update's event");
    assert_eq!(
        update.metadata["asks_more"]["network.external"],
        serde_json::json!(["api.weather.test"])
    );
    ok(plughub(d).args([
        "grant",
        plugin,
        "--org",
        "acme",
        "--domain",
        "api.weather.test",
    ]));
    ok(plughub(d).args(["inspect", plugin, "--org", "acme"]));

    // An update granted as it is made runs straight away; the grant is recorded with its actor.
    publish(
        &npm,
        "1.2.0",
        serde_json::json!(["storage.read", "events.publish"]),
    );
    ok(plughub(d)
        .args(["update", plugin, "--org", "acme", "--grant"])
        .args(registry));
    ok(plughub(d).args(["inspect", plugin, "--org", "acme"]));
    let view: Value = serde_json::from_str(&ok(plughub(d).args([
        "permissions",
        plugin,
        "--org",
        "acme",
        "--json",
    ])))
    .unwrap();
    assert_eq!(view["version"], "1.2.0");
    assert_eq!(view["granted"]["events.publish"], true, "{view}");
    assert_eq!(view["missing"], serde_json::json!({}), "{view}");
    let grants = store
        .events(&EventFilter {
            event_type: Some(plughub_domain::EventType::PluginPermissionsGranted),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        grants.len(),
        1,
        "the explicit grant; the others ride on install and update"
    );
    assert_eq!(grants[0].actor, "cli");
}
