//! What an elizaOS agent running in its own process needs to use the plugins its organisation runs in
//! plughub (the agent bridge, `clients/elizaos`): the components active for it, with their true
//! manifests, in one call; a channel per run (a WebSocket) on which the run's callbacks come back and the
//! agent answers the run's calls about the conversation; and the owner's choice of who serves the
//! plugins' models. The frames of the channel are in `docs/agents.md`.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::handlers::installed::lifecycle;
use crate::json::ApiJson;
use crate::openapi::{InOrg, JsonBody, Plugins, UpgradeRequired};
use crate::state::AppState;
use axum::Json;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures::{SinkExt, StreamExt};
use plughub_domain::access::Action;
use plughub_lifecycle::{AgentView, ModelSource};
use plughub_runner::{AgentCall, CallingAgent, Component, ExecutionRequest, Outcome};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// An agent of an organisation, in the path of the operations on it.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct AgentPath {
    /// The organisation's name.
    #[param(example = "acme")]
    pub org: String,
    /// The agent's name in plughub.
    #[param(example = "eliza")]
    pub agent: String,
}

/// What an agent can use of the plugins active for it, as they run.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AgentComponents {
    pub org: String,
    pub agent: String,
    /// Who answers the plugins' `useModel` in the agent's runs.
    pub models: ModelSource,
    /// The plugins that started, highest priority first.
    pub plugins: Vec<PluginComponents>,
    /// The plugins active for the agent that could not start now, with why.
    pub unavailable: Vec<Unavailable>,
}

/// One plugin's components, from its true manifest (what its `init` registered included).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PluginComponents {
    pub plugin: String,
    pub version: String,
    /// Higher first, when several plugins offer the same thing.
    #[schema(format = Int64)]
    pub priority: i64,
    /// The actions the agent may use (all the plugin's unless its activation names some).
    pub actions: Vec<ComponentView>,
    pub providers: Vec<ComponentView>,
    pub evaluators: Vec<ComponentView>,
    /// The model types it provides.
    pub models: Vec<String>,
}

/// An action, provider or evaluator as the plugin declares it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ComponentView {
    pub name: String,
    pub description: String,
    pub similes: Vec<String>,
    /// Example conversations (actions, evaluators), in elizaOS's shape.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Vec<Object>>)]
    pub examples: Vec<Value>,
    /// A provider left out of the composed state unless named.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dynamic: bool,
    /// A provider only ever asked for by name.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub private: bool,
    /// A provider's place in the composed state (lower first).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<f64>,
    /// An evaluator that runs on every message.
    #[serde(rename = "alwaysRun", skip_serializing_if = "std::ops::Not::not")]
    pub always_run: bool,
}

impl From<plughub_protocol::Component> for ComponentView {
    fn from(c: plughub_protocol::Component) -> ComponentView {
        ComponentView {
            name: c.name,
            description: c.description,
            similes: c.similes,
            examples: c.examples,
            dynamic: c.dynamic,
            private: c.private,
            position: c.position,
            always_run: c.always_run,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Unavailable {
    pub plugin: String,
    /// Why it could not start, its secrets cut out.
    pub error: String,
}

/// Whether the agent may use `action` of the plugin it is activated with as `enabled`.
fn enabled(enabled: &Value, action: &str) -> bool {
    match enabled.as_array() {
        Some(names) => names.iter().any(|n| n.as_str() == Some(action)),
        None => true,
    }
}

/// `GET /api/orgs/{org}/agents/{agent}/components`.
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/agents/{agent}/components",
    operation_id = "agent_components",
    tag = "agents",
    summary = "The actions, providers and evaluators active for an agent, as its plugins run",
    description = "Each plugin active for the agent is started for it (or its running worker asked), so \
                   the components are the true ones, those its `init` registered included; a plugin \
                   that cannot start is listed under `unavailable` with why. What the agent bridge \
                   registers its proxies from.",
    params(AgentPath),
    responses(
        (status = 200, description = "The agent's components", body = AgentComponents),
        InOrg,
        Plugins,
    )
)]
pub async fn components(
    State(state): State<AppState>,
    caller: Caller,
    Path(AgentPath { org, agent }): Path<AgentPath>,
) -> ApiResult<Json<AgentComponents>> {
    let group = caller.group_for(&state, &org, Action::Run).await?;
    let runner = lifecycle(&state)?.runner.clone();
    let view = runner.installer().agent_in(&group, &agent).await?;
    let started = futures::future::join_all(view.plugins.iter().map(|p| {
        let (runner, group, agent) = (runner.clone(), group.clone(), agent.clone());
        async move { runner.manifest_for(group, &p.plugin, &agent).await }
    }))
    .await;
    let mut plugins = Vec::new();
    let mut unavailable = Vec::new();
    for (active, started) in view.plugins.into_iter().zip(started) {
        match started {
            Ok((version, manifest)) => plugins.push(PluginComponents {
                plugin: active.plugin,
                version,
                priority: active.priority,
                actions: manifest
                    .actions
                    .into_iter()
                    .filter(|a| enabled(&active.enabled_actions, &a.name))
                    .map(ComponentView::from)
                    .collect(),
                providers: manifest.providers.into_iter().map(Into::into).collect(),
                evaluators: manifest.evaluators.into_iter().map(Into::into).collect(),
                models: manifest.models,
            }),
            Err(e) => unavailable.push(Unavailable {
                plugin: active.plugin,
                error: ApiError::from(e).message,
            }),
        }
    }
    Ok(Json(AgentComponents {
        org: group.name,
        agent: view.name,
        models: view.models,
        plugins,
        unavailable,
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "models": "agent" }))]
pub struct AgentModels {
    pub models: ModelSource,
}

/// `PUT /api/orgs/{org}/agents/{agent}/models`.
#[utoipa::path(
    put,
    path = "/api/orgs/{org}/agents/{agent}/models",
    operation_id = "set_agent_models",
    tag = "agents",
    summary = "Choose who answers the plugins' models in the agent's own runs",
    description = "`agent`: a plugin's `useModel` in a run the agent makes from its own process goes \
                   back to the agent, which answers with its own models; `plughub`: to the \
                   organisation's model plugins. Runs made in plughub itself use plughub's. Recorded \
                   as an `agent_changed` event.",
    params(AgentPath),
    request_body = AgentModels,
    responses(
        (status = 200, description = "The agent, as it is now", body = AgentView),
        InOrg,
        JsonBody,
        Plugins,
    )
)]
pub async fn set_models(
    State(state): State<AppState>,
    caller: Caller,
    Path(AgentPath { org, agent }): Path<AgentPath>,
    ApiJson(body): ApiJson<AgentModels>,
) -> ApiResult<Json<AgentView>> {
    let group = caller.group_for(&state, &org, Action::ManageAgents).await?;
    let installer = lifecycle(&state)?.runner.installer();
    let view = installer
        .set_agent_models(&group, &agent, body.models, &caller.0.email)
        .await?;
    Ok(Json(view))
}

/// The largest frame the channel takes from the agent: a run's message and state, or an answer to a
/// runtime call; what the worker takes in one message (a larger one could not be passed on).
const MAX_FRAME_BYTES: usize = plughub_protocol::MAX_MESSAGE_BYTES;
/// How long a frame may wait for the agent to take it: an agent that stops reading has left.
const SEND_WITHIN: Duration = Duration::from_secs(10);
/// How long the channel waits for the run's first frame.
const FIRST_FRAME: Duration = Duration::from_secs(30);
/// Calls of the run the agent has not taken yet: past these, the plugin waits.
const CALLS_QUEUED: usize = 16;

/// The first frame: what to run, on the agent's message.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RunFrame {
    #[serde(rename = "type")]
    _type: String,
    plugin: String,
    action: Option<String>,
    provider: Option<String>,
    evaluator: Option<String>,
    /// The agent's `Memory`.
    message: serde_json::Map<String, Value>,
    state: Option<Value>,
    /// Seconds, within the plan's bounds.
    timeout: Option<u32>,
}

/// An answer of the agent to a runtime call.
#[derive(Debug, Deserialize)]
#[serde(tag = "type")]
enum Answer {
    #[serde(rename = "runtime.result")]
    Result {
        id: String,
        #[serde(default)]
        result: Value,
    },
    #[serde(rename = "runtime.error")]
    Error { id: String, error: String },
}

/// `GET /api/orgs/{org}/agents/{agent}/run`: a WebSocket.
#[utoipa::path(
    get,
    path = "/api/orgs/{org}/agents/{agent}/run",
    operation_id = "agent_run_channel",
    tag = "agents",
    summary = "Run a component for the agent over a WebSocket, the agent answering the run's calls",
    description = "A WebSocket, one per run (the agent bridge opens it). The agent sends one `run` frame \
                   (`plugin`, exactly one of `action`, `provider`, `evaluator`, its `message`, `state`, \
                   `timeout`); plughub sends `callback` frames as the action calls back, `runtime.call` \
                   frames for the calls the agent answers (its memories, rooms, entities, worlds; its \
                   models when the owner chose so), each answered with `runtime.result` or \
                   `runtime.error`; then one `result` (the `Outcome`) or `error` frame (`status` and the \
                   error), and closes. Recorded as an execution by the caller, whatever its outcome. \
                   The frames, in full: docs/agents.md.",
    params(AgentPath),
    responses(
        (status = 101, description = "Switching to the WebSocket of the run"),
        (status = 426, response = UpgradeRequired),
        InOrg,
        Plugins,
    )
)]
pub async fn run_channel(
    State(state): State<AppState>,
    caller: Caller,
    Path(AgentPath { org, agent }): Path<AgentPath>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    let group = caller.group_for(&state, &org, Action::Run).await?;
    let runner = lifecycle(&state)?.runner.clone();
    let view = runner.installer().agent_in(&group, &agent).await?;
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => {
            let mut refused = ApiError::new(
                StatusCode::UPGRADE_REQUIRED,
                "websocket_required",
                format!(
                    "this is the run channel of an agent, a WebSocket: connect with a WebSocket client ({})",
                    rejection.body_text()
                ),
            )
            .into_response();
            // 426 names the protocol to switch to.
            refused.headers_mut().insert(
                axum::http::header::UPGRADE,
                axum::http::HeaderValue::from_static("websocket"),
            );
            return Ok(refused);
        }
    };
    let actor = caller.0.email.clone();
    let grant = caller.grant(&state, group.clone(), Action::Run);
    Ok(upgrade
        .max_message_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket| async move {
            let channel = Channel {
                runner,
                group,
                view,
                actor,
                grant,
            };
            channel.serve(socket).await;
        })
        .into_response())
}

/// One run's channel, once open.
struct Channel {
    runner: plughub_runner::Runner,
    group: plughub_domain::Group,
    view: AgentView,
    actor: String,
    grant: crate::auth::Grant,
}

/// A frame for the agent.
fn frame(value: Value) -> Message {
    Message::Text(value.to_string().into())
}

/// The `error` frame of an API error.
fn error_frame(error: ApiError) -> Message {
    let status = error.status.as_u16();
    let body = error.body();
    frame(json!({ "type": "error", "status": status, "error": body.error }))
}

impl Channel {
    async fn serve(self, socket: WebSocket) {
        let (mut to_agent, mut from_agent) = socket.split();
        let first = tokio::time::timeout(FIRST_FRAME, async {
            loop {
                match from_agent.next().await {
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    other => return other,
                }
            }
        })
        .await;
        let first = match first {
            Ok(Some(Ok(Message::Text(text)))) => text,
            Ok(Some(Ok(_))) => {
                let refused = invalid("the first frame must be a `run` frame, as JSON text");
                let _ = send_within(&mut to_agent, error_frame(refused)).await;
                let _ = to_agent.close().await;
                return;
            }
            // Gone, or silent for too long: nothing ran.
            _ => return,
        };
        let request = match self.request(&first) {
            Ok(request) => request,
            Err(e) => {
                let _ = send_within(&mut to_agent, error_frame(e)).await;
                let _ = to_agent.close().await;
                return;
            }
        };
        let (mut request, mut calls) = request;
        let (callbacks, mut callbacks_in) = mpsc::unbounded_channel();
        request.stream = Some(callbacks);
        // In a task of its own: an agent that leaves does not cut the execution short, which would
        // leave it unrecorded and its request outstanding on the warm worker.
        let runner = self.runner.clone();
        let execution = tokio::spawn(async move { runner.execute(request).await });

        let mut waiting: HashMap<String, oneshot::Sender<Result<Value, String>>> = HashMap::new();
        let mut next_call = 0u64;
        let every = self.grant.recheck_every();
        let mut checks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        let mut agent_here = true;
        // Until the run has sent its last callback (its request, and so its sender, ends with it).
        loop {
            tokio::select! {
                callback = callbacks_in.recv() => match callback {
                    Some(content) => {
                        let callback = frame(json!({ "type": "callback", "content": content }));
                        agent_here &= send_within(&mut to_agent, callback).await;
                    }
                    None => break,
                },
                Some(call) = calls.recv() => {
                    next_call += 1;
                    let id = format!("c{next_call}");
                    let AgentCall { method, params, reply } = call;
                    let call = frame(json!({ "type": "runtime.call", "id": id, "method": method, "params": params }));
                    if agent_here && send_within(&mut to_agent, call).await {
                        waiting.insert(id, reply);
                    } else {
                        agent_here = false;
                    }
                }
                incoming = from_agent.next(), if agent_here => match incoming {
                    Some(Ok(Message::Text(text))) => match serde_json::from_str::<Answer>(&text) {
                        Ok(Answer::Result { id, result }) => {
                            if let Some(reply) = waiting.remove(&id) {
                                let _ = reply.send(Ok(result));
                            }
                        }
                        Ok(Answer::Error { id, error }) => {
                            if let Some(reply) = waiting.remove(&id) {
                                let _ = reply.send(Err(error));
                            }
                        }
                        Err(e) => tracing::debug!(error = %e, "a frame of the agent that answers nothing"),
                    },
                    // The agent left.
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => agent_here = false,
                    Some(Ok(_)) => {}
                },
                _ = checks.tick() => {
                    if let Err(refused) = self.grant.still_holds().await {
                        // The run goes on to its end, recorded; the agent hears no more of it.
                        let _ = send_within(&mut to_agent, error_frame(refused)).await;
                        let _ = to_agent.close().await;
                        return;
                    }
                }
            }
            if !agent_here {
                // The calls it was to answer fail, and the run goes on to its end, recorded.
                waiting.clear();
                calls.close();
            }
        }
        let last = match execution.await {
            Ok(Ok(outcome)) => result_frame(&outcome),
            Ok(Err(e)) => error_frame(ApiError::from(e)),
            Err(e) => error_frame(ApiError::internal(&e)),
        };
        if agent_here && send_within(&mut to_agent, last).await {
            let _ = to_agent.close().await;
        }
    }

    /// The execution the first frame asks for, with the channel its calls for the agent come on; or why
    /// it cannot run (not JSON, not a run, a plugin not active for the agent, an action not enabled).
    fn request(
        &self,
        first: &str,
    ) -> Result<(ExecutionRequest, mpsc::Receiver<AgentCall>), ApiError> {
        let run: RunFrame = serde_json::from_str(first).map_err(|e| {
            invalid(format!(
                "the `run` frame is not what this channel takes: {e}"
            ))
        })?;
        if run._type != "run" {
            return Err(invalid(format!(
                "the first frame must be of type `run`, not `{}`",
                run._type
            )));
        }
        let component = match (run.action, run.provider, run.evaluator) {
            (Some(a), None, None) => Component::Action(a),
            (None, Some(p), None) => Component::Provider(p),
            (None, None, Some(e)) => Component::Evaluator(e),
            _ => {
                return Err(invalid(
                    "name exactly one of `action`, `provider` or `evaluator`",
                ));
            }
        };
        let agent = &self.view.name;
        let Some(active) = self.view.plugins.iter().find(|p| p.plugin == run.plugin) else {
            return Err(ApiError::from(
                plughub_lifecycle::LifecycleError::NotActive {
                    plugin: run.plugin,
                    agent: agent.clone(),
                },
            ));
        };
        if let Component::Action(action) = &component
            && !enabled(&active.enabled_actions, action)
        {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                format!(
                    "{} is active for agent {agent} without its action {action}: activate it again naming the actions the agent may use",
                    run.plugin
                ),
            ));
        }
        let text = run
            .message
            .get("content")
            .and_then(|c| c.get("text"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let (calls, calls_in) = mpsc::channel(CALLS_QUEUED);
        let request = ExecutionRequest {
            group: self.group.clone(),
            plugin: run.plugin,
            agent: agent.clone(),
            component,
            text,
            timeout: run.timeout.map(|s| Duration::from_secs(s.into())),
            stream: None,
            log_stream: None,
            actor: self.actor.clone(),
            caller: Some(CallingAgent::new(
                Value::Object(run.message),
                run.state,
                calls,
                self.view.models == ModelSource::Agent,
            )),
        };
        Ok((request, calls_in))
    }
}

/// Sends `message` unless the agent takes longer than `SEND_WITHIN` to take it; whether it was sent.
async fn send_within(
    to_agent: &mut futures::stream::SplitSink<WebSocket, Message>,
    message: Message,
) -> bool {
    matches!(
        tokio::time::timeout(SEND_WITHIN, to_agent.send(message)).await,
        Ok(Ok(()))
    )
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", message)
}

fn result_frame(outcome: &Outcome) -> Message {
    frame(json!({ "type": "result", "outcome": outcome }))
}
