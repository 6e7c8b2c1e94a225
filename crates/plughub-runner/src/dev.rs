//! What a runner for `plughub dev test` does differently: `useModel` answered from the package's script
//! (`plughub.dev.json` `models`) instead of a model plugin, and the workers' environment told they run
//! tests. Everything else is the one path: its stub is reached through the egress mapping
//! (`EgressPolicy::mapped`), as an operator's are.

use serde_json::Value;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
pub struct DevRun {
    pub models: Option<Arc<ScriptedModels>>,
    /// Added to each worker's environment (`PLUGHUB_DEV_TEST`).
    pub env: Vec<(String, String)>,
}

/// Answers per model type, each given once, in order.
#[derive(Debug, Default)]
pub struct ScriptedModels {
    answers: Mutex<BTreeMap<String, VecDeque<Value>>>,
}

impl ScriptedModels {
    pub fn new(answers: BTreeMap<String, Vec<Value>>) -> ScriptedModels {
        ScriptedModels {
            answers: Mutex::new(
                answers
                    .into_iter()
                    .map(|(k, v)| (k, v.into_iter().collect()))
                    .collect(),
            ),
        }
    }

    /// The next answer for `model_type`, or an error the test sees saying where answers come from.
    pub fn answer(&self, model_type: &str) -> Result<Value, String> {
        let mut answers = self.answers.lock().expect("not poisoned");
        match answers.get_mut(model_type) {
            Some(queue) => queue.pop_front().ok_or_else(|| {
                format!(
                    "useModel({model_type}): the scripted answers for {model_type} in plughub.dev.json `models` have all been given; add more there"
                )
            }),
            None => Err(format!(
                "useModel({model_type}): plughub.dev.json `models` has no answers for {model_type}; add \"{model_type}\": [\"…\"] there, or register a model in the test with runtime.registerModel"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn answers_in_order_then_say_they_ran_out_naming_the_type() {
        let models = ScriptedModels::new(
            [(
                "TEXT_SMALL".to_string(),
                vec![json!("one"), json!({"two": 2})],
            )]
            .into(),
        );
        assert_eq!(models.answer("TEXT_SMALL"), Ok(json!("one")));
        assert_eq!(models.answer("TEXT_SMALL"), Ok(json!({"two": 2})));
        let ran_out = models.answer("TEXT_SMALL").unwrap_err();
        assert!(
            ran_out.contains("TEXT_SMALL") && ran_out.contains("plughub.dev.json"),
            "{ran_out}"
        );
        let none = models.answer("TEXT_LARGE").unwrap_err();
        assert!(
            none.contains("no answers for TEXT_LARGE") && none.contains("registerModel"),
            "{none}"
        );
    }
}
