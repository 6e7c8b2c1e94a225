#![doc = include_str!("../README.md")]

mod finding;
mod js;
mod package;
mod report;
mod strings;

pub use finding::{Finding, Rule, Severity};
pub use package::{AnalyzeError, analyze_package};
pub use report::{Report, RiskLevel, score};

/// Analyses one JavaScript source; `file` is the name findings carry.
pub fn analyze_source(file: &str, source: &str) -> Vec<Finding> {
    js::analyze(file, source)
}
