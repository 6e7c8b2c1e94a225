//! Running installed plugins through the binary: a fixture plugin installed from its folder, inspected,
//! its action and provider run, each execution recorded with secrets cut out.

use crate::common::*;
use plughub_store::EventFilter;

#[tokio::test(flavor = "multi_thread")]
async fn run_provide_and_inspect_an_installed_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    share_pnpm(d).await;
    let ok = |args: &[&str]| {
        let out = run(plughub(d).args(args));
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        (text(&out.stdout), text(&out.stderr))
    };
    ok(&["admin", "create-org", "acme"]);
    // Search is public: what an organisation installs, inspects and runs never shows in it. The query
    // names what only this organisation's inspection and runs reveal (component names, the plugin's).
    let searched = || {
        let (stdout, _) = ok(&[
            "search",
            "hello",
            "greeter",
            "registered_in_init",
            "politeness",
            "--facets",
            "--json",
        ]);
        serde_json::from_str::<Value>(&stdout).unwrap()
    };
    let search_before = searched();
    let hello = plughub_testkit::fixture_plugin("plugin-hello");
    ok(&[
        "install",
        hello.to_str().unwrap(),
        "--org",
        "acme",
        "--grant",
    ]);

    let out = run(plughub(d).args([
        "run",
        "@fixture/plugin-hello",
        "HELLO",
        "--org",
        "acme",
        "--text",
        "Ada",
    ]));
    assert!(
        text(&out.stderr).contains("needs HELLO_API_KEY before it can be used"),
        "required settings first: {}",
        text(&out.stderr)
    );
    let secret = "hk-9a8b7c6d5e";
    ok(&[
        "configure",
        "@fixture/plugin-hello",
        "--org",
        "acme",
        &format!("HELLO_API_KEY={secret}"),
        "HELLO_LOUD=true",
    ]);

    let (stdout, _) = ok(&["inspect", "@fixture/plugin-hello", "--org", "acme"]);
    assert!(
        stdout.contains("actions: HELLO, SUMMARIZE, REGISTERED_IN_INIT"),
        "{stdout}"
    );
    assert!(stdout.contains("services: greeter"), "{stdout}");

    let (stdout, stderr) = ok(&[
        "run",
        "@fixture/plugin-hello",
        "HELLO",
        "--org",
        "acme",
        "--text",
        "Ada",
    ]);
    assert_eq!(stdout.trim(), "Hello, Ada!");
    assert!(stderr.contains("… thinking…"), "callbacks stream: {stderr}");
    let (stdout, _) = ok(&[
        "run",
        "@fixture/plugin-hello",
        "HELLO",
        "--org",
        "acme",
        "--text",
        "Bo",
        "--json",
    ]);
    let answer: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(answer["result"]["text"], "Hello, Bo!");
    assert_eq!(answer["callbacks"].as_array().unwrap().len(), 2);
    assert_eq!(
        answer["result"]["values"]["greetings"], 2,
        "the plugin's cache is kept in the store from one run to the next"
    );
    assert_eq!(
        answer["result"]["values"]["serviceCount"], 1,
        "the plugin's service was started with it"
    );

    let (stdout, _) = ok(&[
        "provide",
        "@fixture/plugin-hello",
        "GREETING_STYLE",
        "--org",
        "acme",
        "--agent",
        "eliza",
    ]);
    assert_eq!(stdout.trim(), "Greetings start with Hello");

    let (stdout, _) = ok(&[
        "evaluate",
        "@fixture/plugin-hello",
        "POLITENESS",
        "--org",
        "acme",
        "--text",
        "please",
        "--json",
    ]);
    let evaluated: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(evaluated["result"]["values"]["polite"], true);
    let search_after = searched();
    assert_eq!(search_after, search_before);
    assert!(
        !search_after.to_string().contains("@fixture/plugin-hello"),
        "{search_after}"
    );

    let out = run(plughub(d).args(["run", "@fixture/plugin-hello", "NOPE", "--org", "acme"]));
    assert!(
        text(&out.stderr).contains("hello has no action named NOPE"),
        "{}",
        text(&out.stderr)
    );

    // The log of executions, oldest of those shown first: the last two, then all of them.
    let (stdout, _) = ok(&["logs", "--org", "acme", "--last", "2", "--json"]);
    let shown: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let components: Vec<&str> = shown
        .iter()
        .map(|e| e["metadata"]["component"].as_str().unwrap())
        .collect();
    assert_eq!(components, ["POLITENESS", "NOPE"], "{stdout}");
    assert_eq!(shown[1]["event_type"], "plugin_error_occurred");
    let (stdout, _) = ok(&["logs", "--org", "acme"]);
    let lines: Vec<&str> = stdout.lines().filter(|l| !l.starts_with(' ')).collect();
    assert_eq!(
        lines.len(),
        5,
        "two runs, a provider, an evaluator, a failure: {stdout}"
    );
    assert!(lines[0].contains("action HELLO"), "{stdout}");
    assert!(lines[4].contains("failed:"), "{stdout}");
    assert!(!stdout.contains(secret));

    let store = store_of(d).await;
    let executed = executions(&store).await;
    assert_eq!(executed.len(), 4, "two runs, a provider and an evaluator");
    let first = &executed[0].metadata;
    assert_eq!(
        (
            first["kind"].as_str(),
            first["component"].as_str(),
            first["status"].as_str()
        ),
        (Some("action"), Some("HELLO"), Some("ok"))
    );
    assert!(first["duration_ms"].as_f64().unwrap() > 0.0);
    assert!(first["memory_bytes"].as_u64().unwrap() > 1_000_000);
    assert!(
        first["log"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l.as_str().unwrap().contains("printing to stdout is fine")),
        "{first}"
    );
    let failed = store
        .events(&EventFilter {
            event_type: Some(plughub_domain::EventType::PluginErrorOccurred),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(failed.last().unwrap().metadata["component"], "NOPE");
    let all = store.events(&EventFilter::default()).await.unwrap();
    assert!(
        all.iter().all(|e| !e.metadata.to_string().contains(secret)),
        "no secret in any event"
    );
    let provided = store
        .things(
            plughub_domain::ThingKind::PluginAction,
            Some(&store.group_by_name("acme").await.unwrap().unwrap().id),
        )
        .await
        .unwrap();
    let names: Vec<&str> = provided.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "@fixture/plugin-hello:HELLO",
            "@fixture/plugin-hello:REGISTERED_IN_INIT",
            "@fixture/plugin-hello:SUMMARIZE"
        ]
    );
    store.close().await;
}
