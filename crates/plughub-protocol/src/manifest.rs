//! What a plugin has: its actions, providers, evaluators, services, models and routes, as the worker
//! reports them (after `init`, this is the true list: plugins register components there).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub actions: Vec<Component>,
    #[serde(default)]
    pub providers: Vec<Component>,
    #[serde(default)]
    pub evaluators: Vec<Component>,
    #[serde(default)]
    pub services: Vec<ServiceInfo>,
    /// Model types it provides (`TEXT_SMALL`, `TEXT_EMBEDDING`, …).
    #[serde(default)]
    pub models: Vec<String>,
    /// `METHOD path` of each route.
    #[serde(default)]
    pub routes: Vec<String>,
    /// Plugins it names as its dependencies.
    #[serde(default)]
    pub dependencies: Vec<String>,
}

/// An action, provider or evaluator, described as the plugin declares it: what an agent's planner reads
/// (the agent bridge registers proxies with the same description, similes and examples).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Component {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub similes: Vec<String>,
    /// An action's or evaluator's example conversations, as elizaOS shapes them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<serde_json::Value>,
    /// A provider left out of the composed state unless asked for by name.
    #[serde(default, skip_serializing_if = "is_false")]
    pub dynamic: bool,
    /// A provider only ever asked for by name.
    #[serde(default, skip_serializing_if = "is_false")]
    pub private: bool,
    /// A provider's place in the composed state (lower first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<f64>,
    /// An evaluator that runs on every message, whatever its `validate` says.
    #[serde(default, rename = "alwaysRun", skip_serializing_if = "is_false")]
    pub always_run: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceInfo {
    #[serde(rename = "serviceType")]
    pub service_type: String,
    #[serde(default, rename = "capabilityDescription")]
    pub capability_description: String,
}
