//! What the OS sandbox costs, as ratios measured in one run on the same fixture plugin:
//! - cold start (spawn, load, init) sandboxed against unsandboxed, interleaved, median of 15 each;
//! - a warm trivial call's p50 and p99 sandboxed against unsandboxed, 5,000 calls each after a warm-up.
//!
//! Run: cargo bench -p plughub-engine --bench sandbox

use plughub_engine::{
    LoadedPlugin, LocalRuntime, PluginSpec, SandboxPolicy, Settings, WorkerSpec, message,
};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

const CALLS: usize = 5_000;
const STARTS: usize = 15;

fn spec(run: &std::path::Path, sandbox: Option<SandboxPolicy>) -> PluginSpec {
    PluginSpec {
        worker: WorkerSpec {
            node: "node".into(),
            package_dir: plughub_testkit::fixture_plugin("plugin-hello"),
            run_dir: run.to_path_buf(),
            env: vec![("NODE_ENV".into(), "production".into())],
            start_timeout: Duration::from_secs(30),
            memory_mb: None,
            sandbox,
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
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

async fn warm_calls(plugin: &LoadedPlugin) -> (f64, f64) {
    let call = || {
        plugin.invoke_action(
            "REGISTERED_IN_INIT",
            message("x", "bench"),
            Duration::from_secs(5),
            None,
        )
    };
    for _ in 0..1_000 {
        call().await.unwrap();
    }
    let mut times = Vec::with_capacity(CALLS);
    for _ in 0..CALLS {
        let start = Instant::now();
        call().await.unwrap();
        times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    (times[CALLS / 2], times[CALLS * 99 / 100])
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let run = tempfile::tempdir().unwrap();
    let plain = spec(run.path(), None);
    let boxed = spec(run.path(), Some(SandboxPolicy::default()));
    // Where the cost lies: the OS layers alone, without Node's permission model.
    let os_only = spec(
        run.path(),
        Some(SandboxPolicy {
            node_permissions: false,
            ..SandboxPolicy::default()
        }),
    );
    runtime.block_on(async {
        // The first sandboxed start asks Node for its permission flag once; it is remembered after.
        drop(
            LoadedPlugin::load(&boxed, Arc::new(LocalRuntime::default()))
                .await
                .unwrap(),
        );
        let (mut cold_plain, mut cold_boxed, mut cold_os) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..STARTS {
            for (spec, times) in [
                (&plain, &mut cold_plain),
                (&boxed, &mut cold_boxed),
                (&os_only, &mut cold_os),
            ] {
                let start = Instant::now();
                let p = LoadedPlugin::load(spec, Arc::new(LocalRuntime::default()))
                    .await
                    .unwrap();
                times.push(start.elapsed().as_secs_f64() * 1e3);
                drop(p);
            }
        }
        let (cold_plain, cold_boxed, cold_os) =
            (median(cold_plain), median(cold_boxed), median(cold_os));
        let p = LoadedPlugin::load(&plain, Arc::new(LocalRuntime::default()))
            .await
            .unwrap();
        let (plain_p50, plain_p99) = warm_calls(&p).await;
        drop(p);
        let b = LoadedPlugin::load(&boxed, Arc::new(LocalRuntime::default()))
            .await
            .unwrap();
        let (boxed_p50, boxed_p99) = warm_calls(&b).await;
        println!("| | sandboxed | unsandboxed | ratio |");
        println!("| --- | --- | --- | --- |");
        println!(
            "| cold start, median of {STARTS} | {cold_boxed:.1} ms | {cold_plain:.1} ms | {:.2}× |",
            cold_boxed / cold_plain
        );
        println!(
            "| cold start, OS layers only (no Node permission model) | {cold_os:.1} ms | {cold_plain:.1} ms | {:.2}× |",
            cold_os / cold_plain
        );
        println!(
            "| warm call p50 | {boxed_p50:.3} ms | {plain_p50:.3} ms | {:.2}× |",
            boxed_p50 / plain_p50
        );
        println!(
            "| warm call p99 | {boxed_p99:.3} ms | {plain_p99:.3} ms | {:.2}× |",
            boxed_p99 / plain_p99
        );
    });
}
