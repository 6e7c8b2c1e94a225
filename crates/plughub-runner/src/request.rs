//! What a run is asked to do, and what it answers.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;

/// What can be run on a message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
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

/// One run of a component of an installed plugin, for an agent, on a message.
#[derive(Debug, Clone)]
pub struct ExecutionRequest {
    /// The organisation, read already (the API read it to authorize the caller).
    pub group: plughub_domain::Group,
    pub plugin: String,
    pub agent: String,
    pub component: Component,
    /// The message's text.
    pub text: String,
    /// The time asked for each attempt; the plan's when `None`, never above the policy's maximum.
    pub timeout: Option<Duration>,
    /// Where an action's callbacks go as they come (secrets cut out).
    pub stream: Option<UnboundedSender<Value>>,
    /// Where the worker's log lines go as they are logged, as the record writes them (`[stderr] …`,
    /// secrets cut out). A warm worker serving other executions at once mixes their lines in, as the
    /// record does. Bounded: lines a slow reader has no room for are dropped (the record keeps them).
    pub log_stream: Option<tokio::sync::mpsc::Sender<String>>,
    /// Who asked: recorded on the execution's event.
    pub actor: String,
    /// The agent that runs it from its own process, with its message and state, answering the run's
    /// calls about the conversation (`text` is then its message's text, for the record).
    pub caller: Option<crate::CallingAgent>,
}

/// A recorded run, secrets cut out.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Outcome {
    /// What the component answered, as the plugin returned it (an elizaOS action result, a provider's
    /// `{text, values, data}`, …): its shape is the plugin's.
    pub result: Value,
    /// What an action sent through its callback, in order: elizaOS content, as the plugin sent it.
    pub callbacks: Vec<Value>,
    pub duration_ms: f64,
    pub memory_bytes: Option<u64>,
    /// Answered from the result cache, without a worker.
    #[serde(default)]
    pub cache_hit: bool,
    /// Attempts it took (1 without a retry; 0 for a cache hit).
    #[serde(default)]
    pub attempts: u32,
}
