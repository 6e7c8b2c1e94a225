#![doc = include_str!("../README.md")]
//!
//! When rollups run: before every analytics read (`Analytics::roll_up`, called by each query), so that
//! a page is exact to its last execution, and periodically in the server (`Analytics::keep_rolling`),
//! so that the tail a read rolls up first stays a minute's events, never a day's.

mod cost;
mod csv;
mod latency;
mod report;
mod usage;

pub use cost::{CPU_SECOND_UNITS, Cost, GIB_SECOND_UNITS};
pub use csv::Table;
pub use latency::{Latency, percentile};
pub use report::{ComponentFigures, DayFigures, OrgCost, PluginFigures, Report, Scope, Totals};
pub use usage::{MIN_ORGANISATIONS, PluginUsage};

use plughub_store::{RollupRun, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("days must be 1 to {MAX_DAYS}, not {0}")]
    Days(u32),
}

/// The longest window a report covers.
pub const MAX_DAYS: u32 = 366;

/// Analytics over the store's executions.
#[derive(Clone)]
pub struct Analytics {
    store: Store,
}

impl Analytics {
    pub fn new(store: Store) -> Analytics {
        Analytics { store }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Adds the executions recorded since the last run to the daily rollups.
    pub async fn roll_up(&self) -> Result<RollupRun, AnalyticsError> {
        Ok(self.store.roll_up_executions().await?)
    }

    /// Deletes the records of executions older than `age`, once rolled up: the rollups first take in
    /// what they have not counted yet, so every report reads the same after as before.
    pub async fn retain(
        &self,
        age: std::time::Duration,
    ) -> Result<plughub_store::RetentionRun, AnalyticsError> {
        self.roll_up().await?;
        // An age past a few centuries keeps everything (and does not overflow the clock).
        let age = age.min(std::time::Duration::from_secs(300 * 365 * 86_400));
        let cut = time::OffsetDateTime::now_utc() - age;
        let before = plughub_store::format_time(cut);
        Ok(self
            .store
            .delete_old_executions(&before, std::time::Duration::from_millis(20))
            .await?)
    }

    /// Applies retention (`age`) every `every` for as long as the runtime lives, the first time after
    /// one minute (a server that restarts often does not walk the log at each start).
    pub fn keep_retaining(
        &self,
        age: std::time::Duration,
        every: std::time::Duration,
    ) -> tokio::task::JoinHandle<()> {
        let analytics = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_secs(60)).await;
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                match analytics.retain(age).await {
                    Ok(run) if run.deleted > 0 => tracing::info!(
                        deleted = run.deleted,
                        windows = run.windows,
                        "executions past their retention age deleted (the rollups keep counting them)"
                    ),
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "retention failed; it is tried again at the next tick")
                    }
                }
            }
        })
    }

    /// Rolls up every `every` for as long as the runtime lives; a failed run is logged and tried again.
    pub fn keep_rolling(&self, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
        let analytics = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                if let Err(e) = analytics.roll_up().await {
                    tracing::warn!(error = %e, "the analytics rollup failed; it is tried again at the next tick");
                }
            }
        })
    }
}

/// The UTC day `days_back` days before today, as the rollups write days (`YYYY-MM-DD`).
pub(crate) fn day_before_today(days_back: u32) -> String {
    let today = time::OffsetDateTime::now_utc().date();
    (today - time::Duration::days(i64::from(days_back))).to_string()
}

/// The error rate of `errors` among `executions`, 0 to 1, rounded to 4 places.
pub(crate) fn rate(errors: i64, executions: i64) -> f64 {
    if executions == 0 {
        0.0
    } else {
        (errors as f64 / executions as f64 * 10_000.0).round() / 10_000.0
    }
}
