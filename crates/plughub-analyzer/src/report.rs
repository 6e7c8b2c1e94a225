//! The report of one package, and its risk score.

use crate::finding::{Finding, Rule, Severity};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

pub use plughub_domain::RiskLevel;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub package: Option<String>,
    pub version: Option<String>,
    pub files: usize,
    pub bytes: u64,
    /// 0 (nothing found) to 100.
    pub score: u32,
    pub level: RiskLevel,
    /// Most severe first.
    pub findings: Vec<Finding>,
    /// What the code reaches for: the evidence permissions are inferred from.
    #[serde(default)]
    pub uses: crate::Uses,
    /// The components the code declares, and whether it is a client or an adapter.
    #[serde(default)]
    pub declared: crate::Declared,
    pub duration_ms: u64,
}

impl Report {
    pub fn new(
        package: Option<String>,
        version: Option<String>,
        files: usize,
        bytes: u64,
        mut findings: Vec<Finding>,
        duration: Duration,
    ) -> Report {
        findings.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then(a.file.cmp(&b.file))
                .then(a.line.cmp(&b.line))
                .then(a.column.cmp(&b.column))
        });
        let score = score(&findings);
        Report {
            package,
            version,
            files,
            bytes,
            score,
            level: RiskLevel::of(score),
            findings,
            uses: crate::Uses::default(),
            declared: crate::Declared::default(),
            duration_ms: duration.as_millis() as u64,
        }
    }

    pub fn with_uses(mut self, uses: crate::Uses) -> Report {
        self.uses = uses;
        self
    }

    pub fn with_declared(mut self, declared: crate::Declared) -> Report {
        self.declared = declared;
        self
    }

    /// Findings counted by severity, for summaries.
    pub fn counts(&self) -> BTreeMap<Severity, usize> {
        let mut counts = BTreeMap::new();
        for f in &self.findings {
            *counts.entry(f.severity).or_insert(0) += 1;
        }
        counts
    }
}

/// Each rule counts by its worst finding, and each further finding of that rule adds a quarter of its own
/// weight: a bundle repeating one pattern twenty times is not twenty times as risky. Capped at 100.
pub fn score(findings: &[Finding]) -> u32 {
    let mut by_rule: BTreeMap<Rule, Vec<Severity>> = BTreeMap::new();
    for f in findings {
        by_rule.entry(f.rule).or_default().push(f.severity);
    }
    let total: u32 = by_rule
        .values_mut()
        .map(|severities| {
            severities.sort_by(|a, b| b.cmp(a));
            let worst = severities[0].weight();
            let rest: u32 = severities[1..].iter().map(|s| s.weight() / 4).sum();
            worst + rest
        })
        .sum();
    total.min(100)
}
