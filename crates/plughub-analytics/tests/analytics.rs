//! Rollups and the figures read from them, on SQLite and PostgreSQL: rollups equal the raw events
//! however they are rolled up, percentiles from known durations, and the three-organisation floor of a
//! plugin's usage.

use plughub_analytics::{Analytics, Scope};
use plughub_domain::{EventType, NewEvent, Plan};
use plughub_store::{EventFilter, Store};
use plughub_testkit::{BACKENDS, TestStore};
use serde_json::{Value, json};

async fn group(store: &Store, name: &str) -> String {
    let mut tx = store.begin().await.unwrap();
    let id = tx
        .create_group(name, Plan::Pro, None, "test")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    id.id
}

fn ok(plugin: &str, action: &str, ms: f64) -> (EventType, Value) {
    (
        EventType::PluginActionExecuted,
        json!({ "plugin": plugin, "version": "1.0.0", "kind": "action", "component": action,
                "status": "ok", "duration_ms": ms, "memory_bytes": 64 * 1024 * 1024,
                "cache_hit": false, "attempts": 1, "log": [] }),
    )
}

fn failed(plugin: &str, action: &str, cause: Option<&str>, error: &str) -> (EventType, Value) {
    let mut metadata = json!({ "plugin": plugin, "version": "1.0.0", "kind": "action",
        "component": action, "status": "error", "error": error, "cache_hit": false, "attempts": 1,
        "log": ["a line"] });
    if let Some(cause) = cause {
        metadata["cause"] = json!(cause);
    }
    (EventType::PluginErrorOccurred, metadata)
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

#[tokio::test]
async fn rollups_equal_the_raw_events_however_often_they_run() {
    for backend in BACKENDS {
        let t = TestStore::new(backend).await;
        let store = &t.store;
        let acme = group(store, "acme").await;
        let globex = group(store, "globex").await;
        let analytics = Analytics::new(store.clone());
        record(
            store,
            &acme,
            vec![
                ok("@acme/plugin-a", "HELLO", 3.0),
                ok("@acme/plugin-a", "HELLO", 40.0),
                failed(
                    "@acme/plugin-a",
                    "HELLO",
                    Some("timeout"),
                    "action HELLO did not answer within 30 s; its worker was ended",
                ),
                // A record from before causes were written: the engine's words tell a timeout.
                failed(
                    "@acme/plugin-a",
                    "BYE",
                    None,
                    "action BYE did not answer within 5 s; its worker was ended",
                ),
                failed("@acme/plugin-a", "BYE", Some("plugin_error"), "it threw"),
                // Not executions: a failed install, and an attempt that was retried.
                (
                    EventType::PluginErrorOccurred,
                    json!({ "plugin": "@acme/plugin-a", "error": "install failed" }),
                ),
                (
                    EventType::PluginAttemptFailed,
                    json!({ "plugin": "@acme/plugin-a", "kind": "action", "component": "HELLO" }),
                ),
                // A start that failed: an execution of kind `init`.
                (
                    EventType::PluginErrorOccurred,
                    json!({ "operation": "init", "plugin": "@acme/plugin-a", "error": "boom" }),
                ),
            ],
        )
        .await;
        let first = analytics.roll_up().await.unwrap();
        assert_eq!(first.from, 0);
        // More after the first run, and one of another organisation.
        record(store, &acme, vec![ok("@acme/plugin-b", "PING", 700.0)]).await;
        record(store, &globex, vec![ok("@acme/plugin-a", "HELLO", 8.0)]).await;
        let second = analytics.roll_up().await.unwrap();
        assert_eq!(second.from, first.to);
        assert_eq!(analytics.roll_up().await.unwrap().from, second.to);

        let acme_scope = Scope::Org {
            group_id: acme.clone(),
            name: "acme".into(),
        };
        let report = analytics.report(&acme_scope, 7).await.unwrap();
        let raw = store
            .count_events(&EventFilter {
                group_id: Some(acme.clone()),
                executions_only: true,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(raw, 7, "{backend:?}");
        assert_eq!(report.totals.executions, raw, "{backend:?}");
        assert_eq!(report.totals.errors, 4, "{backend:?}");
        assert_eq!(report.totals.timeouts, 2, "{backend:?}");
        assert_eq!(report.per_day.len(), 7);
        assert_eq!(report.per_day.last().unwrap().executions, raw);
        assert_eq!(
            report.per_day.iter().map(|d| d.executions).sum::<i64>(),
            raw
        );
        assert_eq!(report.latency.samples, 3, "ok runs only have durations");
        assert_eq!(report.top_plugins[0].plugin, "@acme/plugin-a");
        assert_eq!(report.top_plugins[0].executions, 6);
        assert_eq!(report.top_actions[0].component, "HELLO");
        assert_eq!(report.top_actions[0].executions, 3);
        // 743 ms at 64 MiB: 0.743 CPU-seconds and 0.0464 GiB-seconds.
        assert_eq!(report.totals.cost.cpu_seconds, 0.743, "{backend:?}");
        assert_eq!(report.cost.len(), 1);
        assert_eq!(report.cost[0].org, "acme");

        let platform = analytics.report(&Scope::Platform, 7).await.unwrap();
        assert_eq!(platform.totals.executions, 8, "{backend:?}");
        let orgs: Vec<&str> = platform.cost.iter().map(|c| c.org.as_str()).collect();
        assert_eq!(orgs, ["acme", "globex"]);
        t.cleanup().await;
    }
}

#[tokio::test]
async fn percentiles_from_known_durations() {
    for backend in BACKENDS {
        let t = TestStore::new(backend).await;
        let store = &t.store;
        let acme = group(store, "acme").await;
        // 1 ms to 200 ms: p50 is 100 (bucket 50–100), p95 190 and p99 198 (100–250).
        let runs = (1..=200)
            .map(|ms| ok("@acme/plugin-a", "HELLO", f64::from(ms)))
            .collect();
        record(store, &acme, runs).await;
        let report = Analytics::new(store.clone())
            .report(&Scope::Platform, 1)
            .await
            .unwrap();
        let latency = report.latency;
        assert_eq!(latency.samples, 200);
        let p50 = latency.p50_ms.unwrap();
        assert!((50.0..=100.0).contains(&p50), "{backend:?} p50 {p50}");
        let p95 = latency.p95_ms.unwrap();
        assert!((100.0..=250.0).contains(&p95), "{backend:?} p95 {p95}");
        let p99 = latency.p99_ms.unwrap();
        assert!((p95..=250.0).contains(&p99), "{backend:?} p99 {p99}");
        t.cleanup().await;
    }
}

#[tokio::test]
async fn a_plugin_s_usage_shows_only_over_three_organisations() {
    for backend in BACKENDS {
        let t = TestStore::new(backend).await;
        let store = &t.store;
        let analytics = Analytics::new(store.clone());
        let mut orgs = Vec::new();
        for name in ["a", "b", "c"] {
            orgs.push(group(store, name).await);
        }
        for org in &orgs[..2] {
            record(
                store,
                org,
                vec![
                    ok("@acme/plugin-a", "HELLO", 20.0),
                    failed("@acme/plugin-a", "HELLO", Some("timeout"), "slow"),
                ],
            )
            .await;
        }
        let two = analytics.plugin_usage("@acme/plugin-a").await.unwrap();
        assert!(!two.enough_organisations);
        assert_eq!(
            (two.executions_30d, two.error_rate, two.timeouts, two.p50_ms),
            (None, None, None, None),
            "{backend:?}: two organisations' figures are not shown"
        );
        record(store, &orgs[2], vec![ok("@acme/plugin-a", "HELLO", 20.0)]).await;
        let three = analytics.plugin_usage("@acme/plugin-a").await.unwrap();
        assert!(three.enough_organisations);
        assert_eq!(three.executions_30d, Some(5), "{backend:?}");
        assert_eq!(three.timeouts, Some(2));
        assert_eq!(three.error_rate, Some(0.4));
        assert!(three.p50_ms.is_some());
        t.cleanup().await;
    }
}

#[tokio::test]
async fn calls_to_a_missing_component_are_not_runs_and_a_nul_stops_nothing() {
    for backend in BACKENDS {
        let t = TestStore::new(backend).await;
        let store = &t.store;
        let acme = group(store, "acme").await;
        record(
            store,
            &acme,
            vec![
                ok("@acme/plugin-a", "HELLO", 5.0),
                // The caller's mistake: a made-up name, refused; not the plugin's error.
                failed(
                    "@acme/plugin-a",
                    "=MADE-UP",
                    Some("no_component"),
                    "no such action",
                ),
                // A plugin's error with a NUL in it (PostgreSQL's JSON functions refuse one).
                failed(
                    "@acme/plugin-a",
                    "HELLO",
                    Some("plugin_error"),
                    "bad\u{0}byte",
                ),
            ],
        )
        .await;
        let report = Analytics::new(store.clone())
            .report(&Scope::Platform, 1)
            .await
            .unwrap();
        assert_eq!(report.totals.executions, 2, "{backend:?}");
        assert_eq!(report.totals.errors, 1, "{backend:?}");
        assert!(
            report.top_actions.iter().all(|a| a.component != "=MADE-UP"),
            "{backend:?}: {:?}",
            report.top_actions
        );
        t.cleanup().await;
    }
}

/// Retention deletes the records of runs past the age (with their retried attempts and network
/// requests) once rolled up, keeps everything else and every younger run, and every report reads the
/// same after as before.
#[tokio::test]
async fn retention_deletes_old_runs_and_the_reports_do_not_change() {
    for backend in BACKENDS {
        let t = TestStore::new(backend).await;
        let store = &t.store;
        let acme = group(store, "acme").await;
        let globex = group(store, "globex").await;
        let analytics = Analytics::new(store.clone());
        let days_ago = |days: i64| {
            plughub_store::format_time(time::OffsetDateTime::now_utc() - time::Duration::days(days))
        };
        for (group_id, days) in [(&acme, 40), (&acme, 35), (&globex, 45), (&acme, 5)] {
            let at = days_ago(days);
            for (event_type, metadata) in [
                ok("@acme/plugin-a", "HELLO", 12.0),
                failed("@acme/plugin-a", "HELLO", Some("timeout"), "too slow"),
                (
                    EventType::PluginAttemptFailed,
                    json!({ "plugin": "@acme/plugin-a", "kind": "action", "component": "HELLO" }),
                ),
                (
                    EventType::PluginNetworkRequest,
                    json!({ "plugin": "@acme/plugin-a", "host": "api.example.com" }),
                ),
                // Kept whatever their age: what was installed, a failed install, a denial.
                (
                    EventType::PluginInstalled,
                    json!({ "plugin": "@acme/plugin-a", "version": "1.0.0" }),
                ),
                (
                    EventType::PluginErrorOccurred,
                    json!({ "plugin": "@acme/plugin-a", "operation": "install", "error": "404" }),
                ),
                (
                    EventType::PluginAccessDenied,
                    json!({ "plugin": "@acme/plugin-a", "what": "fs" }),
                ),
            ] {
                t.append_event_at(
                    event_type.as_str(),
                    "test",
                    Some("instance"),
                    Some(group_id),
                    &at,
                    &metadata,
                )
                .await;
            }
        }
        record(store, &acme, vec![ok("@acme/plugin-b", "PING", 30.0)]).await;
        let reports = || async {
            let mut all = Vec::new();
            for scope in [
                Scope::Org {
                    group_id: acme.clone(),
                    name: "acme".into(),
                },
                Scope::Org {
                    group_id: globex.clone(),
                    name: "globex".into(),
                },
                Scope::Platform,
            ] {
                for days in [7, 30, 90] {
                    all.push(
                        serde_json::to_value(analytics.report(&scope, days).await.unwrap())
                            .unwrap(),
                    );
                }
            }
            all
        };
        analytics.roll_up().await.unwrap();
        let before = reports().await;
        let total_before = store.count_events(&EventFilter::default()).await.unwrap();

        let run = analytics
            .retain(std::time::Duration::from_secs(30 * 86_400))
            .await
            .unwrap();
        // Three old days of four records each (the run, the failed run, the attempt, the request).
        assert_eq!(run.deleted, 12, "{backend:?}: {run:?}");
        assert_eq!(
            store.count_events(&EventFilter::default()).await.unwrap(),
            total_before - 12
        );
        let count = |event_type: EventType| async move {
            store
                .count_events(&EventFilter {
                    event_type: Some(event_type),
                    ..Default::default()
                })
                .await
        };
        // The young day's records and every kept kind of every day are there.
        assert_eq!(
            count(EventType::PluginActionExecuted).await.unwrap(),
            2,
            "{backend:?}"
        );
        assert_eq!(count(EventType::PluginAttemptFailed).await.unwrap(), 1);
        assert_eq!(count(EventType::PluginNetworkRequest).await.unwrap(), 1);
        assert_eq!(count(EventType::PluginInstalled).await.unwrap(), 4);
        assert_eq!(
            count(EventType::PluginErrorOccurred).await.unwrap(),
            5,
            "4 installs, 1 run"
        );
        assert_eq!(count(EventType::PluginAccessDenied).await.unwrap(), 4);
        assert_eq!(reports().await, before, "{backend:?}: the reports changed");
        // Again: nothing more to delete.
        let again = analytics
            .retain(std::time::Duration::from_secs(30 * 86_400))
            .await
            .unwrap();
        assert_eq!(again.deleted, 0, "{backend:?}");
        t.cleanup().await;
    }
}
