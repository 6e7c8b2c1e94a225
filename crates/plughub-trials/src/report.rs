//! What the trials of one registry add up to: how many install, load and init under plughub against
//! plain npm, the plugins plain npm loads that plughub does not init (the goal: none), the failures by
//! cause with whose fault they are, the plugins that need a grant, and one row per version.

use plughub_domain::trial::{Cause, Fault, Reached, Stage, Trial};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The npm registry the trials were made on: a "not on this registry" is about it.
    pub registry: Option<String>,
    /// The newest trial's date (RFC 3339).
    pub tried_until: Option<String>,
    /// The trial rules the rows were made under.
    pub rules: Vec<String>,
    pub totals: Totals,
    /// Versions plain npm loads and plughub does not init: plughub's to fix first.
    pub behind_npm: Vec<Row>,
    /// Versions plughub inits that plain npm does not load.
    pub ahead_of_npm: Vec<Row>,
    pub causes: Vec<CauseGroup>,
    /// Versions that need a grant an org owner decides on.
    pub needs: Vec<Row>,
    pub plugins: Vec<Row>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Totals {
    pub tried: usize,
    pub plughub: Counts,
    /// Over the trials with a plain npm baseline.
    pub npm: Counts,
    pub npm_tried: usize,
    /// The mean time of a trial under plughub, and of plain npm's, in ms.
    pub mean_ms: i64,
    pub npm_mean_ms: i64,
    /// The mean disk a trial's install took, in bytes.
    pub mean_disk_bytes: i64,
}

/// How many reached each step (a step counts everything that got past it).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    pub installed: usize,
    pub loaded: usize,
    pub inited: usize,
}

impl Counts {
    fn add(&mut self, reached: Reached) {
        self.installed += usize::from(reached >= Reached::Installed);
        self.loaded += usize::from(reached >= Reached::Loaded);
        self.inited += usize::from(reached >= Reached::Inited);
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CauseGroup {
    pub cause: Cause,
    pub label: &'static str,
    pub stage: Stage,
    pub fault: Fault,
    /// `plugin@version` of each.
    pub trials: Vec<String>,
}

/// One version as tried.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub plugin: String,
    pub version: String,
    pub core_major: Option<u32>,
    pub reached: Reached,
    pub cause: Option<Cause>,
    pub fault: Option<Fault>,
    pub npm: Option<Reached>,
    pub needs: Vec<String>,
    /// The first line of what failed.
    pub message: Option<String>,
    pub duration_ms: i64,
    pub disk_bytes: i64,
}

impl Row {
    fn of(t: &Trial) -> Row {
        Row {
            plugin: t.plugin.clone(),
            version: t.version.clone(),
            core_major: t.core_major,
            reached: t.reached,
            cause: t.cause,
            fault: t.cause.map(Cause::fault),
            npm: t.npm.as_ref().map(|b| b.reached),
            needs: t.needs.clone(),
            message: t
                .message
                .as_deref()
                .and_then(|m| m.lines().find(|l| !l.trim().is_empty()))
                .map(|l| l.trim().chars().take(160).collect()),
            duration_ms: t.duration_ms,
            disk_bytes: t.disk_bytes,
        }
    }
}

/// The report over `trials` (one registry's, one row per version).
pub fn report(registry: Option<&str>, trials: &[Trial]) -> Report {
    let mut totals = Totals {
        tried: trials.len(),
        ..Totals::default()
    };
    let mut causes: BTreeMap<Cause, Vec<String>> = BTreeMap::new();
    let mut rules: Vec<String> = Vec::new();
    let (mut ms, mut npm_ms, mut disk) = (0i64, 0i64, 0i64);
    for t in trials {
        totals.plughub.add(t.reached);
        ms += t.duration_ms;
        disk += t.disk_bytes;
        if let Some(b) = &t.npm {
            totals.npm_tried += 1;
            totals.npm.add(b.reached);
            npm_ms += b.duration_ms;
        }
        if let Some(cause) = t.cause {
            causes
                .entry(cause)
                .or_default()
                .push(format!("{}@{}", t.plugin, t.version));
        }
        if !rules.contains(&t.rules) {
            rules.push(t.rules.clone());
        }
    }
    let mean = |sum: i64, n: usize| if n == 0 { 0 } else { sum / n as i64 };
    totals.mean_ms = mean(ms, trials.len());
    totals.npm_mean_ms = mean(npm_ms, totals.npm_tried);
    totals.mean_disk_bytes = mean(disk, trials.len());
    let npm_loads = |t: &Trial| t.npm.as_ref().is_some_and(|b| b.reached >= Reached::Loaded);
    let mut causes: Vec<CauseGroup> = causes
        .into_iter()
        .map(|(cause, trials)| CauseGroup {
            cause,
            label: cause.label(),
            stage: cause.stage(),
            fault: cause.fault(),
            trials,
        })
        .collect();
    causes.sort_by(|a, b| {
        b.trials
            .len()
            .cmp(&a.trials.len())
            .then(a.cause.cmp(&b.cause))
    });
    Report {
        registry: registry.map(str::to_string),
        tried_until: trials.iter().map(|t| t.tried_at.clone()).max(),
        rules,
        totals,
        behind_npm: trials
            .iter()
            .filter(|t| npm_loads(t) && !t.runs())
            .map(Row::of)
            .collect(),
        ahead_of_npm: trials
            .iter()
            .filter(|t| t.runs() && t.npm.is_some() && !npm_loads(t))
            .map(Row::of)
            .collect(),
        causes,
        needs: trials
            .iter()
            .filter(|t| !t.needs.is_empty())
            .map(Row::of)
            .collect(),
        plugins: trials.iter().map(Row::of).collect(),
    }
}

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

fn npm_word(reached: Option<Reached>) -> &'static str {
    reached.map_or("–", Reached::as_str)
}

impl Report {
    /// The report as text for a terminal.
    pub fn lines(&self) -> Vec<String> {
        let t = &self.totals;
        let mut out = vec![
            format!(
                "registry: {}",
                self.registry.as_deref().unwrap_or("(every registry)")
            ),
            format!(
                "tried {} versions: under plughub {} installed, {} loaded, {} inited ({}); under plain npm ({} tried) {} installed, {} loaded ({})",
                t.tried,
                t.plughub.installed,
                t.plughub.loaded,
                t.plughub.inited,
                pct(t.plughub.inited, t.tried),
                t.npm_tried,
                t.npm.installed,
                t.npm.loaded,
                pct(t.npm.loaded, t.npm_tried)
            ),
            format!(
                "mean per version: plughub {:.1} s, plain npm {:.1} s, {:.1} MB on disk",
                t.mean_ms as f64 / 1e3,
                t.npm_mean_ms as f64 / 1e3,
                t.mean_disk_bytes as f64 / 1e6
            ),
        ];
        out.push(format!(
            "plain npm loads, plughub does not init: {}",
            self.behind_npm.len()
        ));
        for r in &self.behind_npm {
            out.push(format!(
                "  {}@{}: {}",
                r.plugin,
                r.version,
                r.cause.map_or("?", Cause::as_str)
            ));
        }
        out.push("failures by cause:".into());
        for g in &self.causes {
            out.push(format!(
                "  {:<22} {:>4}  {} ({}, {})",
                g.cause.as_str(),
                g.trials.len(),
                g.label,
                stage_word(g.stage),
                fault_word(g.fault)
            ));
        }
        if !self.needs.is_empty() {
            out.push("need a grant:".into());
            for r in &self.needs {
                out.push(format!(
                    "  {}@{}: {}",
                    r.plugin,
                    r.version,
                    r.needs.join(", ")
                ));
            }
        }
        out
    }

    /// What COMPATIBILITY.md holds: the date, the registry and the command that made it, the totals,
    /// the comparison with plain npm, the failures by cause and whose fault, the grants needed, and a
    /// table per plugin.
    pub fn markdown(&self, command: &str) -> String {
        let t = &self.totals;
        let mut md = String::new();
        let mut line = |s: String| {
            md.push_str(&s);
            md.push('\n');
        };
        line("# Compatibility of the catalogue's plugins".into());
        line(String::new());
        line(format!(
            "Tried up to {} on the npm registry {} with `{command}` (trial rules {}). A plugin \"not on this registry\" may still be on npm: the registry in use is a mirror.",
            self.tried_until.as_deref().unwrap_or("(never)"),
            self.registry.as_deref().unwrap_or("(every registry)"),
            self.rules.join(", ")
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
            t.plughub.installed,
            t.plughub.loaded,
            t.plughub.inited,
            pct(t.plughub.inited, t.tried)
        ));
        line(format!(
            "| plain npm + Node | {} | {} | {} ({}) | – |",
            t.npm_tried,
            t.npm.installed,
            t.npm.loaded,
            pct(t.npm.loaded, t.npm_tried)
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
            self.behind_npm.len(),
            self.ahead_of_npm.len()
        ));
        line(String::new());
        for r in &self.behind_npm {
            line(format!(
                "- `{}@{}`: {} — {}",
                r.plugin,
                r.version,
                r.cause.map_or("?", Cause::as_str),
                r.message.as_deref().unwrap_or("")
            ));
        }
        line(String::new());
        line("## Failures by cause".into());
        line(String::new());
        line("| cause | versions | step | whose fault | which |".into());
        line("|---|---:|---|---|---|".into());
        for g in &self.causes {
            line(format!(
                "| {} ({}) | {} | {} | {} | {} |",
                g.label,
                g.cause.as_str(),
                g.trials.len(),
                stage_word(g.stage),
                fault_word(g.fault),
                g.trials.join(", ")
            ));
        }
        line(String::new());
        line("## Plugins that need a grant".into());
        line(String::new());
        if self.needs.is_empty() {
            line("None found.".into());
        }
        for r in &self.needs {
            line(format!(
                "- `{}@{}`: {}",
                r.plugin,
                r.version,
                r.needs.join(", ")
            ));
        }
        line(String::new());
        line("## Per plugin".into());
        line(String::new());
        line(
            "| plugin | version | core | plughub | cause | plain npm | s | MB | what failed |"
                .into(),
        );
        line("|---|---|---|---|---|---|---:|---:|---|".into());
        for r in &self.plugins {
            line(format!(
                "| {} | {} | {} | {} | {} | {} | {:.1} | {:.1} | {} |",
                r.plugin,
                r.version,
                r.core_major.map_or("?".to_string(), |m| format!("v{m}")),
                r.reached.as_str(),
                r.cause.map_or("", Cause::as_str),
                npm_word(r.npm),
                r.duration_ms as f64 / 1e3,
                r.disk_bytes as f64 / 1e6,
                r.message.as_deref().unwrap_or("").replace('|', "\\|")
            ));
        }
        md
    }
}

fn stage_word(stage: Stage) -> &'static str {
    match stage {
        Stage::Install => "install",
        Stage::Load => "load",
        Stage::Init => "init",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plughub_domain::trial::Baseline;

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
    fn totals_comparison_causes_and_needs() {
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
        let r = report(Some("http://127.0.0.1:1/"), &trials);
        assert_eq!(r.totals.tried, 5);
        assert_eq!(r.totals.plughub.installed, 4);
        assert_eq!(r.totals.plughub.loaded, 2);
        assert_eq!(r.totals.plughub.inited, 2);
        assert_eq!(r.totals.npm.installed, 4);
        assert_eq!(r.totals.npm.loaded, 3);
        assert_eq!(r.totals.mean_ms, 2000);
        let behind: Vec<&str> = r.behind_npm.iter().map(|r| r.plugin.as_str()).collect();
        assert_eq!(behind, ["@a/plugin-emfile", "@a/plugin-addon"]);
        assert_eq!(r.ahead_of_npm.len(), 1);
        assert_eq!(r.causes.len(), 3);
        let gone = r
            .causes
            .iter()
            .find(|g| g.cause == Cause::PackageMissing)
            .unwrap();
        assert_eq!(gone.fault, Fault::Plugin);
        assert_eq!(gone.trials, ["@a/plugin-gone@1.0.0"]);
        assert_eq!(r.needs.len(), 1);
        assert_eq!(
            r.plugins[1].message.as_deref(),
            Some("failed: sandbox_limit")
        );
        let md = r.markdown("plughub compat run --all");
        assert!(md.contains("| plughub | 5 | 4 | 2 | 2 (40%) |"), "{md}");
        assert!(
            md.contains("| plain npm + Node | 5 | 4 | 3 (60%) | – |"),
            "{md}"
        );
        assert!(md.contains("http://127.0.0.1:1/"));
        assert!(md.contains("`plughub compat run --all`"));
        assert!(md.contains("Plain npm loads and plughub does not init: **2**"));
        assert!(md.contains("- `@a/plugin-addon@1.0.0`: native.addons"));
        assert!(r.lines().iter().any(|l| l.contains("sandbox_limit")));
    }
}
