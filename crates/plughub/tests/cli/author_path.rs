//! A plugin author's whole path with the real CLI: `dev init` → `npm install` and build → `dev validate`
//! → `dev test` → `dev publish` to a plughub server on loopback, under a namespace the author holds, with
//! a publish token → `install` from it in an organisation → `run` its action. The packages the author's
//! build needs (tsup, typescript, @elizaos/core) and the plugin's peer come from the registry of the npm
//! configuration, as on an author's machine.

use crate::common::*;

fn ok_json(cmd: &mut Command) -> Value {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out.stdout)))
}

async fn api(method: reqwest::Method, url: &str, token: &str, body: Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .request(method, url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[test]
fn an_author_inits_tests_publishes_and_an_organisation_installs_and_runs_it() {
    let registry = npm_registry();
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("server");
    let dev_store = work.path().join("dev");
    let client_dir = work.path().join("client");
    // A namespace of this run: npm has none of it, so plughub may be its source.
    let scope = format!("@phe2e{}", &uuid_like()[..10]);
    let name = format!("{scope}/plugin-greeter");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(share_pnpm(&data));
    runtime.block_on(share_pnpm(&dev_store));

    // dev init, then the author's own tools: npm install and the build.
    let out = run(plughub(&dev_store)
        .args(["dev", "init", &name, "--template", "action", "--dir"])
        .arg(work.path()));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let dir = work.path().join("plugin-greeter");
    npm_install_and_build(&dir);

    // dev validate and dev test, with the npm configuration's registry for the plugin's peer.
    let report = ok_json(
        plughub(&dev_store)
            .env("NPM_CONFIG_REGISTRY", &registry)
            .args(["dev", "validate", "--json", "--dir"])
            .arg(&dir),
    );
    assert_eq!(
        report["components"]["actions"],
        serde_json::json!(["GREETER_GREET"]),
        "{report:#}"
    );
    let out = run(plughub(&dev_store)
        .env("NPM_CONFIG_REGISTRY", &registry)
        .args(["dev", "test", "--dir"])
        .arg(&dir));
    assert!(
        out.status.success(),
        "dev test: {}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains("passed"),
        "{}",
        text(&out.stdout)
    );

    // The server: an organisation, its owner (who will hold the namespace) and a platform owner.
    for org in ["acme", "platform"] {
        ok(plughub(&data).args(["admin", "create-org", org]));
    }
    for (email, org, role) in [
        ("author@acme.test", "acme", "org_owner"),
        ("owner@plughub.test", "platform", "platform_owner"),
    ] {
        ok(plughub(&data).args(["admin", "create-user", email, "--org", org, "--role", role]));
    }
    let token_of = |email: &str| -> String {
        ok_json(plughub(&data).args(["admin", "create-token", email, "--json"]))["token"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (author, owner) = (token_of("author@acme.test"), token_of("owner@plughub.test"));
    let (_server, addr) = serve(plughub(&data).env("NPM_CONFIG_REGISTRY", &registry).args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--no-sync",
    ]));
    let url = format!("http://{addr}");

    // The author claims the namespace, a platform owner grants it, the author makes a publish token.
    let publish_token = runtime.block_on(async {
        use reqwest::Method;
        let (status, claim) = api(
            Method::POST,
            &format!("{url}/api/publishers/{scope}/claims"),
            &author,
            serde_json::json!({ "evidence": "the scope of our plugins" }),
        )
        .await;
        assert_eq!(status, 201, "{claim}");
        let claim_id = claim["id"].as_str().unwrap().to_string();
        let (status, granted) = api(
            Method::POST,
            &format!("{url}/api/admin/publisher-claims/{claim_id}/grant"),
            &owner,
            serde_json::json!({ "note": "checked" }),
        )
        .await;
        assert_eq!(status, 200, "{granted}");
        let (status, made) = api(
            Method::POST,
            &format!("{url}/api/me/publish-tokens"),
            &author,
            serde_json::json!({ "namespace": scope, "name": "ci", "days": 1 }),
        )
        .await;
        assert_eq!(status, 201, "{made}");
        made["token"].as_str().unwrap().to_string()
    });
    assert!(publish_token.starts_with("php_"));

    // dev publish: packed, validated and published with the publish token.
    let published = ok_json(
        plughub(&dev_store)
            .env("NPM_CONFIG_REGISTRY", &registry)
            .args(["dev", "publish", "--json", "--dir"])
            .arg(&dir)
            .args(["--server", &url, "--token", &publish_token]),
    );
    assert_eq!(published["answer"]["outcome"], "published", "{published:#}");
    let body = &published["answer"]["body"];
    assert_eq!(body["name"], name.as_str());
    assert_eq!(body["integrity"], published["package"]["integrity"]);

    // An organisation installs it from plughub through the ordinary install path, and runs its action.
    let client = || {
        let mut cmd = plughub(&client_dir);
        cmd.args(["--server", &url, "--token", &author]);
        cmd
    };
    let out = run(client().args(["install", &name, "--org", "acme", "--grant"]));
    assert!(
        out.status.success(),
        "install: {}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let out = run(client().args([
        "run",
        &name,
        "GREETER_GREET",
        "--org",
        "acme",
        "--text",
        "greet Ada",
        "--json",
    ]));
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "run: {stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("Hello, Ada!"), "{stdout}");
}

/// A name part unique to this run (no extra dependency for it).
fn uuid_like() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{:x}{:x}", nanos, std::process::id())
}
