//! `plughub run | provide | evaluate | inspect`: an installed plugin loaded in a worker with its settings, its init
//! run, its true manifest recorded, and one component called; every execution recorded as an event.

use super::install::local_installer;
use crate::cli::{ExecArgs, InspectArgs, ProvideArgs, RouteArgs, RunArgs, StoreArgs};
use crate::output::out;
use crate::{context, output};
use anyhow::{Result, anyhow};
use plughub_domain::execution_policy::ExecutionPolicy;
use plughub_engine::{EgressPolicy, Invocation, LoadedPlugin, RouteRequest};
use plughub_lifecycle::{ExecutionContext, LaunchConfig, Launcher, NetworkLog};
use serde_json::{Value, json};
use std::time::Duration;

/// A loaded plugin with what it needs to record its executions.
struct Session {
    launcher: Launcher,
    context: ExecutionContext,
    plugin: LoadedPlugin,
    /// The execution's timeout: the one asked for, within the plan's bounds.
    timeout: Duration,
    /// What went wrong starting it without stopping it (a service that did not start): kept in the log.
    warnings: Vec<String>,
    network_log: NetworkLog,
}

/// Starts the instance for the agent (recording its manifest, or why it did not start).
async fn open(store_args: &StoreArgs, plugin: &str, exec: &ExecArgs) -> Result<Session> {
    let launcher = launcher(store_args).await?;
    let asked = Duration::from_secs(exec.timeout.max(1));
    let launched = launcher
        .launch(&exec.org, plugin, &exec.agent, Some(asked))
        .await?;
    for error in &launched.service_errors {
        eprintln!("warning: {error}");
    }
    let warnings = launched.service_errors;
    Ok(Session {
        launcher,
        context: launched.context,
        plugin: launched.plugin,
        timeout: launched.timeout,
        warnings,
        network_log: launched.network_log,
    })
}

/// Starts installed instances from this machine's data directory, under the default policy.
pub async fn launcher(store_args: &StoreArgs) -> Result<Launcher> {
    let installer = local_installer(store_args).await?;
    let keys = context::key_ring(store_args)?;
    let config = LaunchConfig {
        node: context::node(),
        run_dir: context::run_dir(store_args),
        policy: ExecutionPolicy::default(),
        sandbox: context::sandbox(),
        egress: EgressPolicy::default(),
    };
    Ok(Launcher::new(installer, keys, config))
}

impl Session {
    /// Records the outcome, prints it, and turns a failure into the command's error.
    async fn finish(
        self,
        kind: &str,
        component: &str,
        outcome: Result<Invocation, plughub_engine::EngineError>,
        json: bool,
    ) -> Result<()> {
        let log: Vec<String> = self
            .plugin
            .worker()
            .log()
            .iter()
            .rev()
            .take(50)
            .rev()
            .map(|l| format!("[{}] {}", l.stream, l.text))
            .collect();
        let log: Vec<String> = self
            .warnings
            .iter()
            .map(|w| format!("[plughub] {w}"))
            .chain(log)
            .collect();
        // The worker ends here, so its last network requests are recorded before the execution is.
        drop(self.plugin);
        self.network_log.flush().await;
        let base = json!({ "plugin": self.context.plugin, "version": self.context.version,
                           "kind": kind, "component": component, "log": log, "cache_hit": false });
        match outcome {
            Ok(invocation) => {
                let mut metadata = base;
                metadata["status"] = json!("ok");
                metadata["duration_ms"] = json!(invocation.duration_ms);
                metadata["memory_bytes"] = json!(invocation.memory_bytes);
                // What the component answered, in short: a refused attempt shows in the record.
                let answer = self.context.redact_value(&invocation.result);
                if let Some(text) = answer.get("text").and_then(Value::as_str) {
                    metadata["text"] = json!(text.chars().take(500).collect::<String>());
                }
                if let Some(success) = answer.get("success") {
                    metadata["success"] = success.clone();
                }
                self.launcher
                    .installer()
                    .record_execution(&self.context, true, metadata, "cli")
                    .await?;
                let result = self.context.redact_value(&invocation.result);
                if json {
                    let callbacks: Vec<Value> = invocation
                        .callbacks
                        .iter()
                        .map(|c| self.context.redact_value(c))
                        .collect();
                    return output::print_json(&json!({
                        "result": result, "callbacks": callbacks,
                        "duration_ms": invocation.duration_ms, "memory_bytes": invocation.memory_bytes,
                    }));
                }
                if let Some(text) = result.get("text").and_then(Value::as_str) {
                    out!("{text}");
                } else {
                    out!("{}", serde_json::to_string_pretty(&result)?);
                }
                eprintln!("({kind} {component}: {:.1} ms)", invocation.duration_ms);
                Ok(())
            }
            Err(e) => {
                let message = self.context.redact(&e.to_string());
                let mut metadata = base;
                metadata["status"] = json!("error");
                metadata["error"] = json!(message);
                self.launcher
                    .installer()
                    .record_execution(&self.context, false, metadata, "cli")
                    .await?;
                Err(anyhow!(
                    "{kind} {component} of {}: {message}",
                    self.context.plugin
                ))
            }
        }
    }
}

pub async fn run(store_args: &StoreArgs, args: RunArgs) -> Result<()> {
    let session = open(store_args, &args.plugin, &args.exec).await?;
    let memory = plughub_engine::message(&args.text, &args.exec.agent);
    let timeout = session.timeout;
    let valid = session
        .plugin
        .validate_action(&args.action, memory.clone(), timeout)
        .await;
    let outcome = match valid {
        Ok(true) => {
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Value>();
            let stream = (!args.exec.json).then_some(tx);
            let context = session.context.clone();
            let printer = tokio::spawn(async move {
                while let Some(content) = rx.recv().await {
                    let content = context.redact_value(&content);
                    match content.get("text").and_then(Value::as_str) {
                        Some(text) => eprintln!("  … {text}"),
                        None => eprintln!("  … {content}"),
                    }
                }
            });
            let outcome = session
                .plugin
                .invoke_action(&args.action, memory, timeout, stream)
                .await;
            let _ = printer.await;
            outcome
        }
        Ok(false) => Err(plughub_engine::EngineError::Plugin(format!(
            "{} declined this message (its validate answered false)",
            args.action
        ))),
        Err(e) => Err(e),
    };
    session
        .finish("action", &args.action, outcome, args.exec.json)
        .await
}

/// A provider, or with `evaluator` an evaluator, called on the message.
pub async fn provide(store_args: &StoreArgs, args: ProvideArgs, evaluator: bool) -> Result<()> {
    let session = open(store_args, &args.plugin, &args.exec).await?;
    let memory = plughub_engine::message(&args.text, &args.exec.agent);
    let timeout = session.timeout;
    let (kind, outcome) = if evaluator {
        let outcome = session
            .plugin
            .invoke_evaluator(&args.provider, memory, timeout)
            .await;
        ("evaluator", outcome)
    } else {
        let outcome = session
            .plugin
            .get_provider(&args.provider, memory, timeout)
            .await;
        ("provider", outcome)
    };
    session
        .finish(kind, &args.provider, outcome, args.exec.json)
        .await
}

/// A request to one of the plugin's routes; the answer's status, headers and body are the result.
pub async fn route(store_args: &StoreArgs, args: RouteArgs) -> Result<()> {
    let body = match &args.body {
        Some(text) => serde_json::from_str(text).map_err(|e| {
            anyhow!("--body is not JSON ({e}): give it as e.g. '{{\"name\":\"Ada\"}}'")
        })?,
        None => Value::Null,
    };
    let mut query = serde_json::Map::new();
    for pair in &args.query {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| anyhow!("--query {pair}: expected KEY=VALUE"))?;
        query.insert(key.to_string(), json!(value));
    }
    let session = open(store_args, &args.plugin, &args.exec).await?;
    let method = args.method.to_uppercase();
    let request = RouteRequest {
        method: method.clone(),
        path: args.path.clone(),
        body,
        params: json!({}),
        query: Value::Object(query),
        headers: json!({}),
    };
    let started = std::time::Instant::now();
    let outcome = session
        .plugin
        .handle_route(request, session.timeout)
        .await
        .map(|response| Invocation {
            result: json!({ "status": response.status, "headers": response.headers,
                            "body": response.body }),
            callbacks: Vec::new(),
            duration_ms: started.elapsed().as_secs_f64() * 1e3,
            memory_bytes: session.plugin.worker().memory_bytes(),
        });
    let component = format!("{method} {}", args.path);
    session
        .finish("route", &component, outcome, args.exec.json)
        .await
}

pub async fn inspect(store_args: &StoreArgs, args: InspectArgs) -> Result<()> {
    let session = open(store_args, &args.plugin, &args.exec).await?;
    let manifest = session.plugin.manifest();
    if args.exec.json {
        return output::print_json(manifest);
    }
    out!(
        "{} ({}): {}",
        session.context.plugin,
        session.context.version,
        manifest.description
    );
    let show = |label: &str, names: Vec<String>| {
        if !names.is_empty() {
            out!("  {label}: {}", names.join(", "));
        }
    };
    let names = |list: &[plughub_protocol::Component]| -> Vec<String> {
        list.iter().map(|c| c.name.clone()).collect()
    };
    show("actions", names(&manifest.actions));
    show("providers", names(&manifest.providers));
    show("evaluators", names(&manifest.evaluators));
    show(
        "services",
        manifest
            .services
            .iter()
            .map(|s| s.service_type.clone())
            .collect(),
    );
    show("models", manifest.models.clone());
    show("routes", manifest.routes.clone());
    Ok(())
}
