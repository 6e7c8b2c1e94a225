//! The execution policies on the path users take, through the HTTP API with real plugin workers: the
//! result cache (hits, isolation between organisations, cleared by a change), retries of a worker that
//! died (and none for an action that may have had side effects), the circuit breaker (open, half-open,
//! closed; the same on every server of the store), and how they count against the quota.

mod support;

use axum::http::StatusCode;
use plughub_domain::execution_policy::ExecutionPolicy;
use plughub_domain::{Plan, Role};
use plughub_testkit::http::LoopbackNpm;
use plughub_testkit::{TestBackend, TestStore};
use serde_json::{Value, json};
use std::time::Duration;
use support::{Node, person_with_token};

const PLUGIN: &str = "@acme/plugin-policies";
const PATH: &str = "plugins/@acme%2Fplugin-policies";

/// PRICE (declared cacheable) counts the calls its worker served; FLAKY ends its worker the first time
/// it is ever called (it keeps count in the plugin's cache in the store), then answers; FAIL throws;
/// CRASH ends its worker; OK answers; FLOOD sends 100,000 callbacks of 1 KB.
const CODE: &str = "let calls = 0; export default { name: 'policies', description: 'policy fixture', \
    providers: [ \
      { name: 'PRICE', description: 'a price', get: async (runtime, message) => { calls += 1; \
          return { text: `price ${calls} for ${message.content.text} in ${runtime.getSetting('CURRENCY')}` }; } }, \
      { name: 'FLAKY', description: 'ends its worker once', get: async (runtime) => { \
          const n = (await runtime.getCache('flaky')) ?? 0; await runtime.setCache('flaky', n + 1); \
          if (n === 0) process.exit(3); return { text: `recovered after ${n}` }; } } ], \
    actions: [ \
      { name: 'FAIL', description: 'always throws', validate: async () => true, \
        handler: async () => { throw new Error('this action always fails'); } }, \
      { name: 'CRASH', description: 'ends its worker', validate: async () => true, \
        handler: async () => { process.exit(4); } }, \
      { name: 'OK', description: 'answers', validate: async () => true, \
        handler: async () => ({ success: true, text: 'fine' }) }, \
      { name: 'FLOOD', description: 'a hundred thousand callbacks of 1 KB', validate: async () => true, \
        handler: async (runtime, message, state, options, callback) => { const text = 'x'.repeat(1024); \
          for (let i = 0; i < 100000; i++) await callback({ text }); return { success: true }; } } ] };";

struct World {
    t: TestStore,
    nodes: Vec<Node>,
    owners: Vec<String>,
    _npm: LoopbackNpm,
    _dirs: Vec<tempfile::TempDir>,
}

impl World {
    /// `nodes` servers on one fresh store, the plugin installed (its storage permissions granted) in
    /// acme and globex, both on `plan`.
    async fn new(backend: TestBackend, plan: Plan, policy: ExecutionPolicy, nodes: usize) -> World {
        let t = TestStore::new(backend).await;
        let npm = LoopbackNpm::start().await;
        let manifest = json!({ "name": PLUGIN, "version": "1.0.0", "type": "module", "main": "index.js",
            "agentConfig": { "pluginParameters": {
                "CURRENCY": { "type": "string", "required": false, "default": "EUR" } } },
            "plughub": { "cacheable": ["PRICE"],
                         "permissions": { "storage.read": true, "storage.write": true } } });
        npm.publish_version(
            manifest.clone(),
            plughub_testkit::tarball::package(&manifest, &[("index.js", CODE)]),
            None,
        );
        let keys = tempfile::tempdir().unwrap();
        let mut dirs = Vec::new();
        let mut started = Vec::new();
        for _ in 0..nodes {
            let dir = tempfile::tempdir().unwrap();
            started.push(
                Node::start(
                    t.store.clone(),
                    &npm.url,
                    dir.path(),
                    &keys.path().join("keys.json"),
                    policy.clone(),
                )
                .await,
            );
            dirs.push(dir);
        }
        dirs.push(keys);
        let mut owners = Vec::new();
        for org in ["acme", "globex"] {
            let mut tx = t.store.begin().await.unwrap();
            tx.create_group(org, plan, None, "test").await.unwrap();
            tx.commit().await.unwrap();
            let owner =
                person_with_token(&t.store, &format!("owner@{org}.test"), org, Role::OrgOwner)
                    .await;
            let (status, body) = started[0]
                .send(
                    "POST",
                    &format!("/api/orgs/{org}/plugins"),
                    &owner,
                    Some(json!({ "plugin": PLUGIN, "grant": true })),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
            owners.push(owner);
        }
        World {
            t,
            nodes: started,
            owners,
            _npm: npm,
            _dirs: dirs,
        }
    }

    /// Runs `component` ("provider"/"action", name) in `org` on node `node` as its owner.
    async fn run(
        &self,
        node: usize,
        org: &str,
        kind: &str,
        name: &str,
        text: &str,
    ) -> (StatusCode, Value) {
        let owner = &self.owners[if org == "acme" { 0 } else { 1 }];
        self.nodes[node]
            .send(
                "POST",
                &format!("/api/orgs/{org}/{PATH}/run"),
                owner,
                Some(json!({ kind: name, "text": text })),
            )
            .await
    }

    /// The organisation's events of `event_type`, oldest first.
    async fn events(&self, org: &str, event_type: plughub_domain::EventType) -> Vec<Value> {
        let group = self.t.store.group_by_name(org).await.unwrap().unwrap();
        let filter = plughub_store::EventFilter {
            group_id: Some(group.id),
            event_type: Some(event_type),
            ..Default::default()
        };
        self.t
            .store
            .events(&filter)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.metadata)
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn cacheable_answers_are_served_again_per_organisation_until_a_change() {
    let w = World::new(
        TestBackend::Sqlite,
        Plan::Pro,
        ExecutionPolicy::default(),
        1,
    )
    .await;
    let (status, first) = w.run(0, "acme", "provider", "PRICE", "btc").await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["result"]["text"], "price 1 for btc in EUR");
    assert_eq!(first["cache_hit"], false);

    let (status, again) = w.run(0, "acme", "provider", "PRICE", "btc").await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["cache_hit"], true, "{again}");
    assert_eq!(again["attempts"], 0);
    assert_eq!(
        again["result"]["text"], "price 1 for btc in EUR",
        "answered from the cache: the worker's count did not move"
    );
    let (_, other) = w.run(0, "acme", "provider", "PRICE", "eth").await;
    assert_eq!(other["cache_hit"], false, "other parameters miss");
    assert_eq!(other["result"]["text"], "price 2 for eth in EUR");

    // Another organisation's run of the same plugin, version and parameters never gets acme's answer.
    let (status, globex) = w.run(0, "globex", "provider", "PRICE", "btc").await;
    assert_eq!(status, StatusCode::OK, "{globex}");
    assert_eq!(globex["cache_hit"], false, "{globex}");
    assert_eq!(
        globex["result"]["text"], "price 1 for btc in EUR",
        "its own worker"
    );

    // Not declared cacheable: never served from the cache.
    for _ in 0..2 {
        let (_, ok) = w.run(0, "acme", "action", "OK", "go").await;
        assert_eq!(ok["cache_hit"], false, "{ok}");
    }

    // A change of settings clears acme's entries (and the worker): the next run computes afresh.
    let (status, body) = w.nodes[0]
        .send(
            "PUT",
            &format!("/api/orgs/acme/{PATH}/config"),
            &w.owners[0],
            Some(json!({ "settings": { "CURRENCY": "USD" } })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, after) = w.run(0, "acme", "provider", "PRICE", "btc").await;
    assert_eq!(after["cache_hit"], false, "{after}");
    assert_eq!(after["result"]["text"], "price 1 for btc in USD");

    // The hit is recorded as an execution with cache_hit: true.
    let executed = w
        .events("acme", plughub_domain::EventType::PluginActionExecuted)
        .await;
    let hits: Vec<&Value> = executed.iter().filter(|m| m["cache_hit"] == true).collect();
    assert_eq!(hits.len(), 1, "{executed:?}");
    assert_eq!(hits[0]["component"], "PRICE");
    w.t.cleanup().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_that_died_is_retried_and_a_run_counts_once() {
    // Free: a quota of 4 executions a day, to see what counts.
    let mut policy = ExecutionPolicy::default();
    policy.free.executions_per_day = Some(4);
    let w = World::new(TestBackend::Sqlite, Plan::Free, policy, 1).await;

    let (status, body) = w.run(0, "acme", "provider", "FLAKY", "go").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["result"]["text"], "recovered after 1", "{body}");
    assert_eq!(body["attempts"], 2, "{body}");
    let retried = w
        .events("acme", plughub_domain::EventType::PluginAttemptFailed)
        .await;
    assert_eq!(retried.len(), 1, "{retried:?}");
    assert_eq!(retried[0]["retrying"], true);
    assert!(
        retried[0]["error"].as_str().unwrap().contains("ended"),
        "{retried:?}"
    );

    // An action that may have had side effects is not tried again when its worker dies.
    let (status, body) = w.run(0, "acme", "action", "CRASH", "go").await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    let retried = w
        .events("acme", plughub_domain::EventType::PluginAttemptFailed)
        .await;
    assert_eq!(retried.len(), 1, "no retry of CRASH");

    // Two runs so far (FLAKY took two attempts and counts once); a cache miss and a hit make four.
    for _ in 0..2 {
        let (status, body) = w.run(0, "acme", "provider", "PRICE", "btc").await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let response = w.nodes[0]
        .request(
            "POST",
            &format!("/api/orgs/acme/{PATH}/run"),
            &w.owners[0],
            Some(json!({ "action": "OK", "text": "go" })),
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=86_400).contains(&retry_after),
        "until midnight UTC: {retry_after}"
    );
    let body: Value = serde_json::from_slice(
        &http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap()
            .to_bytes(),
    )
    .unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("4 executions a day"),
        "{body}"
    );
    // The cache hit counted too: a fifth cached answer is refused as well.
    let (status, _) = w.run(0, "acme", "provider", "PRICE", "btc").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    w.t.cleanup().await;
}

async fn the_breaker_opens_half_opens_and_closes_on_every_server(backend: TestBackend) {
    let policy = ExecutionPolicy {
        breaker_half_open_after: Duration::from_secs(2),
        ..ExecutionPolicy::default()
    };
    let w = World::new(backend, Plan::Pro, policy, 2).await;
    // The second server fetches the package on its first run: done now, so that the breaker's pause
    // below is not spent on it.
    let (status, body) = w.run(1, "acme", "action", "OK", "go").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for _ in 0..5 {
        let (status, body) = w.run(0, "acme", "action", "FAIL", "go").await;
        assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("always fails")
        );
    }
    // Open: refused at once on this server and on the other, for every component of the instance.
    for node in [0, 1] {
        let (status, body) = w.run(node, "acme", "action", "OK", "go").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_eq!(body["error"]["code"], "circuit_open");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("half-opens at"), "{message}");
        assert!(
            body["error"]["details"]["half_opens_at"].is_string(),
            "{body}"
        );
    }
    // Another organisation's instance of the same plugin has its own breaker.
    let (status, body) = w.run(0, "globex", "action", "OK", "go").await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Half-open after the pause: a failed trial opens it again.
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let (status, _) = w.run(1, "acme", "action", "FAIL", "go").await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "the trial ran");
    let (status, _) = w.run(0, "acme", "action", "OK", "go").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "open again");

    // Half-open again: three good calls, on either server, close it.
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    for node in [1, 0, 1] {
        let (status, body) = w.run(node, "acme", "action", "OK", "go").await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let record = w.nodes[0]
        .runner
        .installer()
        .list("acme")
        .await
        .unwrap()
        .remove(0);
    assert!(record.breaker.is_quiet(), "closed: {:?}", record.breaker);
    for _ in 0..4 {
        let (status, _) = w.run(0, "acme", "action", "FAIL", "go").await;
        assert_eq!(status, StatusCode::BAD_GATEWAY);
    }
    let (status, body) = w.run(1, "acme", "action", "OK", "go").await;
    assert_eq!(
        status,
        StatusCode::OK,
        "four failures keep it closed: {body}"
    );
    w.t.cleanup().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_breaker_on_sqlite() {
    the_breaker_opens_half_opens_and_closes_on_every_server(TestBackend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_breaker_on_postgres() {
    the_breaker_opens_half_opens_and_closes_on_every_server(TestBackend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flood_of_callbacks_fails_the_run_and_the_worker_serves_on() {
    let w = World::new(
        TestBackend::Sqlite,
        Plan::Pro,
        ExecutionPolicy::default(),
        1,
    )
    .await;
    let (status, body) = w.run(0, "acme", "action", "FLOOD", "go").await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("(the cap per execution); its run was stopped"),
        "{message}"
    );
    let failed = w
        .events("acme", plughub_domain::EventType::PluginErrorOccurred)
        .await;
    assert_eq!(
        failed.len(),
        1,
        "recorded as a failed execution: {failed:?}"
    );
    let (status, body) = w.run(0, "acme", "action", "OK", "go").await;
    assert_eq!(status, StatusCode::OK, "the next run is served: {body}");
    assert_eq!(w.nodes[0].runner.warm_workers(), 1);
    w.t.cleanup().await;
}
