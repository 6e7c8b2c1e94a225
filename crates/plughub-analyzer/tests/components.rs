//! The components a package declares, read from its JavaScript: small sources written as elizaOS plugins
//! are published (bundled ESM, CommonJS), odd code that must not break the reading, and the fixture plugin
//! that the runtime tests run, whose components are known.

use plughub_analyzer::{MAX_COMPONENTS, analyze_package, components_of_source, package_facts};
use plughub_domain::{ComponentKind, PluginKind};

fn names(source: &str, kind: ComponentKind) -> Vec<String> {
    components_of_source("dist/index.js", source)
        .components
        .into_iter()
        .filter(|c| c.kind == kind)
        .map(|c| c.name)
        .collect()
}

/// A plugin as a bundler writes it: one file, components bound to names and listed in the plugin object.
const BUNDLED: &str = r#"
import { ModelType as ModelType7, Service, logger } from "@elizaos/core";
var TRANSFER = "TRANSFER_TOKENS";
var Names = { SWAP: "SWAP_TOKENS" };
var SERVICE_NAME = "chain_wallet";
var transferAction = {
  name: TRANSFER,
  similes: ["SEND_TOKENS", "PAY", 42, "SEND_TOKENS"],
  description: "Transfer " + "tokens to an address",
  validate: async (runtime, message) => true,
  handler: async (runtime, message, state, options, callback) => ({ success: true }),
  examples: [[{ name: "{{user1}}", content: { text: "send 1 SOL", actions: ["TRANSFER_TOKENS"] } }]],
};
var swapAction = { name: Names.SWAP, description: `Swap one token for another`, validate: async () => true, handler: async () => {} };
var moreActions = [swapAction];
var walletProvider = { name: "WALLET", get: async () => ({ text: "" }) };
var factsEvaluator = {
  name: "FACTS",
  similes: ["GET_FACTS"],
  description: "Extracts facts",
  validate: async () => true,
  handler: async () => {},
  examples: [],
};
class WalletService extends Service {
  static serviceType = SERVICE_NAME;
  capabilityDescription = "Keeps the wallet";
  static async start(runtime) { return new WalletService(runtime); }
}
var _PriceService = class _PriceService extends Service {
  static async start(runtime) { return new _PriceService(); }
};
_PriceService.serviceType = "price";
_PriceService.capabilityDescription = "Prices of tokens";
var PriceService = _PriceService;
var chainPlugin = {
  name: "chain",
  description: "Tokens on a chain",
  actions: [transferAction, ...moreActions, makeAction("BUILT_AT_RUN_TIME")],
  providers: [walletProvider],
  evaluators: [factsEvaluator],
  services: [WalletService, PriceService],
  models: {
    [ModelType7.TEXT_LARGE]: async (runtime, params) => "",
    TEXT_EMBEDDING: async () => [],
    "OBJECT_SMALL": async () => ({}),
    notAModel: 1,
  },
  routes: [{ type: "get", path: "/status", handler: async (req, res) => {} }],
  init: async (config, runtime) => {
    runtime.registerAction({ name: "REGISTERED", description: "Made in init", validate: async () => true, handler: async () => {} });
  },
};
var index_default = chainPlugin;
export { index_default as default };
"#;

#[test]
fn a_bundled_plugin_object_lists_its_components() {
    let declared = components_of_source("dist/index.js", BUNDLED);
    let by_kind = |kind| {
        declared
            .components
            .iter()
            .filter(|c| c.kind == kind)
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        by_kind(ComponentKind::Action),
        ["TRANSFER_TOKENS", "SWAP_TOKENS", "REGISTERED"]
    );
    assert_eq!(by_kind(ComponentKind::Provider), ["WALLET"]);
    assert_eq!(by_kind(ComponentKind::Evaluator), ["FACTS"]);
    assert_eq!(by_kind(ComponentKind::Service), ["chain_wallet", "price"]);
    assert_eq!(
        by_kind(ComponentKind::Model),
        ["TEXT_LARGE", "TEXT_EMBEDDING", "OBJECT_SMALL"]
    );
    assert_eq!(by_kind(ComponentKind::Route), ["GET /status"]);
    let transfer = &declared.components[0];
    assert_eq!(
        transfer.description.as_deref(),
        Some("Transfer tokens to an address")
    );
    assert_eq!(
        transfer.similes,
        ["SEND_TOKENS", "PAY"],
        "strings, once each"
    );
    let wallet = declared
        .components
        .iter()
        .find(|c| c.name == "chain_wallet")
        .unwrap();
    assert_eq!(wallet.description.as_deref(), Some("Keeps the wallet"));
    let price = declared
        .components
        .iter()
        .find(|c| c.name == "price")
        .unwrap();
    assert_eq!(price.description.as_deref(), Some("Prices of tokens"));
    assert_eq!(declared.unread, 1, "the action built by a call");
    assert!(!declared.client && !declared.adapter && !declared.cut);
}

#[test]
fn without_a_list_the_shape_decides() {
    // Components in a file of their own, as unbundled builds leave them: no plugin object lists them.
    let source = r#"
        export const weatherAction = { name: "GET_WEATHER", description: "Weather now", validate: async () => true, handler: async () => {} };
        export const moodEvaluator = { name: "MOOD", validate: async () => true, handler: async () => {} };
        export const reflection = { name: "REFLECT", alwaysRun: true, validate: async () => true, handler: async () => {} };
        export const goals = { name: "GOALS", validate: async () => true, handler: async () => {},
          examples: [{ prompt: "p", messages: [], outcome: "o" }] };
        export const extractor = { name: "form_evaluator", examples: [], validate: async () => true, handler: async () => {} };
        export const chat = { name: "CHAT", validate: async () => true, handler: async () => {},
          examples: [[{ name: "{{user}}", content: { text: "hi" } }]] };
        export const timeProvider = { name: "TIME", get: async () => ({ text: "now" }) };
        export const newsProvider = { name: "NEWS", dynamic: true, get: async () => ({}) };
        export const quotes = { name: "QUOTES", get: async (runtime, message) => ({}) };
        // Not components: a getter of a library, a record with a name.
        const cache = { name: "lru", get: (key) => store[key] };
        const person = { name: "Ada", handler: "none" };
    "#;
    assert_eq!(
        names(source, ComponentKind::Action),
        ["GET_WEATHER", "CHAT"]
    );
    assert_eq!(
        names(source, ComponentKind::Evaluator),
        ["MOOD", "REFLECT", "GOALS", "form_evaluator"]
    );
    assert_eq!(
        names(source, ComponentKind::Provider),
        ["TIME", "NEWS", "QUOTES"]
    );
}

#[test]
fn a_listed_kind_wins_over_a_shape_in_another_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("package.json"),
        r#"{"name":"p","version":"1.0.0"}"#,
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("dist")).unwrap();
    // Found by shape as an action first (files are read in order), then listed as an evaluator.
    std::fs::write(
        dir.path().join("dist/a.js"),
        r#"export const trust = { name: "TRUST", validate: async () => true, handler: async () => {} };"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("dist/b.js"),
        r#"const trust = { name: "TRUST", description: "Scores trust", validate: async () => true, handler: async () => {} };
           export default { name: "trust", evaluators: [trust] };"#,
    )
    .unwrap();
    let report = analyze_package(dir.path()).unwrap();
    let trust: Vec<_> = report
        .declared
        .components
        .iter()
        .filter(|c| c.name == "TRUST")
        .collect();
    assert_eq!(trust.len(), 1);
    assert_eq!(trust[0].kind, ComponentKind::Evaluator);
    assert_eq!(trust[0].description.as_deref(), Some("Scores trust"));
}

#[test]
fn commonjs_and_registrations_in_init() {
    let source = r#"
        "use strict";
        Object.defineProperty(exports, "__esModule", { value: true });
        const NAME = "PING";
        const ping = { name: NAME, description: "Answers pong", validate: async () => true, handler: async () => {} };
        const pongProvider = { name: "PONG", get: async (rt) => ({}) };
        exports.plugin = {
            name: "ping",
            init: async (config, runtime) => {
                runtime.registerAction(ping);
                runtime.registerProvider(pongProvider);
                this.runtime.registerEvaluator(buildEvaluator());
                runtime.registerModel(ModelType.TEXT_LARGE, large, "pong", 10);
                runtime.registerModel("TEXT_SMALL", small);
            },
        };
    "#;
    let declared = components_of_source("dist/index.cjs", source);
    let found: Vec<(ComponentKind, &str)> = declared
        .components
        .iter()
        .map(|c| (c.kind, c.name.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (ComponentKind::Action, "PING"),
            (ComponentKind::Provider, "PONG"),
            (ComponentKind::Model, "TEXT_LARGE"),
            (ComponentKind::Model, "TEXT_SMALL"),
        ]
    );
    assert_eq!(declared.unread, 1);
}

#[test]
fn clients_and_adapters_are_told_by_what_the_code_does() {
    let connector = r#"
        class ChatService extends Service {
          static serviceType = "chat";
          async onMessage(m) { await this.runtime.ensureConnection({ entityId: m.author }); }
        }
    "#;
    let declared = components_of_source("a.js", connector);
    assert!(declared.client && !declared.adapter);
    // Bootstrap handles events with the runtime it is given: that is no connector.
    let handler = "export async function sync(runtime) { await runtime.ensureConnection({}); }";
    assert!(!components_of_source("a.js", handler).client);
    let send =
        "export const init = async (c, runtime) => runtime.registerSendHandler('chat', send);";
    assert!(components_of_source("a.js", send).client);
    let v2 = "class S { async on(m) { await this.runtime.messageService.handleMessage(this.runtime, m, cb); } }";
    assert!(components_of_source("a.js", v2).client);
    let received = "class S { async on(m) { await this.runtime.createRoom({ id: m.chat }); this.runtime.emitEvent(EventType.MESSAGE_RECEIVED, { m }); } }";
    assert!(components_of_source("a.js", received).client);
    // A reminder service saying its own message was received is no connector.
    let reminder =
        "class R { remind(m) { this.runtime.emitEvent(EventType.MESSAGE_RECEIVED, { m }); } }";
    assert!(!components_of_source("a.js", reminder).client);
    // A job that hands its own message to the runtime it is given is no connector.
    let cron = "export async function run(runtime, m) { await runtime.messageService.handleMessage(runtime, m); }";
    assert!(!components_of_source("a.js", cron).client);
    let interface =
        "var TwitterClientInterface = { async start(runtime) {}, async stop(runtime) {} };";
    assert!(components_of_source("a.js", interface).client);
    let v0 = "export default { name: 'direct', clients: [DirectClientInterface] };";
    assert!(components_of_source("a.js", v0).client);

    let sql = "export default { name: 'sql', init: async (c, runtime) => { runtime.registerDatabaseAdapter(make()); } };";
    assert!(components_of_source("a.js", sql).adapter);
    let pg = "export class PostgresDatabaseAdapter extends DatabaseAdapter { async init() {} }";
    assert!(components_of_source("a.js", pg).adapter);
    let v1 = "export default { name: 'db', adapter: createAdapter() };";
    assert!(components_of_source("a.js", v1).adapter);
    let none = "export default { name: 'db', adapter: undefined, actions: [] };";
    assert!(!components_of_source("a.js", none).adapter);
}

#[test]
fn odd_code_is_read_without_harm() {
    // Not JavaScript at all.
    assert_eq!(
        components_of_source("a.js", "%%% this is {{{ not code"),
        Default::default()
    );
    // Names that lead in circles, lists that spread themselves.
    let circles = r#"
        var A = B; var B = A;
        var xs = [...xs, ...ys]; var ys = [...xs];
        export default { name: A, actions: xs };
        export const loop = { name: A, validate: A, handler: A };
    "#;
    let declared = components_of_source("a.js", circles);
    assert!(declared.components.is_empty(), "{declared:?}");
    // Names that are not names, descriptions that go on.
    let long = format!(
        r#"export const a = {{ name: "{}", validate: async () => true, handler: async () => {{}} }};
           export const b = {{ name: "  B  ", description: "{}", similes: ["{}", "OK"], validate: async () => true, handler: async () => {{}} }};
           export const c = {{ name: "", validate: async () => true, handler: async () => {{}} }};
           export const d = {{ name: "D\u0007", validate: async () => true, handler: async () => {{}} }};"#,
        "N".repeat(101),
        "word ".repeat(400),
        "S".repeat(65)
    );
    let declared = components_of_source("a.js", &long);
    assert_eq!(declared.components.len(), 1, "{declared:?}");
    let b = &declared.components[0];
    assert_eq!(b.name, "B");
    assert!(b.description.as_ref().unwrap().chars().count() <= 501);
    assert!(b.description.as_ref().unwrap().ends_with('…'));
    assert_eq!(b.similes, ["OK"]);
}

#[test]
fn a_package_keeps_a_bounded_number_of_components() {
    let mut source = String::new();
    for i in 0..(MAX_COMPONENTS + 40) {
        source.push_str(&format!(
            "export const a{i} = {{ name: \"ACTION_{i}\", validate: async () => true, handler: async () => {{}} }};\n"
        ));
    }
    let declared = components_of_source("a.js", &source);
    assert_eq!(declared.components.len(), MAX_COMPONENTS);
    assert!(declared.cut);
}

#[test]
fn the_fixture_plugin_declares_one_component_of_each_kind() {
    let dir = plughub_testkit::fixture_plugin("plugin-hello");
    let report = analyze_package(&dir).unwrap();
    let facts = package_facts(&dir, &report, "2026-12-06T00:00:00Z".into());
    let found: Vec<(ComponentKind, &str)> = facts
        .components
        .iter()
        .map(|c| (c.kind, c.name.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (ComponentKind::Action, "HELLO"),
            (ComponentKind::Action, "SUMMARIZE"),
            // An inline object handed to registerAction in init: readable without running it.
            (ComponentKind::Action, "REGISTERED_IN_INIT"),
            (ComponentKind::Provider, "GREETING_STYLE"),
            (ComponentKind::Evaluator, "POLITENESS"),
            (ComponentKind::Service, "greeter"),
            (ComponentKind::Route, "GET /hello"),
        ]
    );
    assert_eq!(facts.components[0].similes, ["GREET"]);
    assert_eq!(
        facts.kinds,
        [
            PluginKind::Action,
            PluginKind::Provider,
            PluginKind::Evaluator,
            PluginKind::Service
        ]
    );
    assert_eq!(facts.version, "1.0.0");
    assert!(!facts.permissions_declared);
    // Inferred from its code (cache, events) and its declared secret.
    assert_eq!(
        facts.permissions.lines(),
        [
            "storage.read",
            "storage.write",
            "secrets.access: HELLO_API_KEY",
            "events.publish"
        ]
    );
    assert!(!facts.needs_network());
    assert_eq!(facts.findings as usize, report.findings.len());
}

#[test]
fn elizaos_0_plugins_list_nameless_providers_and_service_instances() {
    let source = r#"
        var attestationProvider = { get: async (runtime, _message) => "attested" };
        class LogService extends Service {
          static get serviceType() { return "tee_log"; }
        }
        class PlainService extends Service {}
        var logPlugin = {
          name: "log",
          actions: [],
          providers: [attestationProvider],
          evaluators: [],
          services: [new LogService(), new PlainService()],
          clients: [],
        };
        export { logPlugin as default };
    "#;
    let declared = components_of_source("dist/index.js", source);
    let found: Vec<(ComponentKind, &str)> = declared
        .components
        .iter()
        .map(|c| (c.kind, c.name.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (ComponentKind::Provider, "attestationProvider"),
            (ComponentKind::Service, "tee_log"),
            (ComponentKind::Service, "PlainService"),
        ]
    );
    assert!(!declared.client, "an empty clients list is no client");
}
