//! `GET /metrics` moves with what really runs: actions, providers and refusals through the API on a
//! real plugin worker, its requests through the egress proxy, installs, the catalogue's syncs and the
//! store's statements. And the Grafana dashboard the repository carries (`ops/grafana/plughub.json`)
//! asks only for series and labels the server exports.

mod support;

use axum::http::StatusCode;
use plughub_domain::execution_policy::ExecutionPolicy;
use plughub_domain::{Plan, Role};
use plughub_testkit::http::LoopbackNpm;
use plughub_testkit::{TestBackend, TestStore};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::time::Duration;
use support::{Node, metrics_text, person_with_token, sample, samples};

const PLUGIN: &str = "@acme/plugin-metrics";
const PATH: &str = "plugins/@acme%2Fplugin-metrics";
const RUN_ROUTE: &str = "/api/orgs/{org}/plugins/{plugin}/run";

/// PRICE (declared cacheable) answers; OK answers; FAIL throws; SLOW outlasts any timeout; FETCH asks
/// for the URL it is given and says what came back, or why nothing did.
const CODE: &str = "export default { name: 'metrics', description: 'metrics fixture', \
    providers: [{ name: 'PRICE', description: 'a price', \
      get: async (runtime, message) => ({ text: `price of ${message.content.text}` }) }], \
    actions: [ \
      { name: 'OK', description: 'answers', validate: async () => true, \
        handler: async () => ({ success: true, text: 'fine' }) }, \
      { name: 'FAIL', description: 'always throws', validate: async () => true, \
        handler: async () => { throw new Error('this action always fails'); } }, \
      { name: 'SLOW', description: 'takes a minute', validate: async () => true, \
        handler: async () => { await new Promise((r) => setTimeout(r, 60000)); return { success: true }; } }, \
      { name: 'FETCH', description: 'fetches a URL', validate: async () => true, \
        handler: async (runtime, message) => { try { const r = await fetch(message.content.text); \
          return { success: true, text: `got ${r.status}: ${await r.text()}` }; } \
          catch (e) { return { success: false, text: `refused: ${e.cause?.message ?? e.message}` }; } } } ] };";

/// A loopback HTTP server answering `ok` to everything; its port.
fn upstream() -> u16 {
    let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in server.incoming().flatten() {
            let mut buffer = [0u8; 4096];
            let _ = stream.read(&mut buffer);
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
        }
    });
    port
}

struct World {
    _t: TestStore,
    node: Node,
    /// The owners of acme (pro) and globex (free, one execution a day), with the plugin installed in
    /// both, its permissions granted.
    acme: String,
    globex: String,
    upstream: u16,
    _npm: LoopbackNpm,
    _dir: tempfile::TempDir,
}

impl World {
    async fn new() -> World {
        let t = TestStore::new(TestBackend::Sqlite).await;
        let npm = LoopbackNpm::start().await;
        let manifest = json!({ "name": PLUGIN, "version": "1.0.0", "type": "module", "main": "index.js",
            "keywords": ["elizaos", "plugin"],
            "plughub": { "cacheable": ["PRICE"],
                         "permissions": { "network.external": ["localhost"] } } });
        npm.publish_version(
            manifest.clone(),
            plughub_testkit::tarball::package(&manifest, &[("index.js", CODE)]),
            None,
        );
        let dir = tempfile::tempdir().unwrap();
        let mut policy = ExecutionPolicy::default();
        policy.free.executions_per_day = Some(1);
        let node = Node::start_with_egress(
            t.store.clone(),
            &npm.url,
            dir.path(),
            &dir.path().join("keys.json"),
            policy,
            plughub_engine::EgressPolicy {
                // The test's upstream (localhost, granted), as an operator would trust an internal
                // service's address.
                trusted_addresses: vec!["127.0.0.1".parse().unwrap()],
                ..Default::default()
            },
        )
        .await;
        let mut owners = Vec::new();
        for (org, plan) in [("acme", Plan::Pro), ("globex", Plan::Free)] {
            let mut tx = t.store.begin().await.unwrap();
            tx.create_group(org, plan, None, "test").await.unwrap();
            tx.commit().await.unwrap();
            let owner =
                person_with_token(&t.store, &format!("owner@{org}.test"), org, Role::OrgOwner)
                    .await;
            let (status, body) = node
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
        let globex = owners.pop().unwrap();
        let acme = owners.pop().unwrap();
        World {
            _t: t,
            node,
            acme,
            globex,
            upstream: upstream(),
            _npm: npm,
            _dir: dir,
        }
    }

    /// Runs what `body` names in `org`, as its owner.
    async fn run(&self, org: &str, body: Value) -> (StatusCode, Value) {
        let owner = if org == "acme" {
            &self.acme
        } else {
            &self.globex
        };
        self.node
            .send(
                "POST",
                &format!("/api/orgs/{org}/{PATH}/run"),
                owner,
                Some(body),
            )
            .await
    }

    /// The `/metrics` text once `ready` holds of it (what the egress proxy reports comes when its
    /// tunnel closes, a moment after the run answers); the last text read otherwise.
    async fn metrics_once(&self, ready: impl Fn(&str) -> bool) -> String {
        let mut text = metrics_text(&self.node).await;
        for _ in 0..50 {
            if ready(&text) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            text = metrics_text(&self.node).await;
        }
        text
    }
}

fn executions(text: &str, kind: &str, outcome: &str) -> f64 {
    sample(
        text,
        "plughub_executions_total",
        &[("plugin", PLUGIN), ("kind", kind), ("outcome", outcome)],
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn runs_through_the_api_move_the_series() {
    let world = World::new().await;
    let before = metrics_text(&world.node).await;
    assert_eq!(
        sample(&before, "plughub_execution_duration_seconds_count", &[]),
        0.0
    );
    assert_eq!(sample(&before, "plughub_warm_workers", &[]), 0.0);
    assert_eq!(
        sample(
            &before,
            "plughub_installs_total",
            &[("operation", "install"), ("outcome", "ok")]
        ),
        2.0,
        "{before}"
    );

    // An action, twice: one cold start, one warm worker.
    for _ in 0..2 {
        let (status, body) = world
            .run("acme", json!({ "action": "OK", "text": "go" }))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    // A cacheable provider, twice: the second is a cache hit.
    for expected in [false, true] {
        let (status, body) = world
            .run("acme", json!({ "provider": "PRICE", "text": "tea" }))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["cache_hit"], expected, "{body}");
    }
    let (status, body) = world
        .run("acme", json!({ "action": "FAIL", "text": "go" }))
        .await;
    assert!(status.is_server_error(), "{status} {body}");
    // Through the egress proxy: once to the trusted upstream, once to a host not granted.
    let url = format!("http://localhost:{}/", world.upstream);
    let (status, body) = world
        .run("acme", json!({ "action": "FETCH", "text": url }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["result"]["text"], "got 200: ok", "{body}");
    let elsewhere = format!("http://not-granted.invalid:{}/", world.upstream);
    let (status, body) = world
        .run("acme", json!({ "action": "FETCH", "text": elsewhere }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body["result"]["text"]
            .as_str()
            .unwrap()
            .starts_with("refused"),
        "{body}"
    );

    let egress = |text: &str, result: &str| {
        sample(
            text,
            "plughub_egress_requests_total",
            &[("plugin", PLUGIN), ("result", result)],
        )
    };
    let text = world
        .metrics_once(|t| egress(t, "ok") >= 1.0 && egress(t, "refused_destination") >= 1.0)
        .await;
    assert_eq!(executions(&text, "action", "ok"), 4.0, "{text}");
    assert_eq!(executions(&text, "provider", "ok"), 1.0, "{text}");
    assert_eq!(executions(&text, "provider", "cache_hit"), 1.0, "{text}");
    assert_eq!(executions(&text, "action", "plugin_error"), 1.0, "{text}");
    assert_eq!(
        sample(
            &text,
            "plughub_execution_duration_seconds_count",
            &[("plugin", PLUGIN)]
        ),
        7.0,
        "every execution is timed: {text}"
    );
    assert!(
        sample(
            &text,
            "plughub_execution_duration_seconds_sum",
            &[("plugin", PLUGIN), ("outcome", "ok")]
        ) > 0.0
    );
    assert_eq!(
        sample(
            &text,
            "plughub_http_requests_total",
            &[("route", RUN_ROUTE), ("method", "POST"), ("status", "200")]
        ),
        6.0,
        "by the route's template, never its path: {text}"
    );
    assert_eq!(
        sample(
            &text,
            "plughub_http_request_duration_seconds_count",
            &[("route", RUN_ROUTE)]
        ),
        7.0
    );
    assert!(
        !text.contains("acme%2F") && !text.contains("/api/orgs/acme"),
        "no path, no organisation in a label: {text}"
    );
    assert_eq!(
        sample(&text, "plughub_warm_workers", &[]),
        1.0,
        "one worker served them all: {text}"
    );
    assert_eq!(sample(&text, "plughub_workers_started_total", &[]), 1.0);
    assert_eq!(
        sample(&text, "plughub_worker_cold_start_seconds_count", &[]),
        1.0
    );
    assert_eq!(egress(&text, "ok"), 1.0, "{text}");
    assert_eq!(egress(&text, "refused_destination"), 1.0, "{text}");
    assert!(
        !text.contains("localhost") && !text.contains("invalid"),
        "no host in a label: {text}"
    );
    let bytes = |direction| {
        sample(
            &text,
            "plughub_egress_bytes_total",
            &[("plugin", PLUGIN), ("direction", direction)],
        )
    };
    assert!(bytes("up") > 0.0, "{text}");
    assert_eq!(bytes("down"), 59.0, "the upstream's whole answer: {text}");
    assert!(
        sample(
            &text,
            "plughub_store_statement_duration_seconds_count",
            &[("statement", "select")]
        ) > 0.0
    );
    assert!(
        sample(
            &text,
            "plughub_store_statement_duration_seconds_count",
            &[("statement", "commit")]
        ) > 0.0
    );

    // A timeout ends the worker: the next run finds it dead and starts another.
    let (status, body) = world
        .run(
            "acme",
            json!({ "action": "SLOW", "text": "go", "timeout": 1 }),
        )
        .await;
    assert!(status.is_server_error(), "{status} {body}");
    let (status, body) = world
        .run("acme", json!({ "action": "OK", "text": "again" }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Refusals: permissions revoked; globex's daily quota (one) spent.
    let (status, body) = world
        .node
        .send(
            "DELETE",
            &format!("/api/orgs/acme/{PATH}/permissions"),
            &world.acme,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = world
        .run("acme", json!({ "action": "OK", "text": "go" }))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    for expected in [StatusCode::OK, StatusCode::TOO_MANY_REQUESTS] {
        let (status, body) = world
            .run("globex", json!({ "action": "OK", "text": "go" }))
            .await;
        assert_eq!(status, expected, "{body}");
    }
    // Installed already: refused, and counted so.
    let (status, body) = world
        .node
        .send(
            "POST",
            "/api/orgs/acme/plugins",
            &world.acme,
            Some(json!({ "plugin": PLUGIN })),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    let text = metrics_text(&world.node).await;
    assert_eq!(executions(&text, "action", "timeout"), 1.0, "{text}");
    assert_eq!(
        executions(&text, "action", "refused_permission"),
        1.0,
        "{text}"
    );
    assert_eq!(executions(&text, "action", "refused_quota"), 1.0, "{text}");
    assert_eq!(executions(&text, "action", "ok"), 6.0, "{text}");
    assert_eq!(
        sample(&text, "plughub_workers_ended_total", &[("cause", "died")]),
        1.0,
        "{text}"
    );
    // Started: acme's first, its second (after the timeout), globex's. The revoke, a change made on
    // this server, ended acme's second; globex's is the one left warm.
    assert_eq!(sample(&text, "plughub_workers_started_total", &[]), 3.0);
    assert_eq!(
        sample(
            &text,
            "plughub_workers_ended_total",
            &[("cause", "changed")]
        ),
        1.0,
        "{text}"
    );
    assert_eq!(sample(&text, "plughub_warm_workers", &[]), 1.0, "{text}");
    assert_eq!(
        sample(
            &text,
            "plughub_installs_total",
            &[("operation", "install"), ("outcome", "already_installed")]
        ),
        1.0,
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "plughub_http_requests_total",
            &[("route", RUN_ROUTE), ("status", "429")]
        ),
        1.0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_catalogue_sync_age_and_result_are_read_at_each_scrape() {
    let t = TestStore::new(TestBackend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let npm = LoopbackNpm::start().await;
    let node = Node::start(
        t.store.clone(),
        &npm.url,
        dir.path(),
        &dir.path().join("keys.json"),
        Default::default(),
    )
    .await;
    // A fresh store serves the starter.
    let text = metrics_text(&node).await;
    let last =
        |text: &str, result| sample(text, "plughub_catalog_last_sync", &[("result", result)]);
    assert_eq!(last(&text, "starter"), 1.0, "{text}");
    assert_eq!(last(&text, "ok"), 0.0, "{text}");
    assert_eq!(sample(&text, "plughub_catalog_starter_only", &[]), 1.0);
    assert!(
        sample(&text, "plughub_catalog_plugins", &[]) > 0.0,
        "{text}"
    );
    let age = sample(&text, "plughub_catalog_sync_age_seconds", &[]);
    assert!((0.0..60.0).contains(&age), "{age}");

    // As another server of the store would record them: a live sync that finished two hours ago (its
    // time set back, to tell an age of hours from the moments this test takes), then a failed one now.
    let at = |ago: i64| {
        plughub_store::format_time(time::OffsetDateTime::now_utc() - time::Duration::seconds(ago))
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    let mut tx = t.store.begin().await.unwrap();
    for (id, status, ago) in [("live", "ok", 7200), ("broken", "failed", 0)] {
        tx.record_sync(&plughub_store::SyncRun {
            id: id.into(),
            started_at: at(ago),
            finished_at: at(ago),
            status: status.into(),
            report: json!({}),
        })
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let text = metrics_text(&node).await;
    assert_eq!(last(&text, "failed"), 1.0, "{text}");
    assert_eq!(last(&text, "starter"), 0.0, "{text}");
    assert_eq!(sample(&text, "plughub_catalog_starter_only", &[]), 0.0);
    let age = sample(&text, "plughub_catalog_sync_age_seconds", &[]);
    assert!(
        (7200.0..7300.0).contains(&age),
        "from the last sync that wrote, not the failed one: {age}"
    );
}

/// Names in a PromQL expression: metrics (`plughub_…`) and the labels it selects or groups by.
fn promql_names(expr: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut metrics = BTreeSet::new();
    let mut labels = BTreeSet::new();
    let chars: Vec<char> = expr.chars().collect();
    let mut i = 0;
    // Inside `{…}`, label matchers; inside `by (…)`/`without (…)`, grouping labels.
    let (mut in_selector, mut in_grouping, mut in_string) = (false, false, false);
    let mut last_word = String::new();
    while i < chars.len() {
        let c = chars[i];
        if in_string {
            if c == '\\' {
                i += 1;
            } else if c == '"' {
                in_string = false;
            }
            i += 1;
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' => in_selector = true,
            '}' => in_selector = false,
            '(' if last_word == "by" || last_word == "without" => in_grouping = true,
            ')' => in_grouping = false,
            '[' => {
                // A range: `[5m]`, `[$__rate_interval]`.
                while i < chars.len() && chars[i] != ']' {
                    i += 1;
                }
            }
            _ if c.is_ascii_alphabetic() || c == '_' || c == '$' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == '$')
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                if word.starts_with('$') {
                    // A dashboard variable.
                } else if in_selector || in_grouping {
                    labels.insert(word.clone());
                } else if word.starts_with("plughub_") {
                    metrics.insert(word.clone());
                }
                last_word = word;
                continue;
            }
            _ => {}
        }
        if !c.is_whitespace() {
            last_word.clear();
        }
        i += 1;
    }
    (metrics, labels)
}

#[test]
fn promql_names_are_read_as_prometheus_reads_them() {
    let (metrics, labels) = promql_names(
        "histogram_quantile(0.99, sum by (route, le) (rate(plughub_http_request_duration_seconds_bucket{status=~\"5..\", instance=~\"$instance\"}[$__rate_interval]))) / on() group_left sum(plughub_warm_workers)",
    );
    assert_eq!(
        metrics,
        BTreeSet::from([
            "plughub_http_request_duration_seconds_bucket".to_string(),
            "plughub_warm_workers".to_string()
        ])
    );
    assert_eq!(
        labels,
        BTreeSet::from([
            "instance".to_string(),
            "le".to_string(),
            "route".to_string(),
            "status".to_string()
        ])
    );
}

/// Every query of a dashboard: each panel's targets (rows hold panels too), and the variables'.
fn dashboard_queries(dashboard: &Value) -> Vec<(String, String)> {
    fn panels(list: &Value, out: &mut Vec<(String, String)>) {
        for panel in list.as_array().into_iter().flatten() {
            let title = panel["title"].as_str().unwrap_or("?").to_string();
            for target in panel["targets"].as_array().into_iter().flatten() {
                let expr = target["expr"].as_str().expect("a PromQL target");
                out.push((title.clone(), expr.to_string()));
            }
            panels(&panel["panels"], out);
        }
    }
    let mut out = Vec::new();
    panels(&dashboard["panels"], &mut out);
    for variable in dashboard["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if variable["type"] == "query" {
            let query = &variable["query"];
            let text = query["query"].as_str().or(query.as_str()).unwrap();
            out.push((format!("${}", variable["name"]), text.to_string()));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn every_dashboard_query_names_a_series_the_server_exports() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../ops/grafana/plughub.json"
    );
    let dashboard: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(dashboard["uid"].is_string() && dashboard["schemaVersion"].is_number());

    // A server that has run something: an action, a cacheable provider twice, a request out.
    let world = World::new().await;
    for body in [
        json!({ "action": "OK", "text": "go" }),
        json!({ "provider": "PRICE", "text": "tea" }),
        json!({ "provider": "PRICE", "text": "tea" }),
        json!({ "action": "FETCH", "text": format!("http://localhost:{}/", world.upstream) }),
    ] {
        let (status, answer) = world.run("acme", body).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    let text = world
        .metrics_once(|t| sample(t, "plughub_egress_bytes_total", &[]) > 0.0)
        .await;

    // The series exported, and the labels their samples carry. A family is rendered once it has a
    // sample, and what ran above gives every family on the dashboard one.
    let mut labels_of: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, labels, _) in samples(&text) {
        labels_of
            .entry(name)
            .or_default()
            .extend(labels.into_keys());
    }

    let queries = dashboard_queries(&dashboard);
    assert!(queries.len() >= 15, "{} queries", queries.len());
    let mut used = BTreeSet::new();
    for (title, expr) in &queries {
        let (metrics, labels) = promql_names(expr);
        assert!(
            !metrics.is_empty(),
            "{title}: {expr} asks for no plughub series"
        );
        for metric in &metrics {
            assert!(
                labels_of.contains_key(metric),
                "{title}: {metric} is not a series the server exports ({expr})"
            );
            used.insert(metric.clone());
        }
        // Labels come from the series the query names, or from Prometheus's scrape.
        let known: BTreeSet<&str> = metrics
            .iter()
            .flat_map(|m| &labels_of[m])
            .map(String::as_str)
            .chain(["instance", "job"])
            .collect();
        for label in &labels {
            assert!(
                known.contains(label.as_str()),
                "{title}: no series of {metrics:?} has the label {label} ({expr})"
            );
        }
    }
    // What an operator watches is all on it.
    for family in [
        "plughub_http_requests_total",
        "plughub_http_request_duration_seconds_bucket",
        "plughub_executions_total",
        "plughub_execution_duration_seconds_bucket",
        "plughub_warm_workers",
        "plughub_workers_started_total",
        "plughub_workers_ended_total",
        "plughub_worker_cold_start_seconds_bucket",
        "plughub_slot_waits_total",
        "plughub_egress_requests_total",
        "plughub_egress_bytes_total",
        "plughub_installs_total",
        "plughub_catalog_sync_age_seconds",
        "plughub_catalog_last_sync",
        "plughub_store_statement_duration_seconds_bucket",
    ] {
        assert!(used.contains(family), "the dashboard shows no {family}");
    }
}
