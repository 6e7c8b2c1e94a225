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

fn ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
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
    ok(plughub(dir).args([
        "admin",
        "create-user",
        "owner@acme.test",
        "--org",
        "acme",
        "--role",
        "org_owner",
    ]));
    let made: Value = serde_json::from_str(&ok(plughub(dir).args([
        "admin",
        "create-token",
        "owner@acme.test",
        "--json",
    ])))
    .unwrap();
    let token = made["token"].as_str().unwrap().to_string();

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
