//! A plugin loaded in a worker and initialised with its settings: what elizaOS does when an agent starts
//! with it, then each component called as elizaOS calls it.

use crate::EngineError;
use crate::runtime::RuntimeHost;
use crate::worker::{Worker, WorkerSpec};
use plughub_protocol::{HostMessage, Manifest, WorkerMessage};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// What the plugin's `getSetting` answers from: the instance's configuration and the secrets granted to
/// it, the agent it serves and that agent's character.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub values: BTreeMap<String, Value>,
    pub agent_id: String,
    pub character: Value,
}

#[derive(Debug, Clone)]
pub struct PluginSpec {
    pub worker: WorkerSpec,
    pub settings: Settings,
    /// Time for `init`.
    pub init_timeout: Duration,
}

/// The outcome of one call of a component.
#[derive(Debug, Clone, Serialize)]
pub struct Invocation {
    pub result: Value,
    /// What an action passed to its callback, in order.
    pub callbacks: Vec<Value>,
    pub duration_ms: f64,
    pub memory_bytes: Option<u64>,
}

/// An HTTP request for a plugin's route.
#[derive(Debug, Clone, Default)]
pub struct RouteRequest {
    pub method: String,
    pub path: String,
    pub body: Value,
    pub params: Value,
    pub query: Value,
    pub headers: Value,
}

/// What the route answered.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RouteResponse {
    pub status: u16,
    pub headers: Value,
    pub body: Value,
}

/// What a run is given besides its message, when a calling agent runs it (the agent bridge): the
/// agent's state, and the runtime that answers the run's calls (the agent answers the conversation's).
#[derive(Clone, Default)]
pub struct RunContext {
    /// elizaOS's `State` (`{values, data, text}`); an empty one when `None`.
    pub state: Option<Value>,
    /// Answers the run's runtime calls in place of the worker's runtime.
    pub runtime: Option<Arc<dyn RuntimeHost>>,
}

impl RunContext {
    fn state(&self) -> Value {
        self.state.clone().unwrap_or_else(empty_state)
    }

    fn remote(&self) -> bool {
        self.runtime.is_some()
    }
}

pub struct LoadedPlugin {
    worker: Worker,
    manifest: Manifest,
}

impl LoadedPlugin {
    /// Starts a worker, loads the plugin and runs its `init` with the settings.
    pub async fn load(
        spec: &PluginSpec,
        runtime: Arc<dyn RuntimeHost>,
    ) -> Result<LoadedPlugin, EngineError> {
        let worker = Worker::spawn(&spec.worker, runtime).await?;
        LoadedPlugin::init(worker, spec).await
    }

    /// Runs the `init` of the plugin `worker` has loaded, with the settings of `spec`.
    pub async fn init(worker: Worker, spec: &PluginSpec) -> Result<LoadedPlugin, EngineError> {
        let config = json!({
            "settings": spec.settings.values,
            "agentId": spec.settings.agent_id,
            "character": spec.settings.character,
        });
        let answer = worker
            .request(
                |id| HostMessage::Init { id, config },
                "init",
                spec.init_timeout,
                None,
            )
            .await?;
        match answer {
            WorkerMessage::InitResult {
                success: true,
                manifest,
                ..
            } => Ok(LoadedPlugin {
                manifest: manifest.unwrap_or_else(|| worker.manifest().clone()),
                worker,
            }),
            WorkerMessage::InitResult { error, .. } => Err(EngineError::Plugin(
                error.unwrap_or_else(|| "init failed".into()),
            )),
            other => Err(EngineError::Protocol(format!(
                "init answered with {other:?}"
            ))),
        }
    }

    /// The true manifest: what the plugin has after `init` registered its components.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Whether the plugin has the component `name` of `kind`, by name or simile, as the host finds it:
    /// told apart here so that a name the plugin lacks is the caller's error, not the plugin's failure.
    fn has(&self, kind: &'static str, name: &str) -> Result<(), EngineError> {
        let list = match kind {
            "action" => &self.manifest.actions,
            "provider" => &self.manifest.providers,
            _ => &self.manifest.evaluators,
        };
        if list
            .iter()
            .any(|c| c.name == name || c.similes.iter().any(|s| s == name))
        {
            return Ok(());
        }
        Err(EngineError::NoComponent {
            plugin: self.manifest.name.clone(),
            kind,
            name: name.to_string(),
        })
    }

    pub fn worker(&self) -> &Worker {
        &self.worker
    }

    /// Runs an action's handler; callbacks go to `stream` as they come, and are returned too.
    pub async fn invoke_action(
        &self,
        action: &str,
        memory: Value,
        timeout: Duration,
        stream: Option<mpsc::UnboundedSender<Value>>,
    ) -> Result<Invocation, EngineError> {
        self.action(
            action,
            memory,
            &RunContext::default(),
            timeout,
            stream,
            false,
        )
        .await
    }

    /// Validates the message with the action and, when it is accepted, runs the handler: one round
    /// trip (`action.run`). A message the action declines is an error that says so.
    pub async fn run_action(
        &self,
        action: &str,
        memory: Value,
        timeout: Duration,
        stream: Option<mpsc::UnboundedSender<Value>>,
    ) -> Result<Invocation, EngineError> {
        self.action(
            action,
            memory,
            &RunContext::default(),
            timeout,
            stream,
            true,
        )
        .await
    }

    /// `run_action` for a calling agent: with its state, its calls answered by `context`'s runtime.
    pub async fn run_action_in(
        &self,
        action: &str,
        memory: Value,
        context: &RunContext,
        timeout: Duration,
        stream: Option<mpsc::UnboundedSender<Value>>,
    ) -> Result<Invocation, EngineError> {
        self.action(action, memory, context, timeout, stream, true)
            .await
    }

    /// `action.invoke`, or `action.run` when `validate_first`.
    async fn action(
        &self,
        action: &str,
        memory: Value,
        context: &RunContext,
        timeout: Duration,
        stream: Option<mpsc::UnboundedSender<Value>>,
        validate_first: bool,
    ) -> Result<Invocation, EngineError> {
        self.has("action", action)?;
        let what = format!("action {action}");
        let (action, state, options) = (action.to_string(), context.state(), json!({}));
        let remote = context.remote();
        self.call(&what, timeout, stream, validate_first, context, move |id| {
            if validate_first {
                HostMessage::RunAction {
                    id,
                    action,
                    memory,
                    state,
                    options,
                    remote,
                }
            } else {
                HostMessage::InvokeAction {
                    id,
                    action,
                    memory,
                    state,
                    options,
                    remote,
                }
            }
        })
        .await
    }

    pub async fn validate_action(
        &self,
        action: &str,
        memory: Value,
        timeout: Duration,
    ) -> Result<bool, EngineError> {
        let answer = self
            .worker
            .request(
                |id| HostMessage::ValidateAction {
                    id,
                    action: action.into(),
                    memory,
                    state: empty_state(),
                },
                &format!("validating {action}"),
                timeout,
                None,
            )
            .await?;
        match answer {
            WorkerMessage::ValidateResult { valid, .. } => Ok(valid),
            other => Err(EngineError::Protocol(format!(
                "validate answered with {other:?}"
            ))),
        }
    }

    pub async fn get_provider(
        &self,
        provider: &str,
        memory: Value,
        timeout: Duration,
    ) -> Result<Invocation, EngineError> {
        self.get_provider_in(provider, memory, &RunContext::default(), timeout)
            .await
    }

    /// `get_provider` for a calling agent (see `run_action_in`).
    pub async fn get_provider_in(
        &self,
        provider: &str,
        memory: Value,
        context: &RunContext,
        timeout: Duration,
    ) -> Result<Invocation, EngineError> {
        self.has("provider", provider)?;
        let what = format!("provider {provider}");
        let (provider, state, remote) = (provider.to_string(), context.state(), context.remote());
        self.call(&what, timeout, None, false, context, move |id| {
            HostMessage::GetProvider {
                id,
                provider,
                memory,
                state,
                remote,
            }
        })
        .await
    }

    pub async fn invoke_evaluator(
        &self,
        evaluator: &str,
        memory: Value,
        timeout: Duration,
    ) -> Result<Invocation, EngineError> {
        self.invoke_evaluator_in(evaluator, memory, &RunContext::default(), timeout)
            .await
    }

    /// `invoke_evaluator` for a calling agent (see `run_action_in`).
    pub async fn invoke_evaluator_in(
        &self,
        evaluator: &str,
        memory: Value,
        context: &RunContext,
        timeout: Duration,
    ) -> Result<Invocation, EngineError> {
        self.has("evaluator", evaluator)?;
        let what = format!("evaluator {evaluator}");
        let (evaluator, state, remote) = (evaluator.to_string(), context.state(), context.remote());
        self.call(&what, timeout, None, false, context, move |id| {
            HostMessage::InvokeEvaluator {
                id,
                evaluator,
                memory,
                state,
                remote,
            }
        })
        .await
    }

    /// Starts (`start` true) or stops a service of the plugin.
    pub async fn service(
        &self,
        service: &str,
        start: bool,
        timeout: Duration,
    ) -> Result<(), EngineError> {
        let name = service.to_string();
        let answer = self
            .worker
            .request(
                |id| match start {
                    true => HostMessage::StartService { id, service: name },
                    false => HostMessage::StopService { id, service: name },
                },
                &format!("service {service}"),
                timeout,
                None,
            )
            .await?;
        match answer {
            WorkerMessage::ServiceResponse { success: true, .. } => Ok(()),
            WorkerMessage::ServiceResponse { error, .. } => Err(EngineError::Plugin(
                error.unwrap_or_else(|| format!("service {service} failed")),
            )),
            other => Err(EngineError::Protocol(format!(
                "service answered with {other:?}"
            ))),
        }
    }

    /// Calls a model the plugin provides, as another plugin's `useModel` asks for it.
    pub async fn use_model(
        &self,
        model_type: &str,
        params: Value,
        timeout: Duration,
    ) -> Result<Invocation, EngineError> {
        let what = format!("model {model_type}");
        let model_type = model_type.to_string();
        self.call(
            &what,
            timeout,
            None,
            false,
            &RunContext::default(),
            move |id| HostMessage::InvokeModel {
                id,
                model_type,
                params,
            },
        )
        .await
    }

    /// Hands an HTTP request to one of the plugin's routes, as elizaOS's server does.
    pub async fn handle_route(
        &self,
        request: RouteRequest,
        timeout: Duration,
    ) -> Result<RouteResponse, EngineError> {
        let what = format!("route {} {}", request.method, request.path);
        let answer = self
            .worker
            .request(
                |id| HostMessage::HandleRoute {
                    id,
                    path: request.path,
                    method: request.method,
                    body: request.body,
                    params: request.params,
                    query: request.query,
                    headers: request.headers,
                },
                &what,
                timeout,
                None,
            )
            .await?;
        match answer {
            WorkerMessage::RouteResponse {
                status,
                headers,
                body,
                ..
            } => Ok(RouteResponse {
                status,
                headers,
                body,
            }),
            other => Err(EngineError::Protocol(format!(
                "{what} answered with {other:?}"
            ))),
        }
    }

    /// The plugin's own test suites (its `tests`): `[{name, tests: [name]}]`, for `plughub dev test`.
    pub async fn list_tests(&self, timeout: Duration) -> Result<Value, EngineError> {
        match self
            .worker
            .request(
                |id| HostMessage::ListTests { id },
                "listing its tests",
                timeout,
                None,
            )
            .await?
        {
            WorkerMessage::TestList { suites, .. } => Ok(suites),
            other => Err(EngineError::Protocol(format!(
                "test.list answered with {other:?}"
            ))),
        }
    }

    /// Runs one test of the plugin's suites, its runtime calls answered by the worker's runtime (the
    /// same as components get). A test that throws is an answer (`passed: false`), not an error: the
    /// error is the worker's (it ended, it timed out).
    pub async fn run_test(
        &self,
        suite: &str,
        test: &str,
        timeout: Duration,
    ) -> Result<Value, EngineError> {
        self.worker.new_execution();
        let what = format!("test {suite} / {test}");
        let (suite, test) = (suite.to_string(), test.to_string());
        match self
            .worker
            .request(
                |id| HostMessage::RunTest { id, suite, test },
                &what,
                timeout,
                None,
            )
            .await?
        {
            WorkerMessage::TestResult { result, .. } => Ok(result),
            other => Err(EngineError::Protocol(format!(
                "{what} answered with {other:?}"
            ))),
        }
    }

    /// Sends a request and waits for its result, forwarding callbacks meanwhile. `declinable`: the
    /// request validates first (`action.run`), so `validate.result` false is an answer, not a breach.
    async fn call(
        &self,
        what: &str,
        timeout: Duration,
        stream: Option<mpsc::UnboundedSender<Value>>,
        declinable: bool,
        context: &RunContext,
        make: impl FnOnce(u64) -> HostMessage,
    ) -> Result<Invocation, EngineError> {
        self.worker.new_execution();
        let started = Instant::now();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut callbacks = Vec::new();
        let mut keep = |content: Value| {
            if let Some(stream) = &stream {
                let _ = stream.send(content.clone());
            }
            callbacks.push(content);
        };
        // Callbacks go on to `stream` while the action runs, not when it has answered.
        let request =
            self.worker
                .request_answered_by(make, what, timeout, Some(tx), context.runtime.clone());
        tokio::pin!(request);
        let answer = loop {
            tokio::select! {
                answer = &mut request => break answer,
                Some(content) = rx.recv() => keep(content),
            }
        };
        while let Ok(content) = rx.try_recv() {
            keep(content);
        }
        let result = match answer? {
            WorkerMessage::ActionResult { result, .. }
            | WorkerMessage::ProviderResult { result, .. }
            | WorkerMessage::ModelResult { result, .. } => result,
            WorkerMessage::ValidateResult { valid: false, .. } if declinable => {
                return Err(EngineError::Declined {
                    what: what.to_string(),
                });
            }
            other => {
                return Err(EngineError::Protocol(format!(
                    "{what} answered with {other:?}"
                )));
            }
        };
        Ok(Invocation {
            result,
            callbacks,
            duration_ms: started.elapsed().as_secs_f64() * 1e3,
            memory_bytes: self.worker.memory_bytes(),
        })
    }
}

fn empty_state() -> Value {
    json!({ "values": {}, "data": {}, "text": "" })
}

/// A message as elizaOS hands it to components: a memory with the text, from a user, in a room.
pub fn message(text: &str, agent_id: &str) -> Value {
    json!({
        "id": uuid::Uuid::new_v4().to_string(),
        "entityId": uuid::Uuid::new_v4().to_string(),
        "agentId": agent_id,
        "roomId": uuid::Uuid::new_v4().to_string(),
        "content": { "text": text, "source": "plughub" },
        "createdAt": 0,
    })
}
