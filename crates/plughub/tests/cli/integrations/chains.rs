//! Chain plugins reading a wallet's balance from a stub of a JSON-RPC endpoint, reached through the egress
//! mapping under names that never resolve.

use super::*;
use serde_json::json;

/// A private key everybody knows (the development chains' second account): it holds nothing anywhere.
const EVM_KEY: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const EVM_ADDRESS: &str = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

/// An Ethereum node's answers: 1.5 ether for every balance asked, and what viem asks besides.
fn ethereum(method: &str, _params: &Value) -> Option<Value> {
    Some(match method {
        "eth_getBalance" => json!("0x14d1120d7b160000"),
        "eth_chainId" => json!("0x1"),
        "eth_blockNumber" => json!("0x10"),
        "net_version" => json!("1"),
        _ => return None,
    })
}

/// `@elizaos/plugin-evm`: its provider EVMWalletProvider (through its service EVMService) reads the
/// wallet's balance on mainnet and base from a stub JSON-RPC endpoint (`ETHEREUM_PROVIDER_*` set to
/// names that never resolve, mapped to the stub): proves a chain plugin runs against a stubbed node,
/// and that its other requests (LI.FI's API) are refused by the address policy.
#[tokio::test(flavor = "multi_thread")]
async fn evm_reads_a_balance_from_a_stub_rpc_endpoint() {
    const PLUGIN: &str = "@elizaos/plugin-evm";
    if !npm_serves(PLUGIN) {
        return;
    }
    let mut live = Live::new(PLUGIN).await;
    live.install(
        &[
            &format!("EVM_PRIVATE_KEY={EVM_KEY}"),
            "ETHEREUM_PROVIDER_MAINNET=https://mainnet.rpc.invalid/",
            "ETHEREUM_PROVIDER_BASE=https://base.rpc.invalid/",
        ],
        &["mainnet.rpc.invalid", "base.rpc.invalid"],
        Some(json_rpc(ethereum)),
    )
    .await;
    let manifest = live.manifest();
    assert!(
        manifest["providers"]
            .to_string()
            .contains("EVMWalletProvider"),
        "{manifest}"
    );
    let (ran, answer, stderr) = live.component("provide", "EVMWalletProvider", "my balance?");
    assert!(ran, "{stderr}");
    let said = answer["result"]["text"].as_str().unwrap_or_default();
    assert!(said.contains(EVM_ADDRESS), "{answer}");
    assert!(said.contains("1.5 ETH"), "the stub's balance: {answer}");
    let requests = live.requests().await;
    assert!(
        requests
            .iter()
            .any(|(host, status)| host == "mainnet.rpc.invalid" && *status == 200),
        "{requests:?}"
    );
    assert!(
        requests
            .iter()
            .filter(|(host, _)| !host.ends_with(".rpc.invalid"))
            .all(|(_, status)| *status == 403),
        "everything else was refused: {requests:?}"
    );
}

/// `@elizaos/plugin-solana` (broken upstream: its code imports `@elizaos/service-interfaces`, a package
/// that is not on the npm registry): plughub says so — the install or the load stops naming the missing
/// package, as the plugin's fault — and leaves nothing running or half-installed.
#[tokio::test(flavor = "multi_thread")]
async fn solana_is_broken_upstream_and_plughub_says_why() {
    const PLUGIN: &str = "@elizaos/plugin-solana";
    if !npm_serves(PLUGIN) {
        return;
    }
    if Command::new("npm")
        .args(["view", "@elizaos/service-interfaces", "version"])
        .output()
        .is_ok_and(|out| out.status.success())
    {
        println!(
            "note: @elizaos/service-interfaces is on this registry now: plugin-solana may be fixed upstream"
        );
    }
    let live = Live::new(PLUGIN).await;
    let out = live.run(&["install", PLUGIN, "--org", ORG, "--json"]);
    let said = if out.status.success() {
        // Installed (the missing package is an optional peer): its load names what it cannot find.
        live.ok(&[
            "configure",
            PLUGIN,
            "--org",
            ORG,
            "SOLANA_PUBLIC_KEY=11111111111111111111111111111111",
        ]);
        let out = live.run(&["inspect", PLUGIN, "--org", ORG, "--agent", AGENT]);
        assert!(!out.status.success(), "{}", text(&out.stdout));
        text(&out.stderr)
    } else {
        text(&out.stderr)
    };
    println!("integration {PLUGIN}: {}", said.trim());
    assert!(said.contains("@elizaos/service-interfaces"), "{said}");
}
