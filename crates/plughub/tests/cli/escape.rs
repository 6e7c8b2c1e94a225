//! The escape battery as an organisation meets it: a hostile plugin installed next to another with a
//! secret, its permissions declared and granted, every way out tried through `plughub run`. Each attempt
//! is blocked, each is recorded (the execution with its answer, a refused network request, a refused
//! runtime call), and the host and the other plugin go on.

use crate::common::*;
use plughub_domain::EventType;
use plughub_store::EventFilter;
use std::net::TcpListener;

/// Runs an action of the escape plugin; what it answered, or why its worker ended.
fn attempt(d: &std::path::Path, action: &str, input: &str, timeout: &str) -> String {
    let out = run(plughub(d).args([
        "run",
        "@fixture/plugin-escape",
        action,
        "--org",
        "acme",
        "--text",
        input,
        "--timeout",
        timeout,
        "--json",
    ]));
    if out.status.success() {
        let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
        answer["result"]["text"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    } else {
        format!("blocked: the worker ended: {}", text(&out.stderr))
    }
}

async fn events_of(d: &std::path::Path, event_type: EventType) -> Vec<Value> {
    let store = store_of(d).await;
    let events = store
        .events(&EventFilter {
            event_type: Some(event_type),
            ..Default::default()
        })
        .await
        .unwrap();
    events.into_iter().map(|e| e.metadata).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hostile_plugin_is_contained_and_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    share_pnpm(d).await;
    let hello_key = "hk-7f6e5d4c3b2a";
    hello_in_acme(d, hello_key);
    let ok = |args: &[&str]| {
        let out = run(plughub(d).args(args));
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        text(&out.stdout)
    };
    let escape = plughub_testkit::fixture_plugin("plugin-escape");
    // The analysis sees it for what it is; an owner installs it anyway, to see it contained.
    let installed = ok(&[
        "install",
        escape.to_str().unwrap(),
        "--org",
        "acme",
        "--accept-risk",
        "owner",
    ]);
    assert!(installed.contains("asks for (declared):"), "{installed}");
    assert!(
        installed.contains("network.external: localhost"),
        "{installed}"
    );
    assert!(
        installed.contains("secrets.access: ESCAPE_TOKEN"),
        "{installed}"
    );
    assert!(installed.contains("not granted"), "{installed}");

    // Not granted, it does not start at all.
    let refused = attempt(d, "WHOAMI", "", "10");
    assert!(
        refused.contains("asks for permissions not granted in acme")
            && refused.contains("plughub grant @fixture/plugin-escape --org acme"),
        "{refused}"
    );
    ok(&["grant", "@fixture/plugin-escape", "--org", "acme"]);
    let own_token = "et-0a1b2c3d4e5f";
    ok(&[
        "configure",
        "@fixture/plugin-escape",
        "--org",
        "acme",
        &format!("ESCAPE_TOKEN={own_token}"),
    ]);

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let store_file = d.join("plughub.db").display().to_string();
    let hello_files = std::fs::read_dir(d.join("packages/pkgs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.display().to_string().contains("plugin-hello"))
        .expect("hello's package folder")
        .join("package.json")
        .display()
        .to_string();
    let granted_loopback = format!("http://localhost:{port}/");
    let battery: Vec<(&str, String)> = vec![
        ("READ_FILE", "/etc/shadow".into()),
        ("LIST_DIR", "/root".into()),
        ("READ_FILE", store_file.clone()),
        ("READ_FILE", hello_files),
        ("WRITE_FILE", "/usr/escaped".into()),
        ("SPAWN", String::new()),
        ("FORK_BOMB", String::new()),
        ("CONNECT", port.clone()),
        ("FETCH", granted_loopback),
        ("FETCH", "http://not-granted.plughub.test/".into()),
        ("STORAGE", String::new()),
        ("PUBLISH", String::new()),
        ("SECRET", "HELLO_API_KEY".into()),
        ("ENV", String::new()),
        ("FILL_DISK", String::new()),
        ("MEMORY_BOMB", String::new()),
    ];
    for (action, target) in &battery {
        let answer = attempt(d, action, target, "20");
        eprintln!("{action} {target}: {answer}");
        assert!(
            answer.starts_with("blocked:"),
            "{action} {target}: {answer}"
        );
        if answer.starts_with("blocked: the worker ended:") {
            // Only a worker ended for what it did counts, not one that never started.
            assert!(
                answer.contains("the plugin worker ended"),
                "{action} {target}: {answer}"
            );
        }
        assert!(!answer.contains(hello_key), "{action}: {answer}");
    }
    let endless = attempt(d, "ENDLESS", "", "2");
    assert!(endless.contains("did not answer within 2 s"), "{endless}");

    // Its own secret is its own.
    assert_eq!(
        attempt(d, "SECRET", "ESCAPE_TOKEN", "10"),
        "ESCAPED: ***",
        "its own token reaches it, and is cut out of what it answers"
    );

    // Recorded: every attempt as an execution with its answer or its error, the network requests as
    // refused, the runtime calls as denied.
    let store = store_of(d).await;
    let mut runs = executions(&store).await;
    runs.extend(
        store
            .events(&EventFilter {
                event_type: Some(EventType::PluginErrorOccurred),
                ..Default::default()
            })
            .await
            .unwrap(),
    );
    for (action, _) in &battery {
        let recorded = runs.iter().any(|e| {
            e.metadata["component"] == *action
                && (e.metadata["text"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("blocked:"))
                    || e.metadata["error"].is_string())
        });
        assert!(recorded, "{action} is recorded");
    }
    let requests = events_of(d, EventType::PluginNetworkRequest).await;
    let refused_to = |host: &str| {
        requests
            .iter()
            .any(|r| r["host"] == host && r["status"] == 403 && r["refused"].is_string())
    };
    assert!(refused_to("localhost"), "{requests:?}");
    assert!(refused_to("not-granted.plughub.test"), "{requests:?}");
    let denied = events_of(d, EventType::PluginAccessDenied).await;
    for (call, permission) in [
        ("getCache", "storage.read"),
        ("emitEvent", "events.publish"),
    ] {
        assert!(
            denied
                .iter()
                .any(|e| e["call"] == call && e["permission"] == permission),
            "{call}: {denied:?}"
        );
    }
    for event in store.events(&EventFilter::default()).await.unwrap() {
        let metadata = event.metadata.to_string();
        assert!(!metadata.contains(hello_key) && !metadata.contains(own_token));
    }

    // 10 requests a minute for the plugin, counted across processes (each `run` is one). The two above
    // may or may not still be in the window, so the first refusal for the rate comes at the 9th to the
    // 11th request made now, and none before.
    let mut first_over = None;
    for i in 0..11 {
        let answer = attempt(d, "FETCH", "http://not-granted.plughub.test/", "10");
        if answer.contains("(429)") {
            assert!(answer.contains("over 10 requests a minute"), "{answer}");
            first_over = Some(i);
            break;
        }
        assert!(answer.contains("(403)"), "{answer}");
    }
    let first_over = first_over.expect("the rate was reached");
    assert!(
        (8..=10).contains(&first_over),
        "refused at request {}",
        first_over + 1
    );

    // Nothing got out, and the host and the other plugin go on.
    assert!(listener.accept().is_err(), "the listener saw no connection");
    assert!(!std::path::Path::new("/usr/escaped").exists());
    let out = ok(&[
        "run",
        "@fixture/plugin-hello",
        "HELLO",
        "--org",
        "acme",
        "--text",
        "Ada",
    ]);
    assert!(out.contains("Ada"), "{out}");

    // A revoked secret is missing again: the plugin does not run until it is granted back.
    ok(&[
        "revoke",
        "@fixture/plugin-escape",
        "--org",
        "acme",
        "--secret",
        "ESCAPE_TOKEN",
    ]);
    let view: Value = serde_json::from_str(&ok(&[
        "permissions",
        "@fixture/plugin-escape",
        "--org",
        "acme",
        "--json",
    ]))
    .unwrap();
    assert_eq!(
        view["missing"]["secrets.access"],
        serde_json::json!(["ESCAPE_TOKEN"])
    );
    assert!(attempt(d, "WHOAMI", "", "10").contains("not granted"));
}
