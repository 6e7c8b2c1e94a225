//! The analytics bench: fills a SQLite store with 10 million recorded executions (over 90 days, 50
//! organisations, 40 plugins of 4 actions each; 5 % failures, 1 % of them timeouts), rolls them up (timed),
//! then times each analytics query. Not part of the test suite; run it on purpose:
//!
//! ```text
//! cargo bench -p plughub-analytics --bench analytics --profile dev -- [executions] [folder]
//! ```
//!
//! The store is made in a temporary folder under `folder` (the system's by default) and deleted at the
//! end. The fill is one `INSERT … SELECT` per million events from a recursive CTE, in SQL, in one
//! transaction each: the point is to time the rollups and the queries, not the inserts.

use plughub_analytics::{Analytics, Scope};
use plughub_domain::Plan;
use plughub_store::{Location, Store};
use sqlx::Connection;
use std::time::{Duration, Instant};

const ORGS: usize = 50;
const PLUGINS: i64 = 40;
const ACTIONS: i64 = 4;
const DAYS: f64 = 90.0;
const STEP: i64 = 1_000_000;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let total: i64 = args
        .next()
        .map(|n| n.parse().expect("the number of executions"))
        .unwrap_or(10_000_000);
    let parent = args.next().map(std::path::PathBuf::from);
    let dir = match &parent {
        Some(p) => tempfile::tempdir_in(p),
        None => tempfile::tempdir(),
    }
    .expect("a temporary folder");
    let location = Location::DataDir(dir.path().join("data"));
    let store = Store::open(&location).await.expect("open the store");
    let mut groups = Vec::new();
    let mut tx = store.begin().await.unwrap();
    for i in 0..ORGS {
        groups.push(
            tx.create_group(&format!("org-{i:02}"), Plan::Pro, None, "bench")
                .await
                .unwrap(),
        );
    }
    tx.commit().await.unwrap();

    let started = Instant::now();
    fill(
        &location,
        &groups.iter().map(|g| g.id.clone()).collect::<Vec<_>>(),
        total,
    )
    .await;
    let fill_time = started.elapsed();
    let bytes = folder_bytes(dir.path());
    println!(
        "filled {total} executions in {:.1} s ({:.0} per second); store {:.2} GB",
        fill_time.as_secs_f64(),
        total as f64 / fill_time.as_secs_f64(),
        bytes as f64 / 1e9
    );

    let analytics = Analytics::new(store.clone());
    let started = Instant::now();
    let run = analytics.roll_up().await.expect("rollup");
    let rollup_time = started.elapsed();
    println!(
        "rollup of {} events: {:.1} s ({:.0} events per second)",
        run.to - run.from,
        rollup_time.as_secs_f64(),
        (run.to - run.from) as f64 / rollup_time.as_secs_f64()
    );

    // A day's tail after the backfill: 10,000 more executions, rolled up incrementally.
    fill_more(&location, &groups[0].id, total, 10_000).await;
    let started = Instant::now();
    let run = analytics.roll_up().await.expect("rollup");
    println!(
        "incremental rollup of {} events: {:.1} ms",
        run.to - run.from,
        ms(started.elapsed())
    );

    let org = Scope::Org {
        group_id: groups[7].id.clone(),
        name: groups[7].name.clone(),
    };
    let mut figures: Vec<(String, f64)> = Vec::new();
    for (name, days, scope) in [
        ("org report, 30 days", 30, &org),
        ("org report, 90 days", 90, &org),
        ("platform report, 30 days", 30, &Scope::Platform),
        ("platform report, 90 days", 90, &Scope::Platform),
    ] {
        let time = best_of(3, || async {
            let report = analytics.report(scope, days).await.unwrap();
            assert!(report.totals.executions > 0);
        })
        .await;
        figures.push((name.to_string(), time));
    }
    let time = best_of(3, || async {
        let usage = analytics.plugin_usage("@bench/plugin-07").await.unwrap();
        assert!(usage.executions_30d.is_some());
    })
    .await;
    figures.push(("plugin_usage (30 days, all orgs)".into(), time));
    let time = best_of(3, || async {
        analytics.executions_by_plugin(3).await.unwrap();
    })
    .await;
    figures.push(("executions_by_plugin (reputation's spread)".into(), time));
    for (name, time) in &figures {
        println!("{name}: {time:.1} ms");
    }
    let rows: i64 = store
        .rollup_rows(&plughub_store::RollupQuery {
            by: vec![
                plughub_store::RollupKey::Day,
                plughub_store::RollupKey::Group,
                plughub_store::RollupKey::Plugin,
                plughub_store::RollupKey::Kind,
                plughub_store::RollupKey::Component,
            ],
            ..Default::default()
        })
        .await
        .unwrap()
        .len() as i64;
    println!("rollup rows: {rows}");

    retention(&analytics, &store, &org, &groups[0].id).await;
    store.close().await;
    drop(dir);
}

/// Retention over the filled log: executions past 30 days deleted (about two thirds of the 90 days)
/// while a writer appends executions as a server would, each append timed; then every report compared
/// with what it read before.
async fn retention(analytics: &Analytics, store: &Store, org: &Scope, group_id: &str) {
    let mut before = Vec::new();
    for scope in [org, &Scope::Platform] {
        for days in [7, 30, 90] {
            before
                .push(serde_json::to_value(analytics.report(scope, days).await.unwrap()).unwrap());
        }
    }
    let events_before = store.count_events(&Default::default()).await.unwrap();
    let writing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let writer = {
        let (store, writing, group_id) = (store.clone(), writing.clone(), group_id.to_string());
        tokio::spawn(async move {
            let mut waits = Vec::new();
            while writing.load(std::sync::atomic::Ordering::Relaxed) {
                let started = Instant::now();
                store
                    .append_event(&plughub_domain::NewEvent {
                        event_type: plughub_domain::EventType::PluginActionExecuted,
                        actor: "bench".into(),
                        target: Some("instance".into()),
                        group_id: Some(group_id.clone()),
                        metadata: serde_json::json!({ "plugin": "@bench/plugin-00", "kind": "action",
                            "component": "A0", "duration_ms": 5.0 }),
                    })
                    .await
                    .unwrap();
                waits.push(started.elapsed());
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            waits
        })
    };
    let started = Instant::now();
    let run = analytics
        .retain(Duration::from_secs(30 * 86_400))
        .await
        .expect("retention");
    let took = started.elapsed();
    writing.store(false, std::sync::atomic::Ordering::Relaxed);
    let mut waits = writer.await.unwrap();
    waits.sort();
    let at = |q: f64| ms(waits[((waits.len() - 1) as f64 * q) as usize]);
    println!(
        "retention (older than 30 days): {} of {events_before} events deleted in {:.1} s ({:.0} per second, {} windows)",
        run.deleted,
        took.as_secs_f64(),
        run.deleted as f64 / took.as_secs_f64(),
        run.windows
    );
    println!(
        "a writer's appends meanwhile: {} appends, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        waits.len(),
        at(0.5),
        at(0.99),
        ms(*waits.last().unwrap())
    );
    // The writer's executions are today's: every day before today must read the same.
    let mut after = Vec::new();
    for scope in [org, &Scope::Platform] {
        for days in [7, 30, 90] {
            after.push(serde_json::to_value(analytics.report(scope, days).await.unwrap()).unwrap());
        }
    }
    let older_days = |report: &serde_json::Value| {
        let days = report["per_day"].as_array().cloned().unwrap_or_default();
        days[..days.len().saturating_sub(1)].to_vec()
    };
    let unchanged = before
        .iter()
        .zip(&after)
        .all(|(b, a)| older_days(b) == older_days(a));
    println!("reports' days before today unchanged after retention: {unchanged}");
    assert!(unchanged, "retention changed the analytics");
}

/// The best of `n` runs, in ms: the first pays for cold caches.
async fn best_of<F, Fut>(n: usize, run: F) -> f64
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut best = f64::MAX;
    for _ in 0..n {
        let started = Instant::now();
        run().await;
        best = best.min(ms(started.elapsed()));
    }
    best
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `total` executions spread over the last 90 days, in seq order oldest first, in steps of a million.
async fn fill(location: &Location, groups: &[String], total: i64) {
    let mut conn = connect(location).await;
    let orgs = groups
        .iter()
        .enumerate()
        .map(|(i, g)| format!("WHEN {i} THEN '{g}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let mut from = 0;
    while from < total {
        let to = (from + STEP).min(total);
        let sql = insert_sql(&orgs, groups.len(), from, to, total, DAYS);
        let started = Instant::now();
        let mut tx = conn.begin().await.unwrap();
        sqlx::query(&sql).execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
        eprintln!(
            "  {to} executions ({:.1} s for this million)",
            started.elapsed().as_secs_f64()
        );
        from = to;
    }
}

/// `count` more executions of one organisation, today (numbered from `start`, after the others).
async fn fill_more(location: &Location, group: &str, start: i64, count: i64) {
    let mut conn = connect(location).await;
    let sql = insert_sql(
        &format!("WHEN 0 THEN '{group}'"),
        1,
        start,
        start + count,
        count,
        0.0,
    );
    sqlx::query(&sql).execute(&mut conn).await.unwrap();
}

async fn connect(location: &Location) -> sqlx::SqliteConnection {
    let Location::DataDir(dir) = location else {
        unreachable!("the bench makes a SQLite store")
    };
    let url = format!(
        "sqlite://{}?mode=rw",
        dir.join(Location::SQLITE_FILE).display()
    );
    let mut conn = sqlx::SqliteConnection::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    for pragma in [
        "PRAGMA synchronous = OFF",
        "PRAGMA cache_size = -262144",
        "PRAGMA busy_timeout = 60000",
    ] {
        sqlx::query(pragma).execute(&mut conn).await.unwrap();
    }
    conn
}

/// Executions `from..to` of `total`, their times spread evenly over the last `days` days; plugin, action,
/// organisation, outcome and duration drawn from the row number and `random()`.
fn insert_sql(orgs: &str, org_count: usize, from: i64, to: i64, total: i64, days: f64) -> String {
    format!(
        "WITH RECURSIVE n(i) AS (SELECT {from} UNION ALL SELECT i + 1 FROM n WHERE i + 1 < {to}), \
         r(i, org, plugin, action, roll, ms) AS ( \
           SELECT i, i % {org_count}, (i / 7) % {PLUGINS}, (i / 3) % {ACTIONS}, abs(random()) % 1000, \
                  round(1 + (abs(random()) % 100000) / 100000.0 * (abs(random()) % 100000) / 100000.0 * 2000, 1) \
           FROM n) \
         INSERT INTO events (id, type, actor, target, group_id, time, metadata) \
         SELECT printf('bench-%012d', i), \
           CASE WHEN roll < 50 THEN 'plugin_error_occurred' ELSE 'plugin_action_executed' END, \
           'bench', 'instance-' || org || '-' || plugin, CASE org {orgs} END, \
           strftime('%Y-%m-%dT%H:%M:%fZ', julianday('now') - {days} + i * {days} / {total}.0), \
           CASE WHEN roll < 50 THEN json_object('plugin', printf('@bench/plugin-%02d', plugin), \
               'version', '1.0.0', 'kind', 'action', 'component', 'ACTION_' || action, \
               'status', 'error', 'cause', CASE WHEN roll < 10 THEN 'timeout' ELSE 'plugin_error' END, \
               'error', CASE WHEN roll < 10 THEN 'action did not answer within 30 s; its worker was ended' \
                   ELSE 'the plugin threw' END, 'cache_hit', json('false'), 'attempts', 1, 'log', json('[]')) \
           ELSE json_object('plugin', printf('@bench/plugin-%02d', plugin), 'version', '1.0.0', \
               'kind', 'action', 'component', 'ACTION_' || action, 'status', 'ok', 'duration_ms', ms, \
               'memory_bytes', 60000000 + (abs(random()) % 40000000), 'cache_hit', json('false'), \
               'attempts', 1, 'log', json('[]'), 'text', 'an answer of a few words') END \
         FROM r"
    )
}

fn folder_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.file_type() {
                    Ok(t) if t.is_dir() => folder_bytes(&e.path()),
                    _ => e.metadata().map(|m| m.len()).unwrap_or(0),
                })
                .sum()
        })
        .unwrap_or(0)
}
