#![doc = include_str!("../README.md")]

mod admission;
mod cache;
mod calling_agent;
mod dev;
mod egress;
mod error;
mod execute;
mod hints;
mod invoke;
mod launch;
mod manifest;
mod metrics;
mod models;
mod request;
mod runtime;
mod slots;
mod warm;

pub use cache::CACHE_CAPACITY;
pub use calling_agent::{AgentCall, CONVERSATION_CALLS, CallingAgent, answered_by_agent};
pub use dev::{DevRun, ScriptedModels};
pub use egress::NetworkLog;
pub use error::{FailureCause, RunError};
pub use launch::Launched;
pub use metrics::Metrics;
pub use models::MAX_MODEL_DEPTH;
pub use request::{Component, ExecutionRequest, Outcome};
pub use runtime::StoreRuntime;

use plughub_domain::execution_policy::ExecutionPolicy;
use plughub_engine::{EgressPolicy, SandboxPolicy, WorkerPool};
use plughub_lifecycle::Installer;
use plughub_secrets::KeyRing;
use std::path::PathBuf;
use std::sync::Arc;

/// Where workers come from and the figures they run under.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// The Node.js that runs workers.
    pub node: PathBuf,
    /// Where the host script and the workers' sockets go (owner-only).
    pub run_dir: PathBuf,
    pub policy: ExecutionPolicy,
    /// The OS sandbox workers start in (its memory limit is the plan's); `None` runs them as plain
    /// processes, which only an operator's explicit choice does.
    pub sandbox: Option<SandboxPolicy>,
    /// The egress proxy's figures (rate, byte budget, trusted addresses, domains mapped to stubs on
    /// loopback); each plugin's domains are its `network.external` grant.
    pub egress: EgressPolicy,
}

/// Runs installed plugins' components: the one path of every execution (see the crate's README). Cheap
/// to clone: model routers and background tasks keep one.
#[derive(Clone)]
pub struct Runner(Arc<Inner>);

struct Inner {
    installer: Installer,
    keys: Arc<KeyRing>,
    config: RunnerConfig,
    warm: warm::WarmPool,
    slots: slots::Slots,
    cache: cache::ResultCache,
    hints: hints::HintsCache,
    metrics: Metrics,
    /// What `plughub dev test` changes (scripted models, its environment); never on a server.
    dev: Option<DevRun>,
    /// Workers booted ahead of need (a server's; a command that runs once boots what it runs).
    booted: Option<Arc<WorkerPool>>,
}

impl Runner {
    pub fn new(installer: Installer, keys: KeyRing, config: RunnerConfig) -> Runner {
        let slots = slots::Slots::new(installer.store().clone());
        Runner(Arc::new(Inner {
            installer,
            keys: Arc::new(keys),
            config,
            warm: Default::default(),
            slots,
            cache: Default::default(),
            hints: Default::default(),
            metrics: Metrics::default(),
            dev: None,
            booted: None,
        }))
    }

    /// This runner keeping `per_spec` workers booted ahead of need for each set of limits it has run
    /// plugins under lately (a server's runner; 0 keeps none). Before it is shared.
    pub fn with_booted_workers(mut self, per_spec: usize) -> Runner {
        let inner =
            Arc::get_mut(&mut self.0).expect("with_booted_workers is called on a new runner");
        inner.booted =
            (per_spec > 0).then(|| WorkerPool::new(per_spec, inner.config.policy.worker_idle));
        self
    }

    /// Workers booted ahead of need, when this runner keeps them.
    pub(crate) fn booted_workers(&self) -> Option<Arc<WorkerPool>> {
        self.0.booted.clone()
    }

    /// This runner for `plughub dev test`: models answered from `dev`'s script, its environment added
    /// to the workers'. Before it is shared.
    pub fn with_dev(mut self, dev: DevRun) -> Runner {
        Arc::get_mut(&mut self.0)
            .expect("with_dev is called on a new runner")
            .dev = Some(dev);
        self
    }

    pub(crate) fn dev(&self) -> Option<&DevRun> {
        self.0.dev.as_ref()
    }

    /// Whether this runner can start workers now: its Node found, and its sandbox usable; each with
    /// what was found or why not (a server's readiness).
    pub fn readiness(&self) -> [(&'static str, Result<String, String>); 2] {
        let config = &self.0.config;
        [
            (
                "node",
                plughub_engine::readiness::node(&config.node).map(|p| p.display().to_string()),
            ),
            (
                "sandbox",
                plughub_engine::readiness::sandbox(config.sandbox.as_ref()),
            ),
        ]
    }

    pub fn installer(&self) -> &Installer {
        &self.0.installer
    }

    /// The keys that open the instances' secrets.
    pub fn keys(&self) -> &KeyRing {
        &self.0.keys
    }

    /// The same keys, shared with what else seals secrets on this server (webhook secrets).
    pub fn shared_keys(&self) -> Arc<KeyRing> {
        self.0.keys.clone()
    }

    pub fn policy(&self) -> &ExecutionPolicy {
        &self.0.config.policy
    }

    /// What this runner counts, for `GET /metrics`.
    pub fn metrics(&self) -> &Metrics {
        &self.0.metrics
    }

    pub(crate) fn config(&self) -> &RunnerConfig {
        &self.0.config
    }

    pub(crate) fn slots(&self) -> &slots::Slots {
        &self.0.slots
    }

    pub(crate) fn warm(&self) -> &warm::WarmPool {
        &self.0.warm
    }

    pub(crate) fn cache(&self) -> &cache::ResultCache {
        &self.0.cache
    }

    pub(crate) fn hints(&self) -> &hints::HintsCache {
        &self.0.hints
    }

    /// After a change of `plugin` in `org` made here (configure, grant, revoke, update, rollback,
    /// deactivate, uninstall): its warm workers end and its cached results go. Other servers' workers are
    /// replaced at their next run or reap, and their cached results miss (the cache key holds the
    /// version and a digest of the settings and grants).
    pub async fn forget(&self, org: &str, plugin: &str) {
        if let Ok((_, thing, _)) = self.installer().installed_instance(org, plugin).await {
            for _ in 0..self.warm().evict(&thing.id) {
                self.metrics().worker_ended("changed");
            }
            self.metrics().warm_workers.set(self.warm_workers() as i64);
            self.cache().clear_instance(&thing.id);
        }
    }
}
