//! The compatibility report (`plughub_catalog::trials::CompatibilityReport`, the same one the
//! compatibility page and its JSON export show) as text for a terminal and as the Markdown of
//! COMPATIBILITY.md.

use plughub_catalog::trials::{CompatibilityReport, TrialRef, stage_name};
use plughub_domain::trial::{Cause, Fault};

fn fault_word(fault: Fault) -> &'static str {
    match fault {
        Fault::Plugin => "the plugin's",
        Fault::Plughub => "plughub's",
        Fault::Needs => "needs something a trial does not give",
        Fault::Unknown => "not yet told apart",
    }
}

fn pct(n: usize, of: usize) -> String {
    if of == 0 {
        "–".into()
    } else {
        format!("{:.0}%", n as f64 * 100.0 / of as f64)
    }
}

fn registries(r: &CompatibilityReport) -> String {
    if r.registries.is_empty() {
        "(none)".into()
    } else {
        r.registries.join(", ")
    }
}

/// The line of a message that says what went wrong, short enough for a table cell: a worker's failure
/// opens with "did not start: the plugin worker ended: … its last output:" and the error follows, so
/// the first line that reads as an error wins, else the first line.
fn first_line(message: Option<&str>) -> String {
    const ERROR_WORDS: [&str; 9] = [
        "Error",
        "ERR_",
        "Cannot",
        "cannot",
        "refused",
        "failed",
        "Invalid",
        "must",
        "exports no",
    ];
    let lines: Vec<&str> = message
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && *l != "…" && !l.ends_with("its last output:"))
        .collect();
    lines
        .iter()
        .find(|l| ERROR_WORDS.iter().any(|w| l.contains(w)))
        .or(lines.first())
        .map(|l| l.chars().take(160).collect())
        .unwrap_or_default()
}

fn named(t: &TrialRef) -> String {
    format!("{}@{}", t.plugin, t.version)
}

/// The report as text for a terminal.
pub fn lines(r: &CompatibilityReport) -> Vec<String> {
    let t = &r.totals;
    let mut out = vec![
        format!("registry: {}", registries(r)),
        format!(
            "tried {} versions of {} plugins: under plughub {} installed, {} loaded, {} inited ({}); under plain npm ({} tried) {} installed, {} loaded ({})",
            t.tried,
            t.plugins,
            t.installed,
            t.loaded,
            t.inited,
            pct(t.inited, t.tried),
            t.npm_tried,
            t.npm_installed,
            t.npm_loaded,
            pct(t.npm_loaded, t.npm_tried)
        ),
        format!(
            "mean per version: plughub {:.1} s, plain npm {:.1} s, {:.1} MB on disk",
            t.mean_ms as f64 / 1e3,
            t.npm_mean_ms as f64 / 1e3,
            t.mean_disk_bytes as f64 / 1e6
        ),
        format!(
            "plain npm loads, plughub does not init: {}",
            r.behind_npm.len()
        ),
    ];
    for b in &r.behind_npm {
        out.push(format!(
            "  {}: {}",
            named(b),
            b.cause.map_or("?", Cause::as_str)
        ));
    }
    out.push("failures by cause:".into());
    for g in &r.causes {
        out.push(format!(
            "  {:<22} {:>4}  {} ({}, {})",
            g.cause.as_str(),
            g.trials.len(),
            g.label,
            stage_name(g.stage),
            fault_word(g.fault)
        ));
    }
    if !r.needs.is_empty() {
        out.push("need a grant:".into());
        for g in &r.needs {
            let which: Vec<String> = g.trials.iter().map(named).collect();
            out.push(format!("  {}: {}", g.need, which.join(", ")));
        }
    }
    out
}

/// What COMPATIBILITY.md holds: the date, the registry and the command that made it, the totals, the
/// comparison with plain npm, the failures by cause and whose fault, the grants needed, and a table per
/// plugin version.
pub fn markdown(r: &CompatibilityReport, command: &str) -> String {
    let t = &r.totals;
    let mut md = String::new();
    let mut line = |s: String| {
        md.push_str(&s);
        md.push('\n');
    };
    line("# Compatibility of the catalogue's plugins".into());
    line(String::new());
    line(format!(
        "Tried up to {} on the npm registry {} with `{command}` (trial rules {}). A plugin \"not on this registry\" may still be on npm when the registry in use is a mirror.",
        r.newest_trial_at.as_deref().unwrap_or("(never)"),
        registries(r),
        r.rules.join(", ")
    ));
    line(String::new());
    line("Each version is installed by plughub in a throwaway organisation, given placeholder settings, granted what it asks for with no name resolving, and inited in the sandbox; beside it, `npm install --ignore-scripts` and Node's `import()` of the same version, offline.".into());
    line(String::new());
    line("## Totals".into());
    line(String::new());
    line("| | tried | installed | loaded | inited |".into());
    line("|---|---:|---:|---:|---:|".into());
    line(format!(
        "| plughub | {} | {} | {} | {} ({}) |",
        t.tried,
        t.installed,
        t.loaded,
        t.inited,
        pct(t.inited, t.tried)
    ));
    line(format!(
        "| plain npm + Node | {} | {} | {} ({}) | – |",
        t.npm_tried,
        t.npm_installed,
        t.npm_loaded,
        pct(t.npm_loaded, t.npm_tried)
    ));
    line(String::new());
    line(format!(
        "A trial took {:.1} s under plughub and {:.1} s under plain npm on average; an install took {:.1} MB on disk (removed after).",
        t.mean_ms as f64 / 1e3,
        t.npm_mean_ms as f64 / 1e3,
        t.mean_disk_bytes as f64 / 1e6
    ));
    line(String::new());
    line("## Against plain npm".into());
    line(String::new());
    line(format!(
        "Plain npm loads and plughub does not init: **{}** (the goal is none). plughub inits and plain npm does not load: {}.",
        r.behind_npm.len(),
        r.ahead_of_npm.len()
    ));
    line(String::new());
    for b in &r.behind_npm {
        line(format!(
            "- `{}`: {} — {}",
            named(b),
            b.cause.map_or("?", Cause::as_str),
            first_line(b.message.as_deref())
        ));
    }
    line(String::new());
    line("## Failures by cause".into());
    line(String::new());
    line("| cause | versions | step | whose fault | which |".into());
    line("|---|---:|---|---|---|".into());
    for g in &r.causes {
        let which: Vec<String> = g.trials.iter().map(named).collect();
        line(format!(
            "| {} ({}) | {} | {} | {} | {} |",
            g.label,
            g.cause.as_str(),
            g.trials.len(),
            stage_name(g.stage),
            fault_word(g.fault),
            which.join(", ")
        ));
    }
    line(String::new());
    line("## Plugins that need a grant".into());
    line(String::new());
    if r.needs.is_empty() {
        line("None found.".into());
    }
    for g in &r.needs {
        let which: Vec<String> = g.trials.iter().map(|t| format!("`{}`", named(t))).collect();
        line(format!("- {}: {}", g.need, which.join(", ")));
    }
    line(String::new());
    line("## Per plugin".into());
    line(String::new());
    line("| plugin | version | core | plughub | cause | plain npm | s | MB | what failed |".into());
    line("|---|---|---|---|---|---|---:|---:|---|".into());
    for view in &r.trials {
        let v = &view.trial;
        line(format!(
            "| {} | {} | {} | {} | {} | {} | {:.1} | {:.1} | {} |",
            v.plugin,
            v.version,
            v.core_major.map_or("?".to_string(), |m| format!("v{m}")),
            v.reached.as_str(),
            v.cause.map_or("", Cause::as_str),
            v.npm.as_ref().map_or("–", |b| b.reached.as_str()),
            v.duration_ms as f64 / 1e3,
            v.disk_bytes as f64 / 1e6,
            first_line(v.message.as_deref()).replace('|', "\\|")
        ));
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use plughub_domain::trial::{Baseline, Reached, Trial};

    fn trial(plugin: &str, reached: Reached, cause: Option<Cause>, npm: Reached) -> Trial {
        Trial {
            plugin: plugin.into(),
            package: plugin.into(),
            version: "1.0.0".into(),
            core_major: Some(1),
            registry: "http://127.0.0.1:1/".into(),
            reached,
            cause,
            message: cause.map(|c| format!("failed: {}\n  at stack", c.as_str())),
            duration_ms: 2000,
            disk_bytes: 1_000_000,
            packages: 3,
            manifest: None,
            needs: if cause == Some(Cause::NativeAddon) {
                vec!["native.addons".into()]
            } else {
                vec![]
            },
            npm: Some(Baseline {
                reached: npm,
                message: None,
                duration_ms: 1000,
            }),
            rules: "0.1.0/1".into(),
            tried_at: "2026-12-07T09:00:00Z".into(),
        }
    }

    #[test]
    fn the_text_and_the_markdown_say_the_totals_the_comparison_the_causes_and_the_needs() {
        let trials = vec![
            trial("@a/plugin-ok", Reached::Inited, None, Reached::Loaded),
            trial(
                "@a/plugin-emfile",
                Reached::Installed,
                Some(Cause::SandboxLimit),
                Reached::Loaded,
            ),
            trial(
                "@a/plugin-addon",
                Reached::Installed,
                Some(Cause::NativeAddon),
                Reached::Loaded,
            ),
            trial(
                "@a/plugin-gone",
                Reached::Nothing,
                Some(Cause::PackageMissing),
                Reached::Nothing,
            ),
            trial(
                "@a/plugin-better",
                Reached::Inited,
                None,
                Reached::Installed,
            ),
        ];
        let r = CompatibilityReport::of(trials, "2026-12-07T10:00:00Z".into());
        assert_eq!(r.behind_npm.len(), 2);
        let md = markdown(&r, "plughub compat run --all");
        assert!(md.contains("| plughub | 5 | 4 | 2 | 2 (40%) |"), "{md}");
        assert!(
            md.contains("| plain npm + Node | 5 | 4 | 3 (60%) | – |"),
            "{md}"
        );
        assert!(md.contains("http://127.0.0.1:1/"));
        assert!(md.contains("`plughub compat run --all`"));
        assert!(md.contains("Plain npm loads and plughub does not init: **2**"));
        assert!(
            md.contains("- `@a/plugin-addon@1.0.0`: native_addon — failed: native_addon"),
            "{md}"
        );
        assert!(
            md.contains("- native.addons: `@a/plugin-addon@1.0.0`"),
            "{md}"
        );
        assert!(
            md.contains("| not on this registry (package_missing) | 1 | install | the plugin's | @a/plugin-gone@1.0.0 |"),
            "{md}"
        );
        assert!(md.contains("| @a/plugin-emfile | 1.0.0 | v1 | installed | sandbox_limit | loaded | 2.0 | 1.0 | failed: sandbox_limit |"), "{md}");
        let text = lines(&r);
        assert!(text.iter().any(|l| l.contains("sandbox_limit")));
        assert!(
            text.iter()
                .any(|l| l == "  native.addons: @a/plugin-addon@1.0.0"),
            "{text:?}"
        );
    }

    #[test]
    fn the_cell_shows_the_line_that_says_what_went_wrong() {
        let worker = "@elizaos/adapter-postgres did not start: the plugin worker ended: it exited with code 1; its last output:\n  Error [ERR_MODULE_NOT_FOUND]: Cannot find package 'sharp' imported from /pkg/index.js\n  …\n  code: 'ERR_MODULE_NOT_FOUND'";
        assert_eq!(
            first_line(Some(worker)),
            "Error [ERR_MODULE_NOT_FOUND]: Cannot find package 'sharp' imported from /pkg/index.js"
        );
        let plain = "@acme/x is not on the npm registry at http://127.0.0.1:1/ (404)";
        assert_eq!(first_line(Some(plain)), plain);
        assert_eq!(first_line(None), "");
    }
}
