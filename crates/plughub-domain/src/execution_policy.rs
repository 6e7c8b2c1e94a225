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
    /// How much a warm worker's resident memory may grow over what it held once started (its `init`
    /// and services done) before a fresh one replaces it, in MB (2^20 bytes, as `memory_mb`); 0 means
    /// never. 128 by default: half the smallest plan's `memory_mb`, so a worker that leaks is renewed
    /// before it is killed there.
    pub recycle_memory_growth_mb: u64,
    /// How old a warm worker may grow before a fresh one replaces it; zero means never.
    pub recycle_age: Duration,
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
            recycle_memory_growth_mb: 128,
            recycle_age: Duration::from_secs(3_600),
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

    /// Whether the recycling rule by memory growth is on: only then need a worker's memory be read.
    pub fn recycles_by_memory(&self) -> bool {
        self.recycle_memory_growth_mb > 0
    }

    /// Why a warm worker should be replaced by a fresh one, if it should: it has served
    /// `recycle_after` executions, its resident memory has grown by `recycle_memory_growth_mb` over
    /// what it held once started, or it is `recycle_age` old. Each rule is off at 0. When several hold,
    /// the one named is memory growth first (a leak is what an operator most needs to see), then the
    /// count, then the age.
    pub fn recycle_reason(
        &self,
        executions: u64,
        age: Duration,
        memory_growth_bytes: u64,
    ) -> Option<RecycleReason> {
        let growth_limit = self.recycle_memory_growth_mb.saturating_mul(1 << 20);
        if self.recycles_by_memory() && memory_growth_bytes >= growth_limit {
            Some(RecycleReason::MemoryGrowth)
        } else if self.recycle_after > 0 && executions >= self.recycle_after {
            Some(RecycleReason::Executions)
        } else if !self.recycle_age.is_zero() && age >= self.recycle_age {
            Some(RecycleReason::Age)
        } else {
            None
        }
    }

    /// Whether another execution fits in today's quota, given how many ran today.
    pub fn within_daily_quota(&self, plan: Plan, ran_today: u64) -> bool {
        self.limits(plan)
            .executions_per_day
            .is_none_or(|limit| ran_today < limit)
    }
}

/// Why a warm worker is replaced by a fresh one (`ExecutionPolicy::recycle_reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecycleReason {
    /// It served the policy's `recycle_after` executions.
    Executions,
    /// Its resident memory grew by the policy's `recycle_memory_growth_mb` since it started.
    MemoryGrowth,
    /// It is the policy's `recycle_age` old.
    Age,
}

impl RecycleReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RecycleReason::Executions => "executions",
            RecycleReason::MemoryGrowth => "memory_growth",
            RecycleReason::Age => "age",
        }
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

    const MB: u64 = 1 << 20;

    #[test]
    fn the_defaults_recycle_after_100_executions_128_mb_of_growth_or_an_hour() {
        let policy = ExecutionPolicy::default();
        assert_eq!(policy.recycle_after, 100);
        assert_eq!(policy.recycle_memory_growth_mb, 128);
        assert_eq!(policy.recycle_age, Duration::from_secs(3_600));
        assert!(policy.recycles_by_memory());
        assert_eq!(policy.recycle_reason(0, Duration::ZERO, 0), None);
    }

    #[test]
    fn a_worker_is_recycled_after_its_count_of_executions() {
        let policy = ExecutionPolicy::default();
        let minute = Duration::from_secs(60);
        assert_eq!(policy.recycle_reason(99, minute, 10 * MB), None);
        assert_eq!(
            policy.recycle_reason(100, minute, 10 * MB),
            Some(RecycleReason::Executions)
        );
        assert_eq!(
            policy.recycle_reason(250, minute, 10 * MB),
            Some(RecycleReason::Executions)
        );
    }

    #[test]
    fn a_worker_is_recycled_when_its_memory_grew_by_the_threshold() {
        let policy = ExecutionPolicy::default();
        let minute = Duration::from_secs(60);
        assert_eq!(policy.recycle_reason(5, minute, 128 * MB - 1), None);
        assert_eq!(
            policy.recycle_reason(5, minute, 128 * MB),
            Some(RecycleReason::MemoryGrowth)
        );
        let small = ExecutionPolicy {
            recycle_memory_growth_mb: 32,
            ..Default::default()
        };
        assert_eq!(small.recycle_reason(5, minute, 31 * MB), None);
        assert_eq!(
            small.recycle_reason(5, minute, 64 * MB),
            Some(RecycleReason::MemoryGrowth)
        );
    }

    #[test]
    fn a_worker_is_recycled_once_it_is_the_policys_age() {
        let policy = ExecutionPolicy::default();
        assert_eq!(
            policy.recycle_reason(5, Duration::from_secs(3_599), 0),
            None
        );
        assert_eq!(
            policy.recycle_reason(5, Duration::from_secs(3_600), 0),
            Some(RecycleReason::Age)
        );
        assert_eq!(
            policy.recycle_reason(0, Duration::from_secs(86_400), 0),
            Some(RecycleReason::Age)
        );
    }

    #[test]
    fn each_rule_is_off_at_zero() {
        let (many, old, grown) = (u64::MAX, Duration::MAX, u64::MAX);
        let off = ExecutionPolicy {
            recycle_after: 0,
            recycle_memory_growth_mb: 0,
            recycle_age: Duration::ZERO,
            ..Default::default()
        };
        assert!(!off.recycles_by_memory());
        assert_eq!(off.recycle_reason(many, old, grown), None);
        // One rule on at a time: only it ever answers.
        let count = ExecutionPolicy {
            recycle_after: 3,
            ..off.clone()
        };
        assert_eq!(count.recycle_reason(2, old, grown), None);
        assert_eq!(
            count.recycle_reason(3, old, grown),
            Some(RecycleReason::Executions)
        );
        let memory = ExecutionPolicy {
            recycle_memory_growth_mb: 1,
            ..off.clone()
        };
        assert_eq!(memory.recycle_reason(many, old, MB - 1), None);
        assert_eq!(
            memory.recycle_reason(many, old, MB),
            Some(RecycleReason::MemoryGrowth)
        );
        let age = ExecutionPolicy {
            recycle_age: Duration::from_secs(1),
            ..off
        };
        assert_eq!(
            age.recycle_reason(many, Duration::from_millis(999), grown),
            None
        );
        assert_eq!(
            age.recycle_reason(many, Duration::from_secs(1), grown),
            Some(RecycleReason::Age)
        );
    }

    #[test]
    fn memory_growth_comes_first_then_the_count_then_the_age() {
        let policy = ExecutionPolicy {
            recycle_after: 10,
            recycle_memory_growth_mb: 64,
            recycle_age: Duration::from_secs(60),
            ..Default::default()
        };
        let old = Duration::from_secs(61);
        assert_eq!(
            policy.recycle_reason(10, old, 64 * MB),
            Some(RecycleReason::MemoryGrowth)
        );
        assert_eq!(
            policy.recycle_reason(10, Duration::ZERO, 64 * MB),
            Some(RecycleReason::MemoryGrowth)
        );
        assert_eq!(
            policy.recycle_reason(0, old, 64 * MB),
            Some(RecycleReason::MemoryGrowth)
        );
        assert_eq!(
            policy.recycle_reason(10, old, 0),
            Some(RecycleReason::Executions)
        );
        assert_eq!(policy.recycle_reason(9, old, 0), Some(RecycleReason::Age));
        assert_eq!(RecycleReason::MemoryGrowth.as_str(), "memory_growth");
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
