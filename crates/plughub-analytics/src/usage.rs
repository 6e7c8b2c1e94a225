//! One plugin's use across organisations, for the catalogue, reputation and its publisher: aggregates
//! only, and only over at least `MIN_ORGANISATIONS` organisations, so that no organisation's own
//! figures can be read from them.

use crate::{Analytics, AnalyticsError, Latency, day_before_today, rate};
use plughub_domain::ThingKind;
use plughub_store::{RollupKey, RollupQuery, RollupTotals};
use serde::Serialize;

/// Cross-organisation figures need executions from at least this many organisations.
pub const MIN_ORGANISATIONS: i64 = 3;

/// The window of `plugin_usage`.
pub const USAGE_DAYS: u32 = 30;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PluginUsage {
    pub plugin: String,
    /// Organisations that have it installed now; `null` below `MIN_ORGANISATIONS` (a count of one
    /// or two would tell the catalogue what an organisation or two do).
    pub installs: Option<i64>,
    /// Whether at least `MIN_ORGANISATIONS` organisations ran it in the last 30 days; when not, every
    /// figure below is `null`.
    pub enough_organisations: bool,
    pub executions_30d: Option<i64>,
    pub error_rate: Option<f64>,
    pub timeouts: Option<i64>,
    pub init_failures: Option<i64>,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

impl Analytics {
    /// `plugin`'s use over the last 30 days, across organisations.
    pub async fn plugin_usage(&self, plugin: &str) -> Result<PluginUsage, AnalyticsError> {
        self.roll_up().await?;
        let store = self.store();
        let installs = store
            .count_groups_with(ThingKind::PluginInstance, plugin)
            .await?;
        let by_org = store
            .rollup_rows(&RollupQuery {
                since_day: Some(day_before_today(USAGE_DAYS - 1)),
                plugin: Some(plugin.to_string()),
                by: vec![RollupKey::Group, RollupKey::Kind],
                ..Default::default()
            })
            .await?;
        let mut orgs: Vec<&str> = by_org.iter().map(|r| r.key[0].as_str()).collect();
        orgs.dedup();
        let enough = orgs.len() as i64 >= MIN_ORGANISATIONS;
        let mut all = RollupTotals::default();
        let mut init_failures = 0;
        for row in &by_org {
            add(&mut all, &row.totals);
            if row.key[1] == "init" {
                init_failures += row.totals.errors;
            }
        }
        let latency = Latency::of(&all.buckets);
        Ok(PluginUsage {
            plugin: plugin.to_string(),
            installs: (installs >= MIN_ORGANISATIONS).then_some(installs),
            enough_organisations: enough,
            executions_30d: enough.then_some(all.executions),
            error_rate: enough.then_some(rate(all.errors, all.executions)),
            timeouts: enough.then_some(all.timeouts),
            init_failures: enough.then_some(init_failures),
            p50_ms: latency.p50_ms.filter(|_| enough),
            p95_ms: latency.p95_ms.filter(|_| enough),
            p99_ms: latency.p99_ms.filter(|_| enough),
        })
    }
}

impl Analytics {
    /// Each plugin's executions in the last 30 days, for the plugins that at least `min_organisations`
    /// organisations ran (the catalogue's spread, for reputations).
    pub async fn executions_by_plugin(
        &self,
        min_organisations: i64,
    ) -> Result<std::collections::HashMap<String, i64>, AnalyticsError> {
        self.roll_up().await?;
        Ok(self
            .store()
            .rollup_executions_by_plugin(&day_before_today(USAGE_DAYS - 1), min_organisations)
            .await?
            .into_iter()
            .collect())
    }
}

fn add(sum: &mut RollupTotals, row: &RollupTotals) {
    sum.executions += row.executions;
    sum.errors += row.errors;
    sum.timeouts += row.timeouts;
    sum.cache_hits += row.cache_hits;
    sum.timed += row.timed;
    sum.duration_ms += row.duration_ms;
    sum.memory_mib_s += row.memory_mib_s;
    for (s, r) in sum.buckets.iter_mut().zip(row.buckets) {
        *s += r;
    }
}
