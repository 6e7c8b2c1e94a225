//! What an elizaOS agent in its own process uses (the agent bridge): the components active for it with
//! their true manifests, and a WebSocket per run on which the run's callbacks come back and the agent
//! answers the run's calls about the conversation, and its models when the owner chose so. Served on a
//! real loopback port, the fixture plugin-conversation installed in the sandbox as from npm.

mod support;

use axum::http::StatusCode;
use futures::{SinkExt, StreamExt};
use plughub_domain::{Plan, Role};
use plughub_testkit::http::LoopbackNpm;
use plughub_testkit::{TestBackend, TestStore, fixture_plugin};
use serde_json::{Value, json};
use support::{Node, person_with_token};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const PLUGIN: &str = "@fixture/plugin-conversation";
const PLUGIN_PATH: &str = "/api/orgs/acme/plugins/@fixture%2Fplugin-conversation";
const SECRET: &str = "conversation-secret-4242";

struct World {
    _t: TestStore,
    node: Node,
    owner: String,
    user: String,
    address: std::net::SocketAddr,
    _npm: LoopbackNpm,
    _dir: tempfile::TempDir,
}

/// The fixture's package, published on a loopback registry as npm would serve it.
fn publish_fixture(npm: &LoopbackNpm) {
    let dir = fixture_plugin("plugin-conversation");
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.join("package.json")).unwrap()).unwrap();
    let index = std::fs::read_to_string(dir.join("index.js")).unwrap();
    npm.publish_version(
        manifest.clone(),
        plughub_testkit::tarball::package(&manifest, &[("index.js", &index)]),
        None,
    );
}

/// acme (pro) with the fixture installed, configured with its secret, granted what it asks for and
/// active for agent eliza (all its actions) and agent picky (REPORT_STEPS only); the server listening.
async fn world() -> World {
    let t = TestStore::new(TestBackend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let npm = LoopbackNpm::start().await;
    publish_fixture(&npm);
    let mut tx = t.store.begin().await.unwrap();
    tx.create_group("acme", Plan::Pro, None, "test")
        .await
        .unwrap();
    tx.create_group("globex", Plan::Pro, None, "test")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let owner = person_with_token(&t.store, "owner@acme.test", "acme", Role::OrgOwner).await;
    let user = person_with_token(&t.store, "user@acme.test", "acme", Role::OrgUser).await;
    let node = Node::start(
        t.store.clone(),
        &npm.url,
        dir.path(),
        &dir.path().join("keys.json"),
        Default::default(),
    )
    .await;
    let steps = [
        (
            "POST",
            "/api/orgs/acme/plugins".to_string(),
            json!({ "plugin": PLUGIN, "grant": true, "not_in_catalogue": true }),
        ),
        (
            "PUT",
            format!("{PLUGIN_PATH}/config"),
            json!({ "settings": { "CONVERSATION_API_KEY": SECRET } }),
        ),
        (
            "POST",
            "/api/orgs/acme/agents".into(),
            json!({ "name": "eliza" }),
        ),
        (
            "POST",
            "/api/orgs/acme/agents".into(),
            json!({ "name": "picky" }),
        ),
        (
            "POST",
            format!("{PLUGIN_PATH}/activate"),
            json!({ "agent": "eliza" }),
        ),
        (
            "POST",
            format!("{PLUGIN_PATH}/activate"),
            json!({ "agent": "picky", "actions": ["REPORT_STEPS"] }),
        ),
    ];
    for (method, path, body) in steps {
        let (status, answer) = node.send(method, &path, &owner, Some(body)).await;
        assert!(status.is_success(), "{method} {path}: {status} {answer}");
    }
    let address = node.listen().await;
    World {
        _t: t,
        node,
        owner,
        user,
        address,
        _npm: npm,
        _dir: dir,
    }
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

impl World {
    async fn open(&self, agent: &str, token: &str) -> Socket {
        let url = format!("ws://{}/api/orgs/acme/agents/{agent}/run", self.address);
        let mut request = url.into_client_request().unwrap();
        request
            .headers_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
        let (socket, response) = tokio_tungstenite::connect_async(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
        socket
    }
}

/// An elizaOS message from Ada in a room of the agent.
fn message(text: &str) -> Value {
    json!({
        "id": "0b0c0d0e-0000-4000-8000-000000000001",
        "entityId": "0b0c0d0e-0000-4000-8000-0000000000ad",
        "agentId": "0b0c0d0e-0000-4000-8000-0000000000e1",
        "roomId": "0b0c0d0e-0000-4000-8000-000000000e00",
        "content": { "text": text, "source": "test" },
        "createdAt": 1,
    })
}

/// Sends `run`, answers each runtime call with `answer(method, params)`, and returns the frames the
/// server sent, the last one (`result` or `error`) included.
async fn run(
    socket: &mut Socket,
    run: Value,
    mut answer: impl FnMut(&str, &Value) -> Result<Value, String>,
) -> Vec<Value> {
    socket
        .send(Message::Text(run.to_string().into()))
        .await
        .unwrap();
    let mut frames = Vec::new();
    while let Some(frame) = socket.next().await {
        let text = match frame.unwrap() {
            Message::Text(text) => text,
            Message::Close(_) => break,
            _ => continue,
        };
        let frame: Value = serde_json::from_str(&text).unwrap();
        if frame["type"] == "runtime.call" {
            let reply = match answer(frame["method"].as_str().unwrap(), &frame["params"]) {
                Ok(result) => {
                    json!({ "type": "runtime.result", "id": frame["id"], "result": result })
                }
                Err(error) => json!({ "type": "runtime.error", "id": frame["id"], "error": error }),
            };
            socket
                .send(Message::Text(reply.to_string().into()))
                .await
                .unwrap();
        }
        let last = matches!(frame["type"].as_str(), Some("result" | "error"));
        frames.push(frame);
        if last {
            break;
        }
    }
    frames
}

fn no_calls(method: &str, _: &Value) -> Result<Value, String> {
    panic!("the run called runtime.{method}(), which it should not have");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_components_active_for_an_agent_are_its_plugins_true_ones() {
    let w = world().await;
    let (status, body) = w
        .node
        .send(
            "GET",
            "/api/orgs/acme/agents/eliza/components",
            &w.user,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["models"], "plughub");
    assert_eq!(body["unavailable"], json!([]));
    let plugin = &body["plugins"][0];
    assert_eq!(plugin["plugin"], PLUGIN);
    assert_eq!(plugin["version"], "1.0.0");
    let names = |kind: &str| -> Vec<String> {
        plugin[kind]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        names("actions"),
        ["REPORT_STEPS", "ASK_MODEL", "FAIL_LOUDLY"]
    );
    assert_eq!(
        names("providers"),
        ["CONVERSATION_SUMMARY", "SECRET_KEEPER"]
    );
    assert_eq!(names("evaluators"), ["NOTE_TAKER"]);
    // As the plugin declares them: what the agent's planner reads.
    let steps = &plugin["actions"][0];
    assert_eq!(steps["similes"], json!(["STEPS", "SHOW_STEPS"]));
    assert_eq!(
        steps["examples"][0][1]["content"]["actions"],
        json!(["REPORT_STEPS"])
    );
    assert_eq!(plugin["providers"][0]["position"], 5.0);
    assert_eq!(plugin["providers"][1]["dynamic"], true);
    assert_eq!(plugin["evaluators"][0]["alwaysRun"], true);
    assert!(!body.to_string().contains(SECRET));

    // An agent activated with some actions sees those only.
    let (_, body) = w
        .node
        .send(
            "GET",
            "/api/orgs/acme/agents/picky/components",
            &w.user,
            None,
        )
        .await;
    let actions: Vec<&str> = body["plugins"][0]["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["REPORT_STEPS"]);
    let (status, body) = w
        .node
        .send(
            "GET",
            "/api/orgs/acme/agents/nobody/components",
            &w.user,
            None,
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("agent_not_found"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_streams_its_callbacks_in_order_and_the_agent_answers_the_conversation() {
    let w = world().await;
    let mut socket = w.open("eliza", &w.user).await;
    let frames = run(
        &mut socket,
        json!({ "type": "run", "plugin": PLUGIN, "action": "REPORT_STEPS", "message": message("the plan"),
                "state": { "values": { "agentName": "Eliza" }, "data": {}, "text": "" } }),
        no_calls,
    )
    .await;
    let texts: Vec<&str> = frames
        .iter()
        .filter(|f| f["type"] == "callback")
        .map(|f| f["content"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["step 1 of 3", "step 2 of 3", "step 3 of 3"]);
    let last = frames.last().unwrap();
    assert_eq!(last["type"], "result", "{last}");
    let result = &last["outcome"]["result"];
    assert_eq!(result["success"], true);
    // The agent's own message and state reached the plugin; the plugin's secret did not come back.
    assert_eq!(
        result["values"]["room"],
        "0b0c0d0e-0000-4000-8000-000000000e00"
    );
    assert_eq!(result["values"]["agentName"], "Eliza");
    assert_eq!(
        result["data"]["agentId"],
        "0b0c0d0e-0000-4000-8000-0000000000e1"
    );
    assert_eq!(result["text"], "three steps for the plan (key ***)");
    assert!(!frames.iter().any(|f| f.to_string().contains(SECRET)));

    // A provider that reads the conversation gets the agent's own answers.
    let mut socket = w.open("eliza", &w.user).await;
    let mut asked = Vec::new();
    let frames = run(
        &mut socket,
        json!({ "type": "run", "plugin": PLUGIN, "provider": "CONVERSATION_SUMMARY",
                "message": message("what did we say?") }),
        |method, params| {
            asked.push(method.to_string());
            match method {
                "getMemories" => {
                    assert_eq!(params[0]["roomId"], "0b0c0d0e-0000-4000-8000-000000000e00");
                    Ok(json!([{ "content": { "text": "hello" } }, { "content": { "text": "how are you" } }]))
                }
                "getEntityById" => Ok(json!({ "id": params[0], "names": ["Ada"] })),
                "getRoom" => Ok(json!({ "id": params[0], "name": "the lounge" })),
                other => Err(format!("not here: {other}")),
            }
        },
    )
    .await;
    assert_eq!(asked, ["getMemories", "getEntityById", "getRoom"]);
    let last = frames.last().unwrap();
    assert_eq!(
        last["outcome"]["result"]["text"],
        "Conversation in the lounge with Ada: 2 messages (hello | how are you)",
        "{last}"
    );

    // An error the agent answers is the plugin's to handle: here it throws, and the run fails with it.
    let mut socket = w.open("eliza", &w.user).await;
    let frames = run(
        &mut socket,
        json!({ "type": "run", "plugin": PLUGIN, "provider": "CONVERSATION_SUMMARY",
                "message": message("again") }),
        |_, _| Err("the agent's database is closed".into()),
    )
    .await;
    let last = frames.last().unwrap();
    assert_eq!(
        (last["type"].as_str(), last["status"].as_u64()),
        (Some("error"), Some(502)),
        "{last}"
    );
    assert!(
        last["error"]["message"]
            .as_str()
            .unwrap()
            .contains("the agent's database is closed"),
        "{last}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_refusals_and_the_owner_s_choice_of_models() {
    let w = world().await;
    // The plugin's own error comes back as its error.
    let mut socket = w.open("eliza", &w.user).await;
    let frames = run(
        &mut socket,
        json!({ "type": "run", "plugin": PLUGIN, "action": "FAIL_LOUDLY", "message": message("go") }),
        no_calls,
    )
    .await;
    let last = frames.last().unwrap();
    assert_eq!(last["error"]["code"], "plugin_failed", "{last}");
    assert!(
        last["error"]["message"]
            .as_str()
            .unwrap()
            .contains("the conversation fixture failed on purpose")
    );
    // An action the agent was not activated with is refused before anything runs.
    let mut socket = w.open("picky", &w.user).await;
    let frames = run(
        &mut socket,
        json!({ "type": "run", "plugin": PLUGIN, "action": "ASK_MODEL", "message": message("go") }),
        no_calls,
    )
    .await;
    assert_eq!(frames.last().unwrap()["status"], 409, "{frames:?}");
    // A first frame that is no run.
    let mut socket = w.open("eliza", &w.user).await;
    let frames = run(
        &mut socket,
        json!({ "type": "run", "plugin": PLUGIN, "message": message("go") }),
        no_calls,
    )
    .await;
    assert_eq!(
        frames.last().unwrap()["error"]["code"],
        "invalid_body",
        "{frames:?}"
    );

    // Models: plughub's by default (none active here), the agent's once the owner says so.
    let ask = json!({ "type": "run", "plugin": PLUGIN, "action": "ASK_MODEL", "message": message("2+2?") });
    let mut socket = w.open("eliza", &w.user).await;
    let frames = run(&mut socket, ask.clone(), no_calls).await;
    let last = frames.last().unwrap();
    assert!(
        last["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no model plugin is active for TEXT_SMALL"),
        "{last}"
    );
    let models = "/api/orgs/acme/agents/eliza/models";
    let (status, _) = w
        .node
        .send("PUT", models, &w.user, Some(json!({ "models": "agent" })))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "an org_user may not choose");
    let (status, body) = w
        .node
        .send("PUT", models, &w.owner, Some(json!({ "models": "agent" })))
        .await;
    assert_eq!(
        (status, &body["models"]),
        (StatusCode::OK, &json!("agent")),
        "{body}"
    );
    let mut socket = w.open("eliza", &w.user).await;
    let frames = run(&mut socket, ask, |method, params| {
        assert_eq!(method, "useModel");
        assert_eq!(params[0], "TEXT_SMALL");
        // The plugin put its key in the call: it reaches the agent cut out.
        assert_eq!(params[1]["apiKey"], "***");
        Ok(json!(format!(
            "the agent's model says 4 to «{}»",
            params[1]["prompt"].as_str().unwrap()
        )))
    })
    .await;
    let last = frames.last().unwrap();
    assert_eq!(
        last["outcome"]["result"]["text"], "the agent's model says 4 to «Answer: 2+2?»",
        "{last}"
    );
    let (_, events) = w
        .node
        .send(
            "GET",
            "/api/orgs/acme/events?type=agent_changed",
            &w.owner,
            None,
        )
        .await;
    assert_eq!(
        events["items"][0]["metadata"]["models"], "agent",
        "{events}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_channel_is_a_websocket_and_is_the_caller_s_organisation_s_only() {
    let w = world().await;
    let (status, body) = w
        .node
        .send("GET", "/api/orgs/acme/agents/eliza/run", &w.user, None)
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UPGRADE_REQUIRED, Some("websocket_required"))
    );
    let stranger =
        person_with_token(&w._t.store, "owner@globex.test", "globex", Role::OrgOwner).await;
    let url = format!("ws://{}/api/orgs/acme/agents/eliza/run", w.address);
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {stranger}").parse().unwrap(),
    );
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), StatusCode::NOT_FOUND)
        }
        other => panic!(
            "another organisation's agent opened: {:?}",
            other.map(|r| r.1)
        ),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_agent_that_leaves_mid_run_leaves_it_recorded() {
    let w = world().await;
    let mut socket = w.open("eliza", &w.user).await;
    let run = json!({ "type": "run", "plugin": PLUGIN, "provider": "CONVERSATION_SUMMARY",
                      "message": message("bye") });
    socket
        .send(Message::Text(run.to_string().into()))
        .await
        .unwrap();
    // The first call the run makes of the agent: the agent goes instead of answering.
    loop {
        let Some(Ok(Message::Text(text))) = socket.next().await else {
            panic!("the channel ended before the run called the agent");
        };
        if serde_json::from_str::<Value>(&text).unwrap()["type"] == "runtime.call" {
            break;
        }
    }
    drop(socket);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (_, page) = w
            .node
            .send("GET", "/api/orgs/acme/executions", &w.owner, None)
            .await;
        let recorded = page["items"].as_array().unwrap().iter().find(|e| {
            e["metadata"]["component"] == "CONVERSATION_SUMMARY"
                && e["metadata"]["status"] == "error"
        });
        if let Some(execution) = recorded {
            let error = execution["metadata"]["error"].as_str().unwrap();
            assert!(
                error.contains("the calling agent is no longer connected"),
                "{execution}"
            );
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not recorded: {page}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}
