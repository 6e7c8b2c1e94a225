//! What the store keeps of an installed plugin (the properties of its `plugin_instance` thing).

use plughub_domain::CoreMajor;
use plughub_domain::lifecycle::State;
use plughub_domain::permissions::Permissions;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One installed version of a plugin: the package it runs from and what was checked of it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InstalledVersion {
    pub version: String,
    /// The package folder's name in the package store, once installed.
    pub package: Option<String>,
    pub integrity: Option<String>,
    pub risk_score: Option<u32>,
    /// Who accepted a risk above the threshold, if anyone did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk_accepted_by: Option<String>,
    /// The model types and routes this version provides, recorded when it first runs (they are only
    /// known after `init`); `None` until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provides: Option<Provides>,
    /// The permissions this version asks for: declared in its package.json, else inferred from its code,
    /// with the secrets its settings declare.
    #[serde(default, skip_serializing_if = "Permissions::is_empty")]
    pub requested: Permissions,
    /// Whether `requested` was declared by the package (else inferred from its code).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub declared_permissions: bool,
    /// Whether `requested` was worked out at install. Versions installed before plughub had permissions
    /// lack it: theirs are worked out when next needed (see `Installer::requested_now`).
    #[serde(default)]
    pub permissions_recorded: bool,
}

/// What a version provides beyond the components recorded as things.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Provides {
    /// Model types (`TEXT_SMALL`, `TEXT_EMBEDDING`, …) its `useModel` handlers answer.
    pub models: Vec<String>,
    /// `METHOD path` of each route.
    pub routes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceRecord {
    pub plugin: String,
    #[serde(flatten)]
    pub current: InstalledVersion,
    pub state: State,
    /// The core major asked for at install; updates stay on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub core: Option<CoreMajor>,
    /// The version before the last update, kept on disk for a rollback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<InstalledVersion>,
    /// While an update is in flight: the state to return to if it does not finish.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replacing: Option<State>,
    /// While a change is in flight: the machine doing it (`host`), so that recovery on another machine
    /// sharing the store leaves it alone unless it is long stale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Executions that failed in a row; at the limit the instance is suspended.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub error_streak: u32,
    /// The circuit breaker, here so that every server sharing the store sees the same one.
    #[serde(
        default,
        skip_serializing_if = "plughub_domain::execution_policy::Breaker::is_quiet"
    )]
    pub breaker: plughub_domain::execution_policy::Breaker,
    /// Settings that are not secret, typed by the plugin's schema.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub config: BTreeMap<String, serde_json::Value>,
    /// Secret settings, sealed (see plughub-secrets); never shown back.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub secrets: BTreeMap<String, String>,
    /// What an org_owner granted. It outlives versions: an update asking for more runs once the rest is
    /// granted.
    #[serde(default, skip_serializing_if = "Permissions::is_empty")]
    pub granted: Permissions,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub granted_by: Option<String>,
}

impl InstanceRecord {
    /// A record with nothing installed or configured yet.
    pub fn new(plugin: &str, version: &str, state: State) -> InstanceRecord {
        InstanceRecord {
            plugin: plugin.into(),
            current: InstalledVersion {
                version: version.into(),
                ..Default::default()
            },
            state,
            core: None,
            previous: None,
            replacing: None,
            worker: None,
            error: None,
            error_streak: 0,
            breaker: Default::default(),
            config: BTreeMap::new(),
            secrets: BTreeMap::new(),
            granted: Permissions::default(),
            granted_by: None,
        }
    }

    pub fn version(&self) -> &str {
        &self.current.version
    }

    /// Package folders this instance keeps on disk: the current one and the one a rollback returns to.
    pub fn packages(&self) -> impl Iterator<Item = &String> {
        self.current
            .package
            .iter()
            .chain(self.previous.iter().flat_map(|p| p.package.iter()))
    }

    /// Installed and not uninstalled since: it counts for dependencies and for the package store.
    pub fn is_present(&self) -> bool {
        !matches!(self.state, State::Uninstalled | State::Failed)
    }

    /// What the current version asks for that is not granted.
    pub fn ungranted(&self) -> Permissions {
        self.current.requested.beyond(&self.granted)
    }
}

/// This machine's name, recorded on changes in flight.
pub fn this_host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}
