//! What plughub records of a catalogue plugin's published package, read from the package itself (never
//! from what an organisation did with it): the components its code declares, the permissions it asks for,
//! and the risk its static analysis found. Catalogue-level and public: search and the detail page show it.

use crate::permissions::Permissions;
use serde::{Deserialize, Serialize};

/// Bumped whenever the analysis would find more or other facts in the same package: facts made by an
/// older revision are made again, even for an unchanged version.
pub const FACTS_REVISION: u32 = 2;

/// What a component is, as elizaOS's `Plugin` object holds them.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ComponentKind {
    Action,
    Provider,
    Evaluator,
    Service,
    Model,
    Route,
}

impl ComponentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ComponentKind::Action => "action",
            ComponentKind::Provider => "provider",
            ComponentKind::Evaluator => "evaluator",
            ComponentKind::Service => "service",
            ComponentKind::Model => "model",
            ComponentKind::Route => "route",
        }
    }
}

/// One component the package declares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Component {
    pub kind: ComponentKind,
    /// The component's name: an action's, provider's or evaluator's `name`; a service's `serviceType`
    /// (its class name when the type is not a fixed string); a model's model type (`TEXT_LARGE`,
    /// `TEXT_EMBEDDING`, …); a route's method and path (`GET /hello`).
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Other names an action or evaluator answers to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub similes: Vec<String>,
}

/// What a plugin is, for the catalogue's kind filter: the kinds of its components, `client` for a
/// connector that brings conversations from another platform, `adapter` for a database adapter.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum PluginKind {
    Action,
    Provider,
    Evaluator,
    Service,
    Model,
    Client,
    Adapter,
}

impl PluginKind {
    pub const ALL: [PluginKind; 7] = [
        PluginKind::Action,
        PluginKind::Provider,
        PluginKind::Evaluator,
        PluginKind::Service,
        PluginKind::Model,
        PluginKind::Client,
        PluginKind::Adapter,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PluginKind::Action => "action",
            PluginKind::Provider => "provider",
            PluginKind::Evaluator => "evaluator",
            PluginKind::Service => "service",
            PluginKind::Model => "model",
            PluginKind::Client => "client",
            PluginKind::Adapter => "adapter",
        }
    }

    pub fn parse(text: &str) -> Option<PluginKind> {
        PluginKind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// The kinds of a plugin with these components; `client` and `adapter` come from what its code
    /// does, not from one component. Sorted, each once.
    pub fn derive(components: &[Component], client: bool, adapter: bool) -> Vec<PluginKind> {
        let mut kinds: Vec<PluginKind> = components
            .iter()
            .filter_map(|c| match c.kind {
                ComponentKind::Action => Some(PluginKind::Action),
                ComponentKind::Provider => Some(PluginKind::Provider),
                ComponentKind::Evaluator => Some(PluginKind::Evaluator),
                ComponentKind::Service => Some(PluginKind::Service),
                ComponentKind::Model => Some(PluginKind::Model),
                ComponentKind::Route => None,
            })
            .collect();
        if client {
            kinds.push(PluginKind::Client);
        }
        if adapter {
            kinds.push(PluginKind::Adapter);
        }
        kinds.sort();
        kinds.dedup();
        kinds
    }
}

/// How risky the static analysis judged a package, from its score.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum RiskLevel {
    Low,
    Medium,
    High,
}

impl RiskLevel {
    /// The level of a score (0–100): under 20 low, under 50 medium, else high.
    pub fn of(score: u32) -> RiskLevel {
        match score {
            0..=19 => RiskLevel::Low,
            20..=49 => RiskLevel::Medium,
            _ => RiskLevel::High,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RiskLevel::Low => "low",
            RiskLevel::Medium => "medium",
            RiskLevel::High => "high",
        }
    }
}

/// The facts of one published version of a catalogue plugin, from its package as npm serves it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PackageFacts {
    /// The version analysed (npm's `latest` when it was analysed).
    pub version: String,
    /// When it was analysed (RFC 3339, UTC).
    pub analysed_at: String,
    /// The verified integrity of the tarball analysed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integrity: Option<String>,
    /// What the plugin is, from its components and its code.
    pub kinds: Vec<PluginKind>,
    /// The components its code declares, as static analysis finds them: components made only at run
    /// time (in `init`, from computed names) are not seen.
    pub components: Vec<Component>,
    /// More components were found than are kept.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub components_cut: bool,
    /// What it asks for: its `plughub.permissions` declaration, else what its code is seen to reach for,
    /// with the secrets its settings declare.
    pub permissions: Permissions,
    /// Whether `permissions` were declared by the package (else inferred from its code).
    pub permissions_declared: bool,
    /// The static analysis's risk score, 0 (nothing found) to 100.
    #[schema(maximum = 100)]
    pub risk_score: u32,
    pub risk_level: RiskLevel,
    /// How many findings the analysis reported.
    pub findings: u32,
    /// The most severe findings, with the code they point at (at most `MAX_EXCERPTS`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excerpts: Vec<FindingExcerpt>,
    /// Anything the analysis could not read as it should (a malformed declaration, say).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Whether the package carries a test suite (test files or folders, or a `test` script other than
    /// npm's placeholder); `None` in facts made before this was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tests: Option<bool>,
    /// Whether it ships TypeScript types (`types`/`typings` in package.json, or `.d.ts` files); `None`
    /// in facts made before this was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub types: Option<bool>,
    /// The revision of plughub's analysis that made these facts (see `FACTS_REVISION`).
    pub revision: u32,
}

/// How many findings a package's facts keep with their code: enough to judge the package before
/// installing it, little enough to keep the catalogue small.
pub const MAX_EXCERPTS: usize = 10;

/// One finding of the analysis, with the line of code it points at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FindingExcerpt {
    /// `critical`, `high`, `medium`, `low` or `info`.
    pub severity: String,
    /// The rule that found it (`dynamic-code`, `env-access`, …).
    pub rule: String,
    /// Path inside the package, and the 1-based line.
    pub file: String,
    pub line: u32,
    /// The code, cut to a few hundred characters.
    pub snippet: String,
    pub message: String,
}

impl PackageFacts {
    /// Whether the plugin asks for the network (declared, or seen in its code).
    pub fn needs_network(&self) -> bool {
        self.permissions.network.is_some()
    }

    /// The names of the permissions it asks for (`network.external`, `storage.read`, …), for filters.
    pub fn permission_names(&self) -> Vec<&'static str> {
        crate::permissions::Permission::ALL
            .into_iter()
            .filter(|p| self.permissions.has(*p))
            .map(|p| p.as_str())
            .collect()
    }

    pub fn is(&self, kind: PluginKind) -> bool {
        self.kinds.contains(&kind)
    }

    /// Whether these facts are the current analysis of `version`: nothing to analyse again.
    pub fn current_for(&self, version: &str) -> bool {
        self.version == version && self.revision == FACTS_REVISION
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn component(kind: ComponentKind, name: &str) -> Component {
        Component {
            kind,
            name: name.into(),
            description: None,
            similes: vec![],
        }
    }

    #[test]
    fn kinds_come_from_components_and_signals() {
        let components = [
            component(ComponentKind::Route, "GET /x"),
            component(ComponentKind::Model, "TEXT_LARGE"),
            component(ComponentKind::Action, "A"),
            component(ComponentKind::Action, "B"),
        ];
        assert_eq!(
            PluginKind::derive(&components, false, true),
            [PluginKind::Action, PluginKind::Model, PluginKind::Adapter]
        );
        assert_eq!(PluginKind::derive(&[], true, false), [PluginKind::Client]);
        for kind in PluginKind::ALL {
            assert_eq!(PluginKind::parse(kind.as_str()), Some(kind));
        }
    }

    #[test]
    fn facts_round_trip_and_stay_small() {
        let facts = PackageFacts {
            version: "1.0.0".into(),
            analysed_at: "2026-12-06T00:00:00Z".into(),
            integrity: None,
            kinds: vec![PluginKind::Action],
            components: vec![Component {
                kind: ComponentKind::Action,
                name: "HELLO".into(),
                description: Some("Greets".into()),
                similes: vec!["GREET".into()],
            }],
            components_cut: false,
            permissions: Permissions::default(),
            permissions_declared: false,
            tests: Some(true),
            types: None,
            risk_score: 0,
            risk_level: RiskLevel::of(0),
            findings: 0,
            excerpts: vec![],
            notes: vec![],
            revision: FACTS_REVISION,
        };
        let text = serde_json::to_string(&facts).unwrap();
        assert_eq!(
            text,
            r#"{"version":"1.0.0","analysed_at":"2026-12-06T00:00:00Z","kinds":["action"],"components":[{"kind":"action","name":"HELLO","description":"Greets","similes":["GREET"]}],"permissions":{},"permissions_declared":false,"risk_score":0,"risk_level":"low","findings":0,"tests":true,"revision":2}"#
        );
        assert_eq!(serde_json::from_str::<PackageFacts>(&text).unwrap(), facts);
        assert!(facts.current_for("1.0.0") && !facts.current_for("1.0.1"));
        assert!(!facts.needs_network());
        assert!(facts.permission_names().is_empty());
        let mut asking = facts.clone();
        asking.permissions.add_secrets(["K".to_string()]);
        asking
            .permissions
            .add(crate::permissions::Permission::NetworkExternal);
        assert_eq!(
            asking.permission_names(),
            ["network.external", "secrets.access"]
        );
    }
}
