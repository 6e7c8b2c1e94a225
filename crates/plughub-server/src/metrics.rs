//! The server's Prometheus series (`GET /metrics`): its HTTP requests by route template, method and
//! status with their latency; installs, updates and rollbacks by outcome; the catalogue's sync age and
//! last result, read from the store at each scrape (so a sync made by another server of the store
//! counts); the store's statement latency; and what the runner counts (executions, warm workers, cold
//! starts, slot waits, egress).

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Instant;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    /// The route's template (`/api/orgs/{org}/plugins`), never the path itself: names stay out of the
    /// series, and their number stays bounded.
    route: String,
    method: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InstallLabels {
    /// install, update or rollback.
    operation: &'static str,
    /// See `install_outcome`.
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SyncLabels {
    result: &'static str,
}

/// What a catalogue sync may end in, as the store records it; anything else shows as `other`.
const SYNC_RESULTS: [&str; 5] = ["ok", "partial", "failed", "starter", "other"];

pub struct ServerMetrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RequestLabels, Histogram>,
    installs: Family<InstallLabels, Counter>,
    sync_age: Gauge<f64, AtomicU64>,
    last_sync: Family<SyncLabels, Gauge>,
    starter_only: Gauge,
    catalog_plugins: Gauge,
}

impl ServerMetrics {
    /// The server's series and its store's, with the runner's when it runs plugins.
    pub fn new(
        runner: Option<&plughub_runner::Metrics>,
        store: &plughub_store::StoreMetrics,
    ) -> ServerMetrics {
        let mut registry = Registry::with_prefix("plughub");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route template, method and status",
            requests.clone(),
        );
        let latency = Family::<RequestLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                10.0, 30.0,
            ])
        });
        registry.register(
            "http_request_duration_seconds",
            "Time to answer HTTP requests (to the first byte of a stream), by route template, method and status",
            latency.clone(),
        );
        let installs = Family::<InstallLabels, Counter>::default();
        registry.register(
            "installs",
            "Installs, updates and rollbacks asked of the server, by operation and outcome",
            installs.clone(),
        );
        let sync_age = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "catalog_sync_age_seconds",
            "Seconds since the catalogue was last written by a sync (a live one, partial or not, or the \
             starter's seeding), by any server of the store; read at each scrape",
            sync_age.clone(),
        );
        let last_sync = Family::<SyncLabels, Gauge>::default();
        registry.register(
            "catalog_last_sync",
            "1 for the result of the newest catalogue sync in the store (ok, partial, failed, starter), 0 \
             for the others",
            last_sync.clone(),
        );
        let starter_only = Gauge::default();
        registry.register(
            "catalog_starter_only",
            "1 while the catalogue served is the starter carried by the binary (no live sync has \
             succeeded yet)",
            starter_only.clone(),
        );
        let catalog_plugins = Gauge::default();
        registry.register(
            "catalog_plugins",
            "Plugins in the catalogue this server searches",
            catalog_plugins.clone(),
        );
        store.register(&mut registry);
        if let Some(runner) = runner {
            runner.register(&mut registry);
        }
        ServerMetrics {
            registry,
            requests,
            latency,
            installs,
            sync_age,
            last_sync,
            starter_only,
            catalog_plugins,
        }
    }

    /// Counts an install, update or rollback that reached the installer, by how it ended.
    pub(crate) fn install<T>(
        &self,
        operation: &'static str,
        result: &Result<T, plughub_lifecycle::LifecycleError>,
        outcome: impl FnOnce(&T) -> &'static str,
    ) {
        let outcome = match result {
            Ok(done) => outcome(done),
            Err(e) => install_outcome(e),
        };
        self.installs
            .get_or_create(&InstallLabels { operation, outcome })
            .inc();
    }

    /// Sets the values read at scrape time: the catalogue's sync age and last result, from the store
    /// (one small query); the warm workers, from the runner.
    pub(crate) async fn refresh(&self, state: &crate::AppState) {
        self.catalog_plugins.set(state.catalog.index().len() as i64);
        match state.catalog.store().catalog_sync_summary().await {
            Ok(summary) => {
                let newest = summary
                    .newest_status
                    .as_deref()
                    .map(|s| SYNC_RESULTS.iter().find(|r| **r == s).unwrap_or(&"other"));
                for result in SYNC_RESULTS {
                    self.last_sync
                        .get_or_create(&SyncLabels { result })
                        .set(i64::from(newest == Some(&result)));
                }
                self.starter_only
                    .set(i64::from(summary.live_written_at.is_none()));
                let written = summary.live_written_at.or(summary.starter_written_at);
                if let Some(age) = written.as_deref().and_then(age_seconds) {
                    self.sync_age.set(age);
                }
            }
            // The rest of the series are still worth serving; the store's own trouble shows in its
            // latency and in the failed requests.
            Err(e) => tracing::warn!(error = %e, "/metrics: cannot read the catalogue's syncs"),
        }
        if let Some(lifecycle) = &state.lifecycle {
            let runner = &lifecycle.runner;
            runner
                .metrics()
                .warm_workers
                .set(runner.warm_workers() as i64);
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String does not fail");
        out
    }
}

/// Counts every request the router answers.
pub async fn track(
    State(metrics): State<Arc<ServerMetrics>>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let labels = RequestLabels {
        route,
        method,
        status: response.status().as_u16(),
    };
    metrics.requests.get_or_create(&labels).inc();
    metrics
        .latency
        .get_or_create(&labels)
        .observe(started.elapsed().as_secs_f64());
    response
}

/// Seconds from a time the store wrote (RFC 3339) to now; never negative (a writer's clock ahead).
fn age_seconds(at: &str) -> Option<f64> {
    let at =
        time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).ok()?;
    Some(
        (time::OffsetDateTime::now_utc() - at)
            .as_seconds_f64()
            .max(0.0),
    )
}

/// An install's, update's or rollback's outcome for the metrics: a fixed set, never the error's words.
fn install_outcome(e: &plughub_lifecycle::LifecycleError) -> &'static str {
    use plughub_install::InstallError as I;
    use plughub_lifecycle::LifecycleError as E;
    match e {
        E::TooRisky { .. } => "refused_risk",
        E::RateLimited { .. } => "refused_rate",
        E::NeedsGrant { .. } => "refused_permission",
        E::AlreadyInstalled { .. } => "already_installed",
        E::NothingToRollBack { .. } => "nothing_to_roll_back",
        E::UnknownOrg(_)
        | E::NotInstalled { .. }
        | E::Install(
            I::NotOnNpm { .. }
            | I::NotPublished { .. }
            | I::NoTarget { .. }
            | I::NoCompatible { .. },
        ) => "not_found",
        E::Install(
            I::IntegrityMismatch { .. }
            | I::BadIntegrity { .. }
            | I::Unsafe(_)
            | I::NoTarball { .. },
        ) => "refused_package",
        E::Install(I::NotAPlugin { .. }) => "refused_not_a_plugin",
        E::Dependencies(_)
        | E::DependencyUnavailable { .. }
        | E::DependencyFailed { .. }
        | E::HasDependents { .. }
        | E::RollbackNeeds { .. } => "refused_dependencies",
        E::Transition(_) | E::NotRunnable { .. } => "refused_state",
        _ => "failed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_are_counted_from_the_store_time() {
        let ten_ago = plughub_store::format_time(
            time::OffsetDateTime::now_utc() - time::Duration::seconds(10),
        );
        let age = age_seconds(&ten_ago).unwrap();
        assert!((9.0..20.0).contains(&age), "{age}");
        let ahead = plughub_store::format_time(
            time::OffsetDateTime::now_utc() + time::Duration::seconds(60),
        );
        assert_eq!(age_seconds(&ahead), Some(0.0));
        assert_eq!(age_seconds("yesterday"), None);
    }

    #[test]
    fn install_outcomes_say_what_refused() {
        use plughub_lifecycle::LifecycleError as E;
        let risky = E::TooRisky {
            plugin: "p".into(),
            version: "1.0.0".into(),
            score: 80,
            threshold: 50,
        };
        assert_eq!(install_outcome(&risky), "refused_risk");
        let missing = E::Install(plughub_install::InstallError::NotOnNpm {
            name: "p".into(),
            registry: "r".into(),
        });
        assert_eq!(install_outcome(&missing), "not_found");
        let exists = E::AlreadyInstalled {
            plugin: "p".into(),
            org: "o".into(),
            version: "1.0.0".into(),
        };
        assert_eq!(install_outcome(&exists), "already_installed");
    }
}
