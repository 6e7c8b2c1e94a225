//! Model plugins answering another plugin's `useModel` from a stub of their API (OpenAI's wire format:
//! chat completions, responses, embeddings), reached over https through the egress mapping with the
//! stub's authority trusted for the mapped domain only.

use super::*;
use plughub_sdk::test::stub::{Answer, Asked};
use serde_json::json;
use std::sync::Arc;

/// The stubbed model's answer, named so that a test can tell it came from the stub.
const STUBBED: &str = "stubbed completion: plughub reached the API stub";

/// OpenAI's wire format, as OpenRouter and OpenAI speak it: a completion, a response, an embedding of
/// 384 dimensions (one of elizaOS's sizes), the model list.
fn openai_wire(asked: &Asked) -> Option<Answer> {
    let path = asked.url.split_once("/v1/").map(|(_, p)| p)?;
    let path = path.split('?').next().unwrap_or_default();
    let body = match (asked.method.as_str(), path) {
        ("GET", "models") => {
            json!({ "object": "list", "data": [{ "id": "stub/model", "object": "model" }] })
        }
        ("POST", "chat/completions") => json!({
            "id": "gen-stub", "object": "chat.completion", "created": 1_700_000_000, "model": "stub/model",
            "choices": [{ "index": 0, "finish_reason": "stop",
                          "message": { "role": "assistant", "content": STUBBED } }],
            "usage": { "prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12 }
        }),
        ("POST", "responses") => json!({
            "id": "resp_stub", "object": "response", "created_at": 1_700_000_000, "status": "completed",
            "model": "stub-model", "error": null, "incomplete_details": null,
            "output": [{ "type": "message", "id": "msg_stub", "status": "completed", "role": "assistant",
                         "content": [{ "type": "output_text", "text": STUBBED, "annotations": [] }] }],
            "usage": { "input_tokens": 5, "output_tokens": 7, "total_tokens": 12 }
        }),
        ("POST", "embeddings") => {
            let mut vector = vec![0.0f64; 384];
            vector[0] = 1.0;
            json!({ "object": "list", "model": "stub-embedding",
                    "data": [{ "object": "embedding", "index": 0, "embedding": vector }],
                    "usage": { "prompt_tokens": 3, "total_tokens": 3 } })
        }
        _ => return None,
    };
    Some(Answer::json(&body))
}

/// Another plugin's `useModel(TEXT_SMALL)` and `useModel(TEXT_EMBEDDING)` (the hello fixture's SUMMARIZE)
/// answered by `live`'s model plugin, active above the offline model.
fn summarize_through(live: &Live) -> Value {
    let hello = plughub_testkit::fixture_plugin("plugin-hello");
    live.ok(&["install", hello.to_str().unwrap(), "--org", ORG, "--grant"]);
    live.ok(&[
        "configure",
        "@fixture/plugin-hello",
        "--org",
        ORG,
        "HELLO_API_KEY=hk-1",
    ]);
    live.ok(&[
        "activate",
        "@fixture/plugin-hello",
        "--org",
        ORG,
        "--agent",
        AGENT,
    ]);
    let out = live.ok(&[
        "run",
        "@fixture/plugin-hello",
        "SUMMARIZE",
        "--org",
        ORG,
        "--agent",
        AGENT,
        "--text",
        "Ada wrote the first program",
        "--json",
    ]);
    serde_json::from_str(&out).unwrap()
}

/// `@elizaos/plugin-openrouter`: its models TEXT_SMALL and TEXT_EMBEDDING answer another plugin's
/// `useModel` from a stub of OpenRouter's API at `openrouter.ai` (https, through the egress mapping):
/// proves a model plugin serves an agent through plughub's model routing with its API stubbed, and that
/// nothing but the granted, mapped domain is reached.
#[tokio::test(flavor = "multi_thread")]
async fn openrouter_answers_use_model_from_a_stub_of_its_api() {
    const PLUGIN: &str = "@elizaos/plugin-openrouter";
    if !npm_serves(PLUGIN) {
        return;
    }
    let mut live = Live::new(PLUGIN).await;
    live.install(
        &[
            "OPENROUTER_API_KEY=sk-or-stub",
            "OPENROUTER_EMBEDDING_DIMENSIONS=384",
        ],
        &["openrouter.ai"],
        Some(Arc::new(openai_wire)),
    )
    .await;
    let manifest = live.manifest();
    assert!(
        manifest["models"].to_string().contains("TEXT_SMALL"),
        "{manifest}"
    );
    // Above the offline model, for the types it provides.
    live.ok(&["deactivate", PLUGIN, "--org", ORG, "--agent", AGENT]);
    live.ok(&[
        "activate",
        PLUGIN,
        "--org",
        ORG,
        "--agent",
        AGENT,
        "--priority",
        "10",
    ]);
    let answer = summarize_through(&live);
    assert_eq!(answer["result"]["text"], STUBBED, "{answer}");
    assert_eq!(answer["result"]["values"]["dimensions"], 384, "{answer}");
    let requests = live.requests().await;
    assert!(
        requests
            .iter()
            .any(|(host, status)| host == "openrouter.ai" && *status == 200),
        "{requests:?}"
    );
    assert!(
        requests.iter().all(|(host, _)| host == "openrouter.ai"),
        "only the mapped domain was asked for: {requests:?}"
    );
}

/// `@elizaos/plugin-openai` (the model plugin of the ten): TEXT_SMALL and TEXT_EMBEDDING answer another
/// plugin's `useModel` from a stub of OpenAI's API at `api.openai.com` (https, through the egress
/// mapping): proves the AI SDK's client and the plugin's own fetch both reach the stub, and the answer
/// comes back through plughub's model routing.
#[tokio::test(flavor = "multi_thread")]
async fn openai_answers_use_model_from_a_stub_of_its_api() {
    const PLUGIN: &str = "@elizaos/plugin-openai";
    if !npm_serves(PLUGIN) {
        return;
    }
    let mut live = Live::new(PLUGIN).await;
    live.install(
        &["OPENAI_API_KEY=sk-stub", "OPENAI_EMBEDDING_DIMENSIONS=384"],
        &["api.openai.com"],
        Some(Arc::new(openai_wire)),
    )
    .await;
    let manifest = live.manifest();
    assert!(
        manifest["models"].to_string().contains("TEXT_EMBEDDING"),
        "{manifest}"
    );
    // Above the offline model, for the types it provides.
    live.ok(&["deactivate", PLUGIN, "--org", ORG, "--agent", AGENT]);
    live.ok(&[
        "activate",
        PLUGIN,
        "--org",
        ORG,
        "--agent",
        AGENT,
        "--priority",
        "10",
    ]);
    let answer = summarize_through(&live);
    assert_eq!(answer["result"]["text"], STUBBED, "{answer}");
    assert_eq!(answer["result"]["values"]["dimensions"], 384, "{answer}");
    let requests = live.requests().await;
    assert!(
        requests.iter().all(|(host, _)| host == "api.openai.com"),
        "only the mapped domain was asked for: {requests:?}"
    );
}
