//! A run for a calling agent: an elizaOS agent in its own process that uses the plugin through plughub
//! (the agent bridge, `clients/elizaos`). The agent sends its own message and state, and answers the
//! run's calls about the conversation from its own runtime: its memories, rooms, entities and worlds are
//! its own, and a provider that reads the conversation must see the real one. What stays in plughub is
//! the plugin's: its settings and secrets, its cache, its events; and its models, unless the
//! organisation's owner chose the agent's own (`ModelSource::Agent`). Every call is checked against the
//! plugin's grants first, as any runtime call is, and has the plugin's secrets cut out before the agent
//! sees it.

use crate::StoreRuntime;
use plughub_domain::permissions::Permission;
use plughub_engine::{RuntimeFuture, RuntimeHost};
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::{mpsc, oneshot};

/// The calling agent of a run, and the channel it answers on.
#[derive(Debug, Clone)]
pub struct CallingAgent {
    /// The agent's message, an elizaOS `Memory` (ids, content) as the agent holds it.
    pub message: Value,
    /// The agent's state for the component (`{values, data, text}`); an empty one when `None`.
    pub state: Option<Value>,
    /// Where the run's calls for the agent go; the run's end (or the agent leaving) drops them.
    pub calls: mpsc::Sender<AgentCall>,
    /// Whether the plugin's `useModel` goes to the agent's own models (else to the organisation's
    /// model plugins in plughub).
    pub models: bool,
    /// Set when a call of the run failed on the agent's side (it left, or answered an error): the
    /// run's failure is then not the plugin's, and counts against neither its error streak nor its
    /// circuit breaker.
    pub agent_failed: Arc<AtomicBool>,
}

impl CallingAgent {
    pub fn new(
        message: Value,
        state: Option<Value>,
        calls: mpsc::Sender<AgentCall>,
        models: bool,
    ) -> CallingAgent {
        CallingAgent {
            message,
            state,
            calls,
            models,
            agent_failed: Arc::default(),
        }
    }

    /// Whether a call of the run failed on the agent's side.
    pub fn failed_on_its_side(&self) -> bool {
        self.agent_failed.load(Ordering::Relaxed)
    }
}

/// A runtime call of the plugin that the calling agent answers.
#[derive(Debug)]
pub struct AgentCall {
    pub method: String,
    pub params: Vec<Value>,
    /// The agent's answer, or the error the plugin sees thrown.
    pub reply: oneshot::Sender<Result<Value, String>>,
}

/// The calls about the conversation, which the calling agent answers: the same names as elizaOS's
/// `IAgentRuntime` methods, which the bridge calls on the agent's runtime. Deleting a memory is not
/// among them: a plugin deletes what it keeps in plughub, never the agent's own memories.
pub const CONVERSATION_CALLS: [&str; 13] = [
    "getMemories",
    "searchMemories",
    "getMemoriesByRoomIds",
    "getMemoryById",
    "createMemory",
    "getRoom",
    "getRoomsByIds",
    "getWorld",
    "getEntityById",
    "getEntitiesByIds",
    "getEntitiesForRoom",
    "getParticipantsForRoom",
    "getRoomsForParticipants",
];

/// Whether the calling agent answers `method` (its models too when it serves them).
pub fn answered_by_agent(method: &str, models: bool) -> bool {
    CONVERSATION_CALLS.contains(&method) || (models && method == "useModel")
}

/// What a call the agent answers needs granted: every read of its conversation (rooms, entities and
/// worlds too, which plughub itself does not keep) needs `storage.read`, a new memory `storage.write`,
/// a search `knowledge.query`; a model call, nothing.
fn needed_of_the_agent(method: &str) -> Option<Permission> {
    match method {
        "useModel" => None,
        "createMemory" => Some(Permission::StorageWrite),
        "searchMemories" => Some(Permission::KnowledgeQuery),
        _ => Some(Permission::StorageRead),
    }
}

/// The runtime of one run for a calling agent: the agent's calls go to it, the rest to the instance's
/// runtime in plughub.
pub(crate) struct AgentSide {
    pub(crate) instance: Arc<StoreRuntime>,
    /// The instance's: its secrets are cut out of what the plugin sends the agent, as out of what it
    /// answers (a plugin passing its key along in a call does not hand it to the agent).
    pub(crate) context: plughub_lifecycle::ExecutionContext,
    pub(crate) calls: mpsc::Sender<AgentCall>,
    pub(crate) models: bool,
    pub(crate) agent_failed: Arc<AtomicBool>,
}

impl AgentSide {
    async fn answer(&self, method: &str, params: Vec<Value>) -> Result<Value, String> {
        if !answered_by_agent(method, self.models) {
            return self.instance.call(method, params).await;
        }
        // The plugin's grants hold for the agent's data as for plughub's.
        self.instance
            .check_permission(needed_of_the_agent(method), method)
            .await?;
        let params = match self.context.redact_value(&Value::Array(params)) {
            Value::Array(params) => params,
            other => vec![other],
        };
        let (reply, answer) = oneshot::channel();
        let call = AgentCall {
            method: method.to_string(),
            params,
            reply,
        };
        let gone = || {
            self.agent_failed.store(true, Ordering::Relaxed);
            format!("runtime.{method}(): the calling agent is no longer connected")
        };
        // Waits while the agent is slow to take calls: the run's time-out bounds the wait.
        self.calls.send(call).await.map_err(|_| gone())?;
        let answered = answer.await.map_err(|_| gone())?;
        if answered.is_err() {
            self.agent_failed.store(true, Ordering::Relaxed);
        }
        answered
    }
}

impl RuntimeHost for AgentSide {
    fn call<'a>(&'a self, method: &'a str, params: Vec<Value>) -> RuntimeFuture<'a> {
        Box::pin(self.answer(method, params))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_call_of_the_agent_s_conversation_needs_a_grant() {
        for method in CONVERSATION_CALLS {
            assert!(answered_by_agent(method, false), "{method}");
            assert!(needed_of_the_agent(method).is_some(), "{method}");
        }
        assert_eq!(
            needed_of_the_agent("getRoom"),
            Some(Permission::StorageRead)
        );
        assert_eq!(
            needed_of_the_agent("createMemory"),
            Some(Permission::StorageWrite)
        );
        // The agent's memories are never deleted by a plugin: that call stays in plughub.
        assert!(!answered_by_agent("deleteMemory", true));
        // Models go to the agent only when the owner chose so, and need no grant.
        assert!(!answered_by_agent("useModel", false));
        assert!(answered_by_agent("useModel", true));
        assert_eq!(needed_of_the_agent("useModel"), None);
        assert!(!answered_by_agent("getCache", true));
    }
}
