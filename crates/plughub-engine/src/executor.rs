//! One execution under every rule of the execution policy, in order: the plan's daily quota, the
//! instance's per-minute rate, its circuit breaker, the plan's concurrency, the result cache (for
//! cacheable components), then a worker from the instance's pool, with retries and backoff when a worker
//! dies under it. The store is the caller's: it passes what ran today and records what happened.

use crate::EngineError;
use crate::cache::{CacheKey, ResultCache};
use crate::metrics::{InstanceLabels, Metrics};
use crate::plugin::{Invocation, PluginSpec};
use crate::pool::{Pool, PoolConfig};
use crate::runtime::RuntimeHost;
use plughub_domain::Plan;
use plughub_domain::execution_policy::{Breaker, BreakerState, ExecutionPolicy, RateWindow};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComponentKind {
    Action,
    Provider,
    Evaluator,
}

/// What to run, for whom.
#[derive(Debug, Clone)]
pub struct ExecutionRequest {
    pub instance_id: String,
    pub group_id: String,
    pub plan: Plan,
    pub plugin: String,
    pub version: String,
    pub kind: ComponentKind,
    pub name: String,
    pub memory: Value,
    /// Declared cacheable: its result may be served from the cache.
    pub cacheable: bool,
    /// Executions of the group today (UTC), for the daily quota.
    pub ran_today: u64,
    pub timeout: Option<Duration>,
}

#[derive(Debug, Clone)]
pub struct Execution {
    pub invocation: Invocation,
    pub cache_hit: bool,
    pub attempts: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error(
        "the daily quota of the {plan} plan is used up ({limit} executions); it resets at midnight UTC"
    )]
    QuotaExceeded { plan: Plan, limit: u64 },
    #[error("this plugin ran {limit} times in the last minute; try again in {} s", .retry_in.as_secs().max(1))]
    RateLimited { limit: usize, retry_in: Duration },
    #[error("this plugin failed {failures} times in a row; its circuit is open for {} s more", .retry_in.as_secs().max(1))]
    BreakerOpen { failures: u32, retry_in: Duration },
    #[error(transparent)]
    Engine(#[from] EngineError),
}

#[derive(Default)]
struct InstanceState {
    breaker: Breaker,
    window: RateWindow,
}

pub struct Executor {
    policy: ExecutionPolicy,
    pool_config: PoolConfig,
    pools: Mutex<HashMap<String, Arc<Pool>>>,
    instances: Mutex<HashMap<String, InstanceState>>,
    groups: Mutex<HashMap<String, Arc<Semaphore>>>,
    cache: Mutex<ResultCache>,
    epoch: Instant,
    metrics: Metrics,
}

impl Executor {
    pub fn new(policy: ExecutionPolicy, pool_config: PoolConfig) -> Executor {
        Executor {
            policy,
            pool_config,
            pools: Mutex::default(),
            instances: Mutex::default(),
            groups: Mutex::default(),
            cache: Mutex::new(ResultCache::default()),
            epoch: Instant::now(),
            metrics: Metrics::default(),
        }
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Runs one component under the policy. `spec` and `runtime` start the instance's workers when it
    /// has none yet.
    pub async fn execute(
        &self,
        request: &ExecutionRequest,
        spec: impl FnOnce() -> PluginSpec,
        runtime: Arc<dyn RuntimeHost>,
    ) -> Result<Execution, ExecError> {
        let outcome = self.run(request, spec, runtime).await;
        let kind = match request.kind {
            ComponentKind::Action => "action",
            ComponentKind::Provider => "provider",
            ComponentKind::Evaluator => "evaluator",
        };
        let label = match &outcome {
            Ok(e) if e.cache_hit => {
                self.metrics.cache_hits.inc();
                "ok"
            }
            Ok(e) => {
                self.metrics.latency.observe(e.invocation.duration_ms / 1e3);
                "ok"
            }
            Err(ExecError::Engine(EngineError::Timeout { .. })) => "timeout",
            Err(ExecError::Engine(_)) => "error",
            Err(_) => "refused",
        };
        self.metrics.count(kind, label);
        let instance = InstanceLabels {
            instance: request.instance_id.clone(),
        };
        self.metrics
            .pool_workers
            .get_or_create(&instance)
            .set(self.pool_size(&request.instance_id) as i64);
        let state = match self.breaker_state(&request.instance_id) {
            BreakerState::Closed => 0,
            BreakerState::HalfOpen => 1,
            BreakerState::Open => 2,
        };
        self.metrics
            .breaker_state
            .get_or_create(&instance)
            .set(state);
        outcome
    }

    async fn run(
        &self,
        request: &ExecutionRequest,
        spec: impl FnOnce() -> PluginSpec,
        runtime: Arc<dyn RuntimeHost>,
    ) -> Result<Execution, ExecError> {
        if !self
            .policy
            .within_daily_quota(request.plan, request.ran_today)
        {
            return Err(ExecError::QuotaExceeded {
                plan: request.plan,
                limit: self
                    .policy
                    .limits(request.plan)
                    .executions_per_day
                    .unwrap_or(0),
            });
        }
        {
            let now = self.now_ms();
            let mut instances = self.instances.lock().expect("not poisoned");
            let state = instances.entry(request.instance_id.clone()).or_default();
            if let Err(retry_in) = state.breaker.allow(now, &self.policy) {
                return Err(ExecError::BreakerOpen {
                    failures: self.policy.breaker_failures,
                    retry_in,
                });
            }
            let limit = self.policy.executions_per_minute;
            // 0: the operator set no limit.
            if limit > 0
                && let Err(retry_in) = state.window.try_hit(now, limit)
            {
                return Err(ExecError::RateLimited { limit, retry_in });
            }
        }
        let key = CacheKey::new(
            &request.instance_id,
            &request.plugin,
            &request.version,
            &request.name,
            &request.memory["content"],
        );
        if request.cacheable {
            let hit = self
                .cache
                .lock()
                .expect("not poisoned")
                .get(&key, self.now_ms());
            if let Some(result) = hit {
                return Ok(Execution {
                    invocation: Invocation {
                        result,
                        callbacks: Vec::new(),
                        duration_ms: 0.0,
                        memory_bytes: None,
                    },
                    cache_hit: true,
                    attempts: 0,
                });
            }
        }
        let slots = self.group_slots(&request.group_id, request.plan);
        let _slot = slots.acquire().await.expect("semaphores are never closed");
        let pool = self.pool(&pool_key(request), spec, runtime);
        let timeout = self.policy.timeout(request.plan, request.timeout);

        let mut attempts = 0;
        let outcome = loop {
            attempts += 1;
            let result = async {
                let lease = pool.acquire().await?;
                let plugin = lease.plugin();
                let memory = request.memory.clone();
                match request.kind {
                    ComponentKind::Action => {
                        plugin
                            .invoke_action(&request.name, memory, timeout, None)
                            .await
                    }
                    ComponentKind::Provider => {
                        plugin.get_provider(&request.name, memory, timeout).await
                    }
                    ComponentKind::Evaluator => {
                        plugin
                            .invoke_evaluator(&request.name, memory, timeout)
                            .await
                    }
                }
            }
            .await;
            match result {
                // A worker that died under the execution is replaced; the execution is tried again.
                Err(EngineError::Exited { .. }) if attempts <= self.policy.retries => {
                    tokio::time::sleep(self.policy.backoff(attempts)).await;
                }
                other => break other,
            }
        };
        {
            let now = self.now_ms();
            let mut instances = self.instances.lock().expect("not poisoned");
            let state = instances.entry(request.instance_id.clone()).or_default();
            state.breaker.record(outcome.is_ok(), now, &self.policy);
        }
        let invocation = outcome?;
        if request.cacheable {
            self.cache.lock().expect("not poisoned").put(
                key,
                invocation.result.clone(),
                self.now_ms(),
            );
        }
        Ok(Execution {
            invocation,
            cache_hit: false,
            attempts,
        })
    }

    fn pool(
        &self,
        key: &str,
        spec: impl FnOnce() -> PluginSpec,
        runtime: Arc<dyn RuntimeHost>,
    ) -> Arc<Pool> {
        self.pools
            .lock()
            .expect("not poisoned")
            .entry(key.to_string())
            .or_insert_with(|| Arc::new(Pool::new(spec(), runtime, self.pool_config)))
            .clone()
    }

    /// The plan's concurrent executions for a group, shared by all its instances.
    fn group_slots(&self, group_id: &str, plan: Plan) -> Arc<Semaphore> {
        let limit = self.policy.limits(plan).concurrent_executions as usize;
        self.groups
            .lock()
            .expect("not poisoned")
            .entry(group_id.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(limit.max(1))))
            .clone()
    }

    /// After an update or rollback: cached results of the plugin are dropped and its instances' workers
    /// ended, so the next execution runs the new version.
    pub fn invalidate(&self, plugin: &str, instance_ids: &[String]) {
        self.cache
            .lock()
            .expect("not poisoned")
            .clear_plugin(plugin);
        let mut pools = self.pools.lock().expect("not poisoned");
        pools.retain(|key, _| !instance_ids.iter().any(|id| pool_of(key) == id.as_str()));
    }

    pub fn breaker_state(&self, instance_id: &str) -> BreakerState {
        self.instances
            .lock()
            .expect("not poisoned")
            .get(instance_id)
            .map_or(BreakerState::Closed, |s| s.breaker.state())
    }

    /// Workers alive for an instance.
    pub fn pool_size(&self, instance_id: &str) -> usize {
        self.pools
            .lock()
            .expect("not poisoned")
            .iter()
            .filter(|(key, _)| pool_of(key) == instance_id)
            .map(|(_, p)| p.size())
            .sum()
    }

    /// Ends idle workers beyond each pool's minimum; returns how many.
    pub fn reap_idle(&self) -> usize {
        let pools: Vec<Arc<Pool>> = self
            .pools
            .lock()
            .expect("not poisoned")
            .values()
            .cloned()
            .collect();
        pools.iter().map(|p| p.reap_idle()).sum()
    }
}

/// Workers carry the settings and runtime of one instance for one agent: a pool per pair.
fn pool_key(request: &ExecutionRequest) -> String {
    let agent = request.memory["agentId"].as_str().unwrap_or_default();
    format!("{}\u{1f}{agent}", request.instance_id)
}

fn pool_of(key: &str) -> &str {
    key.split('\u{1f}').next().unwrap_or(key)
}
