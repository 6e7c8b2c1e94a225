//! Analytics and reputation through the real router, on SQLite and PostgreSQL: rollups equal the raw
//! counts, an organisation's analytics show only its own executions and only to its owners, the
//! platform's only to platform owners, CSV says what JSON says, percentiles from known durations, and a
//! reputation with its breakdown where two organisations' executions do not move reliability and a
//! third does.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use plughub_accounts::Accounts;
use plughub_catalog::Catalog;
use plughub_domain::{EventType, NewEvent, Plan, Role};
use plughub_server::{AppState, router};
use plughub_store::{EventFilter, Store};
use plughub_testkit::{BACKENDS, TestStore};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use tower::ServiceExt;

/// A plugin of the starter catalogue.
const PLUGIN: &str = "@elizaos/plugin-openai";

struct World {
    t: TestStore,
    app: axum::Router,
    tokens: HashMap<&'static str, String>,
    groups: HashMap<&'static str, String>,
}

async fn world(backend: plughub_testkit::TestBackend) -> World {
    let t = TestStore::new(backend).await;
    let mut groups = HashMap::new();
    let mut tx = t.store.begin().await.unwrap();
    for org in ["acme", "globex", "initech"] {
        groups.insert(
            org,
            tx.create_group(org, Plan::Pro, None, "test")
                .await
                .unwrap()
                .id,
        );
    }
    tx.commit().await.unwrap();
    let accounts = Accounts::new(t.store.clone());
    accounts.first_start("test").await.unwrap();
    let mut tokens = HashMap::new();
    for (email, org, role) in [
        ("owner@acme.test", "acme", Role::OrgOwner),
        ("user@acme.test", "acme", Role::OrgUser),
        ("owner@globex.test", "globex", Role::OrgOwner),
    ] {
        accounts
            .create_person(email, "", None, "test")
            .await
            .unwrap();
        accounts.set_role(email, org, role, "test").await.unwrap();
        tokens.insert(
            email,
            accounts
                .create_token(email, "t", 1, "test")
                .await
                .unwrap()
                .1,
        );
    }
    tokens.insert(
        "platform",
        accounts
            .create_token("owner@plughub.local", "t", 1, "test")
            .await
            .unwrap()
            .1,
    );
    let app = router(AppState::new(
        Arc::new(Catalog::open(t.store.clone()).await.unwrap()),
        accounts,
        None,
    ));
    World {
        t,
        app,
        tokens,
        groups,
    }
}

impl World {
    async fn get(&self, uri: &str, who: Option<&str>) -> (StatusCode, String, String) {
        let mut request = Request::get(uri);
        if let Some(who) = who {
            request = request.header(
                header::AUTHORIZATION,
                format!("Bearer {}", self.tokens[who]),
            );
        }
        let response = self
            .app
            .clone()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let kind = response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, kind, String::from_utf8(bytes.to_vec()).unwrap())
    }

    async fn json(&self, uri: &str, who: &str) -> Value {
        let (status, _, body) = self.get(uri, Some(who)).await;
        assert_eq!(status, StatusCode::OK, "{uri} as {who}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    async fn record(&self, org: &str, events: Vec<(EventType, Value)>) {
        record(&self.t.store, &self.groups[org], events).await;
    }
}

async fn record(store: &Store, group_id: &str, events: Vec<(EventType, Value)>) {
    let events: Vec<NewEvent> = events
        .into_iter()
        .map(|(event_type, metadata)| NewEvent {
            event_type,
            actor: "test".into(),
            target: Some("instance".into()),
            group_id: Some(group_id.into()),
            metadata,
        })
        .collect();
    store.append_events(&events).await.unwrap();
}

fn ok(plugin: &str, action: &str, ms: f64) -> (EventType, Value) {
    (
        EventType::PluginActionExecuted,
        json!({ "plugin": plugin, "version": "1.0.0", "kind": "action", "component": action,
                "status": "ok", "duration_ms": ms, "memory_bytes": 128 * 1024 * 1024,
                "cache_hit": false, "attempts": 1, "log": [] }),
    )
}

fn failed(plugin: &str, action: &str, cause: &str) -> (EventType, Value) {
    (
        EventType::PluginErrorOccurred,
        json!({ "plugin": plugin, "version": "1.0.0", "kind": "action", "component": action,
                "status": "error", "error": "it failed", "cause": cause, "cache_hit": false,
                "attempts": 1, "log": [] }),
    )
}

#[tokio::test]
async fn an_organisation_s_analytics_are_its_own_and_its_owners() {
    for backend in BACKENDS {
        let w = world(backend).await;
        w.record(
            "acme",
            vec![
                ok("@acme/plugin-a", "HELLO", 12.0),
                ok("@acme/plugin-a", "HELLO", 30.0),
                ok("@acme/plugin-a", "BYE", 300.0),
                failed("@acme/plugin-a", "HELLO", "timeout"),
                failed("@acme/plugin-a", "BYE", "plugin_error"),
            ],
        )
        .await;
        w.record("globex", vec![ok("@globex/secret-plugin", "SECRET", 5.0)])
            .await;

        let acme = w
            .json("/api/orgs/acme/analytics?days=7", "owner@acme.test")
            .await;
        // Rollups equal the raw count of the organisation's executions.
        let raw =
            w.t.store
                .count_events(&EventFilter {
                    group_id: Some(w.groups["acme"].clone()),
                    executions_only: true,
                    ..Default::default()
                })
                .await
                .unwrap();
        assert_eq!(acme["totals"]["executions"], json!(raw), "{backend:?}");
        assert_eq!(acme["totals"]["errors"], 2);
        assert_eq!(acme["totals"]["timeouts"], 1);
        assert_eq!(acme["totals"]["error_rate"], 0.4);
        let days = acme["per_day"].as_array().unwrap();
        assert_eq!(days.len(), 7);
        assert_eq!(
            days.iter()
                .map(|d| d["executions"].as_i64().unwrap())
                .sum::<i64>(),
            raw
        );
        assert_eq!(acme["top_actions"][0]["component"], "HELLO");
        assert_eq!(acme["top_actions"][0]["executions"], 3);
        // Only acme's: nothing of globex's plugin, and its own cost alone.
        let text = acme.to_string();
        assert!(!text.contains("secret-plugin"), "{text}");
        assert!(!text.contains("globex"), "{text}");
        assert_eq!(acme["cost"].as_array().unwrap().len(), 1);
        // 342 ms of runs: 0.342 CPU-seconds.
        assert_eq!(acme["totals"]["cost"]["cpu_seconds"], 0.342);

        // Owners only: a user of acme is refused, an owner of another organisation finds nothing.
        let (status, _, body) = w
            .get("/api/orgs/acme/analytics", Some("user@acme.test"))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        let (status, _, body) = w
            .get("/api/orgs/acme/analytics", Some("owner@globex.test"))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        let (status, _, _) = w.get("/api/orgs/acme/analytics", None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (status, _, body) = w
            .get("/api/orgs/acme/analytics?days=0", Some("owner@acme.test"))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

        // The platform's view: its owners only, every organisation's executions.
        let (status, _, _) = w.get("/api/admin/analytics", Some("owner@acme.test")).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let platform = w.json("/api/admin/analytics?days=7", "platform").await;
        assert_eq!(platform["scope"], "platform");
        assert_eq!(platform["totals"]["executions"], json!(raw + 1));
        let orgs: Vec<&str> = platform["cost"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["org"].as_str().unwrap())
            .collect();
        assert_eq!(orgs, ["acme", "globex"]);
        w.t.cleanup().await;
    }
}

#[tokio::test]
async fn csv_says_what_json_says() {
    let w = world(plughub_testkit::TestBackend::Sqlite).await;
    w.record(
        "acme",
        vec![
            ok("@acme/plugin-a", "HELLO", 12.0),
            failed("@acme/plugin-a", "HELLO", "timeout"),
            ok("@acme/plugin-b", "PING", 80.0),
        ],
    )
    .await;
    let report = w
        .json("/api/orgs/acme/analytics?days=3", "owner@acme.test")
        .await;
    let (status, kind, csv) = w
        .get(
            "/api/orgs/acme/analytics?days=3&format=csv",
            Some("owner@acme.test"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(kind.starts_with("text/csv"), "{kind}");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "day,executions,errors,timeouts,error_rate");
    let days = report["per_day"].as_array().unwrap();
    assert_eq!(lines.len(), days.len() + 1);
    for (line, day) in lines[1..].iter().zip(days) {
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields[0], day["day"].as_str().unwrap());
        for (field, name) in
            fields[1..]
                .iter()
                .zip(["executions", "errors", "timeouts", "error_rate"])
        {
            assert_eq!(
                field.parse::<f64>().unwrap(),
                day[name].as_f64().unwrap(),
                "{name} of {line} vs {day}"
            );
        }
    }
    let (_, _, plugins) = w
        .get(
            "/api/orgs/acme/analytics?days=3&format=csv&table=plugins",
            Some("owner@acme.test"),
        )
        .await;
    let first = plugins.lines().nth(1).unwrap();
    let top = &report["top_plugins"][0];
    assert!(
        first.starts_with(&format!(
            "{},{},{},{}",
            top["plugin"].as_str().unwrap(),
            top["executions"],
            top["errors"],
            top["timeouts"]
        )),
        "{first} vs {top}"
    );
    let (status, _, _) = w
        .get(
            "/api/orgs/acme/analytics?format=xml",
            Some("owner@acme.test"),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    w.t.cleanup().await;
}

#[tokio::test]
async fn percentiles_from_known_durations() {
    let w = world(plughub_testkit::TestBackend::Postgres).await;
    // 1 to 100 ms: p50 is 50 (bucket 25–50), p95 95 and p99 99 (bucket 50–100).
    w.record(
        "acme",
        (1..=100)
            .map(|ms| ok("@acme/plugin-a", "HELLO", f64::from(ms)))
            .collect(),
    )
    .await;
    let report = w
        .json("/api/orgs/acme/analytics?days=1", "owner@acme.test")
        .await;
    let latency = &report["latency"];
    assert_eq!(latency["samples"], 100);
    let p = |name: &str| latency[name].as_f64().unwrap();
    assert!((25.0..=50.0).contains(&p("p50_ms")), "{latency}");
    assert!((50.0..=100.0).contains(&p("p95_ms")), "{latency}");
    assert!((p("p95_ms")..=100.0).contains(&p("p99_ms")), "{latency}");
    assert_eq!(report["top_plugins"][0]["latency"], *latency);
    w.t.cleanup().await;
}

#[tokio::test]
async fn a_reputation_with_its_breakdown_and_the_three_organisation_floor() {
    for backend in BACKENDS {
        let w = world(backend).await;
        let uri = format!("/api/reputation/{PLUGIN}");
        let part = |r: &Value, name: &str| {
            r["parts"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == name)
                .cloned()
                .unwrap()
        };
        let before = w.json(&uri, "owner@acme.test").await;
        assert_eq!(before["plugin"], PLUGIN);
        let score = before["score"].as_u64().unwrap();
        assert!(score <= 100, "{before}");
        let names: Vec<&str> = before["parts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "quality",
                "adoption",
                "reliability",
                "maintenance",
                "publisher"
            ]
        );
        let weights: f64 = before["parts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["weight"].as_f64().unwrap())
            .sum();
        assert!((weights - 1.0).abs() < 1e-9);
        // Its GitHub stars and license come from the catalogue.
        let adoption = part(&before, "adoption");
        assert!(
            adoption["inputs"].to_string().contains("stars"),
            "{adoption}"
        );
        assert_eq!(part(&before, "reliability")["score"], Value::Null);

        // Two organisations' executions, half failed: not enough to count.
        for org in ["acme", "globex"] {
            w.record(
                org,
                vec![
                    ok(PLUGIN, "GENERATE", 40.0),
                    failed(PLUGIN, "GENERATE", "timeout"),
                ],
            )
            .await;
        }
        let two = w.json(&uri, "owner@acme.test").await;
        assert_eq!(part(&two, "reliability")["score"], Value::Null, "{two}");
        assert_eq!(two["score"], before["score"]);
        let executions = |r: &Value| {
            part(r, "adoption")["inputs"]
                .as_array()
                .unwrap()
                .iter()
                .find(|i| i["name"] == "executions_30d")
                .unwrap()["value"]
                .clone()
        };
        assert_eq!(executions(&two), Value::Null);

        // A third organisation: the figures count.
        w.record("initech", vec![ok(PLUGIN, "GENERATE", 40.0)])
            .await;
        let three = w.json(&uri, "owner@acme.test").await;
        let reliability = part(&three, "reliability");
        let input = |name: &str| {
            reliability["inputs"]
                .as_array()
                .unwrap()
                .iter()
                .find(|i| i["name"] == name)
                .unwrap()
                .clone()
        };
        assert_eq!(input("error_rate")["value"], 0.4, "{reliability}");
        assert_eq!(input("error_rate")["score"], 0.6);
        assert_eq!(input("timeout_rate")["value"], 0.4);
        // (0.6 + 0.6 + 1) / 3 known inputs (no installs, so suspensions are unknown).
        assert_eq!(reliability["score"], 0.733, "{reliability}");
        assert_eq!(executions(&three), 5.0);
        assert_ne!(three["score"], before["score"], "{three}");

        let (status, _, _) = w.get("/api/reputation/no-such-plugin-at-all", None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        w.t.cleanup().await;
    }
}

#[tokio::test]
async fn a_publisher_s_people_see_its_plugins_aggregates_and_nobody_else_does() {
    let w = world(plughub_testkit::TestBackend::Sqlite).await;
    let store = &w.t.store;
    let publishers = plughub_market::publishers::Publishers::new(store.clone());
    let person = store
        .person_by_email("owner@globex.test")
        .await
        .unwrap()
        .unwrap();
    let claim = publishers
        .claim(&person.id, "@elizaos", "I maintain it")
        .await
        .unwrap();
    publishers
        .grant(&claim.id, "checked", "test")
        .await
        .unwrap();
    for org in ["acme", "globex"] {
        w.record(org, vec![ok(PLUGIN, "GENERATE", 40.0)]).await;
    }
    let uri = "/api/publishers/@elizaos/analytics";
    let usage = |r: &Value| {
        r["plugins"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["plugin"] == PLUGIN)
            .cloned()
            .unwrap()
    };
    let two = w.json(uri, "owner@globex.test").await;
    assert_eq!(two["publisher"], "@elizaos");
    // Two organisations: nothing shown that would tell one's figures.
    assert_eq!(usage(&two)["executions_30d"], Value::Null, "{two}");
    w.record("initech", vec![failed(PLUGIN, "GENERATE", "timeout")])
        .await;
    let three = w.json(uri, "owner@globex.test").await;
    let plugin = usage(&three);
    assert_eq!(plugin["executions_30d"], 3, "{plugin}");
    assert_eq!(plugin["timeouts"], 1);
    // Aggregates only: no organisation is named.
    assert!(!three.to_string().contains("acme"), "{three}");
    // Someone who does not hold the publisher is refused.
    let (status, _, body) = w.get(uri, Some("owner@acme.test")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _, _) = w.get(uri, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    w.t.cleanup().await;
}
