//! The agent's own plugins: the message loop (bootstrap), knowledge, long-term memory and the SQL adapter,
//! with plughub's offline model behind `useModel` and plughub's store behind the runtime's storage.

use super::*;

/// `@elizaos/plugin-bootstrap`: its action REPLY answers a message, composing its prompt from its
/// providers and asking the agent's text model (plughub's offline model) for the answer: proves the
/// message loop's core runs on plughub with a model plugin behind `useModel`.
#[tokio::test(flavor = "multi_thread")]
async fn bootstrap_answers_a_message() {
    const PLUGIN: &str = "@elizaos/plugin-bootstrap";
    if !npm_serves(PLUGIN) {
        return;
    }
    let mut live = Live::new(PLUGIN).await;
    live.install(&[], &[], None).await;
    let manifest = live.manifest();
    assert!(
        manifest["actions"].to_string().contains("REPLY"),
        "{manifest}"
    );
    let (ran, answer, stderr) = live.component("run", "REPLY", "hello there, who are you?");
    assert!(ran, "{stderr}");
    let reply = answer["callbacks"][0]["text"].as_str().unwrap_or_default();
    assert!(
        reply.starts_with("[local-model TEXT_"),
        "answered by the offline model: {answer}"
    );
    assert!(live.requests().await.is_empty(), "no network asked for");
}

/// `@elizaos/plugin-knowledge`: its action PROCESS_KNOWLEDGE stores a document (fragments embedded by
/// the offline model's TEXT_EMBEDDING, kept in plughub's store), and its provider KNOWLEDGE finds it
/// again for a question in a later run, by the nearness of their embeddings (`searchMemories` with an
/// embedding): proves the knowledge service's storage and retrieval on plughub.
#[tokio::test(flavor = "multi_thread")]
async fn knowledge_stores_a_document_and_its_provider_finds_it() {
    const PLUGIN: &str = "@elizaos/plugin-knowledge";
    if !npm_serves(PLUGIN) {
        return;
    }
    let mut live = Live::new(PLUGIN).await;
    // No embedding provider of its own (its default is OpenAI's API): the agent's model makes them.
    live.install(&["EMBEDDING_PROVIDER="], &[], None).await;
    let manifest = live.manifest();
    assert!(
        manifest["actions"]
            .to_string()
            .contains("PROCESS_KNOWLEDGE"),
        "{manifest}"
    );
    let fact = "The lighthouse of Alexandria was built on the island of Pharos.";
    let (ran, answer, stderr) = live.component(
        "run",
        "PROCESS_KNOWLEDGE",
        &format!("Add this to your knowledge: {fact}"),
    );
    assert!(ran, "{stderr}");
    let said = answer["callbacks"][0]["text"].as_str().unwrap_or_default();
    assert!(said.contains("added that information"), "{answer}");
    let (ran, answer, stderr) = live.component(
        "provide",
        "KNOWLEDGE",
        "Where was the lighthouse of Alexandria?",
    );
    assert!(ran, "{stderr}");
    let found = answer["result"]["text"].as_str().unwrap_or_default();
    assert!(found.contains("island of Pharos"), "{answer}");
}

/// `@elizaos/plugin-memory`: its service keeps long-term memories in the agent's SQL database itself
/// (`runtime.db`: Drizzle tables of its own schema, which plugin-sql would migrate). plughub's runtime
/// serves memories, cache and storage from its own store and hands no plugin a database connection, so
/// this plugin cannot remember across runs on plughub: the test shows it installs, inits, shows its
/// manifest, and that its provider LONG_TERM_MEMORY answers in two runs with nothing remembered (its
/// service finds no database and says so in its log) instead of failing the agent.
#[tokio::test(flavor = "multi_thread")]
async fn memory_runs_but_cannot_remember_without_the_agent_s_sql_database() {
    const PLUGIN: &str = "@elizaos/plugin-memory";
    if !npm_serves(PLUGIN) {
        return;
    }
    let mut live = Live::new(PLUGIN).await;
    live.install(&[], &[], None).await;
    let manifest = live.manifest();
    assert!(
        manifest["providers"]
            .to_string()
            .contains("LONG_TERM_MEMORY"),
        "{manifest}"
    );
    for run in ["first", "second"] {
        let (ran, answer, stderr) = live.component(
            "provide",
            "LONG_TERM_MEMORY",
            "I live in Lisbon. Where do I live?",
        );
        println!("integration {PLUGIN}: {run} run: {answer}");
        assert!(ran, "{stderr}");
        assert_eq!(answer["result"]["text"], "", "nothing remembered: {answer}");
    }
}

/// `@elizaos/plugin-sql`: a database adapter. Its init asks the runtime whether an adapter is ready;
/// plughub's runtime is (its own store serves the runtime's memories, cache and storage, per
/// organisation and quota), so plugin-sql registers nothing and opens no database: it installs, inits,
/// and shows a manifest with no components — plughub's store replaces it.
#[tokio::test(flavor = "multi_thread")]
async fn sql_finds_plughub_s_store_serving_the_runtime() {
    const PLUGIN: &str = "@elizaos/plugin-sql";
    if !npm_serves(PLUGIN) {
        return;
    }
    let mut live = Live::new(PLUGIN).await;
    live.install(&[], &[], None).await;
    let manifest = live.manifest();
    for section in ["actions", "providers", "evaluators"] {
        assert_eq!(
            manifest[section].as_array().map_or(0, Vec::len),
            0,
            "{section}: {manifest}"
        );
    }
    let logs = live.ok(&["logs", "--org", ORG, "--json"]);
    println!("integration {PLUGIN}: {logs}");
}
