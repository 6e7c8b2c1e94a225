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

/// An action, provider or evaluator.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Component {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub similes: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceInfo {
    #[serde(rename = "serviceType")]
    pub service_type: String,
    #[serde(default, rename = "capabilityDescription")]
    pub capability_description: String,
}
