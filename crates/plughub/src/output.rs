//! Human output: tidy tables and short paragraphs. Scripts use `--json`.

use anyhow::Result;
use comfy_table::presets::UTF8_BORDERS_ONLY;
use comfy_table::{ContentArrangement, Table};
use plughub_catalog::compat::{Compat, CompatStatus};
use plughub_catalog::sync::SyncReport;
use plughub_catalog::{CatalogStatus, PluginDetail, SearchResults};
use serde::Serialize;

/// Prints a line to stdout. A reader that went away (`plughub search x | head`) ends the program quietly,
/// as other command-line tools do, instead of a panic about a broken pipe.
macro_rules! out {
    () => { $crate::output::write_out(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::output::write_out(format_args!("{}\n", format_args!($($arg)*))) };
}
pub(crate) use out;

/// Like `out!` without the newline.
macro_rules! out_part {
    ($($arg:tt)*) => { $crate::output::write_out(format_args!($($arg)*)) };
}

pub fn write_out(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    if let Err(e) = std::io::stdout().lock().write_fmt(args)
        && e.kind() == std::io::ErrorKind::BrokenPipe
    {
        std::process::exit(0);
    }
}

pub fn print_json<T: Serialize>(value: &T) -> Result<()> {
    out!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// One JSON document on one line: for streams of records that a script reads line by line.
pub fn print_json_line<T: Serialize>(value: &T) -> Result<()> {
    out!("{}", serde_json::to_string(value)?);
    Ok(())
}

fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_BORDERS_ONLY)
        .set_content_arrangement(ContentArrangement::Dynamic);
    if !header.is_empty() {
        t.set_header(header.to_vec());
    }
    if let Some((w, _)) = terminal_width() {
        t.set_width(w);
    } else {
        t.set_width(140);
    }
    t
}

fn terminal_width() -> Option<(u16, u16)> {
    std::env::var("COLUMNS").ok()?.parse().ok().map(|w| (w, 0))
}

fn shorten(text: &str, max: usize) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() <= max {
        return text;
    }
    let cut: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{cut}…")
}

pub fn print_search(results: &SearchResults) {
    if let Some(better) = &results.did_you_mean {
        out!("Did you mean: {better}?");
    }
    if results.hits.is_empty() {
        out!("No plugin matches. Try fewer words, or drop a filter.");
        return;
    }
    let mut t = table(&[
        "plugin",
        "version",
        "core",
        "runs on plughub",
        "★",
        "rating",
        "description",
    ]);
    for hit in &results.hits {
        let mut name = hit.name.clone();
        if hit.verified {
            name.push_str(" ✓");
        }
        if hit.deprecated {
            name.push_str(" (deprecated)");
        }
        t.add_row(vec![
            name,
            hit.latest_version.clone().unwrap_or_else(|| "—".into()),
            hit.compat_summary(),
            shorten(&hit.runs_summary(), 40),
            hit.stars.to_string(),
            hit.rating
                .map_or_else(|| "—".into(), |r| format!("{r:.1} ({})", hit.reviews)),
            shorten(hit.description.as_deref().unwrap_or(""), 90),
        ]);
    }
    out!("{t}");
    let first = (results.page - 1) * results.per_page + 1;
    let last = first + results.hits.len() - 1;
    out_part!("{first}–{last} of {} plugins", results.total);
    if last < results.total {
        out_part!(" (next: --page {})", results.page + 1);
    }
    out!(
        "   ✓ published by elizaOS   v1? claimed but unverified   v? a release's core major unknown"
    );
    if let Some(facets) = &results.facets {
        for (facet, values) in facets {
            let mut values: Vec<_> = values.iter().collect();
            values.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            let shown: Vec<String> = values
                .iter()
                .take(12)
                .map(|(v, n)| format!("{v} ({n})"))
                .collect();
            out!("{facet}: {}", shown.join(", "));
        }
    }
}

/// Whether it runs on plughub, by its newest tried version's trial: `yes (v1.2.0, tried 2026-12-07)`,
/// `no: v1.2.0 fails at init: hit a sandbox limit (tried …)` or `untried`.
fn runs_text(detail: &PluginDetail) -> String {
    let Some(t) = detail.trials.first() else {
        return "untried".into();
    };
    let day = t.trial.tried_at.get(..10).unwrap_or(&t.trial.tried_at);
    if t.trial.runs() {
        return format!("yes (v{}, tried {day})", t.trial.version);
    }
    let stage = t.stopped_at.map_or("", plughub_catalog::trials::stage_name);
    let why = t
        .cause_label
        .as_deref()
        .map_or(String::new(), |l| format!(": {l}"));
    format!(
        "no: v{} fails at {stage}{why} (tried {day})",
        t.trial.version
    )
}

pub fn print_info(detail: &PluginDetail, readme: bool) {
    let v = &detail.view;
    out!(
        "{}{}",
        v.name,
        if v.verified {
            "  ✓ published by elizaOS"
        } else {
            ""
        }
    );
    if let Some(d) = &v.description {
        out!("  {}", shorten(d, 300));
    }
    if let Some(reason) = &v.deprecated {
        out!("  DEPRECATED: {reason}");
    }
    let mut t = table(&[]);
    let mut row = |k: &str, val: String| {
        if !val.is_empty() {
            t.add_row(vec![k.to_string(), val]);
        }
    };
    row("latest", v.latest_version.clone().unwrap_or_default());
    row(
        "versions",
        if v.versions > 0 {
            v.versions.to_string()
        } else {
            String::new()
        },
    );
    row(
        "dist-tags",
        v.dist_tags
            .iter()
            .map(|(k, x)| format!("{k}: {x}"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    for (major, c) in &v.compat {
        row(&format!("core {}", major.as_str()), compat_text(c));
    }
    for c in &v.compat_unknown {
        row("core ?", compat_text(c));
    }
    row("runs on plughub", runs_text(detail));
    row("topics", v.topics.join(", "));
    row("keywords", v.keywords.join(", "));
    row("license", v.license.clone().unwrap_or_default());
    row("stars", v.stars.to_string());
    row("repository", v.repository.clone().unwrap_or_default());
    row("homepage", v.homepage.clone().unwrap_or_default());
    row("maintainers", v.maintainers.join(", "));
    row("updated", v.updated_at.clone().unwrap_or_default());
    row("sources", v.sources.join(", "));
    row(
        "registry",
        v.registry_snapshot
            .as_deref()
            .map(|d| format!("snapshot of {}", d.get(..10).unwrap_or(d)))
            .unwrap_or_default(),
    );
    out!("{t}");
    if !detail.settings.params.is_empty() {
        let mut settings = table(&["setting", "type", "default", "description"]);
        for p in &detail.settings.params {
            let mut name = p.name.clone();
            if p.required && p.default.is_none() {
                name.push_str(" *");
            }
            if p.sensitive {
                name.push_str(" (secret)");
            }
            let kind = serde_json::to_value(p.kind)
                .ok()
                .and_then(|k| k.as_str().map(String::from))
                .unwrap_or_default();
            let default = p
                .default
                .as_ref()
                .map(|d| d.to_string())
                .unwrap_or_default();
            settings.add_row(vec![
                name,
                kind,
                default,
                shorten(p.description.as_deref().unwrap_or(""), 70),
            ]);
        }
        out!("{settings}");
        out!("* required, no default");
    }
    if let Some(facts) = &detail.package {
        print_package(facts);
    }
    // An unknown major's reason is on its own row already.
    let flags: Vec<&String> = v
        .flags
        .iter()
        .filter(|f| !v.compat_unknown.iter().any(|c| c.note.as_ref() == Some(*f)))
        .collect();
    if !flags.is_empty() {
        out!("Data to be aware of:");
        for f in flags {
            out!("  ! {f}");
        }
    }
    if readme {
        match &detail.readme {
            Some(text) => out!("\n{text}"),
            None => out!("\n(no README in the package document)"),
        }
    }
}

/// One line of evidence: `yes 1.2.0 (core ^1.0.0) [npm]`; an unknown major says why.
fn compat_text(c: &Compat) -> String {
    let mut text = format!(
        "{} {}",
        match c.status {
            CompatStatus::Compatible => "yes",
            CompatStatus::Unverified => "unverified",
            CompatStatus::Unknown => "unknown major:",
        },
        c.version.as_deref().unwrap_or("")
    );
    if let Some(range) = &c.core_range {
        text.push_str(&format!(" (core {range})"));
    }
    text.push_str(&format!(" [{}]", c.source));
    if c.status == CompatStatus::Unknown
        && let Some(note) = &c.note
    {
        text.push_str(&format!("\n{note}"));
    }
    text
}

pub fn print_sync_report(report: &SyncReport) {
    let mut t = table(&["source", "read", "entries", "notes"]);
    for s in &report.sources {
        let mut notes = s.notes.join("\n");
        if let Some(e) = &s.error {
            notes = if notes.is_empty() {
                e.clone()
            } else {
                format!("{e}\n{notes}")
            };
        }
        t.add_row(vec![
            format!("{}\n{}", s.name, s.location),
            if s.ok { "ok".into() } else { "FAILED".into() },
            s.entries.to_string(),
            notes,
        ]);
    }
    out!("{t}");
    out!(
        "sync {}: {} new, {} updated ({} newly deprecated), {} unchanged; {} plugins in the catalogue",
        report.status,
        report.discovered,
        report.updated,
        report.newly_deprecated,
        report.unchanged,
        report.total
    );
}

pub fn print_status(status: &CatalogStatus) {
    out!("store: {}", status.store);
    out!(
        "plugins: {} ({} deprecated)",
        status.plugins,
        status.deprecated
    );
    if status.starter_only {
        out!(
            "the catalogue is the starter carried by plughub (built {}); no live sync has succeeded yet",
            status.starter_generated_at.as_deref().unwrap_or("?")
        );
        if !status.starter_registry_snapshots.is_empty() {
            let snapshots: Vec<String> = status
                .starter_registry_snapshots
                .iter()
                .map(|(source, date)| format!("{source} of {date}"))
                .collect();
            out!(
                "its registry data is the registry's snapshots ({}); the registry is retired",
                snapshots.join(", ")
            );
        }
    }
    if status.recent_syncs.is_empty() {
        out!("no sync yet: run `plughub catalog sync`");
        return;
    }
    let mut t = table(&["started", "status", "sources"]);
    for run in &status.recent_syncs {
        let sources = run
            .report
            .get("sources")
            .and_then(|s| s.as_array())
            .map(|list| {
                list.iter()
                    .map(|s| {
                        let name = s.get("name").and_then(|n| n.as_str()).unwrap_or("?");
                        let loc = s.get("location").and_then(|n| n.as_str()).unwrap_or("");
                        match s.get("error").and_then(|e| e.as_str()) {
                            Some(e) => format!("{name} ({loc}): FAILED {}", shorten(e, 160)),
                            None => format!(
                                "{name} ({loc}): {} entries",
                                s.get("entries").and_then(|n| n.as_u64()).unwrap_or(0)
                            ),
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default();
        t.add_row(vec![run.started_at.clone(), run.status.clone(), sources]);
    }
    out!("{t}");
}

pub fn print_audit(
    name: &str,
    version: &str,
    integrity: Option<&str>,
    report: &plughub_analyzer::Report,
    all: bool,
) {
    const SHOWN: usize = 50;
    out!(
        "{name}@{version}: risk {}/100 ({:?}), {} findings in {} files ({:.1} MB, {} ms)",
        report.score,
        report.level,
        report.findings.len(),
        report.files,
        report.bytes as f64 / 1e6,
        report.duration_ms
    );
    if let Some(sri) = integrity {
        out!("integrity verified: {}", shorten(sri, 40));
    }
    out!(
        "declares: {}",
        declared_summary(&report.declared.components)
    );
    if report.findings.is_empty() {
        out!("nothing found");
        return;
    }
    let mut t = table(&["severity", "rule", "where", "what", "code"]);
    let shown = if all {
        report.findings.len()
    } else {
        SHOWN.min(report.findings.len())
    };
    for f in &report.findings[..shown] {
        t.add_row(vec![
            f.severity.as_str().to_string(),
            f.rule.id().to_string(),
            format!("{}:{}:{}", f.file, f.line, f.column),
            f.message.clone(),
            shorten(&f.snippet, 70),
        ]);
    }
    out!("{t}");
    if shown < report.findings.len() {
        out!(
            "… {} more (--all shows them, --json gives them to scripts)",
            report.findings.len() - shown
        );
    }
    let mut rules: Vec<_> = report.findings.iter().map(|f| f.rule).collect();
    rules.sort();
    rules.dedup();
    for rule in rules {
        out!("{}: {}", rule.id(), rule.why());
    }
}

/// `13 actions, 19 providers, 1 evaluator`, or `no component seen`.
fn declared_summary(components: &[plughub_domain::Component]) -> String {
    let mut counts: Vec<(plughub_domain::ComponentKind, usize)> = Vec::new();
    for c in components {
        match counts.iter_mut().find(|(k, _)| *k == c.kind) {
            Some((_, n)) => *n += 1,
            None => counts.push((c.kind, 1)),
        }
    }
    if counts.is_empty() {
        return "no component seen".into();
    }
    counts
        .iter()
        .map(|(k, n)| format!("{n} {}{}", k.as_str(), if *n == 1 { "" } else { "s" }))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a plugin's analysed package declares and asks for, in `info`.
fn print_package(facts: &plughub_domain::PackageFacts) {
    out!(
        "Package {} (analysed {}): {}; risk {}/100 ({}), {} finding{}",
        facts.version,
        facts.analysed_at.get(..10).unwrap_or(&facts.analysed_at),
        if facts.kinds.is_empty() {
            "no kind seen".to_string()
        } else {
            facts
                .kinds
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        },
        facts.risk_score,
        facts.risk_level.as_str(),
        facts.findings,
        if facts.findings == 1 { "" } else { "s" }
    );
    if !facts.components.is_empty() {
        let mut t = table(&["kind", "name", "description"]);
        for c in &facts.components {
            let mut name = c.name.clone();
            if !c.similes.is_empty() {
                name.push_str(&format!("\n({})", shorten(&c.similes.join(", "), 40)));
            }
            t.add_row(vec![
                c.kind.as_str().to_string(),
                name,
                shorten(c.description.as_deref().unwrap_or(""), 80),
            ]);
        }
        out!("{t}");
    }
    let lines = facts.permissions.lines();
    out!(
        "Asks for ({}): {}",
        if facts.permissions_declared {
            "declared"
        } else {
            "inferred from its code"
        },
        if lines.is_empty() {
            "nothing".to_string()
        } else {
            shorten(&lines.join("; "), 300)
        }
    );
    for note in &facts.notes {
        out!("  ! {note}");
    }
}

pub fn print_analyze_report(report: &plughub_catalog::AnalyzeReport) {
    if !report.analysed.is_empty() {
        let mut t = table(&["plugin", "version", "kinds", "components"]);
        for a in &report.analysed {
            t.add_row(vec![
                a.name.clone(),
                a.version.clone(),
                a.kinds
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                a.components.to_string(),
            ]);
        }
        out!("{t}");
    }
    if !report.not_on_npm.is_empty() {
        out!(
            "not on npm ({}): {}",
            report.registry,
            report.not_on_npm.join(", ")
        );
    }
    for f in &report.failed {
        out!("failed {}: {}", f.name, f.reason);
    }
    out!(
        "{} analysed, {} unchanged, {} not on npm, {} failed in {:.1} s",
        report.analysed.len(),
        report.unchanged.len(),
        report.not_on_npm.len(),
        report.failed.len(),
        report.duration_ms as f64 / 1000.0
    );
}
