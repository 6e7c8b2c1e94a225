//! A package's facts for the catalogue, from its analysis.

use crate::permissions::{inferred_permissions, requested_permissions};
use crate::report::Report;
use plughub_domain::package_facts::{
    FACTS_REVISION, FindingExcerpt, MAX_EXCERPTS, PackageFacts, PluginKind,
};
use std::path::Path;

/// The facts of the package in `dir`, analysed as `report` (by `analyze_package`) at `analysed_at`. A
/// permissions declaration that cannot be read is noted, and what the code reaches for stands in.
pub fn package_facts(dir: &Path, report: &Report, analysed_at: String) -> PackageFacts {
    let mut notes = Vec::new();
    let (permissions, declared) = match requested_permissions(dir, report) {
        Ok(asked) => (asked.permissions, asked.declared),
        Err(e) => {
            notes.push(format!(
                "its plughub.permissions declaration is unreadable ({e}): installs refuse it; shown is what its code reaches for"
            ));
            (inferred_permissions(&report.uses), false)
        }
    };
    let declared_components = &report.declared;
    if declared_components.unread > 0 {
        notes.push(format!(
            "{} component{} its code lists or registers {} made at run time: not shown",
            declared_components.unread,
            if declared_components.unread == 1 {
                ""
            } else {
                "s"
            },
            if declared_components.unread == 1 {
                "is"
            } else {
                "are"
            }
        ));
    }
    PackageFacts {
        version: report.version.clone().unwrap_or_default(),
        analysed_at,
        integrity: None,
        kinds: PluginKind::derive(
            &declared_components.components,
            declared_components.client,
            declared_components.adapter,
        ),
        components: declared_components.components.clone(),
        components_cut: declared_components.cut,
        permissions,
        permissions_declared: declared,
        tests: Some(crate::package::has_tests(dir)),
        types: Some(crate::package::has_types(dir)),
        risk_score: report.score,
        risk_level: report.level,
        findings: u32::try_from(report.findings.len()).unwrap_or(u32::MAX),
        // The report lists the most severe first.
        excerpts: report
            .findings
            .iter()
            .take(MAX_EXCERPTS)
            .map(|f| FindingExcerpt {
                severity: f.severity.as_str().to_string(),
                rule: f.rule.id().to_string(),
                file: f.file.clone(),
                line: f.line,
                snippet: f.snippet.chars().take(300).collect(),
                message: f.message.clone(),
            })
            .collect(),
        notes,
        revision: FACTS_REVISION,
    }
}
