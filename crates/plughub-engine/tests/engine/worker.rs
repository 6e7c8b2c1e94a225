//! One worker: every component kind, the runtime calls, and each hostile behaviour, after which the host
//! goes on.

use crate::common::*;

#[tokio::test(flavor = "multi_thread")]
async fn every_component_kind_with_a_real_runtime_behind_it() {
    let run = tempfile::tempdir().unwrap();
    let runtime = Arc::new(LocalRuntime::default());
    let settings = [
        ("HELLO_GREETING", "Bonjour"),
        ("HELLO_LOUD", "true"),
        ("HELLO_API_KEY", "k-123"),
    ];
    let plugin = LoadedPlugin::load(
        &spec("plugin-hello", run.path(), &settings),
        runtime.clone(),
    )
    .await
    .unwrap();

    // The true manifest includes what init registered.
    let manifest = plugin.manifest();
    let actions: Vec<&str> = manifest.actions.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(actions, ["HELLO", "SUMMARIZE", "REGISTERED_IN_INIT"]);
    assert_eq!(plugin.worker().manifest().actions.len(), 2, "before init");
    assert_eq!(manifest.providers[0].name, "GREETING_STYLE");
    assert_eq!(manifest.evaluators[0].name, "POLITENESS");
    assert_eq!(manifest.services[0].service_type, "greeter");
    assert_eq!(manifest.routes, ["GET /hello"]);

    plugin.service("greeter", true, SECOND * 5).await.unwrap();
    assert!(
        plugin
            .validate_action("HELLO", message("Ada", "agent-1"), SECOND * 5)
            .await
            .unwrap()
    );
    assert!(
        !plugin
            .validate_action("HELLO", message("", "agent-1"), SECOND * 5)
            .await
            .unwrap()
    );
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let run1 = plugin
        .invoke_action("HELLO", message("Ada", "agent-1"), SECOND * 5, Some(tx))
        .await
        .unwrap();
    assert_eq!(
        run1.result["text"], "Bonjour, Ada!",
        "settings, booleans as elizaOS reads them"
    );
    assert_eq!(
        run1.callbacks,
        [
            json!({ "text": "thinking…" }),
            json!({ "text": "Bonjour, Ada!" })
        ]
    );
    assert_eq!(
        rx.recv().await.unwrap(),
        json!({ "text": "thinking…" }),
        "streamed"
    );
    assert_eq!(
        run1.result["values"]["serviceCount"], 1,
        "the started service"
    );
    assert!(run1.memory_bytes.unwrap() > 1_000_000);
    let run2 = plugin
        .invoke_action("GREET", message("Bob", "agent-1"), SECOND * 5, None)
        .await
        .unwrap();
    assert_eq!(
        run2.result["values"]["greetings"], 2,
        "the cache kept the count"
    );
    assert_eq!(runtime.events().len(), 2);
    assert_eq!(runtime.events()[0].0, "HELLO_SAID");

    // validate and handler in one message: a declined message runs no handler.
    let declined = plugin
        .run_action("HELLO", message("", "agent-1"), SECOND * 5, None)
        .await
        .unwrap_err();
    assert!(
        declined.to_string().contains("declined this message"),
        "{declined}"
    );
    assert_eq!(runtime.events().len(), 2, "no handler ran");
    let run3 = plugin
        .run_action("HELLO", message("Cy", "agent-1"), SECOND * 5, None)
        .await
        .unwrap();
    assert_eq!(run3.result["text"], "Bonjour, Cy!");
    assert_eq!(run3.callbacks.len(), 2, "its callbacks");
    assert_eq!(runtime.events().len(), 3, "the handler ran");

    let provided = plugin
        .get_provider("GREETING_STYLE", message("", "agent-1"), SECOND * 5)
        .await
        .unwrap();
    assert_eq!(provided.result["text"], "Greetings start with Bonjour");
    assert_eq!(
        provided.result["values"],
        json!({ "agent": "agent-1", "character": "Eliza", "key": "set" })
    );
    let evaluated = plugin
        .invoke_evaluator("POLITENESS", message("please help", "agent-1"), SECOND * 5)
        .await
        .unwrap();
    assert_eq!(evaluated.result["values"]["polite"], true);
    plugin.service("greeter", false, SECOND * 5).await.unwrap();

    let route = plughub_engine::RouteRequest {
        method: "GET".into(),
        path: "/hello".into(),
        query: json!({ "name": "Ada" }),
        ..Default::default()
    };
    let answered = plugin.handle_route(route, SECOND * 5).await.unwrap();
    assert_eq!(
        (answered.status, answered.body),
        (200, json!({ "hello": "Ada" }))
    );
    let err = plugin
        .invoke_action("SUMMARIZE", message("x", "agent-1"), SECOND * 5, None)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("no model plugin is active for TEXT_SMALL"),
        "a model from another plugin is asked of the host: {err}"
    );

    let err = plugin
        .invoke_action("NOPE", message("x", "agent-1"), SECOND * 5, None)
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "hello has no action named NOPE");

    let log = plugin.worker().log();
    assert!(
        log.iter()
            .any(|l| l.stream == "stdout" && l.text.contains("printing to stdout is fine")),
        "{log:?}"
    );
    assert!(
        log.iter()
            .any(|l| l.stream == "info" && l.text == "greeter service started")
    );
}

/// The file Node.js would import is the one loaded, whatever module format the plugin is published in: a
/// CommonJS `module.exports = plugin` named by a `main` without its extension, TypeScript's `export
/// default` compiled to CommonJS (`exports.default`), and a dual package whose ESM build sits under a
/// nested `node` condition next to a browser build that must not load.
#[tokio::test(flavor = "multi_thread")]
async fn commonjs_and_esm_entry_points_load() {
    let run = tempfile::tempdir().unwrap();
    for (fixture, action, answer) in [
        ("plugin-cjs", "CJS_PING", "cjs: hi"),
        ("plugin-cjs-default", "CJS_DEFAULT_PING", "cjs default"),
        ("plugin-dual", "DUAL_PING", "esm"),
    ] {
        let plugin = LoadedPlugin::load(
            &spec(fixture, run.path(), &[]),
            Arc::new(LocalRuntime::default()),
        )
        .await
        .unwrap_or_else(|e| panic!("{fixture}: {e}"));
        let actions: Vec<&str> = plugin
            .manifest()
            .actions
            .iter()
            .map(|a| a.name.as_str())
            .collect();
        assert_eq!(actions, [action], "{fixture}");
        let run1 = plugin
            .invoke_action(action, message("hi", "agent-1"), SECOND * 5, None)
            .await
            .unwrap();
        assert_eq!(run1.result["text"], answer, "{fixture}");
    }
}

/// A model plugin answers `model.invoke` with its own handlers: plughub's local model, deterministic.
#[tokio::test(flavor = "multi_thread")]
async fn a_model_plugin_answers_model_calls() {
    let run = tempfile::tempdir().unwrap();
    let mut local = spec("plugin-hello", run.path(), &[]);
    local.worker.package_dir = plughub_testkit::bundled_plugin("plugin-local-model");
    let plugin = LoadedPlugin::load(&local, Arc::new(LocalRuntime::default()))
        .await
        .unwrap();
    assert!(
        plugin
            .manifest()
            .models
            .iter()
            .any(|m| m == "TEXT_EMBEDDING")
    );
    let ask = |model: &'static str, params: Value| plugin.use_model(model, params, SECOND * 5);
    let first = ask("TEXT_SMALL", json!({ "prompt": "line one\nwhat now?" }))
        .await
        .unwrap();
    let second = ask("TEXT_SMALL", json!({ "prompt": "line one\nwhat now?" }))
        .await
        .unwrap();
    assert_eq!(first.result, second.result);
    let reply = first.result.as_str().unwrap();
    assert!(reply.ends_with("] what now?"), "{reply}");

    let vector = |v: &Invocation| -> Vec<f64> {
        v.result
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    let cosine = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let cats = vector(
        &ask("TEXT_EMBEDDING", json!({ "text": "cats purr softly" }))
            .await
            .unwrap(),
    );
    let cats2 = vector(
        &ask("TEXT_EMBEDDING", json!({ "text": "softly purr cats" }))
            .await
            .unwrap(),
    );
    let ships = vector(
        &ask("TEXT_EMBEDDING", json!({ "text": "ships sail north" }))
            .await
            .unwrap(),
    );
    assert_eq!(cats.len(), 384);
    assert!(
        (cosine(&cats, &cats2) - 1.0).abs() < 1e-9,
        "same words, same vector"
    );
    assert!(
        cosine(&cats, &ships).abs() < 0.9,
        "other words, another vector"
    );
    let tokens = ask("TEXT_TOKENIZER_ENCODE", json!({ "prompt": "héllo" }))
        .await
        .unwrap();
    let decoded = ask("TEXT_TOKENIZER_DECODE", json!({ "tokens": tokens.result }))
        .await
        .unwrap();
    assert_eq!(decoded.result, "héllo");
    let err = ask("IMAGE", json!({})).await.unwrap_err();
    assert_eq!(err.to_string(), "local-model provides no model IMAGE");
}

#[tokio::test(flavor = "multi_thread")]
async fn init_failures_are_clear() {
    let run = tempfile::tempdir().unwrap();
    let runtime = Arc::new(LocalRuntime::default());
    let err = LoadedPlugin::load(&spec("plugin-hello", run.path(), &[]), runtime.clone())
        .await
        .err()
        .unwrap();
    assert_eq!(err.to_string(), "HELLO_API_KEY is required");

    let started = std::time::Instant::now();
    let err = LoadedPlugin::load(&spec("plugin-stuck-init", run.path(), &[]), runtime.clone())
        .await
        .err()
        .unwrap();
    assert!(matches!(err, EngineError::Timeout { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("init did not answer within 5 s"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(15));

    let mut missing = spec("plugin-hello", run.path(), &[]);
    missing.worker.node = "/nonexistent/node".into();
    let err = LoadedPlugin::load(&missing, runtime.clone())
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("install Node.js"), "{err}");

    // A run folder too deep for a Unix socket's path: said so, with what to do, before anything starts.
    let deep = run.path().join("d".repeat(100));
    std::fs::create_dir_all(&deep).unwrap();
    let err = LoadedPlugin::load(&spec("plugin-hello", &deep, &[]), runtime)
        .await
        .err()
        .unwrap();
    assert!(
        err.to_string()
            .contains("use a data directory with a shorter path"),
        "{err}"
    );
}

/// Each hostile behaviour: a clear error for that execution, the worker ended where it must be, and the
/// host able to start the next one.
#[tokio::test(flavor = "multi_thread")]
async fn hostile_plugins_end_their_worker_and_nothing_else() {
    let run = tempfile::tempdir().unwrap();
    let runtime = Arc::new(LocalRuntime::default());
    let hostile = spec("plugin-hostile", run.path(), &[]);
    let load = || LoadedPlugin::load(&hostile, runtime.clone());
    let memory = || message("go", "agent-1");

    let plugin = load().await.unwrap();
    let err = plugin
        .invoke_action("THROW", memory(), SECOND * 5, None)
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "the plugin broke on purpose");
    let err = plugin
        .invoke_action("UNKNOWN_RUNTIME", memory(), SECOND * 5, None)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "plughub's runtime does not provide runtime.updateRelationship()"
    );
    let err = plugin
        .invoke_action("USE_MODEL", memory(), SECOND * 5, None)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("no model plugin is active for TEXT_SMALL"),
        "{err}"
    );
    let printed = plugin
        .invoke_action("HUGE_LINE", memory(), SECOND * 5, None)
        .await
        .unwrap();
    assert_eq!(printed.result["text"], "printed a huge line");
    let err = plugin
        .invoke_action("HUGE_RESULT", memory(), SECOND * 5, None)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("over the 1000000-byte cap"),
        "{err}"
    );
    let real = plugin
        .invoke_action("FORGE", memory(), SECOND * 5, None)
        .await
        .unwrap();
    assert_eq!(real.result["text"], "the real answer");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        plugin.worker().ignored_answers(),
        2,
        "forged answers are ignored"
    );
    assert!(
        plugin.worker().is_alive(),
        "errors in handlers do not end the worker"
    );
    let cut = plugin.worker().log();
    assert!(
        cut.iter()
            .any(|l| l.text.ends_with("… [cut: 2,991,808 more bytes]")),
        "a huge printed line is cut"
    );

    for (action, expected) in [
        ("LEAK", "the plugin worker ended: it was killed by signal 6"),
        ("HANG", "action HANG did not answer within 1 s"),
        ("SPIN", "action SPIN did not answer within 1 s"),
        ("EXIT", "the plugin worker ended: it exited with code 7"),
        ("GARBAGE", "the plugin worker ended: it broke the protocol"),
    ] {
        let plugin = load().await.unwrap();
        // LEAK is to end by its heap, not by the time: filling 128 MB takes longer than a second on a
        // machine busy with the other tests.
        let timeout = if action == "LEAK" {
            SECOND * 30
        } else {
            SECOND
        };
        let err = plugin
            .invoke_action(action, memory(), timeout, None)
            .await
            .unwrap_err();
        assert!(err.to_string().starts_with(expected), "{action}: {err}");
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!plugin.worker().is_alive(), "{action}: the worker is ended");
        let pid = plugin.worker().pid();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists()
                || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .is_ok_and(|s| s.contains(") Z ")),
            "{action}: the process is gone"
        );
    }
    // And the host goes on: a fresh worker of the same plugin answers.
    let plugin = load().await.unwrap();
    let err: Value = json!(
        plugin
            .invoke_action("THROW", memory(), SECOND * 5, None)
            .await
            .unwrap_err()
            .to_string()
    );
    assert_eq!(err, json!("the plugin broke on purpose"));
}

/// Without the sandbox too, a worker leads a session and a process group of its own: its `kill(0, …)`
/// does not reach plughub's group, nor a SIGCONT plughub's session.
#[tokio::test(flavor = "multi_thread")]
async fn an_unsandboxed_worker_has_a_session_and_group_of_its_own() {
    let run = tempfile::tempdir().unwrap();
    let plugin = LoadedPlugin::load(
        &spec("plugin-hostile", run.path(), &[]),
        Arc::new(LocalRuntime::default()),
    )
    .await
    .unwrap();
    // `/proc/<pid>/stat` after the parenthesised name: state, parent, group, session.
    let ids = |pid: u32| -> (u32, u32) {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let fields: Vec<u32> = stat[stat.rfind(')').unwrap() + 2..]
            .split_whitespace()
            .skip(2)
            .take(2)
            .map(|f| f.parse().unwrap())
            .collect();
        (fields[0], fields[1])
    };
    let worker = plugin.worker().pid();
    assert_eq!(ids(worker), (worker, worker), "its own group and session");
    let ours = ids(std::process::id());
    assert_ne!(ids(worker).0, ours.0);
    assert_ne!(ids(worker).1, ours.1);
}

/// A runtime that panics on every call, as a bug in plughub's would.
struct Panicking;

impl plughub_engine::RuntimeHost for Panicking {
    fn call<'a>(&'a self, method: &'a str, _: Vec<Value>) -> plughub_engine::RuntimeFuture<'a> {
        Box::pin(async move { panic!("a bug answering {method}") })
    }
}

/// A malformed runtime call is thrown back in the plugin, and even a runtime that panics answers: the
/// call never hangs and the worker goes on.
#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_runtime_call_is_thrown_back_in_the_plugin() {
    let run = tempfile::tempdir().unwrap();
    let hostile = spec("plugin-hostile", run.path(), &[]);
    let plugin = LoadedPlugin::load(&hostile, Arc::new(LocalRuntime::default()))
        .await
        .unwrap();
    let err = plugin
        .invoke_action(
            "MALFORMED_MEMORY",
            message("go", "agent-1"),
            SECOND * 5,
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "createMemory: a memory is an object, not a string"
    );

    let plugin = LoadedPlugin::load(&hostile, Arc::new(Panicking))
        .await
        .unwrap();
    for _ in 0..2 {
        let err = plugin
            .invoke_action(
                "MALFORMED_MEMORY",
                message("go", "agent-1"),
                SECOND * 5,
                None,
            )
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "plughub failed while answering runtime.createMemory()"
        );
    }
    assert!(plugin.worker().is_alive());
}
