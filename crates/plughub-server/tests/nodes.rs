//! Two plughub servers on one real PostgreSQL, each with its own package folder as two machines have:
//! what one installs the other lists and runs (fetching the package itself, checked against the
//! integrity recorded at install); a configuration made on one is what the other runs with; the
//! per-minute rate of an instance, the daily quota and the concurrent executions of a group hold across
//! both; one's executions show in the other's live log.

mod support;

use axum::http::StatusCode;
use plughub_domain::execution_policy::ExecutionPolicy;
use plughub_domain::{Plan, Role};
use plughub_lifecycle::PackageStore;
use plughub_testkit::http::LoopbackNpm;
use plughub_testkit::{TestBackend, TestStore};
use serde_json::{Value, json};
use std::time::Duration;
use support::{Node, person_with_token, read_events};

/// Answers with its setting, and the node it runs on is whatever started it.
fn plugin_code(name: &str) -> String {
    format!(
        "export default {{ name: '{name}', description: 'greets', actions: [{{ name: 'GREET', \
         description: 'greet', validate: async () => true, handler: async (runtime) => \
         ({{ text: `${{runtime.getSetting('GREETING')}} from {name}`, success: true }}) }}] }};"
    )
}

fn publish(npm: &LoopbackNpm, name: &str) {
    let manifest = json!({ "name": name, "version": "1.0.0", "type": "module", "main": "index.js",
        "agentConfig": { "pluginParameters": { "GREETING": { "type": "string", "default": "hello" } } } });
    npm.publish_version(
        manifest.clone(),
        plughub_testkit::tarball::package(&manifest, &[("index.js", &plugin_code(name))]),
        None,
    );
}

/// Two servers on the store of `t`, each with its own package folder (as two machines), sharing the
/// secret key. The folders (the shared key's, A's, B's) must live as long as the servers.
async fn two_nodes(
    t: &TestStore,
    npm: &LoopbackNpm,
    policy: ExecutionPolicy,
) -> (Node, Node, [tempfile::TempDir; 3]) {
    let folders = [(); 3].map(|_| tempfile::tempdir().unwrap());
    let keys = folders[0].path().join("keys.json");
    let a = Node::start(
        t.store.clone(),
        &npm.url,
        folders[1].path(),
        &keys,
        policy.clone(),
    )
    .await;
    let b = Node::start(t.reopen().await, &npm.url, folders[2].path(), &keys, policy).await;
    (a, b, folders)
}

#[tokio::test(flavor = "multi_thread")]
async fn two_servers_on_one_postgresql() {
    let t = TestStore::new(TestBackend::Postgres).await;
    let npm = LoopbackNpm::start().await;
    publish(&npm, "@acme/plugin-one");
    publish(&npm, "@acme/plugin-two");
    let mut tx = t.store.begin().await.unwrap();
    tx.create_group("acme", Plan::Free, None, "test")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let owner = person_with_token(&t.store, "owner@acme.test", "acme", Role::OrgOwner).await;

    // Small figures, so that the limits are reached in a few runs.
    let defaults = ExecutionPolicy::default();
    let policy = ExecutionPolicy {
        executions_per_minute: 3,
        free: plughub_domain::execution_policy::PlanLimits {
            executions_per_day: Some(4),
            ..defaults.free
        },
        ..defaults
    };
    let (a, b, folders) = two_nodes(&t, &npm, policy).await;

    let one = "/api/orgs/acme/plugins/@acme%2Fplugin-one";
    let two = "/api/orgs/acme/plugins/@acme%2Fplugin-two";
    for name in ["@acme/plugin-one", "@acme/plugin-two"] {
        let (status, body) = a
            .send(
                "POST",
                "/api/orgs/acme/plugins",
                &owner,
                Some(json!({ "plugin": name })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let folder = PackageStore::folder_name("@acme/plugin-one", "1.0.0");
    let on_b = folders[2].path().join("packages/pkgs").join(&folder);
    assert!(!on_b.exists(), "B has not fetched anything yet");

    // B lists what A installed.
    let (status, listed) = b.send("GET", "/api/orgs/acme/plugins", &owner, None).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    let names: Vec<&str> = listed["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["plugin"].as_str())
        .collect();
    assert_eq!(names.len(), 2, "{listed}");
    assert!(names.contains(&"@acme/plugin-one"), "{listed}");

    // A configuration made on B is what A runs with; B runs it too, from a package it fetched itself.
    let (status, body) = b
        .send(
            "PUT",
            &format!("{one}/config"),
            &owner,
            Some(json!({ "settings": { "GREETING": "bonjour" } })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // B's live log follows what A runs.
    let live = b
        .request("GET", "/api/orgs/acme/executions/live", &owner, None, None)
        .await;
    assert_eq!(live.status(), StatusCode::OK);
    let follower = tokio::spawn(read_events(live.into_body(), |name, _| name == "execution"));
    tokio::time::sleep(Duration::from_secs(1)).await;

    let (status, body) = run(&a, one, &owner).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["result"]["text"], "bonjour from @acme/plugin-one");
    let (status, body) = run(&b, one, &owner).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["result"]["text"], "bonjour from @acme/plugin-one");
    assert!(
        on_b.join("package.json").is_file(),
        "B fetched the package into its own folder"
    );
    let seen = tokio::time::timeout(Duration::from_secs(30), follower)
        .await
        .expect("B's live log shows A's execution")
        .unwrap();
    assert_eq!(seen.last().unwrap().1["metadata"]["component"], "GREET");

    // The rate of one instance: 3 a minute, counted on both nodes.
    let (status, body) = run(&a, one, &owner).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = run(&b, one, &owner).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")),
        "{body}"
    );
    assert!(code_says(&body, "3"), "{body}");

    // The group's daily quota: 4, three used by plugin-one, so plugin-two runs once, on either node.
    let (status, body) = run(&b, two, &owner).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["result"]["text"], "hello from @acme/plugin-two");
    let (status, body) = run(&a, two, &owner).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")),
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("4 executions a day"),
        "{body}"
    );

    // Uninstalled on B: A refuses to run it at once, its warm worker notwithstanding, and A's reaper
    // ends that worker without waiting for a run; B ended its own as it uninstalled.
    assert_eq!(a.runner.warm_workers(), 1);
    assert_eq!(b.runner.warm_workers(), 2);
    let (status, body) = b.send("DELETE", one, &owner, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(b.runner.warm_workers(), 1);
    assert_eq!(a.runner.reap_warm().await, 1);
    assert_eq!(a.runner.warm_workers(), 0);
    let (status, body) = run(&a, one, &owner).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    t.cleanup().await;
}

async fn run(node: &Node, path: &str, token: &str) -> (StatusCode, Value) {
    let greet = json!({ "action": "GREET" });
    node.send("POST", &format!("{path}/run"), token, Some(greet))
        .await
}

fn code_says(body: &Value, figure: &str) -> bool {
    body["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains(figure))
}

/// Takes its time, and says when it ran (the machine's clock, which both servers' workers share).
const SLOW: &str = "export default { name: 'slow', description: 'slow', actions: [{ name: 'SLOW', \
    description: 'slow', validate: async () => true, handler: async () => { const start = Date.now(); \
    await new Promise((r) => setTimeout(r, 700)); \
    return { text: 'done', success: true, values: { start, end: Date.now() } }; } }] };";

#[tokio::test(flavor = "multi_thread")]
async fn a_plans_concurrent_executions_hold_across_servers() {
    let t = TestStore::new(TestBackend::Postgres).await;
    let npm = LoopbackNpm::start().await;
    let manifest = json!({ "name": "@acme/plugin-slow", "version": "1.0.0", "type": "module",
        "main": "index.js", "keywords": ["elizaos-plugin"] });
    npm.publish_version(
        manifest.clone(),
        plughub_testkit::tarball::package(&manifest, &[("index.js", SLOW)]),
        None,
    );
    // The free plan: one execution at a time.
    let mut tx = t.store.begin().await.unwrap();
    tx.create_group("solo", Plan::Free, None, "test")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let owner = person_with_token(&t.store, "owner@solo.test", "solo", Role::OrgOwner).await;
    let policy = ExecutionPolicy {
        executions_per_minute: 0,
        ..ExecutionPolicy::default()
    };
    let (a, b, _folders) = two_nodes(&t, &npm, policy).await;
    let (status, body) = a
        .send(
            "POST",
            "/api/orgs/solo/plugins",
            &owner,
            Some(json!({ "plugin": "@acme/plugin-slow" })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let path = "/api/orgs/solo/plugins/@acme%2Fplugin-slow";
    // Each server's worker warm first, so that the runs below are only the plugin's time.
    for node in [&a, &b] {
        let (status, body) = slow(node, path, &owner).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    // Twice at once on each server: the four runs take turns, none beside another.
    let (one, two, three, four) = tokio::join!(
        slow(&a, path, &owner),
        slow(&b, path, &owner),
        slow(&a, path, &owner),
        slow(&b, path, &owner)
    );
    let mut spans: Vec<(i64, i64)> = [one, two, three, four]
        .iter()
        .map(|(status, body)| {
            assert_eq!(*status, StatusCode::OK, "{body}");
            let values = &body["result"]["values"];
            (
                values["start"].as_i64().unwrap(),
                values["end"].as_i64().unwrap(),
            )
        })
        .collect();
    spans.sort_unstable();
    for pair in spans.windows(2) {
        assert!(
            pair[0].1 <= pair[1].0,
            "one run at a time on the free plan, over both servers: {spans:?}"
        );
    }
}

async fn slow(node: &Node, path: &str, token: &str) -> (StatusCode, Value) {
    node.send(
        "POST",
        &format!("{path}/run"),
        token,
        Some(json!({ "action": "SLOW", "text": "go" })),
    )
    .await
}
