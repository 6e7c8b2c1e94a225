#![doc = include_str!("../README.md")]

mod components;
mod facts;
mod finding;
mod js;
mod package;
mod permissions;
mod report;
mod strings;
mod uses;

pub use components::{Declared, MAX_COMPONENTS};
pub use facts::package_facts;
pub use finding::{Finding, Rule, Severity};
pub use package::{AnalyzeError, analyze_package};
pub use permissions::{
    Requested, holds_native_addon, inferred_permissions, requested_permissions, settings_schema,
};
pub use report::{Report, RiskLevel, score};
pub use uses::{Uses, url_host};

/// Analyses one JavaScript source; `file` is the name findings carry.
pub fn analyze_source(file: &str, source: &str) -> Vec<Finding> {
    js::analyze(file, source).0
}

/// What one JavaScript source reaches for (network, endpoints, runtime calls, settings).
pub fn uses_of_source(file: &str, source: &str) -> Uses {
    js::analyze(file, source).1
}

/// The components one JavaScript source declares.
pub fn components_of_source(file: &str, source: &str) -> Declared {
    Declared::merge(vec![js::analyze(file, source).2])
}
