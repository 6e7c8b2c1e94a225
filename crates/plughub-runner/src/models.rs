//! `useModel` of a plugin, answered by the model plugin its group has active for that model type, in a
//! worker of its own: the instances serving the caller's agent first (highest priority first), then the
//! group's other active instances. A model plugin whose models are not known yet (it never ran) is started
//! to learn them. Each model call is an execution of the model plugin, counted and recorded as one, and
//! what it answers has the model plugin's secrets cut out before the caller sees it.

use crate::{Launched, RunError, Runner};
use plughub_domain::lifecycle::State;
use plughub_domain::{ConnectionKind, ThingKind};
use plughub_lifecycle::{Attempt, ExecutionContext, InstanceRecord};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// How deep model calls may nest (a model plugin calling another model): beyond this, a loop.
pub const MAX_MODEL_DEPTH: usize = 2;

pub(crate) struct ModelRouter {
    runner: Runner,
    org: String,
    group_id: String,
    caller_instance: String,
    caller: String,
    agent: String,
    depth: usize,
    /// Model plugins started for this caller, by instance id: kept while the caller runs.
    started: tokio::sync::Mutex<HashMap<String, Arc<Launched>>>,
    /// Candidates that could not start for this caller, with why.
    failed: tokio::sync::Mutex<HashMap<String, String>>,
}

impl ModelRouter {
    pub(crate) fn new(
        runner: Runner,
        caller: &ExecutionContext,
        agent: &str,
        depth: usize,
    ) -> ModelRouter {
        ModelRouter {
            runner,
            org: caller.org.clone(),
            group_id: caller.group_id.clone(),
            caller_instance: caller.instance_id.clone(),
            caller: caller.plugin.clone(),
            agent: agent.to_string(),
            depth,
            started: tokio::sync::Mutex::new(HashMap::new()),
            failed: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The answer of the group's model for `model_type`, or an error the calling plugin sees.
    pub(crate) async fn use_model(&self, model_type: &str, params: Value) -> Result<Value, String> {
        // A development run's models answer from its script, never a model plugin.
        if let Some(models) = self.runner.dev().and_then(|d| d.models.as_ref()) {
            return models.answer(model_type);
        }
        if self.depth >= MAX_MODEL_DEPTH {
            return Err(format!(
                "useModel({model_type}): model calls nest deeper than {MAX_MODEL_DEPTH} (a model plugin calling models in a loop?)"
            ));
        }
        let model = self
            .provider(model_type)
            .await
            .map_err(|e| format!("useModel({model_type}): {e}"))?;
        let Some(model) = model else {
            return Err(format!(
                "no model plugin is active for {model_type} in {}: activate one that provides it (e.g. @elizaos/plugin-openai, or plughub's offline @plughub/plugin-local-model)",
                self.org
            ));
        };
        if let Err(e) = self.runner.check_admission(&model.context).await {
            self.runner.metrics().execution(
                &model.context.plugin,
                "model",
                e.outcome_label(),
                None,
            );
            return Err(format!("useModel({model_type}): {e}"));
        }
        let started = std::time::Instant::now();
        let outcome = model
            .plugin
            .use_model(model_type, params, model.timeout)
            .await;
        let seconds = started.elapsed().as_secs_f64();
        let label = match &outcome {
            Ok(_) => "ok",
            Err(e) => crate::FailureCause::of(e).as_str(),
        };
        let mut metadata = json!({
            "plugin": model.context.plugin, "version": model.context.version, "kind": "model",
            "component": model_type, "agent": self.agent, "called_by": self.caller, "cache_hit": false,
        });
        let answer = match outcome {
            Ok(invocation) => {
                metadata["status"] = json!("ok");
                metadata["duration_ms"] = json!(invocation.duration_ms);
                metadata["memory_bytes"] = json!(invocation.memory_bytes);
                Ok(model.context.redact_value(&invocation.result))
            }
            Err(e) => {
                let message = model.context.redact(&e.to_string());
                metadata["status"] = json!("error");
                metadata["cause"] = json!(label);
                metadata["error"] = json!(message);
                Err(format!(
                    "{} ({model_type}): {message}",
                    model.context.plugin
                ))
            }
        };
        let attempt = match answer {
            Ok(_) => Attempt::Succeeded,
            Err(_) => Attempt::Failed,
        };
        self.runner
            .metrics()
            .execution(&model.context.plugin, "model", label, Some(seconds));
        self.runner
            .installer()
            .record_execution(
                &model.context,
                attempt,
                metadata,
                "engine",
                self.runner.policy(),
            )
            .await
            .map_err(|e| format!("useModel({model_type}): {e}"))?;
        answer
    }

    /// The started model plugin that answers `model_type`, starting candidates whose models are not
    /// known yet. A candidate that cannot start is skipped, and named if no other answers.
    async fn provider(&self, model_type: &str) -> Result<Option<Arc<Launched>>, RunError> {
        let mut failures = Vec::new();
        for (id, record) in self.candidates().await? {
            let known = record.current.provides.as_ref();
            if known.is_some_and(|p| !p.models.iter().any(|m| m == model_type)) {
                continue;
            }
            if let Some(reason) = self.failed.lock().await.get(&id) {
                failures.push(reason.clone());
                continue;
            }
            let started = match self.started(&id, &record.plugin).await {
                Ok(started) => started,
                Err(e) => {
                    // Not tried again while this caller runs: each try would start it and fail again.
                    let reason = e.to_string();
                    self.failed.lock().await.insert(id.clone(), reason.clone());
                    failures.push(reason);
                    continue;
                }
            };
            if started
                .plugin
                .manifest()
                .models
                .iter()
                .any(|m| m == model_type)
            {
                return Ok(Some(started));
            }
        }
        match failures.is_empty() {
            true => Ok(None),
            false => Err(RunError::NoModel {
                model_type: model_type.into(),
                reasons: failures,
            }),
        }
    }

    async fn started(&self, id: &str, plugin: &str) -> Result<Arc<Launched>, RunError> {
        let mut started = self.started.lock().await;
        // A model worker that ended (a timeout, a crash) is started again rather than failing every call.
        if let Some(launched) = started.get(id).filter(|l| l.plugin.worker().is_alive()) {
            return Ok(launched.clone());
        }
        let context = self.runner.context(&self.org, plugin).await?;
        let launched = Arc::new(
            self.runner
                .start(context, &self.agent, None, self.depth + 1)
                .await?,
        );
        started.insert(id.to_string(), launched.clone());
        Ok(launched)
    }

    /// Active instances of the group other than the caller: those serving the agent first, by priority,
    /// then the rest by name.
    async fn candidates(&self) -> Result<Vec<(String, InstanceRecord)>, RunError> {
        let store = self.runner.installer().store();
        let mut ordered: Vec<(i64, String, String)> = Vec::new();
        if let Some(agent) = store
            .thing_by_name(ThingKind::Agent, Some(&self.group_id), &self.agent)
            .await?
        {
            for link in store
                .connections_from(ConnectionKind::PluginUses, &agent.id)
                .await?
            {
                let priority = link.metadata["priority"].as_i64().unwrap_or(0);
                let name = store
                    .thing(&link.to_id)
                    .await?
                    .map(|t| t.name)
                    .unwrap_or_default();
                ordered.push((priority, name, link.to_id));
            }
        }
        // Highest priority first, then by name: the order `plughub agent list` shows.
        ordered.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        let mut ids: Vec<String> = ordered.into_iter().map(|(_, _, id)| id).collect();
        let mut rest: Vec<(String, String)> = store
            .things(ThingKind::PluginInstance, Some(&self.group_id))
            .await?
            .into_iter()
            .map(|t| (t.name, t.id))
            .collect();
        rest.sort();
        ids.extend(rest.into_iter().map(|(_, id)| id));
        let mut out: Vec<(String, InstanceRecord)> = Vec::new();
        for id in ids {
            if id == self.caller_instance || out.iter().any(|(seen, _)| *seen == id) {
                continue;
            }
            let record = store
                .thing(&id)
                .await?
                .as_ref()
                .and_then(plughub_lifecycle::record_of);
            if let Some(record) = record.filter(|r| r.state == State::Active) {
                out.push((id, record));
            }
        }
        Ok(out)
    }
}
