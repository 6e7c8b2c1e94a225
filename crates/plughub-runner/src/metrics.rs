//! What the runner counts, for `GET /metrics`: executions by plugin, component kind and outcome with
//! their duration, warm workers (alive, started, replaced, ended and why) and their cold-start time,
//! waits for one of the plan's concurrency slots, and the requests of the egress proxy (by plugin and
//! result, with their bytes). The server registers these with its own series. Labels hold only values
//! from a fixed set, or the plugin's name (bounded by what is installed): never a host, an organisation
//! or a path.

use plughub_domain::execution_policy::RecycleReason;
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
    /// Why a warm worker ended: recycled (after the policy's count of executions), recycled_memory
    /// (its memory grew by the policy's threshold), recycled_age (it reached the policy's age), idle,
    /// changed, died, evicted (the node kept its most), or shutdown.
    pub cause: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EgressLabels {
    pub plugin: String,
    /// ok, cut_budget (tunnelled, then cut at the execution's byte budget), refused_destination (a host
    /// not granted, or an address not allowed), refused_rate, refused_budget, unreachable, bad_request.
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BytesLabels {
    pub plugin: String,
    /// up (from the plugin) or down (to it).
    pub direction: &'static str,
}

/// Why warm workers end; each is counted from 0, so that a rate of any of them is there from the start.
const END_CAUSES: [&str; 8] = [
    "recycled",
    "recycled_memory",
    "recycled_age",
    "idle",
    "changed",
    "died",
    "evicted",
    "shutdown",
];

/// The cause a worker recycled for `reason` ends with.
pub fn recycled_cause(reason: RecycleReason) -> &'static str {
    match reason {
        RecycleReason::Executions => "recycled",
        RecycleReason::MemoryGrowth => "recycled_memory",
        RecycleReason::Age => "recycled_age",
    }
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
    pub egress_requests: Family<EgressLabels, Counter>,
    pub egress_bytes: Family<BytesLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Metrics {
        let workers_ended = Family::<CauseLabels, Counter>::default();
        for cause in END_CAUSES {
            workers_ended
                .get_or_create(&CauseLabels {
                    cause: cause.into(),
                })
                .inc_by(0);
        }
        Metrics {
            executions: Family::default(),
            execution_seconds: Family::new_with_constructor(|| Histogram::new(seconds_buckets())),
            retries: Counter::default(),
            warm_workers: Gauge::default(),
            workers_started: Counter::default(),
            workers_ended,
            cold_start_seconds: Histogram::new(seconds_buckets()),
            slot_waits: Counter::default(),
            slot_wait_seconds: Histogram::new(seconds_buckets()),
            egress_requests: Family::default(),
            egress_bytes: Family::default(),
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
        registry.register(
            "egress_requests",
            "Requests of plugins through the egress proxy, by plugin and result (refusals included)",
            self.egress_requests.clone(),
        );
        registry.register(
            "egress_bytes",
            "Bytes relayed by the egress proxy, by plugin and direction",
            self.egress_bytes.clone(),
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

    /// Counts a request through the egress proxy of `plugin`'s worker, and the bytes it relayed.
    pub fn egress(&self, plugin: &str, record: &plughub_engine::EgressRecord) {
        self.egress_requests
            .get_or_create(&EgressLabels {
                plugin: plugin.into(),
                result: egress_result(record).into(),
            })
            .inc();
        for (direction, bytes) in [("up", record.bytes_up), ("down", record.bytes_down)] {
            if bytes > 0 {
                self.egress_bytes
                    .get_or_create(&BytesLabels {
                        plugin: plugin.into(),
                        direction,
                    })
                    .inc_by(bytes);
            }
        }
    }

    /// Counts a warm worker replaced by a fresh one for `reason`.
    pub fn worker_recycled(&self, reason: RecycleReason) {
        self.worker_ended(recycled_cause(reason));
    }

    pub fn worker_ended(&self, cause: &str) {
        debug_assert!(END_CAUSES.contains(&cause), "{cause} is not in END_CAUSES");
        self.workers_ended
            .get_or_create(&CauseLabels {
                cause: cause.into(),
            })
            .inc();
    }
}

/// A request's result by the proxy's answer (see `EgressRecord::status`), never by its words.
fn egress_result(record: &plughub_engine::EgressRecord) -> &'static str {
    match record.status {
        200 if record.refusal.is_some() => "cut_budget",
        200 => "ok",
        403 => "refused_destination",
        429 if record.admitted => "refused_budget",
        429 => "refused_rate",
        502 => "unreachable",
        _ => "bad_request",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(status: u16, refusal: Option<&str>, admitted: bool) -> plughub_engine::EgressRecord {
        plughub_engine::EgressRecord {
            host: "api.example.com".into(),
            port: 443,
            method: "CONNECT".into(),
            status,
            bytes_up: 0,
            bytes_down: 0,
            refusal: refusal.map(String::from),
            admitted,
        }
    }

    #[test]
    fn egress_results_come_from_the_proxy_answer() {
        assert_eq!(egress_result(&record(200, None, true)), "ok");
        assert_eq!(egress_result(&record(200, Some("cut"), true)), "cut_budget");
        assert_eq!(
            egress_result(&record(403, Some("no"), true)),
            "refused_destination"
        );
        assert_eq!(
            egress_result(&record(429, Some("rate"), false)),
            "refused_rate"
        );
        assert_eq!(
            egress_result(&record(429, Some("spent"), true)),
            "refused_budget"
        );
        assert_eq!(
            egress_result(&record(502, Some("down"), true)),
            "unreachable"
        );
        assert_eq!(
            egress_result(&record(405, Some("GET"), false)),
            "bad_request"
        );
    }

    #[test]
    fn each_recycling_reason_is_a_cause_of_its_own_counted_from_zero() {
        let metrics = Metrics::default();
        metrics.worker_recycled(RecycleReason::Age);
        let mut registry = Registry::with_prefix("plughub");
        metrics.register(&mut registry);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        for (cause, count) in [("recycled", 0), ("recycled_memory", 0), ("recycled_age", 1)] {
            assert!(
                text.contains(&format!(
                    "plughub_workers_ended_total{{cause=\"{cause}\"}} {count}"
                )),
                "{cause}: {text}"
            );
        }
        let causes: std::collections::BTreeSet<_> = [
            RecycleReason::Executions,
            RecycleReason::MemoryGrowth,
            RecycleReason::Age,
        ]
        .into_iter()
        .map(recycled_cause)
        .collect();
        assert_eq!(causes.len(), 3);
        assert!(causes.iter().all(|c| END_CAUSES.contains(c)));
    }

    #[test]
    fn bytes_are_counted_by_direction_and_no_host_is_a_label() {
        let metrics = Metrics::default();
        let mut ok = record(200, None, true);
        ok.bytes_up = 120;
        ok.bytes_down = 2_000;
        metrics.egress("@acme/plugin-x", &ok);
        metrics.egress("@acme/plugin-x", &record(403, Some("no"), true));
        let mut registry = Registry::with_prefix("plughub");
        metrics.register(&mut registry);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(
            text.contains(
                "plughub_egress_requests_total{plugin=\"@acme/plugin-x\",result=\"ok\"} 1"
            ),
            "{text}"
        );
        assert!(text.contains(
            "plughub_egress_requests_total{plugin=\"@acme/plugin-x\",result=\"refused_destination\"} 1"
        ), "{text}");
        assert!(
            text.contains(
                "plughub_egress_bytes_total{plugin=\"@acme/plugin-x\",direction=\"down\"} 2000"
            ),
            "{text}"
        );
        assert!(!text.contains("api.example.com"), "{text}");
    }
}
