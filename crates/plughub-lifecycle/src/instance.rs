//! What the store keeps of an installed plugin (the properties of its `plugin_instance` thing).

use plughub_domain::lifecycle::State;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceRecord {
    pub plugin: String,
    pub version: String,
    pub state: State,
    /// The package folder's name in the package store, once installed.
    pub package: Option<String>,
    pub integrity: Option<String>,
    pub risk_score: Option<u32>,
    /// Who accepted a risk above the threshold, if anyone did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk_accepted_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Settings that are not secret, typed by the plugin's schema.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub config: BTreeMap<String, serde_json::Value>,
    /// Secret settings, sealed (see plughub-secrets); never shown back.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub secrets: BTreeMap<String, String>,
}

impl InstanceRecord {
    /// A record with nothing installed or configured yet.
    pub fn new(plugin: &str, version: &str, state: State) -> InstanceRecord {
        InstanceRecord {
            plugin: plugin.into(),
            version: version.into(),
            state,
            package: None,
            integrity: None,
            risk_score: None,
            risk_accepted_by: None,
            error: None,
            config: BTreeMap::new(),
            secrets: BTreeMap::new(),
        }
    }
}
