//! Runtime calls as a plugin could make them: every method plughub's host script forwards, and any JSON
//! as their arguments, for property tests of the runtimes that answer them.

use proptest::prelude::*;
use serde_json::Value;

/// Every runtime method the host script forwards to plughub, and one it does not know.
pub const RUNTIME_METHODS: &[&str] = &[
    "getCache",
    "setCache",
    "deleteCache",
    "createMemory",
    "deleteMemory",
    "getMemories",
    "searchMemories",
    "emitEvent",
    "useModel",
    "updateRelationship",
];

/// Any JSON value, nested up to four deep, with the keys the runtimes read (`id`, `roomId`, `count`, …)
/// more likely than chance alone would make them.
pub fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ];
    let key = prop_oneof![
        Just("id".to_string()),
        Just("roomId".to_string()),
        Just("content".to_string()),
        Just("text".to_string()),
        Just("count".to_string()),
        Just("query".to_string()),
        Just("tableName".to_string()),
        ".{0,6}",
    ];
    leaf.prop_recursive(4, 32, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(key.clone(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A runtime call: a method of [`RUNTIME_METHODS`] and up to three arguments of any JSON.
pub fn any_call() -> impl Strategy<Value = (&'static str, Vec<Value>)> {
    (
        prop::sample::select(RUNTIME_METHODS),
        prop::collection::vec(any_json(), 0..4),
    )
}
