//! The escape battery: a hostile plugin tries every way out, in the OS sandbox, with Node's permission
//! model on (as plughub runs plugins) and off (to show the OS layers hold by themselves). Every attempt
//! is blocked, the loopback listener sees no connection, and the host starts the next worker.

use crate::common::*;
use plughub_engine::SandboxPolicy;
use std::net::TcpListener;

fn sandboxed(run: &std::path::Path, node_permissions: bool) -> PluginSpec {
    let mut spec = spec("plugin-escape", run, &[]);
    spec.worker.sandbox = Some(SandboxPolicy {
        memory_mb: 256,
        scratch_mb: 16,
        node_permissions,
        ..SandboxPolicy::default()
    });
    spec.worker.memory_mb = None;
    spec
}

#[tokio::test(flavor = "multi_thread")]
async fn every_escape_is_blocked() {
    let run = tempfile::tempdir().unwrap();
    let secret_store = run.path().join("store.db");
    std::fs::write(&secret_store, "the store").unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let loopback_url = format!("http://127.0.0.1:{port}/");
    let runtime = Arc::new(LocalRuntime::default());

    for node_permissions in [true, false] {
        let plugin = LoadedPlugin::load(&sandboxed(run.path(), node_permissions), runtime.clone())
            .await
            .unwrap();
        let log = plugin.worker().log();
        assert!(
            log.iter()
                .any(|l| l.stream == "sandbox" && l.text.starts_with("namespaces:")),
            "the log says what is in force: {log:?}"
        );
        assert!(
            log.iter()
                .any(|l| l.text.starts_with("a session and process group of its own")),
            "its signals reach only its own processes: {log:?}"
        );
        let node = std::env::var_os("PLUGHUB_NODE").map_or_else(|| "node".into(), PathBuf::from);
        if plughub_sandbox::probe(&node).landlock_scopes_signals {
            assert!(
                log.iter()
                    .any(|l| l.text.contains("signals scoped to the sandbox")),
                "{log:?}"
            );
        }
        let scratch = attempt(&plugin, "WRITE_SCRATCH", "").await;
        assert_eq!(scratch, "ESCAPED: fine", "its scratch directory works");
        let store = secret_store.display().to_string();
        let other_plugin = fixture("plugin-hello").join("package.json");
        let other_plugin = other_plugin.display().to_string();
        for (action, text) in [
            ("READ_FILE", "/etc/shadow"),
            ("LIST_DIR", "/root"),
            ("READ_FILE", store.as_str()),
            ("READ_FILE", other_plugin.as_str()),
            ("WRITE_FILE", "/usr/escaped"),
            ("WRITE_FILE", "/escaped"),
            ("SPAWN", ""),
            ("EXEC_SCRATCH", ""),
            ("ENV", ""),
            ("WHOAMI", ""),
            ("CONNECT", port.as_str()),
            ("FETCH", loopback_url.as_str()),
            // The scratch directory is full at its cap: ENOSPC, the host's disk untouched.
            ("FILL_DISK", ""),
        ] {
            let answer = attempt(&plugin, action, text).await;
            assert!(
                answer.starts_with("blocked:"),
                "{action} {text} (node permissions {node_permissions}): {answer}"
            );
        }
        // An endless loop is ended at its timeout, with its worker.
        let spun = plugin
            .invoke_action("ENDLESS", message("", "agent-1"), SECOND * 2, None)
            .await
            .unwrap_err();
        assert!(matches!(spun, EngineError::Timeout { .. }), "{spun}");
        let plugin = LoadedPlugin::load(&sandboxed(run.path(), node_permissions), runtime.clone())
            .await
            .unwrap();
        // A memory bomb ends its worker (the cgroup's limit, or V8's), and nothing else.
        let bomb = attempt(&plugin, "MEMORY_BOMB", "").await;
        assert!(bomb.starts_with("blocked:"), "{bomb}");
        // A fork bomb meets Node's permission model, or without it the process caps (rlimit and
        // cgroup): it never gets its 200 processes.
        let plugin = LoadedPlugin::load(&sandboxed(run.path(), node_permissions), runtime.clone())
            .await
            .unwrap();
        let forks = attempt(&plugin, "FORK_BOMB", "").await;
        eprintln!("FORK_BOMB (node permissions {node_permissions}): {forks}");
        assert!(forks.starts_with("blocked:"), "{forks}");
    }
    assert!(
        listener.accept().is_err(),
        "the loopback listener saw no connection"
    );
    assert!(!std::path::Path::new("/usr/escaped").exists());
    assert!(!std::path::Path::new("/escaped").exists());

    // The host goes on: a fresh sandboxed worker of another plugin answers.
    let settings = [("HELLO_API_KEY", "k-1"), ("HELLO_GREETING", "Hello")];
    let mut hello = spec("plugin-hello", run.path(), &settings);
    hello.worker.sandbox = Some(SandboxPolicy::default());
    let plugin = LoadedPlugin::load(&hello, runtime).await.unwrap();
    let greeted = plugin
        .invoke_action("HELLO", message("Ada", "agent-1"), SECOND * 5, None)
        .await
        .unwrap();
    assert_eq!(greeted.result["text"], "Hello, Ada.");
    // Nothing left behind in the run directory but the host script and the Node flag it remembers.
    drop(plugin);
}

/// The one way out: plughub's egress proxy, for granted hosts only. `fetch` and `http` reach a trusted
/// loopback server through it; a host not granted, and a granted name that resolves to loopback, do not,
/// and their listener sees no connection.
#[tokio::test(flavor = "multi_thread")]
async fn only_granted_hosts_are_reached_through_the_egress_proxy() {
    use std::io::{Read, Write};
    let run = tempfile::tempdir().unwrap();
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    let served = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = served.clone();
    std::thread::spawn(move || {
        for mut stream in server.incoming().flatten() {
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut buffer = [0u8; 4096];
            let _ = stream.read(&mut buffer);
            let answer: &[u8] = if buffer.starts_with(b"GET /moved ") {
                b"HTTP/1.1 302 Found\r\nlocation: /\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            } else {
                b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
            };
            let _ = stream.write_all(answer);
        }
    });
    let runtime = Arc::new(LocalRuntime::default());
    let load = |domains: &[&str], trusted: bool| {
        let mut spec = sandboxed(run.path(), true);
        spec.worker.egress = Some(plughub_engine::EgressPolicy {
            domains: domains.iter().map(|d| d.to_string()).collect(),
            trusted_addresses: if trusted {
                vec!["127.0.0.1".parse().unwrap()]
            } else {
                Vec::new()
            },
            ..Default::default()
        });
        let runtime = runtime.clone();
        async move { LoadedPlugin::load(&spec, runtime).await }
    };

    // An operator-trusted address, granted: both ways of asking get through.
    let plugin = load(&["127.0.0.1"], true).await.unwrap();
    let url = format!("http://127.0.0.1:{port}/");
    assert_eq!(attempt(&plugin, "FETCH", &url).await, "ESCAPED: 200");
    assert_eq!(attempt(&plugin, "HTTP_GET", &url).await, "ESCAPED: 200");
    assert_eq!(served.load(std::sync::atomic::Ordering::SeqCst), 2);
    // fetch follows a redirect as undici does, each hop a tunnel of its own.
    let moved = format!("http://127.0.0.1:{port}/moved");
    assert_eq!(attempt(&plugin, "FETCH", &moved).await, "ESCAPED: 200");
    assert_eq!(served.load(std::sync::atomic::Ordering::SeqCst), 4);
    // A host that is not granted.
    let other = format!("http://localhost:{port}/");
    let refused = attempt(&plugin, "FETCH", &other).await;
    assert!(
        refused.contains("not among the plugin's granted domains"),
        "{refused}"
    );
    let log = plugin.worker().log();
    assert!(
        log.iter().any(|l| l.stream == "egress"
            && l.text
                .starts_with(&format!("CONNECT 127.0.0.1:{port} -> 200"))),
        "each request is logged: {log:?}"
    );

    // A granted name that resolves to loopback, with nothing trusted: refused at the address.
    let plugin = load(&["localhost"], false).await.unwrap();
    let refused = attempt(&plugin, "FETCH", &other).await;
    assert!(refused.contains("loopback address"), "{refused}");
    let refused = attempt(&plugin, "HTTP_GET", &url).await;
    assert!(refused.contains("loopback address"), "{refused}");
    assert_eq!(
        served.load(std::sync::atomic::Ordering::SeqCst),
        4,
        "the refused requests never reached the server"
    );
}
