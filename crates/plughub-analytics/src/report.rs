//! The analytics of one organisation or of the platform over the last days: executions per day and
//! their error rate, latency percentiles, the most used actions, the top plugins and the cost per
//! organisation. Every figure is a sum over rollup rows, computed in SQL.

use crate::{Analytics, AnalyticsError, Cost, Latency, MAX_DAYS, day_before_today, rate};
use plughub_store::{RollupKey, RollupQuery, RollupTotals};
use serde::Serialize;
use std::collections::HashMap;

/// Whose executions a report sums.
#[derive(Debug, Clone)]
pub enum Scope {
    /// One organisation's (by group id), for its owners.
    Org { group_id: String, name: String },
    /// Every organisation's, for platform owners.
    Platform,
}

/// How many rows the top lists have.
const TOP: i64 = 10;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Report {
    /// `org` or `platform`.
    pub scope: String,
    /// The organisation, for an organisation's report.
    pub org: Option<String>,
    pub days: u32,
    /// The first day counted (UTC, `YYYY-MM-DD`); the last is today.
    pub since: String,
    pub totals: Totals,
    pub latency: Latency,
    /// Every day of the window, oldest first, days without executions included.
    pub per_day: Vec<DayFigures>,
    /// The actions run most (components of kind `action`).
    pub top_actions: Vec<ComponentFigures>,
    pub top_plugins: Vec<PluginFigures>,
    /// The cost of each organisation's executions (the model of docs/analytics.md), highest first;
    /// an organisation's report has its own only.
    pub cost: Vec<OrgCost>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Totals {
    pub executions: i64,
    pub errors: i64,
    pub timeouts: i64,
    pub cache_hits: i64,
    /// errors / executions, 0 to 1.
    pub error_rate: f64,
    pub cost: Cost,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DayFigures {
    pub day: String,
    pub executions: i64,
    pub errors: i64,
    pub timeouts: i64,
    pub error_rate: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ComponentFigures {
    pub plugin: String,
    pub kind: String,
    pub component: String,
    pub executions: i64,
    pub errors: i64,
    pub error_rate: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PluginFigures {
    pub plugin: String,
    pub executions: i64,
    pub errors: i64,
    pub timeouts: i64,
    pub error_rate: f64,
    pub latency: Latency,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct OrgCost {
    pub org: String,
    pub executions: i64,
    #[serde(flatten)]
    pub cost: Cost,
}

impl Analytics {
    /// The report of `scope` over the last `days` days (today included), after rolling up the tail.
    pub async fn report(&self, scope: &Scope, days: u32) -> Result<Report, AnalyticsError> {
        if days == 0 || days > MAX_DAYS {
            return Err(AnalyticsError::Days(days));
        }
        self.roll_up().await?;
        let since = day_before_today(days - 1);
        let group_id = match scope {
            Scope::Org { group_id, .. } => Some(group_id.clone()),
            Scope::Platform => None,
        };
        let base = RollupQuery {
            since_day: Some(since.clone()),
            group_id,
            ..Default::default()
        };
        let store = self.store();
        let sum = |by: Vec<RollupKey>| RollupQuery { by, ..base.clone() };
        let all = store
            .rollup_rows(&sum(vec![]))
            .await?
            .pop()
            .map(|r| r.totals)
            .unwrap_or_default();
        let by_day: HashMap<String, RollupTotals> = store
            .rollup_rows(&sum(vec![RollupKey::Day]))
            .await?
            .into_iter()
            .map(|r| (r.key[0].clone(), r.totals))
            .collect();
        let per_day = (0..days)
            .rev()
            .map(|back| {
                let day = day_before_today(back);
                let t = by_day.get(&day).cloned().unwrap_or_default();
                DayFigures {
                    day,
                    executions: t.executions,
                    errors: t.errors,
                    timeouts: t.timeouts,
                    error_rate: rate(t.errors, t.executions),
                }
            })
            .collect();
        let top_actions = store
            .rollup_rows(&RollupQuery {
                kind: Some("action".into()),
                most_executions_first: true,
                limit: Some(TOP),
                ..sum(vec![
                    RollupKey::Plugin,
                    RollupKey::Kind,
                    RollupKey::Component,
                ])
            })
            .await?
            .into_iter()
            .map(|r| ComponentFigures {
                plugin: r.key[0].clone(),
                kind: r.key[1].clone(),
                component: r.key[2].clone(),
                executions: r.totals.executions,
                errors: r.totals.errors,
                error_rate: rate(r.totals.errors, r.totals.executions),
            })
            .collect();
        let top_plugins = store
            .rollup_rows(&RollupQuery {
                most_executions_first: true,
                limit: Some(TOP),
                ..sum(vec![RollupKey::Plugin])
            })
            .await?
            .into_iter()
            .map(|r| PluginFigures {
                plugin: r.key[0].clone(),
                executions: r.totals.executions,
                errors: r.totals.errors,
                timeouts: r.totals.timeouts,
                error_rate: rate(r.totals.errors, r.totals.executions),
                latency: Latency::of(&r.totals.buckets),
            })
            .collect();
        let cost = match scope {
            Scope::Org { name, .. } => vec![OrgCost {
                org: name.clone(),
                executions: all.executions,
                cost: Cost::of(&all),
            }],
            Scope::Platform => {
                let names: HashMap<String, String> = store
                    .groups()
                    .await?
                    .into_iter()
                    .map(|g| (g.id, g.name))
                    .collect();
                let mut costs: Vec<OrgCost> = store
                    .rollup_rows(&sum(vec![RollupKey::Group]))
                    .await?
                    .into_iter()
                    .map(|r| OrgCost {
                        org: names.get(&r.key[0]).cloned().unwrap_or(r.key[0].clone()),
                        executions: r.totals.executions,
                        cost: Cost::of(&r.totals),
                    })
                    .collect();
                costs.sort_by(|a, b| {
                    b.cost
                        .cost_units
                        .total_cmp(&a.cost.cost_units)
                        .then_with(|| a.org.cmp(&b.org))
                });
                costs
            }
        };
        Ok(Report {
            scope: match scope {
                Scope::Org { .. } => "org",
                Scope::Platform => "platform",
            }
            .into(),
            org: match scope {
                Scope::Org { name, .. } => Some(name.clone()),
                Scope::Platform => None,
            },
            days,
            since,
            totals: Totals {
                executions: all.executions,
                errors: all.errors,
                timeouts: all.timeouts,
                cache_hits: all.cache_hits,
                error_rate: rate(all.errors, all.executions),
                cost: Cost::of(&all),
            },
            latency: Latency::of(&all.buckets),
            per_day,
            top_actions,
            top_plugins,
            cost,
        })
    }
}
