//! Executions through the API: on a warm worker kept between runs, replaced when the settings change,
//! after the policy's count of executions, once its memory grew by the policy's threshold and once it
//! is the policy's age (each counted under its own cause), an action's callbacks streamed as
//! server-sent events (ended when the caller's token is revoked), and an organisation's executions
//! followed live.

mod support;

use axum::http::StatusCode;
use plughub_domain::{Plan, Role};
use plughub_testkit::http::LoopbackNpm;
use plughub_testkit::{TestBackend, TestStore};
use serde_json::json;
use std::time::Duration;
use support::{Node, metrics_text, person_with_token, read_events, sample};

const PLUGIN: &str = "@acme/plugin-warm";
/// Counts the executions its worker served, and says hello twice on the way; HOLD keeps 64 MB more
/// for as long as its worker lives.
const COUNTER: &str = "let served = 0; const held = []; \
    export default { name: 'warm', description: 'counts', \
    actions: [{ name: 'COUNT', description: 'count', validate: async () => true, \
    handler: async (runtime, message, state, options, callback) => { served += 1; \
    await callback({ text: 'first' }); runtime.logger.info(`counting ${served}`); \
    await callback({ text: `second ${runtime.getSetting('GREETING')}` }); \
    return { text: `served ${served}`, success: true }; } }, \
    { name: 'PICKY', description: 'only when asked nicely', \
    validate: async (runtime, message) => message.content.text === 'please', \
    handler: async () => ({ text: 'you asked nicely', success: true }) }, \
    { name: 'WAIT', description: 'says so, then takes three seconds', validate: async () => true, \
    handler: async (runtime, message, state, options, callback) => { \
    await callback({ text: 'waiting' }); await new Promise((done) => setTimeout(done, 3000)); \
    return { text: 'waited', success: true }; } }, \
    { name: 'HOLD', description: 'keeps 64 MB', validate: async () => true, \
    handler: async () => { held.push(Buffer.alloc(64 * 1024 * 1024, 1)); \
    return { text: `holding ${held.length * 64} MB`, success: true }; } }] };";

/// A server on a fresh SQLite store with the counter plugin installed in `acme` (on `plan`) and
/// configured with GREETING "hi" by its owner, whose token is returned.
struct World {
    t: TestStore,
    node: Node,
    owner: String,
    _npm: LoopbackNpm,
    _dir: tempfile::TempDir,
}

const PLUGIN_PATH: &str = "/api/orgs/acme/plugins/@acme%2Fplugin-warm";

async fn world(plan: Plan, policy: plughub_domain::execution_policy::ExecutionPolicy) -> World {
    let t = TestStore::new(TestBackend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let npm = LoopbackNpm::start().await;
    let manifest = json!({ "name": PLUGIN, "version": "1.0.0", "type": "module", "main": "index.js",
        "agentConfig": { "pluginParameters": { "GREETING": { "type": "string", "required": true } } } });
    npm.publish_version(
        manifest.clone(),
        plughub_testkit::tarball::package(&manifest, &[("index.js", COUNTER)]),
        None,
    );
    let mut tx = t.store.begin().await.unwrap();
    tx.create_group("acme", plan, None, "test").await.unwrap();
    tx.commit().await.unwrap();
    let owner = person_with_token(&t.store, "owner@acme.test", "acme", Role::OrgOwner).await;
    let node = Node::start(
        t.store.clone(),
        &npm.url,
        dir.path(),
        &dir.path().join("keys.json"),
        policy,
    )
    .await;
    let (status, body) = node
        .send(
            "POST",
            "/api/orgs/acme/plugins",
            &owner,
            Some(json!({ "plugin": PLUGIN })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = node
        .send(
            "PUT",
            &format!("{PLUGIN_PATH}/config"),
            &owner,
            Some(json!({ "settings": { "GREETING": "hi" } })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    World {
        t,
        node,
        owner,
        _npm: npm,
        _dir: dir,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn warm_workers_streamed_callbacks_and_the_live_log() {
    // Bound whole: the registry and the folder it holds live as long as the test.
    let world = world(Plan::Pro, Default::default()).await;
    let (t, node, owner) = (&world.t, &world.node, world.owner.clone());
    let user = person_with_token(&t.store, "user@acme.test", "acme", Role::OrgUser).await;
    let plugin = PLUGIN_PATH;
    let configure = |greeting: &str| json!({ "settings": { "GREETING": greeting } });

    // The second run is served by the worker the first one started.
    let run = json!({ "action": "COUNT", "text": "go" });
    for expected in ["served 1", "served 2"] {
        let (status, body) = node
            .send("POST", &format!("{plugin}/run"), &user, Some(run.clone()))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["result"]["text"], expected, "{body}");
        assert_eq!(body["callbacks"][1]["text"], "second hi", "{body}");
    }
    assert_eq!(node.runner.warm_workers(), 1);

    // New settings: the worker that has the old ones does not serve again.
    let (status, body) = node
        .send(
            "PUT",
            &format!("{plugin}/config"),
            &owner,
            Some(configure("hello")),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = node
        .send("POST", &format!("{plugin}/run"), &user, Some(run.clone()))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["result"]["text"], "served 1", "{body}");
    assert_eq!(body["callbacks"][1]["text"], "second hello", "{body}");

    // Asked for an event stream: each callback as it comes, then the recorded run.
    let response = node
        .request(
            "POST",
            &format!("{plugin}/run"),
            &user,
            Some(run.clone()),
            Some("text/event-stream"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let events = read_events(response.into_body(), |_, _| false).await;
    // The worker's log comes too, line by line as it is logged, before the result. (A logger's lines come
    // on the worker's socket, in order with its answer; what it prints comes on a pipe and may trail.)
    let logged: Vec<&str> = events
        .iter()
        .filter(|(n, _)| n == "log")
        .filter_map(|(_, line)| line.as_str())
        .collect();
    assert!(logged.contains(&"[info] counting 2"), "{events:?}");
    let events: Vec<_> = events.into_iter().filter(|(n, _)| n != "log").collect();
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["callback", "callback", "result"], "{events:?}");
    assert_eq!(events[0].1["text"], "first");
    assert_eq!(events[1].1["text"], "second hello");
    assert_eq!(events[2].1["result"]["text"], "served 2");

    // A failure streams the API's error body.
    let response = node
        .request(
            "POST",
            &format!("{plugin}/run"),
            &user,
            Some(json!({ "action": "NOPE" })),
            Some("text/event-stream"),
        )
        .await;
    let events = read_events(response.into_body(), |_, _| false).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].0, "error");
    assert_eq!(
        events[0].1["error"]["code"], "component_not_found",
        "{events:?}"
    );

    // The live log: executions recorded after it opened, and only those.
    let response = node
        .request("GET", "/api/orgs/acme/executions/live", &user, None, None)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let follower = tokio::spawn(read_events(response.into_body(), |name, _| {
        name == "execution"
    }));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (status, body) = node
        .send("POST", &format!("{plugin}/run"), &owner, Some(run.clone()))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let seen = tokio::time::timeout(Duration::from_secs(30), follower)
        .await
        .expect("the live log shows the execution")
        .unwrap();
    let (_, event) = seen.last().unwrap();
    assert_eq!(event["event_type"], "plugin_action_executed", "{event}");
    assert_eq!(event["actor"], "owner@acme.test", "{event}");
    assert_eq!(event["metadata"]["component"], "COUNT", "{event}");
    assert_eq!(event["metadata"]["text"], "served 3", "{event}");

    // The events of one type only.
    let (status, body) = node
        .send(
            "GET",
            "/api/orgs/acme/events?type=plugin_action_executed",
            &user,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let items = body["items"].as_array().unwrap();
    assert!(items.len() >= 3, "{body}");
    assert!(
        items
            .iter()
            .all(|e| e["event_type"] == "plugin_action_executed"),
        "{body}"
    );
    assert_eq!(body["total"], items.len(), "{body}");
    let (status, _) = node
        .send(
            "GET",
            "/api/orgs/acme/events?type=no_such_type",
            &user,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_warm_worker_is_replaced_after_the_policys_count_and_a_declined_message_runs_nothing() {
    let policy = plughub_domain::execution_policy::ExecutionPolicy {
        recycle_after: 3,
        ..Default::default()
    };
    let world = world(Plan::Enterprise, policy).await;
    let (t, node, owner) = (&world.t, &world.node, world.owner.clone());
    let plugin = PLUGIN_PATH;

    // An action that declines the message: an error that says so (the message is the caller's to
    // change, not a failure of the plugin), and its handler never ran.
    let (status, body) = node
        .send(
            "POST",
            &format!("{plugin}/run"),
            &owner,
            Some(json!({ "action": "PICKY", "text": "now" })),
        )
        .await;
    assert_eq!(status.as_u16(), 422, "{body}");
    assert_eq!(body["error"]["code"], "declined", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("PICKY declined this message"), "{body}");
    let streak = || async {
        let group = t.store.group_by_name("acme").await.unwrap().unwrap();
        let instance = t
            .store
            .thing_by_name(
                plughub_domain::ThingKind::PluginInstance,
                Some(&group.id),
                PLUGIN,
            )
            .await
            .unwrap()
            .unwrap();
        instance.properties["error_streak"].as_u64().unwrap_or(0)
    };
    assert_eq!(streak().await, 1, "the failure counts towards a suspension");
    let (status, body) = node
        .send(
            "POST",
            &format!("{plugin}/run"),
            &owner,
            Some(json!({ "action": "PICKY", "text": "please" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["result"]["text"], "you asked nicely", "{body}");
    assert_eq!(streak().await, 0, "a success ends the failures in a row");

    // Two runs served already (PICKY's); the third reaches the count and the one after it starts the
    // replacement in the background, served meanwhile by the worker it replaces; then a fresh worker
    // (its count back at 1) serves.
    let run = json!({ "action": "COUNT", "text": "go" });
    let mut served = Vec::new();
    for _ in 0..100 {
        let (status, body) = node
            .send("POST", &format!("{plugin}/run"), &owner, Some(run.clone()))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let text = body["result"]["text"].as_str().unwrap().to_string();
        let fresh = text == "served 1" && !served.is_empty();
        served.push(text);
        if fresh {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(served[..2], ["served 1", "served 2"], "{served:?}");
    assert_eq!(
        served.last().map(String::as_str),
        Some("served 1"),
        "a fresh worker took over: {served:?}"
    );
    assert_eq!(node.runner.warm_workers(), 1, "the replaced one is gone");
    assert_eq!(
        recycled(node).await,
        [1.0, 0.0, 0.0],
        "recycled for its count"
    );
}

/// Runs COUNT on `node`, whose worker has served COUNT twice, until a fresh worker serves it (its count
/// back at 1; a worker's count is its own process's module state), and checks that the old worker
/// served on meanwhile ("served 3", "served 4", … while its replacement started, none when it had
/// started already). Returns what each run answered, in order.
async fn count_until_a_fresh_worker(node: &Node, token: &str, why: &str) -> Vec<String> {
    let run = json!({ "action": "COUNT", "text": "go" });
    let mut served: Vec<String> = Vec::new();
    for _ in 0..300 {
        let (status, body) = node
            .send(
                "POST",
                &format!("{PLUGIN_PATH}/run"),
                token,
                Some(run.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let text = body["result"]["text"].as_str().unwrap().to_string();
        let fresh = text == "served 1";
        served.push(text);
        if fresh {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (last, old) = served.split_last().unwrap();
    assert_eq!(
        last,
        "served 1",
        "a fresh worker took over: {} runs all served by the old worker, the first {:?} ({why})",
        served.len(),
        &served[..3.min(served.len())]
    );
    for (i, text) in old.iter().enumerate() {
        assert_eq!(
            *text,
            format!("served {}", i + 3),
            "the old worker served on: {served:?} ({why})"
        );
    }
    served
}

/// `plughub_workers_ended_total` by the recycling causes: count, memory, age.
async fn recycled(node: &Node) -> [f64; 3] {
    let text = metrics_text(node).await;
    ["recycled", "recycled_memory", "recycled_age"]
        .map(|cause| sample(&text, "plughub_workers_ended_total", &[("cause", cause)]))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_warm_worker_is_replaced_once_it_is_the_policys_age() {
    // Only the age rule: the count and the memory rules off (and no rate limit on the runs that wait
    // for the replacement).
    let policy = plughub_domain::execution_policy::ExecutionPolicy {
        executions_per_minute: 0,
        recycle_after: 0,
        recycle_memory_growth_mb: 0,
        recycle_age: Duration::from_secs(1),
        ..Default::default()
    };
    let world = world(Plan::Enterprise, policy).await;
    let (node, owner) = (&world.node, world.owner.clone());
    let run = json!({ "action": "COUNT", "text": "go" });

    // The first run starts a worker; the second is served by it (a replacement it would start meanwhile
    // takes over only at a later run).
    for expected in ["served 1", "served 2"] {
        let (status, body) = node
            .send(
                "POST",
                &format!("{PLUGIN_PATH}/run"),
                &owner,
                Some(run.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["result"]["text"], expected, "{body}");
    }
    // Past its age, the next run starts a fresh worker in the background and is served by the old one;
    // once started, the fresh one (its count back at 1) serves.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    count_until_a_fresh_worker(node, &owner, "past its age").await;
    assert_eq!(
        recycled(node).await,
        [0.0, 0.0, 1.0],
        "recycled for its age"
    );
    assert_eq!(node.runner.warm_workers(), 1, "the replaced one is gone");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_warm_worker_whose_memory_grew_past_the_policys_threshold_is_replaced() {
    // Only the memory rule, at 40 MB of growth (well above what a few runs of COUNT add, well below
    // HOLD's 64 MB): the count and the age rules off (and no rate limit on the runs that wait for the
    // replacement).
    let policy = plughub_domain::execution_policy::ExecutionPolicy {
        executions_per_minute: 0,
        recycle_after: 0,
        recycle_memory_growth_mb: 40,
        recycle_age: Duration::ZERO,
        ..Default::default()
    };
    let world = world(Plan::Enterprise, policy).await;
    let (node, owner) = (&world.node, world.owner.clone());
    let run = |action: &str| json!({ "action": action, "text": "go" });

    let mut memory = Vec::new();
    for expected in ["served 1", "served 2"] {
        let (status, body) = node
            .send(
                "POST",
                &format!("{PLUGIN_PATH}/run"),
                &owner,
                Some(run("COUNT")),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            body["result"]["text"], expected,
            "not replaced before it grew: {body}"
        );
        memory.push(body["memory_bytes"].clone());
    }
    assert_eq!(recycled(node).await, [0.0, 0.0, 0.0]);

    // The worker keeps 64 MB more: the next run starts a fresh one in the background and is served by
    // the old one; once started, the fresh one (its count back at 1, without the 64 MB) serves. (HOLD's
    // own run was not: a worker is measured before it serves.)
    let (status, body) = node
        .send(
            "POST",
            &format!("{PLUGIN_PATH}/run"),
            &owner,
            Some(run("HOLD")),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["result"]["text"], "holding 64 MB", "{body}");
    memory.push(body["memory_bytes"].clone());
    count_until_a_fresh_worker(node, &owner, &format!("memory after each run: {memory:?}")).await;
    assert_eq!(
        recycled(node).await,
        [0.0, 1.0, 0.0],
        "recycled for its memory"
    );
    assert_eq!(node.runner.warm_workers(), 1, "the replaced one is gone");

    // The fresh worker is measured from its own start: it serves on.
    let (status, body) = node
        .send(
            "POST",
            &format!("{PLUGIN_PATH}/run"),
            &owner,
            Some(run("COUNT")),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["result"]["text"], "served 2", "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_streamed_run_ends_when_its_token_is_revoked_and_the_run_is_still_recorded() {
    let World {
        t,
        node,
        _npm,
        _dir,
        ..
    } = world(Plan::Pro, Default::default()).await;
    let node = node.with_access(plughub_server::Access {
        stream_recheck: Duration::from_millis(200),
        ..Default::default()
    });
    let user = person_with_token(&t.store, "user@acme.test", "acme", Role::OrgUser).await;
    let response = node
        .request(
            "POST",
            &format!("{PLUGIN_PATH}/run"),
            &user,
            Some(json!({ "action": "WAIT", "text": "go" })),
            Some("text/event-stream"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let (seen, mut shown) = tokio::sync::mpsc::unbounded_channel();
    let reader = tokio::spawn(read_events(response.into_body(), move |name, _| {
        let _ = seen.send(name.to_string());
        false
    }));
    let first = tokio::time::timeout(Duration::from_secs(60), shown.recv())
        .await
        .expect("the run streams its first callback");
    assert_eq!(first.as_deref(), Some("callback"));
    // Revoked on this server while the action still runs.
    let token = node.accounts().tokens("user@acme.test").await.unwrap();
    node.accounts()
        .revoke_token(&token[0].id, "test")
        .await
        .unwrap();
    let events = tokio::time::timeout(Duration::from_secs(60), reader)
        .await
        .expect("the stream ends")
        .unwrap();
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["callback", "error"],
        "no result after the revocation: {events:?}"
    );
    assert_eq!(events[1].1["error"]["code"], "token_revoked", "{events:?}");

    // The action was not cut short: it ends and is recorded, as when a client leaves.
    let recorded = async {
        loop {
            let executed = t
                .store
                .events(&plughub_store::EventFilter {
                    event_type: Some(plughub_domain::EventType::PluginActionExecuted),
                    ..Default::default()
                })
                .await
                .unwrap();
            if let Some(run) = executed.iter().find(|e| e.metadata["component"] == "WAIT") {
                return run.clone();
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    let run = tokio::time::timeout(Duration::from_secs(60), recorded)
        .await
        .expect("the run is recorded");
    assert_eq!(run.metadata["text"], "waited", "{run:?}");
    assert_eq!(run.actor, "user@acme.test");
}
