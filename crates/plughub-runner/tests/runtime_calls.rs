//! The store-backed runtime an installed instance's plugin calls: whatever the plugin passes, every
//! method answers, and the runtime goes on serving.

use plughub_domain::Plan;
use plughub_engine::RuntimeHost;
use plughub_lifecycle::{InstallOptions, Installer};
use plughub_runner::StoreRuntime;
use plughub_testkit::http::LoopbackNpm;
use plughub_testkit::runtime_calls::any_call;
use plughub_testkit::tarball::package;
use plughub_testkit::{BACKENDS, TestBackend, TestStore};
use proptest::test_runner::{Config, TestRunner};
use serde_json::json;
use std::time::Duration;

/// What the runtime of an instance needs to stay alive: its store, registry and folders.
pub struct Running {
    pub store: TestStore,
    pub runtime: StoreRuntime,
    _npm: LoopbackNpm,
    _dir: tempfile::TempDir,
}

/// The runtime of `@acme/plugin-keeper` installed in a new organisation `acme` on `plan`, granted every
/// storage, knowledge and event permission, running for the agent `eliza`.
pub async fn store_runtime(backend: TestBackend, plan: Plan) -> Running {
    let t = TestStore::new(backend).await;
    let mut tx = t.store.begin().await.unwrap();
    tx.create_group("acme", plan, None, "test").await.unwrap();
    tx.commit().await.unwrap();
    let npm = LoopbackNpm::start().await;
    let dir = tempfile::tempdir().unwrap();
    let name = "@acme/plugin-keeper";
    let manifest = json!({ "name": name, "version": "1.0.0", "type": "module", "main": "index.js",
        "keywords": ["elizaos"],
        "plughub": { "permissions": ["storage.read", "storage.write", "knowledge.query", "events.publish"] } });
    npm.publish_version(
        manifest.clone(),
        package(&manifest, &[("index.js", "export default {};")]),
        None,
    );
    let packages = dir.path().join("packages");
    let inst = Installer::open(t.store.clone(), &packages, &npm.url)
        .await
        .unwrap();
    // The pnpm other test binaries installed, when there is one.
    let shared_tools = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("tools");
    std::fs::create_dir_all(&packages).unwrap();
    if shared_tools.exists() {
        std::os::unix::fs::symlink(&shared_tools, packages.join("tools")).unwrap();
    }
    let grant = InstallOptions {
        grant: true,
        ..InstallOptions::by("alice")
    };
    inst.install("acme", name, &grant).await.unwrap();
    let keys = plughub_secrets::KeyRing::load_or_create(&dir.path().join("keys.json")).unwrap();
    let context = inst.execution_context("acme", name, &keys).await.unwrap();
    Running {
        runtime: StoreRuntime::new(t.store.clone(), &context, "eliza"),
        store: t,
        _npm: npm,
        _dir: dir,
    }
}

/// Any method with any JSON arguments: an answer (`Ok` or `Err`) always comes back, never a panic or a
/// call left hanging, and a well-formed call still works after each.
#[test]
fn every_runtime_method_answers_any_json() {
    let tokio = tokio::runtime::Runtime::new().unwrap();
    for backend in BACKENDS {
        let running = tokio.block_on(store_runtime(backend, Plan::Pro));
        let runtime = &running.runtime;
        let mut runner = TestRunner::new(Config {
            cases: 200,
            failure_persistence: None,
            ..Config::default()
        });
        runner
            .run(&any_call(), |(method, params)| {
                let answer = tokio.block_on(async {
                    tokio::time::timeout(Duration::from_secs(10), runtime.call(method, params))
                        .await
                });
                proptest::prop_assert!(answer.is_ok(), "{method} did not answer");
                let again = tokio.block_on(runtime.call("getCache", vec![json!("k")]));
                proptest::prop_assert!(again.is_ok(), "{backend:?}: {again:?}");
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{backend:?}: {e}"));
        for malformed in [json!("x"), json!(7), json!(["a"]), json!(null)] {
            let answer = tokio.block_on(runtime.call("createMemory", vec![malformed.clone()]));
            assert!(
                answer
                    .as_ref()
                    .is_err_and(|e| e.starts_with("createMemory: a memory is an object, not")),
                "{backend:?} {malformed}: {answer:?}"
            );
        }
        tokio.block_on(running.store.cleanup());
    }
}

/// A full storage quota fails the plugin's call with the plan's figure and what to do; deleting makes
/// room again.
#[tokio::test(flavor = "multi_thread")]
async fn a_full_storage_quota_fails_the_call_with_the_plans_figure() {
    let running = store_runtime(TestBackend::Sqlite, Plan::Free).await;
    let runtime = &running.runtime;
    let megabyte = json!("x".repeat(1_000_000));
    // Free: 10 MB (10,485,760 bytes), ten values of 1,000,004 bytes with their keys.
    for i in 0..10 {
        let set = runtime
            .call("setCache", vec![json!(format!("k{i}")), megabyte.clone()])
            .await;
        assert_eq!(set, Ok(json!(true)), "value {i}");
    }
    let full = "the storage quota of the free plan (10 MB) is full: delete cache entries or memories (runtime.deleteCache, runtime.deleteMemory)";
    let set = runtime
        .call("setCache", vec![json!("k10"), megabyte.clone()])
        .await;
    assert_eq!(set, Err(format!("setCache: {full}")));
    let memory = json!({ "content": { "text": "y".repeat(600_000) } });
    let created = runtime.call("createMemory", vec![memory.clone()]).await;
    assert_eq!(created, Err(format!("createMemory: {full}")));
    assert_eq!(
        runtime.call("getCache", vec![json!("k10")]).await,
        Ok(json!(null)),
        "nothing of a refused write is kept"
    );
    assert_eq!(
        runtime.call("deleteCache", vec![json!("k0")]).await,
        Ok(json!(true))
    );
    let id = runtime.call("createMemory", vec![memory]).await.unwrap();
    assert_eq!(
        runtime.call("deleteMemory", vec![id.clone()]).await,
        Ok(json!(true))
    );
    assert_eq!(
        runtime.call("deleteMemory", vec![id]).await,
        Ok(json!(false))
    );
    assert_eq!(
        runtime.call("setCache", vec![json!("k10"), megabyte]).await,
        Ok(json!(true))
    );
    running.store.cleanup().await;
}
