//! The caps on what a plugin may make plughub hold (its log, callbacks, events and runtime calls), on a
//! fixture plugin that floods each: the output is cut with a marker, the call refused or the run
//! stopped with an error that says so, plughub's own memory stays small, and the worker serves on.

use crate::common::*;
use plughub_engine::{CallbackCap, Caps, LogLine, Worker};
use std::sync::atomic::{AtomicU64, Ordering};

/// plughub's resident memory now: this process's resident pages.
fn resident() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * plughub_sandbox::probe::page_size()
}

/// The most plughub's resident memory reached while it is watched (sampled; a bound, not a timing).
struct Peak {
    before: u64,
    peak: Arc<AtomicU64>,
    sampler: tokio::task::JoinHandle<()>,
}

impl Peak {
    fn watch() -> Peak {
        let before = resident();
        let peak = Arc::new(AtomicU64::new(before));
        let sampled = peak.clone();
        let sampler = tokio::spawn(async move {
            loop {
                sampled.fetch_max(resident(), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        });
        Peak {
            before,
            peak,
            sampler,
        }
    }

    /// How much more than before plughub held at most, in MB.
    fn grown_mb(self) -> u64 {
        self.sampler.abort();
        let peak = self.peak.load(Ordering::Relaxed).max(resident());
        eprintln!(
            "plughub resident: {} MB before, {} MB at most",
            self.before >> 20,
            peak >> 20
        );
        peak.saturating_sub(self.before) >> 20
    }
}

/// plughub may grow by this much at most while a plugin floods it (before the caps: 600 MB and more).
const BOUND_MB: u64 = 100;

fn flood_spec(run: &std::path::Path, caps: Caps) -> PluginSpec {
    let mut spec = spec("plugin-flood", run, &[]);
    spec.worker.caps = caps;
    spec
}

async fn still_serving(plugin: &LoadedPlugin) {
    let ok = plugin
        .run_action("OK", message("", "agent-1"), SECOND * 10, None)
        .await
        .unwrap();
    assert_eq!(ok.result["text"], "still serving");
    assert!(plugin.worker().is_alive());
}

fn bytes(lines: &[LogLine]) -> usize {
    lines.iter().map(|l| l.text.len()).sum()
}

/// Waits (up to 20 s) until the worker's log has a line containing `text`.
async fn logged(worker: &Worker, text: &str) -> bool {
    for _ in 0..200 {
        if worker.log().iter().any(|l| l.text.contains(text)) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// The case: 300 lines of 1 MB, logged and printed. Each line is cut to 8 KiB, the worker keeps
/// 1 MiB of them, the execution's log carries 64 KiB after a line saying what it left out, and plughub
/// stays small (it held all of it before: 5 MB to 610 MB resident, 302 MB of log for the run).
#[tokio::test(flavor = "multi_thread")]
async fn a_flood_of_huge_log_lines_is_cut_and_plughub_stays_small() {
    let run = tempfile::tempdir().unwrap();
    let plugin = LoadedPlugin::load(
        &flood_spec(run.path(), Caps::default()),
        Arc::new(LocalRuntime::default()),
    )
    .await
    .unwrap();
    let caps = Caps::default();
    let worker = plugin.worker();

    for pause in [1, 0] {
        let peak = Peak::watch();
        let mark = worker.log_mark();
        let flood = plugin
            .run_action(
                "LOG_FLOOD",
                message(&format!("300 999000 {pause}"), "agent-1"),
                SECOND * 120,
                None,
            )
            .await
            .unwrap();
        assert_eq!(flood.result["text"], "logged 300 lines");
        // The logger's lines came before the answer, on its socket; the printed ones come through a
        // pipe of their own, which may still hold the end of the last.
        assert!(logged(worker, "299 pppp").await);
        let log = worker.log_since(mark);
        let grown = peak.grown_mb();
        assert!(grown < BOUND_MB, "plughub grew by {grown} MB");

        assert!(log.len() <= caps.run_log_lines, "{} lines", log.len());
        assert!(bytes(&log) <= caps.run_log_bytes, "{} bytes", bytes(&log));
        let marker = &log[0];
        assert_eq!(marker.stream, "plughub");
        // 601 lines in all (300 logged, 300 printed, the last one); those kept follow the marker.
        let left_out = 601 - (log.len() - 1);
        assert!(
            marker
                .text
                .starts_with(&format!("… [cut: {left_out} earlier lines (")),
            "{marker:?}"
        );
        assert!(
            marker.text.ends_with(
                "of this execution left out of its log, which keeps 200 lines and 64 KiB]"
            ),
            "{marker:?}"
        );
        let last = LogLine {
            stream: "info".into(),
            text: "the last line".into(),
        };
        assert!(log.contains(&last), "the newest lines are kept");
        let flooded: Vec<&LogLine> = log[1..].iter().filter(|l| **l != last).collect();
        assert!(!flooded.is_empty());
        for line in &flooded {
            // "299 llll…" is 999,004 bytes: 8 KiB kept, the rest said.
            assert!(
                line.text.ends_with(" more bytes]") && line.text.contains("… [cut: 990,"),
                "{}…",
                &line.text[line.text.len() - 40..]
            );
            assert!(line.text.len() <= caps.log_line_bytes + 40);
        }
        assert!(
            flooded.iter().any(|l| l.stream == "info")
                && flooded.iter().any(|l| l.stream == "stdout"),
            "both the logger's lines and the printed ones"
        );

        let kept = worker.log();
        assert!(kept.len() <= caps.worker_log_lines);
        assert!(
            bytes(&kept) <= caps.worker_log_bytes,
            "{} bytes",
            bytes(&kept)
        );
        still_serving(&plugin).await;
    }

    // A short run's log is whole, with no marker.
    let mark = worker.log_mark();
    plugin
        .run_action("LOG_FLOOD", message("2 10 0", "agent-1"), SECOND * 10, None)
        .await
        .unwrap();
    let log = worker.log_since(mark);
    assert_eq!(log.len(), 5, "{log:?}");
    assert!(log.iter().all(|l| !l.text.contains("[cut:")), "{log:?}");
}

/// 100,000 callbacks of 1 KB (the case; before the caps the worker ran out of memory) go past the
/// cap of 1 MiB a run, 100,000 of 10 bytes past the cap of 1,000: the run fails at once with an error
/// that says which, the callbacks within the cap reached the stream, and the worker serves on, whether
/// the plugin awaits its callbacks or not.
#[tokio::test(flavor = "multi_thread")]
async fn a_callback_flood_fails_its_run_with_a_clear_error_and_the_worker_serves_on() {
    let run = tempfile::tempdir().unwrap();
    // The product's own grace (5 s) for a stopped run to end: with 1 s, an unawaited flood on a CI
    // machine busy with other tests once took longer to stop, and its worker was ended (a fresh-clone
    // run, 2026-12-06). Whether a run that never stops ends its worker is the next test's, with 1 s.
    let caps = Caps::default();
    let plugin = LoadedPlugin::load(
        &flood_spec(run.path(), caps.clone()),
        Arc::new(LocalRuntime::default()),
    )
    .await
    .unwrap();

    let mib = CallbackCap::Bytes(1024 * 1024);
    for (action, figures, cap) in [
        ("CALLBACK_FLOOD", "100000 1024", mib),
        ("CALLBACK_FLOOD", "100000 10", CallbackCap::Count(1_000)),
        ("CALLBACK_FLOOD_UNAWAITED", "100000 1024", mib),
        (
            "CALLBACK_FLOOD_UNAWAITED",
            "100000 10",
            CallbackCap::Count(1_000),
        ),
    ] {
        let peak = Peak::watch();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let err = plugin
            .run_action(action, message(figures, "agent-1"), SECOND * 60, Some(tx))
            .await
            .unwrap_err();
        let grown = peak.grown_mb();
        assert!(grown < BOUND_MB, "{action}: plughub grew by {grown} MB");
        assert!(
            matches!(
                &err,
                EngineError::CallbacksOverCap { what, cap: over }
                    if *what == format!("action {action}") && *over == cap
            ),
            "{action} {figures}: {err:?}"
        );
        let said = match cap {
            CallbackCap::Count(_) => "1,000 callbacks",
            CallbackCap::Bytes(_) => "1 MiB of callbacks",
        };
        assert_eq!(
            err.to_string(),
            format!(
                "action {action} sent more than {said} (the cap per execution); its run was stopped"
            )
        );
        let mut streamed = Vec::new();
        while let Some(callback) = rx.recv().await {
            streamed.push(callback);
        }
        match cap {
            CallbackCap::Count(n) => {
                assert_eq!(streamed.len(), n, "{action}: those within the cap")
            }
            // Each of these is 1,070 bytes or so as a message: 980 fit in 1 MiB.
            CallbackCap::Bytes(_) => assert!(
                (900..1_000).contains(&streamed.len()),
                "{action}: {} within the cap",
                streamed.len()
            ),
        }
        assert_eq!(
            streamed.last().unwrap()["i"],
            streamed.len() - 1,
            "in order, none lost"
        );
        // The run itself ended (the host script's refusals stopped it), so its worker is not ended
        // after the grace.
        assert!(
            logged(plugin.worker(), "the run stopped at a cap ended").await,
            "{action}: {:?}",
            plugin.worker().log()
        );
        tokio::time::sleep(caps.stop_grace * 2).await;
        still_serving(&plugin).await;
    }

    // 1 MiB of callbacks at most, however few.
    let err = plugin
        .run_action(
            "CALLBACK_FLOOD",
            message("100 20000", "agent-1"),
            SECOND * 60,
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "action CALLBACK_FLOOD sent more than 1 MiB of callbacks (the cap per execution); its run was stopped"
    );
    still_serving(&plugin).await;

    // Within the caps, callbacks all arrive.
    let fine = plugin
        .run_action(
            "CALLBACK_FLOOD",
            message("1000 100", "agent-1"),
            SECOND * 60,
            None,
        )
        .await
        .unwrap();
    assert_eq!(fine.callbacks.len(), 1_000);
}

/// Callbacks written straight to plughub's socket, past the host script's count: plughub alone stops
/// the run, and ends the worker whose run goes on past the grace.
#[tokio::test(flavor = "multi_thread")]
async fn a_run_that_does_not_stop_at_the_cap_ends_its_worker() {
    let run = tempfile::tempdir().unwrap();
    let caps = Caps {
        stop_grace: SECOND,
        ..Caps::default()
    };
    let plugin = LoadedPlugin::load(
        &flood_spec(run.path(), caps),
        Arc::new(LocalRuntime::default()),
    )
    .await
    .unwrap();
    // Request 1 was init; this run is request 2.
    let err = plugin
        .run_action(
            "CALLBACK_FORGE",
            message("2000 10 2", "agent-1"),
            SECOND * 60,
            None,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            EngineError::CallbacksOverCap {
                cap: CallbackCap::Count(1_000),
                ..
            }
        ),
        "{err:?}"
    );
    let mut ended = false;
    for _ in 0..200 {
        if !plugin.worker().is_alive() {
            ended = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ended, "the worker whose run did not stop is ended");
    let err = plugin
        .run_action("OK", message("", "agent-1"), SECOND * 5, None)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("its run stopped at the cap on callbacks went on for 1 s"),
        "{err}"
    );
    assert_eq!(
        plugin.worker().ignored_answers(),
        0,
        "a stopped run's callbacks are no forgeries"
    );
}

/// 100 events an execution, each of 64 KiB at most; the count starts again with the next execution,
/// and the local runtime keeps one execution's worth.
#[tokio::test(flavor = "multi_thread")]
async fn events_per_execution_are_capped() {
    let run = tempfile::tempdir().unwrap();
    let runtime = Arc::new(LocalRuntime::default());
    let plugin = LoadedPlugin::load(&flood_spec(run.path(), Caps::default()), runtime.clone())
        .await
        .unwrap();
    let emit = |figures: &'static str| {
        plugin.run_action(
            "EMIT_EVENTS",
            message(figures, "agent-1"),
            SECOND * 30,
            None,
        )
    };

    let flood = emit("150 10").await.unwrap();
    assert_eq!(flood.result["values"]["taken"], 100);
    assert_eq!(
        flood.result["text"],
        "runtime.emitEvent(): this execution has emitted 100 events, the cap per execution"
    );
    let again = emit("5 10").await.unwrap();
    assert_eq!(
        (
            again.result["values"]["taken"].clone(),
            again.result["text"].clone()
        ),
        (json!(5), json!("all taken")),
        "a new execution, a new count"
    );
    let big = emit("1 100000").await.unwrap();
    assert_eq!(big.result["values"]["taken"], 0);
    let text = big.result["text"].as_str().unwrap();
    assert!(
        text.starts_with("runtime.emitEvent(): an event of 100,")
            && text.ends_with("bytes is over the 64 KiB cap of an event"),
        "{text}"
    );
    assert_eq!(runtime.events().len(), LocalRuntime::EVENTS_KEPT);
    assert_eq!(
        runtime.events().last().unwrap().1["i"],
        4,
        "the newest kept"
    );
    still_serving(&plugin).await;
}

/// A runtime call of 5 MB, and an answer over the cap: each throws in the plugin, which goes on.
#[tokio::test(flavor = "multi_thread")]
async fn oversize_runtime_calls_throw_in_the_plugin() {
    let run = tempfile::tempdir().unwrap();
    let plugin = LoadedPlugin::load(
        &flood_spec(run.path(), Caps::default()),
        Arc::new(LocalRuntime::default()),
    )
    .await
    .unwrap();
    let call = |action: &'static str, figures: &'static str| {
        plugin.run_action(action, message(figures, "agent-1"), SECOND * 30, None)
    };

    let big = call("BIG_CALL", "5000000").await.unwrap();
    let text = big.result["text"].as_str().unwrap();
    assert!(
        text.starts_with("runtime.setCache(): its arguments are 5,000,0")
            && text.ends_with("bytes, over the 1,000,000-byte cap of a runtime call"),
        "{text}"
    );
    still_serving(&plugin).await;
    assert_eq!(
        call("BIG_CALL", "2000").await.unwrap().result["text"],
        "no error"
    );

    // Three memories of 400 KB each fit; all three at once do not.
    let answer = call("BIG_ANSWER", "3 400000").await.unwrap();
    let text = answer.result["text"].as_str().unwrap();
    assert!(
        text.starts_with("runtime.getMemories(): its answer is 1,200,")
            && text.ends_with("bytes, over the 1,000,000-byte cap of a runtime call"),
        "{text}"
    );
    still_serving(&plugin).await;

    // The cap is plughub's figure, which the host script is given.
    let small = Caps {
        runtime_call_bytes: 100_000,
        ..Caps::default()
    };
    let plugin = LoadedPlugin::load(
        &flood_spec(run.path(), small),
        Arc::new(LocalRuntime::default()),
    )
    .await
    .unwrap();
    let big = plugin
        .run_action("BIG_CALL", message("200000", "agent-1"), SECOND * 30, None)
        .await
        .unwrap();
    let text = big.result["text"].as_str().unwrap();
    assert!(
        text.ends_with("over the 100,000-byte cap of a runtime call"),
        "{text}"
    );
    let answer = plugin
        .run_action(
            "BIG_ANSWER",
            message("3 40000", "agent-1"),
            SECOND * 30,
            None,
        )
        .await
        .unwrap();
    let text = answer.result["text"].as_str().unwrap();
    assert!(
        text.starts_with("runtime.getMemories(): its answer is 120,")
            && text.ends_with("over the 100,000-byte cap of a runtime call"),
        "{text}"
    );
    still_serving(&plugin).await;
}
