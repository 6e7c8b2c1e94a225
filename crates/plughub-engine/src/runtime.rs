//! The runtime a plugin sees, on plughub's side: the calls it makes back (`useModel`, `getCache`,
//! `createMemory`, …). Settings, the agent id and the character travel with `plugin.init` instead, because
//! elizaOS's `getSetting` is synchronous and cannot wait for a round trip.

use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

pub type RuntimeFuture<'a> = Pin<Box<dyn Future<Output = Result<Value, String>> + Send + 'a>>;

/// Answers a plugin's runtime calls. An `Err` reaches the plugin as a thrown error with that message.
pub trait RuntimeHost: Send + Sync + 'static {
    fn call<'a>(&'a self, method: &'a str, params: Vec<Value>) -> RuntimeFuture<'a>;
}

/// A runtime kept in memory for one worker: cache, memories and events. The store-backed runtime of an
/// installed instance builds on the same calls.
#[derive(Default)]
pub struct LocalRuntime {
    cache: Mutex<HashMap<String, Value>>,
    memories: Mutex<Vec<Value>>,
    events: Mutex<VecDeque<(String, Value)>>,
}

impl LocalRuntime {
    /// Events kept: the newest, one execution's worth at the default caps. A warm worker lives for many
    /// executions, and nothing reads events back but tests, so keeping them all would only grow.
    pub const EVENTS_KEPT: usize = crate::Caps::DEFAULT.events;

    /// The last `EVENTS_KEPT` events the plugin emitted, in order.
    pub fn events(&self) -> Vec<(String, Value)> {
        self.events
            .lock()
            .expect("not poisoned")
            .iter()
            .cloned()
            .collect()
    }

    fn answer(&self, method: &str, params: &[Value]) -> Result<Value, String> {
        let arg = |i: usize| params.get(i).cloned().unwrap_or(Value::Null);
        let key = |i: usize| match arg(i) {
            Value::String(s) => Ok(s),
            other => Err(format!("{method}: expected a string key, got {other}")),
        };
        match method {
            "getCache" => Ok(self
                .cache
                .lock()
                .expect("not poisoned")
                .get(&key(0)?)
                .cloned()
                .unwrap_or(Value::Null)),
            "setCache" => {
                self.cache
                    .lock()
                    .expect("not poisoned")
                    .insert(key(0)?, arg(1));
                Ok(json!(true))
            }
            "deleteCache" => Ok(json!(
                self.cache
                    .lock()
                    .expect("not poisoned")
                    .remove(&key(0)?)
                    .is_some()
            )),
            "createMemory" => {
                let mut memories = self.memories.lock().expect("not poisoned");
                let mut memory = arg(0);
                let id = format!("memory-{}", memories.len() + 1);
                if memory.get("id").is_none() {
                    memory["id"] = json!(id);
                }
                memories.push(memory.clone());
                Ok(memory["id"].clone())
            }
            "getMemories" | "searchMemories" => {
                let memories = self.memories.lock().expect("not poisoned");
                let count = arg(0).get("count").and_then(Value::as_u64).unwrap_or(10) as usize;
                Ok(json!(memories.iter().rev().take(count).collect::<Vec<_>>()))
            }
            "emitEvent" => {
                let name = match arg(0) {
                    Value::String(s) => s,
                    Value::Array(names) => names
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(","),
                    other => other.to_string(),
                };
                let mut events = self.events.lock().expect("not poisoned");
                if events.len() == Self::EVENTS_KEPT {
                    events.pop_front();
                }
                events.push_back((name, arg(1)));
                Ok(Value::Null)
            }
            "useModel" => Err(format!(
                "no model plugin is active for {} here: activate one that provides it (e.g. @elizaos/plugin-openai)",
                arg(0).as_str().unwrap_or("this model type")
            )),
            other => Err(format!(
                "plughub's runtime does not provide runtime.{other}()"
            )),
        }
    }
}

impl RuntimeHost for LocalRuntime {
    fn call<'a>(&'a self, method: &'a str, params: Vec<Value>) -> RuntimeFuture<'a> {
        Box::pin(async move { self.answer(method, &params) })
    }
}
