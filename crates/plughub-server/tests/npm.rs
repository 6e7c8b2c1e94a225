//! plughub's npm registry, read side, on a real listening server: a package published to plughub is
//! served from its store only (published versions, their tarballs), never from the upstream registry even
//! when the upstream has the name (with other bytes) or nothing of it is published; any other name passes
//! through from the upstream registry with its tarballs through `/npm/`; and the real npm client installs
//! from it (a plugin published to plughub, its dependency through the pass-through). SQLite and
//! PostgreSQL for the store-touching parts.

use plughub_accounts::Accounts;
use plughub_catalog::Catalog;
use plughub_server::AppState;
use plughub_testkit::http::LoopbackNpm;
use plughub_testkit::registry::{digests, put_version};
use plughub_testkit::tarball::package;
use plughub_testkit::{BACKENDS, TestBackend, TestStore};
use serde_json::{Value, json};
use std::sync::Arc;

/// A plughub server on loopback whose upstream is `upstream`: its base URL.
async fn serve(t: &TestStore, upstream: &str) -> String {
    let state = AppState::new(
        Arc::new(Catalog::open(t.store.clone()).await.unwrap()),
        Accounts::new(t.store.clone()),
        None,
    )
    .with_npm_upstream(upstream);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(plughub_server::serve(
        listener,
        state,
        std::future::pending(),
        std::time::Duration::from_secs(5),
    ));
    format!("http://{address}")
}

async fn get(url: &str) -> (u16, Vec<u8>) {
    let response = reqwest::get(url).await.unwrap();
    let status = response.status().as_u16();
    (status, response.bytes().await.unwrap().to_vec())
}

async fn get_json(url: &str) -> (u16, Value) {
    let (status, body) = get(url).await;
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn manifest(name: &str, version: &str) -> Value {
    json!({ "name": name, "version": version, "type": "module", "main": "dist/index.js",
            "keywords": ["elizaos-plugin"] })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_published_package_comes_from_plughub_s_store_only() {
    for backend in BACKENDS {
        let t = TestStore::new(backend).await;
        let upstream = LoopbackNpm::start().await;
        let name = "@acme/plugin-x";
        // npm has the same name, with other bytes: never served.
        let m1 = manifest(name, "1.0.0");
        upstream.publish_version(
            m1.clone(),
            package(&m1, &[("dist/index.js", "export default { evil: true };")]),
            None,
        );
        let ours = package(&m1, &[("dist/index.js", "export default { name: 'x' };")]);
        let integrity = put_version(&t.store, &m1, ours.clone(), "published").await;
        let m2 = manifest(name, "2.0.0");
        put_version(
            &t.store,
            &m2,
            package(&m2, &[("dist/index.js", "export default {};")]),
            "quarantined",
        )
        .await;
        let held = manifest("@acme/plugin-held", "1.0.0");
        upstream.publish_version(
            held.clone(),
            package(&held, &[("dist/index.js", "export default {};")]),
            None,
        );
        put_version(
            &t.store,
            &held,
            package(&held, &[("dist/index.js", "export default {};")]),
            "quarantined",
        )
        .await;
        let server = serve(&t, &upstream.url).await;

        for path in ["@acme%2fplugin-x", "@acme%2Fplugin-x", "@acme/plugin-x"] {
            let (status, doc) = get_json(&format!("{server}/npm/{path}")).await;
            assert_eq!(status, 200, "{backend:?} {path}: {doc}");
            assert_eq!(
                doc["versions"]
                    .as_object()
                    .unwrap()
                    .keys()
                    .collect::<Vec<_>>(),
                ["1.0.0"],
                "published versions only"
            );
            assert_eq!(doc["dist-tags"]["latest"], "1.0.0");
            let dist = &doc["versions"]["1.0.0"]["dist"];
            assert_eq!(dist["integrity"], integrity.as_str());
            assert_eq!(
                dist["tarball"],
                format!("{server}/npm/@acme/plugin-x/-/plugin-x-1.0.0.tgz")
            );
        }
        let (status, bytes) =
            get(&format!("{server}/npm/@acme/plugin-x/-/plugin-x-1.0.0.tgz")).await;
        assert_eq!((status, bytes == ours), (200, true), "{backend:?}");
        let (status, bytes) = get(&format!(
            "{server}/npm/@acme%2fplugin-x/-/plugin-x-1.0.0.tgz"
        ))
        .await;
        assert_eq!((status, bytes == ours), (200, true));
        assert_eq!(digests(&bytes).0, integrity);
        // A quarantined version's tarball is not served; nor any other file name.
        for file in [
            "plugin-x-2.0.0.tgz",
            "plugin-x-3.0.0.tgz",
            "plugin-y-1.0.0.tgz",
            "x",
        ] {
            let (status, body) = get_json(&format!("{server}/npm/@acme/plugin-x/-/{file}")).await;
            assert_eq!(status, 404, "{file}: {body}");
            assert_eq!(body["error"]["code"], "not_found");
        }
        // A name plughub holds with nothing published: 404, though upstream has it, with the same words
        // as for a name that exists nowhere (that a quarantined upload exists is not told).
        let (status, body) = get_json(&format!("{server}/npm/@acme%2fplugin-held")).await;
        assert_eq!(status, 404, "{body}");
        let (_, unknown) = get_json(&format!("{server}/npm/@acme%2fplugin-nowhere")).await;
        assert_eq!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .replace("plugin-held", "NAME"),
            unknown["error"]["message"]
                .as_str()
                .unwrap()
                .replace("plugin-nowhere", "NAME"),
            "{body} {unknown}"
        );
        let (status, _) = get(&format!(
            "{server}/npm/@acme/plugin-held/-/plugin-held-1.0.0.tgz"
        ))
        .await;
        assert_eq!(status, 404);
        assert!(
            !upstream
                .paths()
                .iter()
                .any(|p| p.contains("plugin-x") || p.contains("plugin-held")),
            "the upstream was never asked for plughub's names: {:?}",
            upstream.paths()
        );
        t.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn other_names_pass_through_from_upstream_with_tarballs_through_npm() {
    let t = TestStore::new(TestBackend::Sqlite).await;
    let upstream = LoopbackNpm::start().await;
    let dep = json!({ "name": "dep-fixture", "version": "1.0.0", "main": "index.js" });
    let bytes = package(&dep, &[("index.js", "module.exports = 42;")]);
    upstream.publish_version(dep.clone(), bytes.clone(), None);
    let server = serve(&t, &upstream.url).await;

    let (status, doc) = get_json(&format!("{server}/npm/dep-fixture")).await;
    assert_eq!(status, 200, "{doc}");
    let dist = &doc["versions"]["1.0.0"]["dist"];
    assert_eq!(
        dist["tarball"],
        format!("{server}/npm/dep-fixture/-/dep-fixture-1.0.0.tgz")
    );
    assert_eq!(dist["integrity"], digests(&bytes).0.as_str());
    let (status, got) = get(dist["tarball"].as_str().unwrap()).await;
    assert_eq!((status, got == bytes), (200, true));
    // The corgi form is answered with the full document.
    let corgi = reqwest::Client::new()
        .get(format!("{server}/npm/dep-fixture"))
        .header(
            "accept",
            "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(corgi.status(), 200);
    assert_eq!(corgi.json::<Value>().await.unwrap()["name"], "dep-fixture");

    // Unknown upstream: 404; a name that is no package name never reaches upstream.
    let asked = upstream.requests();
    let (status, body) = get_json(&format!("{server}/npm/no-such-package")).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    for bad in ["-%2Fv1%2Fsearch", ".hidden", "a%20b", "@a%2Fb%2Fc"] {
        let (status, _) = get(&format!("{server}/npm/{bad}")).await;
        assert_eq!(status, 404, "{bad}");
    }
    assert_eq!(upstream.requests(), asked + 1);
    let (status, _) = get(&format!("{server}/npm/dep-fixture/-/dep-fixture-9.9.9.tgz")).await;
    assert_eq!(status, 404);

    // An upstream that cannot be reached: 502 saying so.
    let closed = plughub_testkit::http::closed_port_url("");
    let server = serve(&t, &closed).await;
    let (status, body) = get_json(&format!("{server}/npm/dep-fixture")).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (502, Some("upstream")),
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("the upstream npm registry"),
        "{body}"
    );
    t.cleanup().await;
}

/// The real npm client against `/npm/`: a plugin published to plughub and its dependency, which only the
/// upstream registry has, both installed; the plugin's bytes are plughub's (the lock file's integrity and
/// the files say so), the dependency came through the pass-through.
#[tokio::test(flavor = "multi_thread")]
async fn npm_installs_from_plughub_with_dependencies_passed_through() {
    let t = TestStore::new(TestBackend::Sqlite).await;
    let upstream = LoopbackNpm::start().await;
    let dep = json!({ "name": "dep-fixture", "version": "1.0.0", "main": "index.js" });
    let dep_bytes = package(&dep, &[("index.js", "module.exports = 42;")]);
    upstream.publish_version(dep.clone(), dep_bytes.clone(), None);
    let mut plugin = manifest("@acme/plugin-x", "1.0.0");
    plugin["dependencies"] = json!({ "dep-fixture": "^1.0.0" });
    // The upstream has the plugin's name too, with other bytes: npm must get plughub's.
    upstream.publish_version(
        plugin.clone(),
        package(
            &plugin,
            &[("dist/index.js", "export default { evil: true };")],
        ),
        None,
    );
    let ours = package(
        &plugin,
        &[("dist/index.js", "export default { name: 'x' };")],
    );
    let integrity = put_version(&t.store, &plugin, ours, "published").await;
    let server = serve(&t, &upstream.url).await;

    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join("package.json"),
        r#"{ "name": "npm-client-check", "version": "1.0.0", "private": true }"#,
    )
    .unwrap();
    let registry = format!("{server}/npm/");
    // A user configuration naming no other registry, and a cache of this test's own.
    let userconfig = dir.path().join("npmrc");
    std::fs::write(&userconfig, format!("registry={registry}\n")).unwrap();
    let out = std::process::Command::new("npm")
        .current_dir(&project)
        .args(["install", "--registry", &registry])
        .args(["--no-audit", "--no-fund", "--ignore-scripts"])
        .arg("--cache")
        .arg(dir.path().join("cache"))
        .arg("--userconfig")
        .arg(&userconfig)
        .arg("@acme/plugin-x")
        .env("HOME", dir.path())
        .env("NPM_CONFIG_USERCONFIG", &userconfig)
        .env_remove("NPM_CONFIG_REGISTRY")
        .env_remove("npm_config_registry")
        .output()
        .expect("npm runs");
    assert!(
        out.status.success(),
        "npm install failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let code =
        std::fs::read_to_string(project.join("node_modules/@acme/plugin-x/dist/index.js")).unwrap();
    assert!(
        code.contains("name: 'x'") && !code.contains("evil"),
        "{code}"
    );
    assert_eq!(
        std::fs::read_to_string(project.join("node_modules/dep-fixture/index.js")).unwrap(),
        "module.exports = 42;"
    );
    let lock: Value =
        serde_json::from_str(&std::fs::read_to_string(project.join("package-lock.json")).unwrap())
            .unwrap();
    let entry = &lock["packages"]["node_modules/@acme/plugin-x"];
    assert_eq!(entry["integrity"], integrity.as_str(), "{entry}");
    assert_eq!(
        entry["resolved"],
        format!("{registry}@acme/plugin-x/-/plugin-x-1.0.0.tgz")
    );
    let entry = &lock["packages"]["node_modules/dep-fixture"];
    assert_eq!(
        entry["integrity"],
        digests(&dep_bytes).0.as_str(),
        "{entry}"
    );
    assert_eq!(
        entry["resolved"],
        format!("{registry}dep-fixture/-/dep-fixture-1.0.0.tgz"),
        "the dependency came through /npm/"
    );
    assert!(
        !upstream.paths().iter().any(|p| p.contains("plugin-x")),
        "{:?}",
        upstream.paths()
    );
    t.cleanup().await;
}

/// A plughub server on loopback whose state is `state` made on a store: its base URL.
async fn serve_state(t: &TestStore, state: impl FnOnce(AppState) -> AppState) -> String {
    let state = state(AppState::new(
        Arc::new(Catalog::open(t.store.clone()).await.unwrap()),
        Accounts::new(t.store.clone()),
        None,
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(plughub_server::serve(
        listener,
        state,
        std::future::pending(),
        std::time::Duration::from_secs(5),
    ));
    format!("http://{address}")
}

/// The public pass-through sends none of the operator's credentials, not even a user name and password
/// in the upstream URL, and says none in its errors; it does not answer for a scope the server's npm
/// configuration routes elsewhere; and it refuses an upstream document over its size limit.
#[tokio::test(flavor = "multi_thread")]
async fn the_pass_through_keeps_the_operator_s_configuration_to_itself() {
    let t = TestStore::new(TestBackend::Sqlite).await;
    let upstream = LoopbackNpm::start().await;
    let m = json!({ "name": "left-pad", "version": "1.0.0", "main": "index.js" });
    upstream.publish_version(m.clone(), package(&m, &[("index.js", "1")]), None);
    let corp = json!({ "name": "@corp/lib", "version": "1.0.0", "main": "index.js" });
    upstream.publish_version(corp.clone(), package(&corp, &[("index.js", "1")]), None);
    let mut huge = plughub_testkit::http::packument("huge", "x", &[("1.0.0", "^1.0.0")]);
    huge["readme"] = Value::String("x".repeat((32 << 20) + 1));
    upstream.publish("huge", huge);
    let with_userinfo = upstream
        .url
        .replacen("http://", "http://operator:s3cret@", 1);
    let server = serve_state(&t, |s| {
        s.with_npm_upstream(&with_userinfo)
            .with_npm_routed_scopes(vec!["@corp".into()])
    })
    .await;

    let (status, doc) = get_json(&format!("{server}/npm/left-pad")).await;
    assert_eq!(status, 200, "{doc}");
    assert!(
        upstream.authorizations().iter().all(String::is_empty),
        "{:?}",
        upstream.authorizations()
    );
    upstream.fail_next("broken", 5);
    let (status, body) = get(&format!("{server}/npm/broken")).await;
    let body = String::from_utf8_lossy(&body);
    assert_eq!(status, 502, "{body}");
    assert!(
        !body.contains("s3cret") && !body.contains("operator"),
        "{body}"
    );

    let (status, body) = get_json(&format!("{server}/npm/@corp%2flib")).await;
    assert_eq!(status, 404, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("registry of its own"),
        "{body}"
    );
    let (status, _) = get(&format!("{server}/npm/@corp/lib/-/lib-1.0.0.tgz")).await;
    assert_eq!(status, 404);
    assert!(
        !upstream.paths().iter().any(|p| p.contains("corp")),
        "{:?}",
        upstream.paths()
    );

    let (status, body) = get_json(&format!("{server}/npm/huge")).await;
    assert_eq!(status, 502, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("larger than the 32 MB allowed"),
        "{body}"
    );
    t.cleanup().await;
}
