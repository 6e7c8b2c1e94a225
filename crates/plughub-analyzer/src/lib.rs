#![doc = include_str!("../README.md")]

mod finding;
mod js;
mod package;
mod report;
mod strings;
mod uses;

pub use finding::{Finding, Rule, Severity};
pub use package::{AnalyzeError, analyze_package};
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
