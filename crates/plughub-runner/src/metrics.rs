//! What the runner counts, for `GET /metrics`: executions by plugin, component kind and outcome with
//! their duration, warm workers (alive, started, replaced, ended and why) and their cold-start time, and
//! waits for one of the plan's concurrency slots. The server registers these with its own series.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ExecutionLabels {
    pub plugin: String,
    /// action, provider, evaluator, model or route.
    pub kind: String,
    /// ok, plugin_error, timeout, worker_died, did_not_start, cache_hit, or refused_quota, refused_rate,
    /// refused_breaker, refused_permission, refused_config, refused_state.
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CauseLabels {
    /// Why a warm worker ended: recycled, idle, changed, died.
    pub cause: String,
}

fn seconds_buckets() -> impl Iterator<Item = f64> {
    [
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
        60.0, 300.0,
    ]
    .into_iter()
}

#[derive(Clone)]
pub struct Metrics {
    pub executions: Family<ExecutionLabels, Counter>,
    pub execution_seconds: Family<ExecutionLabels, Histogram>,
    pub retries: Counter,
    pub warm_workers: Gauge,
    pub workers_started: Counter,
    pub workers_ended: Family<CauseLabels, Counter>,
    pub cold_start_seconds: Histogram,
    pub slot_waits: Counter,
    pub slot_wait_seconds: Histogram,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics {
            executions: Family::default(),
            execution_seconds: Family::new_with_constructor(|| Histogram::new(seconds_buckets())),
            retries: Counter::default(),
            warm_workers: Gauge::default(),
            workers_started: Counter::default(),
            workers_ended: Family::default(),
            cold_start_seconds: Histogram::new(seconds_buckets()),
            slot_waits: Counter::default(),
            slot_wait_seconds: Histogram::new(seconds_buckets()),
        }
    }
}

impl Metrics {
    /// Adds these series to `registry` (prefixed `plughub_` by the server's registry).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "executions",
            "Executions of plugin components, by plugin, kind and outcome",
            self.executions.clone(),
        );
        registry.register(
            "execution_duration_seconds",
            "Time from request to answer of executions, by plugin, kind and outcome",
            self.execution_seconds.clone(),
        );
        registry.register(
            "execution_retries",
            "Attempts retried after a retryable failure",
            self.retries.clone(),
        );
        registry.register(
            "warm_workers",
            "Plugin workers kept warm on this server",
            self.warm_workers.clone(),
        );
        registry.register(
            "workers_started",
            "Plugin workers started (cold starts)",
            self.workers_started.clone(),
        );
        registry.register(
            "workers_ended",
            "Warm plugin workers ended, by cause",
            self.workers_ended.clone(),
        );
        registry.register(
            "worker_cold_start_seconds",
            "Time to start a plugin worker: Node, the plugin's load, its init and services",
            self.cold_start_seconds.clone(),
        );
        registry.register(
            "slot_waits",
            "Executions that waited for one of their plan's concurrency slots",
            self.slot_waits.clone(),
        );
        registry.register(
            "slot_wait_seconds",
            "Time executions waited for a concurrency slot",
            self.slot_wait_seconds.clone(),
        );
    }

    /// Counts an execution (or a refusal) of `kind` of `plugin` ending in `outcome`, with its time when
    /// it ran.
    pub fn execution(&self, plugin: &str, kind: &str, outcome: &str, seconds: Option<f64>) {
        let labels = ExecutionLabels {
            plugin: plugin.into(),
            kind: kind.into(),
            outcome: outcome.into(),
        };
        self.executions.get_or_create(&labels).inc();
        if let Some(seconds) = seconds {
            self.execution_seconds
                .get_or_create(&labels)
                .observe(seconds);
        }
    }

    pub fn worker_ended(&self, cause: &str) {
        self.workers_ended
            .get_or_create(&CauseLabels {
                cause: cause.into(),
            })
            .inc();
    }
}
