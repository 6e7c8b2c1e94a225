//! `useModel` of one plugin answered by the model plugin its group has active, each in its own worker:
//! plughub's bundled offline model, and a fixture model taking precedence by priority for the one type it
//! provides. Plus a plugin's route called through the binary.

use crate::common::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn use_model_reaches_the_group_s_active_model_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    share_pnpm(d).await;
    let ok = |args: &[&str]| {
        let out = run(plughub(d).args(args));
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        text(&out.stdout)
    };
    let summarize = |text_arg: &str| {
        run(plughub(d).args([
            "run",
            "@fixture/plugin-hello",
            "SUMMARIZE",
            "--org",
            "acme",
            "--agent",
            "ada",
            "--text",
            text_arg,
            "--json",
        ]))
    };
    hello_in_acme(d, "hk-1234");
    ok(&["agent", "create", "ada", "--org", "acme"]);
    ok(&[
        "activate",
        "@fixture/plugin-hello",
        "--org",
        "acme",
        "--agent",
        "ada",
    ]);
    // Carried in the binary: installed with no registry involved.
    let installed = ok(&[
        "install",
        "@plughub/plugin-local-model",
        "--org",
        "acme",
        "--grant",
    ]);
    assert!(
        installed.contains("installed @plughub/plugin-local-model@1.0.0"),
        "{installed}"
    );

    // Updated from the binary too, never from a registry where somebody else could publish the name.
    let same = ok(&["update", "@plughub/plugin-local-model", "--org", "acme"]);
    assert!(same.contains("at 1.0.0 already"), "{same}");
    let other = run(plughub(d).args([
        "update",
        "@plughub/plugin-local-model",
        "9.0.0",
        "--org",
        "acme",
    ]));
    assert!(
        text(&other.stderr).contains("carries @plughub/plugin-local-model@1.0.0 only"),
        "{}",
        text(&other.stderr)
    );

    // Installed is not active: the model is not used until the group activates it.
    let out = summarize("Ada is here");
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("no model plugin is active for TEXT_SMALL in acme"),
        "{}",
        text(&out.stderr)
    );

    ok(&[
        "configure",
        "@plughub/plugin-local-model",
        "--org",
        "acme",
        "LOCAL_MODEL_EMBEDDING_DIMENSIONS=64",
    ]);
    ok(&[
        "activate",
        "@plughub/plugin-local-model",
        "--org",
        "acme",
        "--agent",
        "ada",
    ]);
    let out = summarize("Ada is here");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let answer: Value = serde_json::from_str(&text(&out.stdout)).unwrap();
    let reply = answer["result"]["text"].as_str().unwrap().to_string();
    assert!(
        reply.starts_with("[local-model TEXT_SMALL ") && reply.ends_with("] Ada is here"),
        "{reply}"
    );
    assert_eq!(
        answer["result"]["values"]["dimensions"], 64,
        "the model plugin runs with its own settings"
    );
    assert_eq!(answer["callbacks"][0]["text"], reply.as_str());
    assert_eq!(
        answer["result"]["values"]["state"], "Greetings start with Hello",
        "composeState asks the plugin's providers"
    );
    let again: Value = serde_json::from_str(&text(&summarize("Ada is here").stdout)).unwrap();
    assert_eq!(again["result"]["text"], reply.as_str(), "deterministic");
    let other: Value = serde_json::from_str(&text(&summarize("Bo is here").stdout)).unwrap();
    assert_ne!(other["result"]["text"], reply.as_str());

    // A second model plugin with a higher priority answers the type it provides; the embedding, which it
    // does not provide, still comes from the local model. Its key never reaches the calling plugin.
    let echo = plughub_testkit::fixture_plugin("plugin-echo-model");
    ok(&[
        "install",
        echo.to_str().unwrap(),
        "--org",
        "acme",
        "--grant",
    ]);
    let key = "ek-5f4e3d2c1b";
    ok(&[
        "configure",
        "@fixture/plugin-echo-model",
        "--org",
        "acme",
        &format!("ECHO_MODEL_KEY={key}"),
    ]);
    ok(&[
        "activate",
        "@fixture/plugin-echo-model",
        "--org",
        "acme",
        "--agent",
        "ada",
        "--priority",
        "10",
    ]);
    let out = summarize("Cy");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let answer: Value = serde_json::from_str(&text(&out.stdout)).unwrap();
    assert_eq!(answer["result"]["text"], "echo(***): Summarise:\nCy");
    assert_eq!(answer["result"]["values"]["dimensions"], 64);

    let store = store_of(d).await;
    let executed = executions(&store).await;
    let models: Vec<(&str, &str)> = executed
        .iter()
        .filter(|e| e.metadata["kind"] == "model")
        .map(|e| {
            assert_eq!(e.metadata["called_by"], "@fixture/plugin-hello");
            assert_eq!(e.metadata["agent"], "ada");
            (
                e.metadata["plugin"].as_str().unwrap(),
                e.metadata["component"].as_str().unwrap(),
            )
        })
        .collect();
    let local = ("@plughub/plugin-local-model", "TEXT_SMALL");
    let embedding = ("@plughub/plugin-local-model", "TEXT_EMBEDDING");
    assert_eq!(
        models,
        [
            local,
            embedding,
            local,
            embedding,
            local,
            embedding,
            ("@fixture/plugin-echo-model", "TEXT_SMALL"),
            embedding
        ],
        "each model call is an execution of the model plugin"
    );
    let everything = store
        .events(&plughub_store::EventFilter::default())
        .await
        .unwrap();
    assert!(
        everything
            .iter()
            .all(|e| !e.metadata.to_string().contains(key)),
        "the model plugin's key is in no event"
    );
    store.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_route_answers_through_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    share_pnpm(d).await;
    let ok = |args: &[&str]| {
        let out = run(plughub(d).args(args));
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        text(&out.stdout)
    };
    hello_in_acme(d, "hk-1234");
    let answer: Value = serde_json::from_str(&ok(&[
        "route",
        "@fixture/plugin-hello",
        "get",
        "/hello",
        "--query",
        "name=Ada",
        "--org",
        "acme",
        "--json",
    ]))
    .unwrap();
    assert_eq!(answer["result"]["status"], 200);
    assert_eq!(answer["result"]["body"], json!({ "hello": "Ada" }));

    let out = run(plughub(d).args([
        "route",
        "@fixture/plugin-hello",
        "POST",
        "/nowhere",
        "--org",
        "acme",
    ]));
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("hello has no route POST /nowhere"),
        "{}",
        text(&out.stderr)
    );
    let out = run(plughub(d).args([
        "route",
        "@fixture/plugin-hello",
        "POST",
        "/hello",
        "--body",
        "{not json",
        "--org",
        "acme",
    ]));
    assert!(text(&out.stderr).contains("--body is not JSON"));
}
