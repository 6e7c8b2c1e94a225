//! The rules executions run under (product spec defaults, all configurable): plan quotas and resource
//! tiers, the per-instance rate limit, retries with backoff, and the circuit breaker. Pure: the time is
//! passed in (milliseconds on any monotonic clock), so every rule is tested without waiting.

use crate::Plan;
use std::collections::VecDeque;
use std::time::Duration;

/// What a plan allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanLimits {
    /// Executions a day (reset at midnight UTC); `None` for unlimited.
    pub executions_per_day: Option<u64>,
    pub concurrent_executions: u32,
    pub memory_mb: u32,
    pub timeout: Duration,
    /// What each installed instance may keep in its cache and memories, in MB (2^20 bytes, as
    /// `memory_mb`): the bytes of the keys, values and memories stored. A write past it fails in the
    /// plugin; deleting makes room again.
    pub storage_mb: u64,
}

/// The figures of every rule, with the product spec's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionPolicy {
    pub free: PlanLimits,
    pub pro: PlanLimits,
    pub enterprise: PlanLimits,
    /// The longest timeout anyone may ask for.
    pub max_timeout: Duration,
    /// Executions a minute per instance; 0 means no limit (an operator's choice, as for a benchmark).
    pub executions_per_minute: usize,
    /// Executions a warm worker serves before a fresh one replaces it; 0 means never (an operator's
    /// choice: each replacement is a Node.js start, tens of milliseconds of CPU).
    pub recycle_after: u64,
    /// How long a warm worker may stay unused before it is ended.
    pub worker_idle: Duration,
    pub retries: u32,
    pub backoff_first: Duration,
    pub backoff_max: Duration,
    pub breaker_failures: u32,
    pub breaker_half_open_after: Duration,
    pub breaker_successes: u32,
}

impl Default for ExecutionPolicy {
    fn default() -> ExecutionPolicy {
        let tier = |per_day, concurrent, memory_mb, seconds, storage_mb| PlanLimits {
            executions_per_day: per_day,
            concurrent_executions: concurrent,
            memory_mb,
            timeout: Duration::from_secs(seconds),
            storage_mb,
        };
        // Storage: room for a chat history of some thousands of memories on the free plan, ten times
        // that on pro, a gigabyte on enterprise (what one SQLite store can hold for many instances).
        ExecutionPolicy {
            free: tier(Some(100), 1, 256, 10, 10),
            pro: tier(Some(10_000), 5, 512, 30, 100),
            enterprise: tier(None, 10, 512, 30, 1_024),
            max_timeout: Duration::from_secs(300),
            executions_per_minute: 100,
            recycle_after: 100,
            worker_idle: Duration::from_secs(300),
            retries: 3,
            backoff_first: Duration::from_secs(1),
            backoff_max: Duration::from_secs(10),
            breaker_failures: 5,
            breaker_half_open_after: Duration::from_secs(60),
            breaker_successes: 3,
        }
    }
}

impl ExecutionPolicy {
    pub fn limits(&self, plan: Plan) -> PlanLimits {
        match plan {
            Plan::Free => self.free,
            Plan::Pro => self.pro,
            Plan::Enterprise => self.enterprise,
        }
    }

    /// The timeout of one execution: the one asked for, else the plan's, never above the maximum.
    pub fn timeout(&self, plan: Plan, asked: Option<Duration>) -> Duration {
        asked
            .unwrap_or(self.limits(plan).timeout)
            .min(self.max_timeout)
    }

    /// How long to wait before retry `attempt` (1-based): doubling from the first wait, capped.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
        self.backoff_first
            .saturating_mul(factor)
            .min(self.backoff_max)
    }

    /// Whether another execution fits in today's quota, given how many ran today.
    pub fn within_daily_quota(&self, plan: Plan, ran_today: u64) -> bool {
        self.limits(plan)
            .executions_per_day
            .is_none_or(|limit| ran_today < limit)
    }
}

/// What a plugin declares of its components for the execution policy, in its package.json:
/// `"plughub": {"cacheable": ["PRICE"], "idempotent": ["SEND_REPORT"]}`. A cacheable component's answers
/// may be served again from the result cache; an idempotent action or evaluator may be tried again after
/// its worker died or timed out (providers are taken as idempotent: they only read).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecutionHints {
    pub cacheable: std::collections::BTreeSet<String>,
    pub idempotent: std::collections::BTreeSet<String>,
}

impl ExecutionHints {
    /// The hints in a package.json document; what is missing or not a list of names declares nothing.
    pub fn from_package_json(package: &serde_json::Value) -> ExecutionHints {
        let names = |field: &str| {
            package["plughub"][field]
                .as_array()
                .map(|list| {
                    list.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        ExecutionHints {
            cacheable: names("cacheable"),
            idempotent: names("idempotent"),
        }
    }

    pub fn is_cacheable(&self, component: &str) -> bool {
        self.cacheable.contains(component)
    }

    /// Whether a failure that may have happened half-way (its worker died, or it timed out) may be tried
    /// again: providers, and actions and evaluators declared idempotent.
    pub fn may_retry(&self, kind: ComponentKind, component: &str) -> bool {
        kind == ComponentKind::Provider || self.idempotent.contains(component)
    }
}

/// The kinds of component a run calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ComponentKind {
    Action,
    Provider,
    Evaluator,
}

/// A sliding one-minute window of executions of one instance.
#[derive(Debug, Clone, Default)]
pub struct RateWindow {
    hits: VecDeque<u64>,
}

impl RateWindow {
    /// Counts an execution at `now_ms` if fewer than `limit` ran in the last minute; otherwise says how
    /// long until one may.
    pub fn try_hit(&mut self, now_ms: u64, limit: usize) -> Result<(), Duration> {
        while self
            .hits
            .front()
            .is_some_and(|t| now_ms.saturating_sub(*t) >= 60_000)
        {
            self.hits.pop_front();
        }
        if self.hits.len() >= limit {
            let oldest = self.hits.front().copied().unwrap_or(now_ms);
            return Err(Duration::from_millis(
                60_000 - now_ms.saturating_sub(oldest),
            ));
        }
        self.hits.push_back(now_ms);
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

impl BreakerState {
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half_open",
        }
    }
}

/// The circuit breaker of one instance: opens after consecutive failures, lets a trial through after a
/// pause (half-open), closes after enough good trials; a failed trial opens it again. Kept with the
/// instance in the store, so every server sharing the store sees the same breaker: times are wall-clock
/// milliseconds since the Unix epoch there.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Breaker {
    state: BreakerState,
    failures: u32,
    successes: u32,
    opened_at_ms: u64,
}

impl Default for Breaker {
    fn default() -> Breaker {
        Breaker {
            state: BreakerState::Closed,
            failures: 0,
            successes: 0,
            opened_at_ms: 0,
        }
    }
}

impl Breaker {
    pub fn state(&self) -> BreakerState {
        self.state
    }

    /// Closed with no failure counted: a success changes nothing (nothing to write).
    pub fn is_quiet(&self) -> bool {
        *self == Breaker::default()
    }

    /// When an open breaker lets a trial through (half-opens), in the same milliseconds as `now_ms`.
    pub fn half_opens_at_ms(&self, policy: &ExecutionPolicy) -> Option<u64> {
        (self.state == BreakerState::Open)
            .then(|| self.opened_at_ms + policy.breaker_half_open_after.as_millis() as u64)
    }

    /// Whether an execution may go now; when open, how long until a trial may.
    pub fn allow(&mut self, now_ms: u64, policy: &ExecutionPolicy) -> Result<(), Duration> {
        if self.state == BreakerState::Open {
            let pause = policy.breaker_half_open_after.as_millis() as u64;
            let waited = now_ms.saturating_sub(self.opened_at_ms);
            if waited < pause {
                return Err(Duration::from_millis(pause - waited));
            }
            self.state = BreakerState::HalfOpen;
            self.successes = 0;
        }
        Ok(())
    }

    pub fn record(&mut self, success: bool, now_ms: u64, policy: &ExecutionPolicy) {
        match (self.state, success) {
            (BreakerState::HalfOpen, true) => {
                self.successes += 1;
                if self.successes >= policy.breaker_successes {
                    *self = Breaker::default();
                }
            }
            (BreakerState::HalfOpen, false) => self.open(now_ms),
            (_, true) => self.failures = 0,
            (_, false) => {
                self.failures += 1;
                if self.failures >= policy.breaker_failures {
                    self.open(now_ms);
                }
            }
        }
    }

    fn open(&mut self, now_ms: u64) {
        self.state = BreakerState::Open;
        self.opened_at_ms = now_ms;
        self.failures = 0;
        self.successes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_come_from_the_plughub_field() {
        let hints = ExecutionHints::from_package_json(&serde_json::json!({
            "plughub": { "cacheable": ["PRICE", 3], "idempotent": ["SEND"] }
        }));
        assert!(hints.is_cacheable("PRICE"));
        assert!(!hints.is_cacheable("SEND"));
        assert!(hints.may_retry(ComponentKind::Provider, "ANY"));
        assert!(hints.may_retry(ComponentKind::Action, "SEND"));
        assert!(!hints.may_retry(ComponentKind::Action, "PRICE"));
        assert!(!hints.may_retry(ComponentKind::Evaluator, "PRICE"));
        let none = ExecutionHints::from_package_json(
            &serde_json::json!({ "plughub": { "cacheable": "PRICE" } }),
        );
        assert_eq!(none, ExecutionHints::default());
    }

    #[test]
    fn plans_set_quotas_and_tiers() {
        let policy = ExecutionPolicy::default();
        assert!(policy.within_daily_quota(Plan::Free, 99));
        assert!(!policy.within_daily_quota(Plan::Free, 100));
        assert!(!policy.within_daily_quota(Plan::Pro, 10_000));
        assert!(policy.within_daily_quota(Plan::Enterprise, u64::MAX - 1));
        assert_eq!(policy.limits(Plan::Pro).concurrent_executions, 5);
        assert_eq!(policy.limits(Plan::Free).memory_mb, 256);
        assert_eq!(policy.timeout(Plan::Free, None), Duration::from_secs(10));
        assert_eq!(
            policy.timeout(Plan::Pro, Some(Duration::from_secs(900))),
            Duration::from_secs(300),
            "never above 5 minutes"
        );
    }

    #[test]
    fn backoff_doubles_from_one_second_to_ten() {
        let policy = ExecutionPolicy::default();
        let waits: Vec<u64> = (1..=5).map(|a| policy.backoff(a).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 10]);
    }

    #[test]
    fn a_hundred_a_minute_then_wait() {
        let mut window = RateWindow::default();
        for i in 0..100 {
            window.try_hit(i * 10, 100).unwrap();
        }
        assert_eq!(
            window.try_hit(1_000, 100),
            Err(Duration::from_millis(59_000))
        );
        window.try_hit(60_000, 100).unwrap();
    }

    #[test]
    fn the_breaker_opens_half_opens_and_closes() {
        let policy = ExecutionPolicy::default();
        let mut breaker = Breaker::default();
        for _ in 0..4 {
            breaker.record(false, 0, &policy);
        }
        breaker.record(true, 0, &policy);
        for _ in 0..4 {
            breaker.record(false, 0, &policy);
        }
        assert_eq!(
            breaker.state(),
            BreakerState::Closed,
            "a success resets the count"
        );
        breaker.record(false, 1_000, &policy);
        assert_eq!(breaker.state(), BreakerState::Open);
        assert_eq!(breaker.allow(31_000, &policy), Err(Duration::from_secs(30)));
        assert_eq!(breaker.allow(61_000, &policy), Ok(()));
        assert_eq!(breaker.state(), BreakerState::HalfOpen);
        breaker.record(false, 61_000, &policy);
        assert_eq!(
            breaker.state(),
            BreakerState::Open,
            "a failed trial opens it again"
        );
        breaker.allow(121_000, &policy).unwrap();
        for _ in 0..3 {
            breaker.record(true, 121_000, &policy);
        }
        assert_eq!(breaker.state(), BreakerState::Closed);
    }
}
