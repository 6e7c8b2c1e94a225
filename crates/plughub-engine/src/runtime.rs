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
                // Only an object can take an id (indexing anything else by key would panic).
                let Value::Object(mut memory) = arg(0) else {
                    return Err(format!(
                        "createMemory: a memory is an object, not {}",
                        json_kind(&arg(0))
                    ));
                };
                let mut memories = self.memories.lock().expect("not poisoned");
                let id = format!("memory-{}", memories.len() + 1);
                let id = memory.entry("id").or_insert(json!(id)).clone();
                memories.push(Value::Object(memory));
                Ok(id)
            }
            "deleteMemory" => {
                let id = key(0)?;
                let mut memories = self.memories.lock().expect("not poisoned");
                let before = memories.len();
                memories.retain(|m| m.get("id").and_then(Value::as_str) != Some(id.as_str()));
                Ok(json!(memories.len() < before))
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

/// What kind of JSON value this is, for messages to the plugin.
fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl RuntimeHost for LocalRuntime {
    fn call<'a>(&'a self, method: &'a str, params: Vec<Value>) -> RuntimeFuture<'a> {
        Box::pin(async move { self.answer(method, &params) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plughub_testkit::runtime_calls::any_call;
    use proptest::prelude::*;

    proptest! {
        /// Whatever a plugin passes, each method answers (an error at worst) and the runtime goes on.
        #[test]
        fn every_method_answers_any_json((method, params) in any_call()) {
            let runtime = LocalRuntime::default();
            let _ = runtime.answer(method, &params);
            prop_assert_eq!(
                runtime.answer("setCache", &[json!("k"), json!(1)]),
                Ok(json!(true))
            );
        }
    }

    #[test]
    fn a_memory_that_is_not_an_object_is_an_error() {
        let runtime = LocalRuntime::default();
        for malformed in [json!("x"), json!(7), json!([1, 2]), json!(true)] {
            let answer = runtime.answer("createMemory", std::slice::from_ref(&malformed));
            assert!(
                answer
                    .as_ref()
                    .is_err_and(|e| e.starts_with("createMemory: a memory is an object, not")),
                "{malformed}: {answer:?}"
            );
        }
        assert_eq!(
            runtime.answer("createMemory", &[json!({ "content": { "text": "hi" } })]),
            Ok(json!("memory-1"))
        );
        assert_eq!(
            runtime.answer("createMemory", &[json!({ "id": "mine" })]),
            Ok(json!("mine"))
        );
    }
}
