//! One component of a launched instance run on a message, and recorded: the execution's event with its
//! log, duration, memory and answer, secret values cut out of all of it. The command line and the API
//! run components through here, so both record the same.

use crate::{ExecutionContext, Launched, Launcher, LifecycleError};
use plughub_engine::{EngineError, Invocation};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedSender;

/// What can be run on a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Component {
    Action(String),
    Provider(String),
    Evaluator(String),
}

impl Component {
    pub fn kind(&self) -> &'static str {
        match self {
            Component::Action(_) => "action",
            Component::Provider(_) => "provider",
            Component::Evaluator(_) => "evaluator",
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Component::Action(n) | Component::Provider(n) | Component::Evaluator(n) => n,
        }
    }
}

/// A recorded run, secrets cut out.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ran {
    pub result: Value,
    pub callbacks: Vec<Value>,
    pub duration_ms: f64,
    pub memory_bytes: Option<u64>,
}

impl Launched {
    /// Runs `component` on a message of `text` from `agent`; an action's callbacks also go to `stream`
    /// as they come (secrets cut out). An action whose `validate` declines the message fails.
    pub async fn invoke(
        &self,
        component: &Component,
        text: &str,
        agent: &str,
        stream: Option<UnboundedSender<Value>>,
    ) -> Result<Invocation, EngineError> {
        self.invoke_within(component, text, agent, stream, self.timeout)
            .await
    }

    /// As `invoke`, with the time this execution gets (a warm worker serves executions that each asked
    /// for their own).
    pub(crate) async fn invoke_within(
        &self,
        component: &Component,
        text: &str,
        agent: &str,
        stream: Option<UnboundedSender<Value>>,
        timeout: std::time::Duration,
    ) -> Result<Invocation, EngineError> {
        let memory = plughub_engine::message(text, agent);
        match component {
            Component::Action(action) => {
                let redacting = stream.map(|out| {
                    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Value>();
                    let context = self.context.clone();
                    let task = tokio::spawn(async move {
                        while let Some(content) = rx.recv().await {
                            let _ = out.send(context.redact_value(&content));
                        }
                    });
                    (tx, task)
                });
                let (tx, task) = match redacting {
                    Some((tx, task)) => (Some(tx), Some(task)),
                    None => (None, None),
                };
                let outcome = self.plugin.run_action(action, memory, timeout, tx).await;
                if let Some(task) = task {
                    let _ = task.await;
                }
                outcome
            }
            Component::Provider(provider) => {
                self.plugin.get_provider(provider, memory, timeout).await
            }
            Component::Evaluator(evaluator) => {
                self.plugin
                    .invoke_evaluator(evaluator, memory, timeout)
                    .await
            }
        }
    }

    /// Ends the worker (its last network requests recorded first) and records the execution of
    /// `component` (of `kind`: action, provider, evaluator, route) by `actor`. A failure is recorded,
    /// then returned as `ComponentFailed`.
    pub async fn record(
        self,
        launcher: &Launcher,
        kind: &str,
        component: &str,
        outcome: Result<Invocation, EngineError>,
        actor: &str,
    ) -> Result<Ran, LifecycleError> {
        let log = self.log_lines(self.plugin.worker().log());
        let Launched {
            context,
            plugin,
            network_log,
            ..
        } = self;
        // The worker ends here, so its last network requests are recorded before the execution is.
        drop(plugin);
        network_log.flush().await;
        record_outcome(launcher, &context, kind, component, outcome, log, actor).await
    }

    /// The services that did not start, then the last 50 of `lines`.
    pub(crate) fn log_lines(&self, lines: Vec<plughub_engine::LogLine>) -> Vec<String> {
        self.service_errors
            .iter()
            .map(|w| format!("[plughub] {w}"))
            .chain(
                lines
                    .iter()
                    .skip(lines.len().saturating_sub(50))
                    .map(|l| format!("[{}] {}", l.stream, l.text)),
            )
            .collect()
    }
}

/// Records an execution of `component` with its log: its event, secrets cut out; a failure is recorded,
/// then returned as `ComponentFailed`.
pub(crate) async fn record_outcome(
    launcher: &Launcher,
    context: &ExecutionContext,
    kind: &str,
    component: &str,
    outcome: Result<Invocation, EngineError>,
    log: Vec<String>,
    actor: &str,
) -> Result<Ran, LifecycleError> {
    let mut metadata = json!({ "plugin": context.plugin, "version": context.version,
                               "kind": kind, "component": component, "log": log,
                               "cache_hit": false });
    match outcome {
        Ok(invocation) => {
            metadata["status"] = json!("ok");
            metadata["duration_ms"] = json!(invocation.duration_ms);
            metadata["memory_bytes"] = json!(invocation.memory_bytes);
            // What the component answered, in short: a refused attempt shows in the record.
            let result = context.redact_value(&invocation.result);
            if let Some(text) = result.get("text").and_then(Value::as_str) {
                metadata["text"] = json!(text.chars().take(500).collect::<String>());
            }
            if let Some(success) = result.get("success") {
                metadata["success"] = success.clone();
            }
            launcher
                .installer()
                .record_execution(context, true, metadata, actor)
                .await?;
            Ok(Ran {
                result,
                callbacks: invocation
                    .callbacks
                    .iter()
                    .map(|c| context.redact_value(c))
                    .collect(),
                duration_ms: invocation.duration_ms,
                memory_bytes: invocation.memory_bytes,
            })
        }
        Err(e) => {
            let message = context.redact(&e.to_string());
            metadata["status"] = json!("error");
            metadata["error"] = json!(message);
            launcher
                .installer()
                .record_execution(context, false, metadata, actor)
                .await?;
            Err(LifecycleError::ComponentFailed {
                kind: kind.to_string(),
                component: component.to_string(),
                plugin: context.plugin.clone(),
                message,
            })
        }
    }
}
