//! What the catalogue shows of trials (compatibility runs, `plughub_domain::trial`): whether a plugin
//! runs on plughub, for search's facet and badge, and the report over every trial for the
//! compatibility page and its JSON export. Trials belong to no organisation: anyone who may see the
//! catalogue may see them.

use plughub_domain::core_range::compare_versions;
use plughub_domain::trial::{Cause, Fault, Reached, Stage, Trial};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Whether a plugin runs on plughub, by the trial of its newest tried version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Runs {
    /// It inited.
    Yes,
    /// It stopped before init's end.
    No,
    /// No trial yet.
    Untried,
}

impl Runs {
    pub const ALL: [Runs; 3] = [Runs::Yes, Runs::No, Runs::Untried];

    pub fn as_str(self) -> &'static str {
        match self {
            Runs::Yes => "yes",
            Runs::No => "no",
            Runs::Untried => "untried",
        }
    }

    /// By the trial of the newest tried version, if any.
    pub fn of(trial: Option<&TrialMark>) -> Runs {
        match trial {
            None => Runs::Untried,
            Some(t) if t.reached == Reached::Inited => Runs::Yes,
            Some(_) => Runs::No,
        }
    }
}

impl std::str::FromStr for Runs {
    type Err = String;
    fn from_str(s: &str) -> Result<Runs, String> {
        Runs::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown runs '{s}' (expected yes, no or untried)"))
    }
}

/// A step as reports and pages name it (`install`, `load`, `init`), as the API writes it.
pub fn stage_name(stage: Stage) -> &'static str {
    match stage {
        Stage::Install => "install",
        Stage::Load => "load",
        Stage::Init => "init",
    }
}

/// The trial that says whether a plugin runs: its newest tried version's (the newest try of it, when
/// it was tried on more than one registry).
pub fn deciding(trials: &[Trial]) -> Option<&Trial> {
    trials.iter().max_by(|a, b| newer(a, b))
}

/// Newest version first, a version's newest try first: the first is [`deciding`]'s.
pub fn newest_first(trials: &mut [Trial]) {
    trials.sort_by(|a, b| newer(b, a));
}

fn newer(a: &Trial, b: &Trial) -> std::cmp::Ordering {
    compare_versions(&a.version, &b.version).then_with(|| a.tried_at.cmp(&b.tried_at))
}

/// A trial in short, as a search hit shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TrialMark {
    pub version: String,
    pub reached: Reached,
    /// The step it stopped, when it stopped.
    pub stopped_at: Option<Stage>,
    /// Why it stopped, when it did.
    pub cause: Option<Cause>,
    /// The cause in a few words (`hit a sandbox limit`).
    pub cause_label: Option<String>,
    pub fault: Option<Fault>,
    pub tried_at: String,
}

impl TrialMark {
    pub fn of(trial: &Trial) -> TrialMark {
        TrialMark {
            version: trial.version.clone(),
            reached: trial.reached,
            stopped_at: trial.stopped_at(),
            cause: trial.cause,
            cause_label: trial.cause.map(|c| c.label().to_string()),
            fault: trial.cause.map(Cause::fault),
            tried_at: trial.tried_at.clone(),
        }
    }
}

/// A trial with what its cause means, as pages and the API show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TrialView {
    #[serde(flatten)]
    pub trial: Trial,
    /// The step it stopped, when it stopped.
    pub stopped_at: Option<Stage>,
    /// The cause in a few words, when it stopped for a known cause.
    pub cause_label: Option<String>,
    /// Whose fault the cause usually is.
    pub fault: Option<Fault>,
}

impl From<Trial> for TrialView {
    fn from(trial: Trial) -> TrialView {
        TrialView {
            stopped_at: trial.stopped_at(),
            cause_label: trial.cause.map(|c| c.label().to_string()),
            fault: trial.cause.map(Cause::fault),
            trial,
        }
    }
}

/// How far the trials got, counted by version tried.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TrialTotals {
    /// Plugins with at least one version tried.
    pub plugins: usize,
    /// Versions tried (a plugin's newest version per core major, per registry).
    pub tried: usize,
    /// Under plughub: installed, loaded and inited (each includes the steps after it).
    pub installed: usize,
    pub loaded: usize,
    pub inited: usize,
    /// Versions also tried under plain `npm install --ignore-scripts` and Node.
    pub npm_tried: usize,
    pub npm_installed: usize,
    pub npm_loaded: usize,
    /// The mean time of a trial under plughub and of plain npm's, in ms, and the mean disk an install
    /// took, in bytes (removed after the trial).
    pub mean_ms: i64,
    pub npm_mean_ms: i64,
    pub mean_disk_bytes: i64,
}

/// A version tried, as a list of failures or needs names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TrialRef {
    pub plugin: String,
    pub version: String,
    pub registry: String,
    /// Why it stopped, when it did.
    pub cause: Option<Cause>,
    /// What failed, in its own words (first lines), when it did.
    pub message: Option<String>,
}

impl TrialRef {
    fn of(trial: &Trial) -> TrialRef {
        TrialRef {
            plugin: trial.plugin.clone(),
            version: trial.version.clone(),
            registry: trial.registry.clone(),
            cause: trial.cause,
            message: trial.message.clone(),
        }
    }
}

/// The versions that stopped for one cause.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CauseGroup {
    pub cause: Cause,
    pub label: String,
    pub stage: Stage,
    /// Whose fault it usually is.
    pub fault: Fault,
    pub trials: Vec<TrialRef>,
}

/// The versions that need one grant an org owner decides on (`native.addons`,
/// `process.spawn:chromium`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NeedGroup {
    pub need: String,
    pub trials: Vec<TrialRef>,
}

/// Every trial, summed up: what the compatibility page shows and its JSON export holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CompatibilityReport {
    /// When this report was made (RFC 3339).
    pub generated_at: String,
    /// The npm registries the trials were made against: a "not on this registry" is about these, not
    /// about npm.
    pub registries: Vec<String>,
    /// When the newest trial was made; `null` before any.
    pub newest_trial_at: Option<String>,
    pub totals: TrialTotals,
    /// The failures by cause, the most common first.
    pub causes: Vec<CauseGroup>,
    /// The grants versions need, by grant.
    pub needs: Vec<NeedGroup>,
    /// Versions plain npm loads and plughub does not init: plughub's to fix first (the goal: none).
    pub behind_npm: Vec<TrialRef>,
    /// Versions plughub inits that plain npm does not load.
    pub ahead_of_npm: Vec<TrialRef>,
    /// The trial rules the trials were made under.
    pub rules: Vec<String>,
    /// Every trial, by plugin then version.
    pub trials: Vec<TrialView>,
}

impl CompatibilityReport {
    pub fn of(trials: Vec<Trial>, generated_at: String) -> CompatibilityReport {
        let at_least = |reached: Option<Reached>, step: Reached| reached.is_some_and(|r| r >= step);
        let count = |step: Reached| {
            trials
                .iter()
                .filter(|t| at_least(Some(t.reached), step))
                .count()
        };
        let npm = |step: Reached| {
            trials
                .iter()
                .filter(|t| at_least(t.npm.as_ref().map(|b| b.reached), step))
                .count()
        };
        let mean = |sum: i64, n: usize| if n == 0 { 0 } else { sum / n as i64 };
        let npm_tried = trials.iter().filter(|t| t.npm.is_some()).count();
        let totals = TrialTotals {
            plugins: trials
                .iter()
                .map(|t| t.plugin.as_str())
                .collect::<BTreeSet<_>>()
                .len(),
            tried: trials.len(),
            installed: count(Reached::Installed),
            loaded: count(Reached::Loaded),
            inited: count(Reached::Inited),
            npm_tried,
            npm_installed: npm(Reached::Installed),
            npm_loaded: npm(Reached::Loaded),
            mean_ms: mean(trials.iter().map(|t| t.duration_ms).sum(), trials.len()),
            npm_mean_ms: mean(
                trials
                    .iter()
                    .filter_map(|t| t.npm.as_ref().map(|b| b.duration_ms))
                    .sum(),
                npm_tried,
            ),
            mean_disk_bytes: mean(trials.iter().map(|t| t.disk_bytes).sum(), trials.len()),
        };
        let npm_loads = |t: &Trial| at_least(t.npm.as_ref().map(|b| b.reached), Reached::Loaded);
        let behind_npm = trials
            .iter()
            .filter(|t| npm_loads(t) && !t.runs())
            .map(TrialRef::of)
            .collect();
        let ahead_of_npm = trials
            .iter()
            .filter(|t| t.runs() && t.npm.is_some() && !npm_loads(t))
            .map(TrialRef::of)
            .collect();
        let rules = trials
            .iter()
            .map(|t| t.rules.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut by_cause: BTreeMap<Cause, Vec<TrialRef>> = BTreeMap::new();
        let mut by_need: BTreeMap<&str, Vec<TrialRef>> = BTreeMap::new();
        for trial in &trials {
            if let Some(cause) = trial.cause.filter(|_| !trial.runs()) {
                by_cause.entry(cause).or_default().push(TrialRef::of(trial));
            }
            for need in &trial.needs {
                by_need.entry(need).or_default().push(TrialRef::of(trial));
            }
        }
        let mut causes: Vec<CauseGroup> = by_cause
            .into_iter()
            .map(|(cause, trials)| CauseGroup {
                cause,
                label: cause.label().to_string(),
                stage: cause.stage(),
                fault: cause.fault(),
                trials,
            })
            .collect();
        // The most common first; equals in the order of the steps they stop.
        causes.sort_by_key(|g| std::cmp::Reverse(g.trials.len()));
        let needs = by_need
            .into_iter()
            .map(|(need, trials)| NeedGroup {
                need: need.to_string(),
                trials,
            })
            .collect();
        CompatibilityReport {
            generated_at,
            registries: trials
                .iter()
                .map(|t| t.registry.clone())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
            newest_trial_at: trials.iter().map(|t| t.tried_at.clone()).max(),
            totals,
            causes,
            needs,
            behind_npm,
            ahead_of_npm,
            rules,
            trials: trials.into_iter().map(TrialView::from).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plughub_domain::trial::Baseline;

    fn trial(plugin: &str, version: &str, reached: Reached, cause: Option<Cause>) -> Trial {
        Trial {
            plugin: plugin.into(),
            package: plugin.into(),
            version: version.into(),
            core_major: Some(1),
            registry: "http://127.0.0.1:1/".into(),
            reached,
            cause,
            message: cause.map(|c| c.label().to_string()),
            duration_ms: 10,
            disk_bytes: 100,
            packages: 3,
            manifest: None,
            needs: vec![],
            npm: Some(Baseline {
                reached: Reached::Loaded,
                message: None,
                duration_ms: 5,
            }),
            rules: "0.1.0/1".into(),
            tried_at: format!("2026-12-0{}T00:00:00.000Z", version.len() % 9),
        }
    }

    #[test]
    fn steps_are_named_as_the_api_writes_them() {
        for stage in [Stage::Install, Stage::Load, Stage::Init] {
            assert_eq!(
                serde_json::to_value(stage).unwrap(),
                serde_json::json!(stage_name(stage))
            );
        }
    }

    #[test]
    fn the_newest_tried_version_decides_whether_a_plugin_runs() {
        let trials = vec![
            trial("a", "1.10.0", Reached::Loaded, Some(Cause::SandboxLimit)),
            trial("a", "1.9.0", Reached::Inited, None),
        ];
        let deciding = deciding(&trials).unwrap();
        assert_eq!(deciding.version, "1.10.0");
        let mut sorted = trials.clone();
        sorted.reverse();
        newest_first(&mut sorted);
        assert_eq!(&sorted[0], deciding);
        assert_eq!(Runs::of(Some(&TrialMark::of(deciding))), Runs::No);
        assert_eq!(Runs::of(None), Runs::Untried);
        assert_eq!(Runs::of(Some(&TrialMark::of(&trials[1]))), Runs::Yes);
    }

    #[test]
    fn the_report_counts_each_step_and_groups_failures_by_cause() {
        let mut needy = trial("c", "1.0.0", Reached::Loaded, Some(Cause::NeedsProgram));
        needy.needs = vec!["process.spawn:chromium".into()];
        let report = CompatibilityReport::of(
            vec![
                trial("a", "1.0.0", Reached::Inited, None),
                trial("b", "1.0.0", Reached::Loaded, Some(Cause::SandboxLimit)),
                trial("b", "0.9.0", Reached::Loaded, Some(Cause::SandboxLimit)),
                needy,
                trial("d", "1.0.0", Reached::Nothing, Some(Cause::PackageMissing)),
            ],
            "2026-12-07T00:00:00.000Z".into(),
        );
        let t = &report.totals;
        assert_eq!(
            (t.plugins, t.tried, t.installed, t.loaded, t.inited),
            (4, 5, 4, 4, 1)
        );
        assert_eq!((t.npm_tried, t.npm_installed, t.npm_loaded), (5, 5, 5));
        assert_eq!((t.mean_ms, t.npm_mean_ms, t.mean_disk_bytes), (10, 5, 100));
        // Plain npm loads all five; plughub inits one.
        assert_eq!(report.behind_npm.len(), 4);
        assert!(report.ahead_of_npm.is_empty());
        assert_eq!(report.rules, ["0.1.0/1"]);
        assert_eq!(report.causes[0].cause, Cause::SandboxLimit);
        assert_eq!(report.causes[0].trials.len(), 2);
        assert_eq!(report.causes[0].fault, Fault::Plughub);
        assert_eq!(report.causes.len(), 3);
        assert_eq!(report.needs[0].need, "process.spawn:chromium");
        assert_eq!(report.needs[0].trials[0].plugin, "c");
        assert_eq!(report.registries, ["http://127.0.0.1:1/"]);
    }
}
