//! Plugins whose work is a long-running service: a chat gateway (Discord) and a headless browser.

use super::*;
use plughub_sdk::test::stub::{Answer, Asked};
use serde_json::json;
use std::sync::Arc;

/// Discord's REST API as a bot with a token it does not know sees it: 401 for everything.
fn discord_api(asked: &Asked) -> Option<Answer> {
    asked.url.contains("/api/").then(|| Answer {
        status: 401,
        ..Answer::json(&json!({ "message": "401: Unauthorized", "code": 0 }))
    })
}

/// `@elizaos/plugin-discord`: its service `discord` starts in the sandbox with a bot token, the
/// plugin's domains (`discord.com`, and `github.com` its code names) mapped to a stub of Discord's API
/// that refuses the token as Discord would, and its provider channelState answers. What it cannot do here:
/// the service logs in in the background and a one-shot command's worker ends before the login is
/// through (the proxy records a tunnel opened and dropped), and past the login Discord's WebSocket
/// gateway is a protocol a stub of the REST API does not speak. Proves the service starts, and that
/// nothing it sends leaves for anywhere but the stub.
#[tokio::test(flavor = "multi_thread")]
async fn discord_service_starts_against_a_stub_and_says_why_it_cannot_connect() {
    const PLUGIN: &str = "@elizaos/plugin-discord";
    if !npm_serves(PLUGIN) {
        return;
    }
    let mut live = Live::new(PLUGIN).await;
    live.install(
        &[
            "DISCORD_APPLICATION_ID=100000000000000001",
            "DISCORD_API_TOKEN=stub-token",
        ],
        &["discord.com"],
        Some(Arc::new(discord_api)),
    )
    .await;
    let out = live.run(&["inspect", PLUGIN, "--org", ORG, "--agent", AGENT, "--json"]);
    let said = text(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(
        !said.contains("did not start"),
        "the service starts: {said}"
    );
    let manifest: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        manifest["services"][0]["serviceType"], "discord",
        "{manifest}"
    );
    let (ran, answer, stderr) = live.component("provide", "channelState", "hello");
    assert!(ran, "{stderr}");
    assert!(answer["result"].is_object(), "{answer}");
    let requests = live.requests().await;
    println!("integration {PLUGIN}: requests {requests:?}");
    assert!(
        requests
            .iter()
            .all(|(host, status)| *status != 200 || host == "discord.com" || host == "github.com"),
        "only mapped domains were reached: {requests:?}"
    );
}

/// `@elizaos/plugin-browser`: a service (`browser`) that starts Chromium (through patchright). It loads,
/// inits and shows its manifest; its service starts Chromium when the plugin is granted
/// `process.spawn` for it and a Chromium is there, and otherwise says why it cannot (no browser
/// download happens: the machine reaches package registries only).
#[tokio::test(flavor = "multi_thread")]
async fn browser_loads_and_its_service_starts_chromium_or_says_why() {
    const PLUGIN: &str = "@elizaos/plugin-browser";
    if !npm_serves(PLUGIN) {
        return;
    }
    let mut live = Live::new(PLUGIN).await;
    live.install(&[], &[], None).await;
    let out = live.run(&["inspect", PLUGIN, "--org", ORG, "--agent", AGENT, "--json"]);
    let said = text(&out.stderr);
    println!("integration {PLUGIN}: {}", said.trim());
    assert!(out.status.success(), "{said}");
    let manifest: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        manifest["services"].to_string().contains("browser"),
        "{manifest}"
    );
    if said.contains("service browser did not start") {
        assert!(
            said.contains("Executable doesn't exist")
                || said.contains("process.spawn")
                || said.contains("chromium"),
            "the reason is named: {said}"
        );
    }
}
