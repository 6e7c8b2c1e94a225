//! The binary as a user runs it: a fresh data directory, no network source reachable, then a sync.

use plughub_testkit::http::{LoopbackNpm, closed_port_url, packument};
use plughub_testkit::registry_snapshot_dir;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn plughub(data_dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_plughub"));
    cmd.arg("--data-dir").arg(data_dir);
    // Every source a test could reach is on loopback.
    cmd.env(
        "PLUGHUB_REGISTRY_URL",
        closed_port_url("generated-registry.json"),
    );
    cmd.env("NPM_CONFIG_REGISTRY", closed_port_url(""));
    cmd.env_remove("PLUGHUB_DATABASE_URL");
    cmd
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run plughub")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn http_get(addr: &str, path: &str) -> (u16, Value) {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (
        status,
        serde_json::from_str(body).unwrap_or(Value::String(body.to_string())),
    )
}

struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_server(data_dir: &std::path::Path) -> (Server, String) {
    let mut child = plughub(data_dir)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line.trim().rsplit("http://").next().unwrap().to_string();
    assert!(line.contains("listening"), "{line}");
    (Server(child), addr)
}

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
        all["total"].as_u64().unwrap() >= 40,
        "dozens of real plugins: {}",
        all["total"]
    );

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

/// Live: real plugins from the npm registry of this machine's npm configuration, fetched, verified and
/// analysed as `plughub audit` does. Skipped, with the reason printed, when the registry cannot be reached.
#[test]
fn live_audit_of_real_plugins() {
    let dir = tempfile::tempdir().unwrap();
    let probe = Command::new(env!("CARGO_BIN_EXE_plughub"))
        .args(["audit", "@elizaos/plugin-openai", "--json"])
        .env_remove("NPM_CONFIG_REGISTRY")
        .output()
        .unwrap();
    if !probe.status.success() {
        let err = text(&probe.stderr);
        if err.contains("cannot")
            || err.contains("no npm registry")
            || err.contains("registry could not be used")
        {
            println!("SKIPPED live audit: {err}");
            return;
        }
        panic!("audit failed: {err}");
    }
    for (plugin, at_most) in [
        ("@elizaos/plugin-openai", 0),
        ("@elizaos/plugin-bootstrap", 0),
        ("@elizaos/plugin-ollama", 20),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_plughub"))
            .args(["audit", plugin, "--json"])
            .env_remove("NPM_CONFIG_REGISTRY")
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{plugin}: {}", text(&out.stderr));
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["name"], plugin);
        assert!(
            report["integrity"].as_str().unwrap().starts_with("sha512-"),
            "{report}"
        );
        assert!(
            report["files"].as_u64().unwrap() >= 1 && report["bytes"].as_u64().unwrap() > 10_000
        );
        assert!(
            report["score"].as_u64().unwrap() <= at_most,
            "{plugin}: {}",
            report["findings"]
        );
        println!(
            "live audit: {plugin}@{} score {} findings {}",
            report["version"], report["score"], report["findings"]
        );
    }
    // plugin-ollama declares a postinstall script: true, and reported.
    let out = run(Command::new(env!("CARGO_BIN_EXE_plughub"))
        .args(["audit", "@elizaos/plugin-ollama"])
        .env_remove("NPM_CONFIG_REGISTRY"));
    let table = text(&out.stdout);
    assert!(
        table.contains("install-script") && table.contains("postinstall"),
        "{table}"
    );
}

#[test]
fn audit_of_a_local_folder_and_a_hostile_tarball() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = dir.path().join("my-plugin");
    std::fs::create_dir_all(pkg.join("dist")).unwrap();
    std::fs::write(
        pkg.join("package.json"),
        r#"{"name":"my-plugin","version":"0.0.1"}"#,
    )
    .unwrap();
    std::fs::write(
        pkg.join("dist/index.js"),
        "export default { name: 'mine', init: () => eval(process.argv[2]) };",
    )
    .unwrap();
    let out = run(plughub(dir.path()).args(["audit"]).arg(&pkg).arg("--json"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["findings"][0]["rule"], "dynamic-code");
    assert_eq!(report["findings"][0]["file"], "dist/index.js");

    let tgz = dir.path().join("evil-1.0.0.tgz");
    let archive = plughub_testkit::tarball::tgz(&[plughub_testkit::tarball::file(
        "package/../../escape.js",
        "x",
    )]);
    std::fs::write(&tgz, archive).unwrap();
    let out = run(plughub(dir.path()).args(["audit"]).arg(&tgz));
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("unsafe archive"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn organisations_are_created_once_and_listed() {
    let dir = tempfile::tempdir().unwrap();
    let out =
        run(plughub(dir.path()).args(["admin", "create-org", "acme", "--plan", "pro", "--json"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let acme: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (acme["name"].as_str(), acme["plan"].as_str()),
        (Some("acme"), Some("pro"))
    );
    let out = run(plughub(dir.path()).args(["admin", "create-org", "acme"]));
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("exists already"),
        "{}",
        text(&out.stderr)
    );
    let out = run(plughub(dir.path()).args(["admin", "create-org", "acme-eu", "--parent", "acme"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    for (args, expected) in [
        (
            vec!["admin", "create-org", "bad name"],
            "not a usable organisation name",
        ),
        (
            vec!["admin", "create-org", "x", "--plan", "gold"],
            "unknown Plan 'gold'",
        ),
        (
            vec!["admin", "create-org", "y", "--parent", "nobody"],
            "no organisation named 'nobody'",
        ),
    ] {
        let out = run(plughub(dir.path()).args(&args));
        assert!(
            !out.status.success() && text(&out.stderr).contains(expected),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    let out = run(plughub(dir.path()).args(["admin", "orgs", "--json"]));
    let orgs: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(orgs.as_array().unwrap().len(), 2);
    assert_eq!(orgs[1]["parent_id"], acme["id"]);
}
