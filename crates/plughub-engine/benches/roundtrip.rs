//! The cost of running a plugin through plughub, each figure a ratio measured in the same run:
//! - a trivial action's round trip (p50, p99) and throughput through a worker, against calling the same
//!   handler in-process in plain Node;
//! - a cold start (spawn, load, init) against `node -e "import(plugin)"` of the same package.
//!
//! Run: cargo bench -p plughub-engine --bench roundtrip

use plughub_engine::{LoadedPlugin, LocalRuntime, PluginSpec, Settings, WorkerSpec, message};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CALLS: usize = 10_000;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let run = tempfile::tempdir().unwrap();
    let package = plughub_testkit::fixture_plugin("plugin-hello");
    let spec = PluginSpec {
        worker: WorkerSpec {
            node: "node".into(),
            package_dir: package.clone(),
            run_dir: run.path().to_path_buf(),
            env: vec![("NODE_ENV".into(), "production".into())],
            start_timeout: Duration::from_secs(30),
            memory_mb: None,
            sandbox: None,
            egress: None,
            egress_hooks: None,
            caps: Default::default(),
            pool: None,
            urgency: plughub_engine::Urgency::Now,
        },
        settings: Settings {
            values: [("HELLO_API_KEY".to_string(), json!("k"))].into(),
            agent_id: "bench".into(),
            character: json!({ "name": "bench" }),
        },
        init_timeout: Duration::from_secs(30),
    };
    let node = in_process_node(&package);
    runtime.block_on(async {
        let plugin = Arc::new(
            LoadedPlugin::load(&spec, Arc::new(LocalRuntime::default()))
                .await
                .unwrap(),
        );
        let call = |p: Arc<LoadedPlugin>| async move {
            p.invoke_action("REGISTERED_IN_INIT", message("x", "bench"), Duration::from_secs(5), None)
                .await
                .unwrap()
        };
        for _ in 0..2_000 {
            call(plugin.clone()).await;
        }
        let mut times = Vec::with_capacity(CALLS);
        for _ in 0..CALLS {
            let start = Instant::now();
            call(plugin.clone()).await;
            times.push(start.elapsed().as_secs_f64() * 1e3);
        }
        times.sort_by(f64::total_cmp);
        let (p50, p99) = (times[CALLS / 2], times[CALLS * 99 / 100]);

        // Throughput: two workers (two cores), eight requests in flight on each.
        let second = Arc::new(
            LoadedPlugin::load(&spec, Arc::new(LocalRuntime::default()))
                .await
                .unwrap(),
        );
        let deadline = Instant::now() + Duration::from_secs(3);
        let mut tasks = Vec::new();
        for worker in [plugin.clone(), second.clone()] {
            for _ in 0..8 {
                let worker = worker.clone();
                tasks.push(tokio::spawn(async move {
                    let mut n = 0u64;
                    while Instant::now() < deadline {
                        call(worker.clone()).await;
                        n += 1;
                    }
                    n
                }));
            }
        }
        let started = Instant::now();
        let mut total = 0;
        for t in tasks {
            total += t.await.unwrap();
        }
        let throughput = total as f64 / started.elapsed().as_secs_f64();

        let node_p50 = node["p50_ms"].as_f64().unwrap();
        let node_p99 = node["p99_ms"].as_f64().unwrap();
        let node_rate = node["calls_per_s"].as_f64().unwrap();
        println!("trivial action, {CALLS} calls after 2,000 to warm up");
        println!("| | through plughub | in-process Node | overhead |");
        println!("| --- | --- | --- | --- |");
        println!("| p50 | {p50:.3} ms | {node_p50:.4} ms | {:.3} ms |", p50 - node_p50);
        println!("| p99 | {p99:.3} ms | {node_p99:.4} ms | {:.3} ms |", p99 - node_p99);
        println!(
            "| throughput | {throughput:.0} calls/s (2 workers × 8 in flight) | {node_rate:.0} calls/s (one loop) | {:.1}× fewer |",
            node_rate / throughput
        );

        // Cold start: spawn, load, init, ten times each.
        let mut ours = Vec::new();
        for _ in 0..10 {
            let start = Instant::now();
            let p = LoadedPlugin::load(&spec, Arc::new(LocalRuntime::default()))
                .await
                .unwrap();
            ours.push(start.elapsed().as_secs_f64() * 1e3);
            drop(p);
        }
        let mut plain = Vec::new();
        let entry = package.join("dist/index.js");
        for _ in 0..10 {
            // Timed to the moment the import has resolved, as ours is timed to `init`'s answer (neither
            // counts the process's exit).
            let start = Instant::now();
            // The same environment as a worker's (nothing inherited: NODE_EXTRA_CA_CERTS alone adds
            // about 45 ms to Node's start on this machine).
            let mut child = std::process::Command::new("node")
                .env_clear()
                .env("NODE_ENV", "production")
                .arg("-e")
                .arg(format!(
                    "import({:?}).then(() => console.log('loaded'))",
                    entry.display().to_string()
                ))
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            let mut line = String::new();
            std::io::BufRead::read_line(
                &mut std::io::BufReader::new(child.stdout.take().unwrap()),
                &mut line,
            )
            .unwrap();
            assert_eq!(line.trim(), "loaded");
            plain.push(start.elapsed().as_secs_f64() * 1e3);
            child.kill().ok();
            child.wait().ok();
        }
        ours.sort_by(f64::total_cmp);
        plain.sort_by(f64::total_cmp);
        println!(
            "\ncold start (median of 10): plughub {:.1} ms (spawn, load, ready, init), node -e import {:.1} ms (spawn, import): {:.2}×",
            ours[5],
            plain[5],
            ours[5] / plain[5]
        );
    });
}

/// The same handler called in-process by plain Node: p50, p99 and calls per second.
fn in_process_node(package: &std::path::Path) -> Value {
    let script = format!(
        r#"
const m = await import({entry:?});
const registered = [];
const runtime = {{ registerAction: (a) => registered.push(a), getSetting: () => 'k', logger: console }};
await m.default.init({{ HELLO_API_KEY: 'k' }}, runtime);
const action = registered[0];
const message = {{ content: {{ text: 'x' }} }};
for (let i = 0; i < 2000; i++) await action.handler(runtime, message, {{}}, {{}}, async () => [], []);
const times = [];
for (let i = 0; i < {CALLS}; i++) {{
  const s = process.hrtime.bigint();
  await action.handler(runtime, message, {{}}, {{}}, async () => [], []);
  times.push(Number(process.hrtime.bigint() - s) / 1e6);
}}
times.sort((a, b) => a - b);
const start = process.hrtime.bigint();
let n = 0;
while (Number(process.hrtime.bigint() - start) < 1e9) {{ await action.handler(runtime, message, {{}}, {{}}, async () => [], []); n++; }}
console.log(JSON.stringify({{ p50_ms: times[{half}], p99_ms: times[{p99}], calls_per_s: n }}));
"#,
        entry = package.join("dist/index.js").display().to_string(),
        half = CALLS / 2,
        p99 = CALLS * 99 / 100,
    );
    let out = std::process::Command::new("node")
        .args(["--input-type=module", "-e", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}
