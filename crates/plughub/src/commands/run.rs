//! `plughub run | provide | evaluate | inspect`: an installed plugin loaded in a worker with its settings, its init
//! run, its true manifest recorded, and one component called; every execution recorded as an event.

use super::install::local_installer;
use crate::cli::{ExecArgs, InspectArgs, ProvideArgs, RunArgs, StoreArgs};
use crate::output::out;
use crate::{context, output};
use anyhow::{Result, anyhow};
use plughub_domain::ThingKind;
use plughub_domain::execution_policy::ExecutionPolicy;
use plughub_engine::{Invocation, LoadedPlugin, PluginSpec, Settings, WorkerSpec};
use plughub_lifecycle::{ExecutionContext, Installer, ManifestComponent, StoreRuntime};
use plughub_protocol::Manifest;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// A loaded plugin with what it needs to record its executions.
struct Session {
    installer: Installer,
    context: ExecutionContext,
    plugin: LoadedPlugin,
    /// The execution's timeout: the one asked for, within the plan's bounds.
    timeout: Duration,
}

async fn open(store_args: &StoreArgs, plugin: &str, exec: &ExecArgs) -> Result<Session> {
    let installer = local_installer(store_args).await?;
    let keys = context::key_ring(store_args)?;
    let context = installer
        .execution_context(&exec.org, plugin, &keys)
        .await?;
    let policy = ExecutionPolicy::default();
    installer.check_execution_allowed(&context, &policy).await?;
    let tier = policy.limits(context.plan);
    let timeout = policy.timeout(context.plan, Some(Duration::from_secs(exec.timeout.max(1))));
    let spec = PluginSpec {
        worker: WorkerSpec {
            node: context::node(),
            package_dir: context.package_dir.clone(),
            run_dir: context::run_dir(store_args),
            env: vec![("NODE_ENV".into(), "production".into())],
            start_timeout: timeout,
            memory_mb: Some(tier.memory_mb),
        },
        settings: Settings {
            values: context.settings.clone(),
            agent_id: exec.agent.clone(),
            character: json!({ "name": exec.agent }),
        },
        init_timeout: timeout,
    };
    let runtime = StoreRuntime::new(installer.store().clone(), &context, &exec.agent);
    let loaded = LoadedPlugin::load(&spec, Arc::new(runtime)).await;
    let plugin = match loaded {
        Ok(plugin) => plugin,
        Err(e) => {
            let message = context.redact(&e.to_string());
            installer
                .record_execution(
                    &context,
                    false,
                    json!({ "operation": "init", "plugin": context.plugin, "error": message }),
                    "cli",
                )
                .await?;
            return Err(anyhow!("{} did not start: {message}", context.plugin));
        }
    };
    installer
        .record_manifest(&context, &components(plugin.manifest()))
        .await?;
    Ok(Session {
        installer,
        context,
        plugin,
        timeout,
    })
}

fn components(manifest: &Manifest) -> Vec<ManifestComponent> {
    let mut out: Vec<ManifestComponent> = Vec::new();
    for (kind, list) in [
        (ThingKind::PluginAction, &manifest.actions),
        (ThingKind::PluginProvider, &manifest.providers),
        (ThingKind::PluginEvaluator, &manifest.evaluators),
    ] {
        out.extend(
            list.iter()
                .map(|c| (kind, c.name.clone(), c.description.clone())),
        );
    }
    out.extend(manifest.services.iter().map(|s| {
        (
            ThingKind::PluginService,
            s.service_type.clone(),
            s.capability_description.clone(),
        )
    }));
    out
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
        let base = json!({ "plugin": self.context.plugin, "version": self.context.version,
                           "kind": kind, "component": component, "log": log, "cache_hit": false });
        match outcome {
            Ok(invocation) => {
                let mut metadata = base;
                metadata["status"] = json!("ok");
                metadata["duration_ms"] = json!(invocation.duration_ms);
                metadata["memory_bytes"] = json!(invocation.memory_bytes);
                self.installer
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
                self.installer
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
