//! `plughub smoke` against a server on loopback that installs from a registry on loopback, and the
//! command line working through that server (`--server URL --token TOKEN`).

use crate::common::*;

/// The hello fixture, published to a loopback registry as a package.
fn publish_hello(npm: &LoopbackNpm) {
    let root = plughub_testkit::fixture_plugin("plugin-hello");
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("package.json")).unwrap()).unwrap();
    let index = std::fs::read_to_string(root.join("dist/index.js")).unwrap();
    npm.publish_version(
        manifest.clone(),
        plughub_testkit::tarball::package(&manifest, &[("dist/index.js", &index)]),
        None,
    );
}

/// The value of one sample of a `/metrics` text, named as rendered (`name{labels}`); 0 when absent.
fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

fn metrics_of(addr: &str) -> String {
    let (status, body) = http_get(addr, "/metrics");
    assert_eq!(status, 200);
    body.as_str().expect("Prometheus text").to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn smoke_and_the_command_line_through_a_server() {
    let server_dir = tempfile::tempdir().unwrap();
    let client_dir = tempfile::tempdir().unwrap();
    share_pnpm(server_dir.path()).await;
    let npm = LoopbackNpm::start().await;
    publish_hello(&npm);
    let dir = server_dir.path();
    ok(plughub(dir).args(["admin", "create-org", "acme", "--plan", "pro"]));
    let token = org_owner_token(dir, "owner@acme.test", "acme");

    let (_server, addr) = serve(plughub(dir).env("NPM_CONFIG_REGISTRY", &npm.url).args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--no-sync",
    ]));
    let url = format!("http://{addr}");
    // The client has a data directory of its own: everything it does goes through the server.
    let client = || {
        let mut cmd = plughub(client_dir.path());
        cmd.args(["--server", &url, "--token", &token]);
        cmd
    };

    const HELLO_OK: &str = "{plugin=\"@fixture/plugin-hello\",kind=\"action\",outcome=\"ok\"}";
    let before = metrics_of(&addr);
    assert_eq!(
        metric(
            &before,
            &format!("plughub_execution_duration_seconds_count{HELLO_OK}")
        ),
        0.0
    );

    let secret = "k-smoke-0451";
    let out = run(client().args([
        "smoke",
        "--org",
        "acme",
        "--plugin",
        "@fixture/plugin-hello",
        "--action",
        "HELLO",
        "--query",
        "openai",
        "--set",
        &format!("HELLO_API_KEY={secret}"),
        "--set",
        "HELLO_GREETING=Bonjour",
        "--json",
    ]));
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(!stdout.contains(secret), "{stdout}");
    let steps: Vec<Value> = serde_json::from_str(&stdout).unwrap();
    let names: Vec<&str> = steps.iter().map(|s| s["step"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "load the catalogue",
            "search",
            "install",
            "configure",
            "execute an action",
            "view its logs",
            "uninstall"
        ]
    );
    for s in &steps {
        assert_eq!(s["ok"], true, "{s}");
        assert!(s["ms"].as_f64().unwrap() >= 0.0, "{s}");
    }
    assert_eq!(
        steps[2]["detail"], "@fixture/plugin-hello@1.0.0",
        "{}",
        steps[2]
    );
    assert!(
        steps[4]["detail"]
            .as_str()
            .unwrap()
            .contains("Bonjour, hello from plughub smoke."),
        "{}",
        steps[4]
    );
    assert!(
        steps[5]["detail"]
            .as_str()
            .unwrap()
            .contains("owner@acme.test"),
        "{}",
        steps[5]
    );
    // The client made no store of its own.
    assert!(!client_dir.path().join("plughub.db").exists());
    // The server counted what the smoke did: the install, the action's execution and its time, the
    // run's request by its route.
    let after = metrics_of(&addr);
    assert_eq!(
        metric(&after, &format!("plughub_executions_total{HELLO_OK}")),
        1.0,
        "{after}"
    );
    assert_eq!(
        metric(
            &after,
            &format!("plughub_execution_duration_seconds_count{HELLO_OK}")
        ),
        1.0,
        "{after}"
    );
    assert_eq!(
        metric(
            &after,
            "plughub_http_requests_total{route=\"/api/orgs/{org}/plugins/{plugin}/run\",method=\"POST\",status=\"200\"}"
        ),
        1.0,
        "{after}"
    );
    assert_eq!(
        metric(
            &after,
            "plughub_installs_total{operation=\"install\",outcome=\"ok\"}"
        ),
        1.0,
        "{after}"
    );
    assert_eq!(metric(&after, "plughub_workers_started_total"), 1.0);
    // The uninstall ended its warm worker.
    assert_eq!(metric(&after, "plughub_warm_workers"), 0.0, "{after}");
    assert_eq!(
        metric(&after, "plughub_workers_ended_total{cause=\"changed\"}"),
        1.0,
        "{after}"
    );

    // The same through the ordinary commands.
    ok(client().args([
        "install",
        "@fixture/plugin-hello",
        "--org",
        "acme",
        "--grant",
    ]));
    let listed: Value =
        serde_json::from_str(&ok(client().args(["installed", "--org", "acme", "--json"]))).unwrap();
    assert_eq!(listed["plugins"][0]["plugin"], "@fixture/plugin-hello");
    ok(client().args([
        "configure",
        "@fixture/plugin-hello",
        "--org",
        "acme",
        &format!("HELLO_API_KEY={secret}"),
    ]));
    let out = run(client().args([
        "run",
        "@fixture/plugin-hello",
        "HELLO",
        "--org",
        "acme",
        "--text",
        "remote",
    ]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "Hello, remote.");
    // Callbacks stream in as the action sends them.
    assert!(
        text(&out.stderr).contains("… thinking…"),
        "{}",
        text(&out.stderr)
    );
    let logs = ok(client().args(["logs", "--org", "acme", "--json"]));
    let last: Value = serde_json::from_str(logs.lines().last().unwrap()).unwrap();
    assert_eq!(last["metadata"]["text"], "Hello, remote.", "{logs}");
    assert!(!logs.contains(secret));
    ok(client().args(["uninstall", "@fixture/plugin-hello", "--org", "acme"]));

    // What works only on the server's machine says so; a bad token is refused with what to do.
    let out = run(client().args(["admin", "orgs"]));
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("works on a local store only"),
        "{}",
        text(&out.stderr)
    );
    let out = run(plughub(client_dir.path()).args([
        "--server",
        &url,
        "--token",
        "phk_not-a-token",
        "installed",
        "--org",
        "acme",
    ]));
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("HTTP 401"),
        "{}",
        text(&out.stderr)
    );
}
