//! The server's Prometheus series (`GET /metrics`): its HTTP requests by route template, method and
//! status with their latency, and what the runner counts (executions, warm workers, slot waits).

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::time::Instant;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    /// The route's template (`/api/orgs/{org}/plugins`), never the path itself: names stay out of the
    /// series, and their number stays bounded.
    route: String,
    method: String,
    status: u16,
}

pub struct ServerMetrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RequestLabels, Histogram>,
}

impl ServerMetrics {
    /// The server's series, with the runner's when it runs plugins.
    pub fn new(runner: Option<&plughub_runner::Metrics>) -> ServerMetrics {
        let mut registry = Registry::with_prefix("plughub");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route template, method and status",
            requests.clone(),
        );
        let latency = Family::<RequestLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(
                [
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                    10.0, 30.0,
                ]
                .into_iter(),
            )
        });
        registry.register(
            "http_request_duration_seconds",
            "Time to answer HTTP requests (to the first byte of a stream), by route template, method and status",
            latency.clone(),
        );
        if let Some(runner) = runner {
            runner.register(&mut registry);
        }
        ServerMetrics {
            registry,
            requests,
            latency,
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
