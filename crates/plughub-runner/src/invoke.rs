//! One component of a launched instance run on a message, and what it leaves: its log lines, and the
//! record of the execution with secret values cut out of all of it.

use crate::calling_agent::AgentSide;
use crate::error::FailureCause;
use crate::{CallingAgent, Component, Launched, Outcome, RunError, Runner};
use plughub_engine::{EngineError, Invocation, RunContext};
use plughub_lifecycle::{Attempt, ExecutionContext};
use serde_json::{Value, json};
use std::sync::Arc;
use tokio::sync::mpsc::UnboundedSender;

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
        self.invoke_within(component, text, agent, None, stream, self.timeout)
            .await
    }

    /// As `invoke`, with the time this execution gets (a warm worker serves executions that each asked
    /// for their own).
    pub(crate) async fn invoke_within(
        &self,
        component: &Component,
        text: &str,
        agent: &str,
        caller: Option<&CallingAgent>,
        stream: Option<UnboundedSender<Value>>,
        timeout: std::time::Duration,
    ) -> Result<Invocation, EngineError> {
        // A calling agent's run gets the agent's message and state, and the agent answers its calls
        // about the conversation; any other run, a message of the text from a user of its own.
        let (memory, run) = match caller {
            Some(caller) => {
                let answers: Arc<dyn plughub_engine::RuntimeHost> = Arc::new(AgentSide {
                    instance: self.runtime.clone(),
                    context: self.context.clone(),
                    calls: caller.calls.clone(),
                    models: caller.models,
                    agent_failed: caller.agent_failed.clone(),
                });
                let run = RunContext {
                    state: caller.state.clone(),
                    runtime: Some(answers),
                };
                (caller.message.clone(), run)
            }
            None => (plughub_engine::message(text, agent), RunContext::default()),
        };
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
                let outcome = self
                    .plugin
                    .run_action_in(action, memory, &run, timeout, tx)
                    .await;
                if let Some(task) = task {
                    let _ = task.await;
                }
                outcome
            }
            Component::Provider(provider) => {
                self.plugin
                    .get_provider_in(provider, memory, &run, timeout)
                    .await
            }
            Component::Evaluator(evaluator) => {
                self.plugin
                    .invoke_evaluator_in(evaluator, memory, &run, timeout)
                    .await
            }
        }
    }

    /// Ends the worker (its last network requests recorded first) and records the execution of
    /// `component` (of `kind`: action, provider, evaluator, route) by `actor`. A failure is recorded,
    /// then returned as `ComponentFailed`.
    pub async fn record(
        self,
        runner: &Runner,
        kind: &str,
        component: &str,
        outcome: Result<Invocation, EngineError>,
        actor: &str,
    ) -> Result<Outcome, RunError> {
        let log = self.log_lines(self.plugin.worker().log_since(Default::default()));
        let Launched {
            context,
            plugin,
            network_log,
            ..
        } = self;
        // The worker ends here, so its last network requests are recorded before the execution is.
        drop(plugin);
        network_log.flush().await;
        let recorded = Recorded {
            context: &context,
            kind,
            component,
            log,
            actor,
            attempts: 1,
            agent_failed: false,
        };
        recorded.write(runner, outcome).await
    }

    /// The services that did not start, then `lines` (a run's log, capped by the engine with a line
    /// saying what was left out).
    pub(crate) fn log_lines(&self, lines: Vec<plughub_engine::LogLine>) -> Vec<String> {
        self.service_errors
            .iter()
            .map(|w| format!("[plughub] {w}"))
            .chain(lines.iter().map(|l| format!("[{}] {}", l.stream, l.text)))
            .collect()
    }
}

/// What the record of an execution names.
pub(crate) struct Recorded<'a> {
    pub context: &'a ExecutionContext,
    pub kind: &'a str,
    pub component: &'a str,
    pub log: Vec<String>,
    pub actor: &'a str,
    /// The attempts the execution took, this one included.
    pub attempts: u32,
    /// The calling agent failed the run (it left, or answered a call with an error): not the plugin's
    /// failure.
    pub agent_failed: bool,
}

impl Recorded<'_> {
    fn metadata(&self) -> Value {
        json!({ "plugin": self.context.plugin, "version": self.context.version,
                "kind": self.kind, "component": self.component, "log": self.log,
                "cache_hit": false, "attempts": self.attempts })
    }

    /// Records the execution's last attempt: its event, secrets cut out; a failure is recorded, then
    /// returned as `ComponentFailed`.
    pub(crate) async fn write(
        &self,
        runner: &Runner,
        outcome: Result<Invocation, EngineError>,
    ) -> Result<Outcome, RunError> {
        let mut metadata = self.metadata();
        let context = self.context;
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
                runner
                    .installer()
                    .record_execution(
                        context,
                        Attempt::Succeeded,
                        metadata,
                        self.actor,
                        runner.policy(),
                    )
                    .await?;
                Ok(Outcome {
                    result,
                    callbacks: invocation
                        .callbacks
                        .iter()
                        .map(|c| context.redact_value(c))
                        .collect(),
                    duration_ms: invocation.duration_ms,
                    memory_bytes: invocation.memory_bytes,
                    cache_hit: false,
                    attempts: self.attempts,
                })
            }
            Err(e) => {
                let cause = FailureCause::of(&e);
                let message = context.redact(&e.to_string());
                metadata["status"] = json!("error");
                metadata["error"] = json!(message);
                // Why, in one word: analytics count timeouts by it.
                metadata["cause"] = json!(cause.as_str());
                runner
                    .installer()
                    .record_execution(
                        context,
                        match cause {
                            // A name the plugin lacks is the caller's mistake alone, and so is a run
                            // whose calling agent failed it; a message its action declines counts
                            // towards a suspension, as any failure does.
                            FailureCause::NoComponent => Attempt::Refused,
                            _ if self.agent_failed => Attempt::Refused,
                            _ => Attempt::Failed,
                        },
                        metadata,
                        self.actor,
                        runner.policy(),
                    )
                    .await?;
                Err(RunError::ComponentFailed {
                    kind: self.kind.to_string(),
                    component: self.component.to_string(),
                    plugin: context.plugin.clone(),
                    message,
                    cause,
                })
            }
        }
    }

    /// Records a failed attempt that will be retried: the streak and the breaker see it, the quota
    /// does not (the execution is recorded once, when it ends).
    pub(crate) async fn write_retried(
        &self,
        runner: &Runner,
        error: &EngineError,
    ) -> Result<bool, RunError> {
        let mut metadata = self.metadata();
        metadata["status"] = json!("error");
        metadata["error"] = json!(self.context.redact(&error.to_string()));
        metadata["retrying"] = json!(true);
        Ok(runner
            .installer()
            .record_execution(
                self.context,
                Attempt::FailedRetrying,
                metadata,
                self.actor,
                runner.policy(),
            )
            .await?)
    }

    /// Records a run answered from the result cache: an execution the caller got, with no worker.
    pub(crate) async fn write_cache_hit(
        &self,
        runner: &Runner,
        cached: &Outcome,
    ) -> Result<(), RunError> {
        let mut metadata = self.metadata();
        metadata["status"] = json!("ok");
        metadata["cache_hit"] = json!(true);
        metadata["attempts"] = json!(0);
        metadata["duration_ms"] = json!(0.0);
        if let Some(text) = cached.result.get("text").and_then(Value::as_str) {
            metadata["text"] = json!(text.chars().take(500).collect::<String>());
        }
        runner
            .installer()
            .record_execution(
                self.context,
                Attempt::Succeeded,
                metadata,
                self.actor,
                runner.policy(),
            )
            .await?;
        Ok(())
    }
}
