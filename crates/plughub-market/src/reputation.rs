//! A plugin's reputation, 0–100, from plughub's own evidence, with its breakdown (docs/reputation.md).
//!
//! Five parts, each 0–1, each the mean of its known inputs; an input is mapped to 0–1 against the
//! catalogue's spread where it is a count (npms.io's approach), so that "many stars" means many for this
//! catalogue. The score is the weighted mean of the parts that are known (an unknown part, such as
//! reliability with executions in fewer than 3 organisations, does not count: its weight goes to the
//! others), times 100.
//!
//! No organisation's data is revealed: the figures from executions count only when at least
//! `MIN_ORGANISATIONS` organisations contributed (`Analytics::plugin_usage`); below that they are unknown.

use plughub_analytics::{Analytics, AnalyticsError, MIN_ORGANISATIONS, PluginUsage};
use plughub_catalog::Catalog;
use plughub_domain::{CatalogEntry, SourceKind, SourceRecord, ThingKind};
use serde::Serialize;

/// The weights of the parts; they sum to 1.
pub const WEIGHTS: [(PartName, f64); 5] = [
    (PartName::Quality, 0.25),
    (PartName::Adoption, 0.25),
    (PartName::Reliability, 0.20),
    (PartName::Maintenance, 0.20),
    (PartName::Publisher, 0.10),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PartName {
    Quality,
    Adoption,
    Reliability,
    Maintenance,
    Publisher,
}

/// A plugin's reputation and how it was reached.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Reputation {
    pub plugin: String,
    /// 0 to 100; `null` when no part is known.
    pub score: Option<u32>,
    pub parts: Vec<Part>,
}

/// One part of a reputation: its weight, its score 0–1 (`null`: unknown, not counted) and the inputs
/// it is the mean of.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Part {
    pub name: PartName,
    pub weight: f64,
    pub score: Option<f64>,
    pub inputs: Vec<Input>,
}

/// One input: its raw value and its value mapped to 0–1 (`null`: unknown, not counted).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Input {
    pub name: String,
    pub value: Option<f64>,
    pub score: Option<f64>,
    /// What it is and how it is mapped.
    pub note: String,
}

/// What is known of one plugin, before normalisation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evidence {
    /// The static analysis's risk score (0–100) and findings, when analysed.
    pub risk_score: Option<u32>,
    pub findings: Option<u32>,
    pub tests: Option<bool>,
    pub types: Option<bool>,
    pub readme: bool,
    pub license: bool,
    pub settings_declared: bool,
    /// `None` below `MIN_ORGANISATIONS`, as the cross-organisation figures.
    pub installs: Option<i64>,
    pub stars: u64,
    /// Cross-organisation figures: `None` below `MIN_ORGANISATIONS`.
    pub executions_30d: Option<i64>,
    pub error_rate: Option<f64>,
    pub timeout_rate: Option<f64>,
    pub init_success: Option<f64>,
    /// Share of its installs suspended now: `None` below `MIN_ORGANISATIONS` installs.
    pub suspended_share: Option<f64>,
    pub releases_last_year: u32,
    pub latest_release_age_days: Option<f64>,
    pub deprecated: bool,
    pub verified: Option<bool>,
}

/// The catalogue's spread of the counted inputs: the 95th percentile of each, the count at which an
/// input maps to 1 (on a log scale, so that the first stars count more than the thousandth).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Spread {
    pub stars_p95: f64,
    pub installs_p95: f64,
    pub executions_p95: f64,
    pub releases_p95: f64,
    pub findings_p95: f64,
}

impl Spread {
    /// The spread of `values` per input.
    pub fn of(
        stars: &[f64],
        installs: &[f64],
        executions: &[f64],
        releases: &[f64],
        findings: &[f64],
    ) -> Spread {
        Spread {
            stars_p95: p95(stars),
            installs_p95: p95(installs),
            executions_p95: p95(executions),
            releases_p95: p95(releases),
            findings_p95: p95(findings),
        }
    }
}

fn p95(values: &[f64]) -> f64 {
    let mut sorted: Vec<f64> = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((0.95 * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// `value` against the catalogue's 95th percentile, on a log scale: 0 at 0, 1 at or above it. A
/// catalogue where nobody has any (p95 of 0) maps every value to 0 but a positive one to 1.
pub fn against(value: f64, p95: f64) -> f64 {
    if value <= 0.0 {
        return 0.0;
    }
    if p95 <= 0.0 {
        return 1.0;
    }
    ((1.0 + value).ln() / (1.0 + p95).ln()).min(1.0)
}

/// A latest release this many days old is worth half one made today.
pub const RELEASE_HALF_LIFE_DAYS: f64 = 180.0;

fn input(name: &str, value: Option<f64>, score: Option<f64>, note: &str) -> Input {
    Input {
        name: name.into(),
        value,
        score: score.map(round),
        note: note.into(),
    }
}

fn flag(name: &str, value: Option<bool>, note: &str) -> Input {
    let value = value.map(|v| if v { 1.0 } else { 0.0 });
    input(name, value, value, note)
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The reputation of `plugin` from its evidence and the catalogue's spread.
pub fn score(plugin: &str, e: &Evidence, spread: &Spread) -> Reputation {
    let quality = vec![
        input(
            "risk",
            e.risk_score.map(f64::from),
            e.risk_score.map(|r| 1.0 - f64::from(r.min(100)) / 100.0),
            "the static analysis's risk score; 1 - risk/100",
        ),
        input(
            "findings",
            e.findings.map(f64::from),
            e.findings
                .map(|f| 1.0 - against(f64::from(f), spread.findings_p95)),
            "the analysis's findings, against the catalogue's spread (fewer is better)",
        ),
        flag("tests", e.tests, "a test suite in the package"),
        flag("types", e.types, "TypeScript types shipped"),
        flag("readme", Some(e.readme), "a README of substance"),
        flag("license", Some(e.license), "a license declared"),
        flag(
            "settings_declared",
            Some(e.settings_declared),
            "its settings declared (agentConfig)",
        ),
    ];
    let adoption = vec![
        input(
            "installs",
            e.installs.map(|n| n as f64),
            e.installs.map(|n| against(n as f64, spread.installs_p95)),
            "organisations that installed it, against the catalogue's spread",
        ),
        input(
            "executions_30d",
            e.executions_30d.map(|n| n as f64),
            e.executions_30d
                .map(|n| against(n as f64, spread.executions_p95)),
            "executions in the last 30 days across organisations (at least 3), against the catalogue's spread",
        ),
        input(
            "stars",
            Some(e.stars as f64),
            Some(against(e.stars as f64, spread.stars_p95)),
            "GitHub stars, against the catalogue's spread",
        ),
    ];
    let reliability = vec![
        input(
            "error_rate",
            e.error_rate,
            e.error_rate.map(|r| 1.0 - r),
            "failed executions across organisations (at least 3); 1 - rate",
        ),
        input(
            "timeout_rate",
            e.timeout_rate,
            e.timeout_rate.map(|r| 1.0 - r),
            "executions that timed out (at least 3 organisations); 1 - rate",
        ),
        input(
            "init_success",
            e.init_success,
            e.init_success,
            "starts that succeeded (at least 3 organisations)",
        ),
        input(
            "suspensions",
            e.suspended_share,
            e.suspended_share.map(|s| 1.0 - s),
            "share of its installs suspended now (at least 3 installs); 1 - share",
        ),
    ];
    let maintenance = vec![
        input(
            "releases_last_year",
            Some(f64::from(e.releases_last_year)),
            Some(against(
                f64::from(e.releases_last_year),
                spread.releases_p95,
            )),
            "releases in the last 365 days, against the catalogue's spread",
        ),
        input(
            "latest_release_age_days",
            e.latest_release_age_days,
            e.latest_release_age_days
                .map(|d| 0.5_f64.powf(d.max(0.0) / RELEASE_HALF_LIFE_DAYS)),
            "days since the latest release; halves every 180 days",
        ),
        flag(
            "not_deprecated",
            Some(!e.deprecated),
            "deprecated plugins score 0 here",
        ),
    ];
    let publisher = vec![flag(
        "verified",
        e.verified,
        "a publisher verified by the platform's owners",
    )];
    let mut parts = Vec::new();
    for ((name, weight), inputs) in
        WEIGHTS
            .into_iter()
            .zip([quality, adoption, reliability, maintenance, publisher])
    {
        let known: Vec<f64> = inputs.iter().filter_map(|i| i.score).collect();
        let mut score = (!known.is_empty()).then(|| known.iter().sum::<f64>() / known.len() as f64);
        if name == PartName::Maintenance && e.deprecated {
            score = Some(0.0);
        }
        parts.push(Part {
            name,
            weight,
            score: score.map(round),
            inputs,
        });
    }
    let counted: Vec<(f64, f64)> = parts
        .iter()
        .filter_map(|p| p.score.map(|s| (p.weight, s)))
        .collect();
    let weights: f64 = counted.iter().map(|(w, _)| w).sum();
    let score = (weights > 0.0).then(|| {
        let mean = counted.iter().map(|(w, s)| w * s).sum::<f64>() / weights;
        (mean * 100.0).round().clamp(0.0, 100.0) as u32
    });
    Reputation {
        plugin: plugin.to_string(),
        score,
        parts,
    }
}

/// Reputations of the catalogue's plugins, from the catalogue, the store and the analytics.
pub struct Reputations<'a> {
    pub catalog: &'a Catalog,
    pub analytics: &'a Analytics,
}

#[derive(Debug, thiserror::Error)]
pub enum ReputationError {
    #[error(transparent)]
    Catalog(#[from] plughub_catalog::CatalogError),
    #[error(transparent)]
    Analytics(#[from] AnalyticsError),
    #[error(transparent)]
    Store(#[from] plughub_store::StoreError),
}

impl Reputations<'_> {
    /// The reputation of `plugin` (any usual spelling of its name), with its breakdown. `verified` is
    /// whether its publisher is verified (`Publishers::is_verified`; `None` when not known).
    pub async fn of(
        &self,
        plugin: &str,
        verified: Option<bool>,
    ) -> Result<Reputation, ReputationError> {
        let detail = self.catalog.info(plugin).await?;
        let name = detail.view.name.clone();
        let store = self.catalog.store();
        let usage = self.analytics.plugin_usage(&name).await?;
        let suspended = store
            .count_groups_with_status(ThingKind::PluginInstance, &name, "suspended")
            .await?;
        let now = time::OffsetDateTime::now_utc();
        let releases = release_dates(
            &detail
                .releases
                .iter()
                .filter_map(|r| r.published.clone())
                .collect::<Vec<_>>(),
        );
        let mut evidence = Evidence {
            risk_score: detail.package.as_ref().map(|p| p.risk_score),
            findings: detail.package.as_ref().map(|p| p.findings),
            tests: detail.package.as_ref().and_then(|p| p.tests),
            types: detail.package.as_ref().and_then(|p| p.types),
            readme: detail
                .readme
                .as_ref()
                .is_some_and(|r| r.trim().len() >= 200),
            license: detail.view.license.is_some(),
            settings_declared: detail.view.agent_config.is_some(),
            installs: usage.installs,
            stars: detail.view.stars,
            releases_last_year: releases_within(&releases, now, 365),
            latest_release_age_days: releases
                .iter()
                .max()
                .map(|latest| (now - *latest).as_seconds_f64() / 86_400.0),
            deprecated: detail.view.deprecated.is_some(),
            verified,
            ..Default::default()
        };
        with_usage(&mut evidence, &usage, suspended);
        let spread = self.spread().await?;
        Ok(score(&name, &evidence, &spread))
    }

    /// The catalogue's spread of the counted inputs.
    async fn spread(&self) -> Result<Spread, ReputationError> {
        let store = self.catalog.store();
        let views = self.catalog.index();
        let stars: Vec<f64> = views.views().iter().map(|v| v.stars as f64).collect();
        let installs: Vec<f64> = store
            .count_groups_by_name(ThingKind::PluginInstance)
            .await?
            .into_values()
            .map(|n| n as f64)
            .collect();
        let executions: Vec<f64> = self
            .analytics
            .executions_by_plugin(MIN_ORGANISATIONS)
            .await?
            .into_values()
            .map(|n| n as f64)
            .collect();
        let now = time::OffsetDateTime::now_utc();
        let mut releases = Vec::new();
        for row in store.catalog_rows().await? {
            if let Ok(entry) = serde_json::from_str::<CatalogEntry>(&row.properties) {
                let npm = entry
                    .sources
                    .get(&SourceKind::Plughub)
                    .or_else(|| entry.sources.get(&SourceKind::Npm));
                let dates: Vec<String> = match npm {
                    Some(SourceRecord::Npm(npm)) => npm
                        .versions
                        .iter()
                        .filter_map(|v| v.published.clone())
                        .collect(),
                    _ => vec![],
                };
                releases.push(f64::from(releases_within(&release_dates(&dates), now, 365)));
            }
        }
        let findings: Vec<f64> = plughub_catalog::package_facts_by_name(store)
            .await?
            .into_values()
            .map(|facts| f64::from(facts.findings))
            .collect();
        Ok(Spread::of(
            &stars,
            &installs,
            &executions,
            &releases,
            &findings,
        ))
    }
}

/// Adds what the executions say, as far as enough organisations contributed.
fn with_usage(evidence: &mut Evidence, usage: &PluginUsage, suspended: i64) {
    evidence.executions_30d = usage.executions_30d;
    evidence.error_rate = usage.error_rate;
    if let (Some(executions), Some(timeouts), Some(init_failures)) =
        (usage.executions_30d, usage.timeouts, usage.init_failures)
        && executions > 0
    {
        evidence.timeout_rate = Some(timeouts as f64 / executions as f64);
        evidence.init_success = Some(1.0 - init_failures as f64 / executions as f64);
    }
    if let Some(installs) = usage.installs.filter(|n| *n >= MIN_ORGANISATIONS) {
        evidence.suspended_share = Some(suspended as f64 / installs as f64);
    }
}

fn release_dates(published: &[String]) -> Vec<time::OffsetDateTime> {
    published
        .iter()
        .filter_map(|p| {
            time::OffsetDateTime::parse(p, &time::format_description::well_known::Rfc3339).ok()
        })
        .collect()
}

fn releases_within(dates: &[time::OffsetDateTime], now: time::OffsetDateTime, days: i64) -> u32 {
    let since = now - time::Duration::days(days);
    u32::try_from(dates.iter().filter(|d| **d >= since).count()).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spread() -> Spread {
        Spread {
            stars_p95: 100.0,
            installs_p95: 10.0,
            executions_p95: 1000.0,
            releases_p95: 12.0,
            findings_p95: 20.0,
        }
    }

    #[test]
    fn counts_map_against_the_spread_on_a_log_scale() {
        assert_eq!(against(0.0, 100.0), 0.0);
        assert_eq!(against(100.0, 100.0), 1.0);
        assert_eq!(against(5000.0, 100.0), 1.0);
        let ten = against(10.0, 100.0);
        assert!(ten > 0.5 && ten < 0.6, "{ten}");
        assert_eq!(p95(&[1.0, 2.0, 3.0, 4.0, 100.0]), 100.0);
    }

    #[test]
    fn unknown_parts_do_not_count_and_deprecation_zeroes_maintenance() {
        let evidence = Evidence {
            risk_score: Some(10),
            findings: Some(0),
            readme: true,
            license: true,
            settings_declared: true,
            stars: 100,
            installs: Some(10),
            releases_last_year: 12,
            latest_release_age_days: Some(0.0),
            ..Default::default()
        };
        let r = score("p", &evidence, &spread());
        let part = |n: PartName| r.parts.iter().find(|p| p.name == n).unwrap().score;
        assert_eq!(part(PartName::Reliability), None);
        assert_eq!(part(PartName::Publisher), None);
        assert_eq!(part(PartName::Maintenance), Some(1.0));
        // Quality 0.98 (risk 0.9, the rest 1; tests and types unknown), adoption 1, maintenance 1:
        // (0.25·0.98 + 0.25 + 0.20) / 0.70 = 0.993.
        assert_eq!(r.score, Some(99));
        let deprecated = score(
            "p",
            &Evidence {
                deprecated: true,
                ..evidence
            },
            &spread(),
        );
        let part = |n: PartName| deprecated.parts.iter().find(|p| p.name == n).unwrap().score;
        assert_eq!(part(PartName::Maintenance), Some(0.0));
        assert_eq!(deprecated.score, Some(71));
    }
}
