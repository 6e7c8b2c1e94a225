//! What the executor counts, in Prometheus text (`GET /metrics`): executions by kind and outcome, their
//! latency, cache hits, the workers of each instance's pool and the state of each circuit breaker.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// action, provider or evaluator.
    pub kind: String,
    /// ok, error, timeout or refused (quota, rate, breaker).
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct InstanceLabels {
    pub instance: String,
}

pub struct Metrics {
    registry: Registry,
    pub executions: Family<OutcomeLabels, Counter>,
    pub latency: Histogram,
    pub cache_hits: Counter,
    pub pool_workers: Family<InstanceLabels, Gauge>,
    /// 0 closed, 1 half-open, 2 open.
    pub breaker_state: Family<InstanceLabels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Metrics {
        let mut registry = Registry::with_prefix("plughub");
        let executions = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "executions",
            "Executions of plugin components, by kind and outcome",
            executions.clone(),
        );
        let latency = Histogram::new([
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            30.0,
        ]);
        registry.register(
            "execution_duration_seconds",
            "Time from request to answer of executions that ran",
            latency.clone(),
        );
        let cache_hits = Counter::default();
        registry.register(
            "cache_hits",
            "Executions answered from the result cache",
            cache_hits.clone(),
        );
        let pool_workers = Family::<InstanceLabels, Gauge>::default();
        registry.register(
            "pool_workers",
            "Workers alive per instance",
            pool_workers.clone(),
        );
        let breaker_state = Family::<InstanceLabels, Gauge>::default();
        registry.register(
            "breaker_state",
            "Circuit breaker per instance: 0 closed, 1 half-open, 2 open",
            breaker_state.clone(),
        );
        Metrics {
            registry,
            executions,
            latency,
            cache_hits,
            pool_workers,
            breaker_state,
        }
    }
}

impl Metrics {
    pub fn count(&self, kind: &str, outcome: &str) {
        self.executions
            .get_or_create(&OutcomeLabels {
                kind: kind.into(),
                outcome: outcome.into(),
            })
            .inc();
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String does not fail");
        out
    }
}
