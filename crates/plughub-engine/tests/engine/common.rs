//! What the engine tests share: fixture plugins (real npm packages in plughub-testkit) under the real Node.js.

pub use plughub_engine::{
    EngineError, Invocation, LoadedPlugin, LocalRuntime, PluginSpec, Settings, WorkerSpec, message,
};
pub use serde_json::{Value, json};
pub use std::path::PathBuf;
pub use std::sync::Arc;
pub use std::time::Duration;

pub use plughub_testkit::fixture_plugin as fixture;

pub fn spec(name: &str, run_dir: &std::path::Path, settings: &[(&str, &str)]) -> PluginSpec {
    PluginSpec {
        worker: WorkerSpec {
            node: std::env::var_os("PLUGHUB_NODE")
                .map(PathBuf::from)
                .unwrap_or_else(|| "node".into()),
            package_dir: fixture(name),
            run_dir: run_dir.to_path_buf(),
            env: vec![("NODE_ENV".into(), "production".into())],
            start_timeout: Duration::from_secs(20),
            memory_mb: Some(128),
            sandbox: None,
            egress: None,
            egress_hooks: None,
            caps: Default::default(),
            pool: None,
            urgency: plughub_engine::Urgency::Now,
        },
        settings: Settings {
            values: settings
                .iter()
                .map(|(k, v)| (k.to_string(), json!(v)))
                .collect(),
            agent_id: "agent-1".into(),
            character: json!({ "name": "Eliza" }),
        },
        init_timeout: Duration::from_secs(5),
    }
}

pub const SECOND: Duration = Duration::from_secs(1);

/// Runs one of the escape fixture's attempts: the text it answers (`ESCAPED: …` or `blocked: …`), or
/// `blocked: the worker ended: …` when the attempt ended the worker.
pub async fn attempt(plugin: &LoadedPlugin, action: &str, text: &str) -> String {
    match plugin
        .invoke_action(action, message(text, "agent-1"), SECOND * 20, None)
        .await
    {
        Ok(done) => done.result["text"].as_str().unwrap_or_default().to_string(),
        Err(e) => format!("blocked: the worker ended: {e}"),
    }
}
