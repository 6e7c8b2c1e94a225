//! Log lines on stderr: text for people, or JSON for a collector. In JSON each line carries the fields
//! of the spans it happened in (an HTTP request's `request_id`, a run's `execution_id`), so every line
//! of one request or run can be found by its id. Spans may also go to an OTLP collector.

use crate::cli::{LogFormat, LoggingArgs};
use anyhow::{Context, Result};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use tracing_subscriber::layer::{Layered, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry, reload};

/// What is below the OTLP layer.
type Base = Layered<EnvFilter, Registry>;
type Otlp = tracing_opentelemetry::OpenTelemetryLayer<Base, opentelemetry_sdk::trace::Tracer>;

/// The OTLP layer, put in place once the process may start threads (its exporter runs on one of its
/// own, and `plughub serve` gives up root first, single-threaded).
pub struct Tracing {
    otlp: reload::Handle<Option<Otlp>, Base>,
    endpoint: Option<String>,
    provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

/// What is logged: `--log-level` (or `PLUGHUB_LOG_LEVEL`, or the file's `logging.level`), else
/// `RUST_LOG`, else info for the server and warn for the other commands.
pub fn filter(args: &LoggingArgs, serving: bool) -> Result<EnvFilter> {
    if let Some(level) = args.log_level.as_deref().filter(|l| !l.trim().is_empty()) {
        return EnvFilter::try_new(level).with_context(|| {
            format!("--log-level {level}: give a level (error, warn, info, debug, trace) or directives such as plughub=debug,info")
        });
    }
    if let Ok(filter) = EnvFilter::try_from_default_env() {
        return Ok(filter);
    }
    let level = if serving { "info" } else { "warn" };
    Ok(EnvFilter::new(format!("plughub={level},{level}")))
}

pub fn init(args: &LoggingArgs, serving: bool) -> Result<Tracing> {
    let filter = filter(args, serving)?;
    let (otlp, handle) = reload::Layer::new(None::<Otlp>);
    let lines = match args.log_format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(false)
            .with_span_list(true)
            .with_writer(std::io::stderr)
            .boxed(),
    };
    tracing_subscriber::registry()
        .with(filter)
        .with(otlp)
        .with(lines)
        .init();
    Ok(Tracing {
        otlp: handle,
        endpoint: args.otlp_endpoint.clone().filter(|e| !e.trim().is_empty()),
        provider: None,
    })
}

impl Tracing {
    /// Starts exporting spans when an endpoint was given.
    pub fn start_export(&mut self) -> Result<()> {
        let Some(endpoint) = &self.endpoint else {
            return Ok(());
        };
        let url = if endpoint.trim_end_matches('/').ends_with("/v1/traces") {
            endpoint.clone()
        } else {
            format!("{}/v1/traces", endpoint.trim_end_matches('/'))
        };
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_endpoint(&url)
            .build()
            .with_context(|| format!("--otlp-endpoint {endpoint}: cannot export spans there"))?;
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(
                opentelemetry_sdk::Resource::builder()
                    .with_service_name("plughub")
                    .build(),
            )
            .build();
        let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("plughub"));
        self.otlp
            .modify(|otlp| *otlp = Some(layer))
            .context("cannot start exporting spans")?;
        tracing::info!(endpoint = %url, "spans are exported over OTLP");
        self.provider = Some(provider);
        Ok(())
    }

    /// Sends what is left to the collector.
    pub fn finish(self) {
        if let Some(provider) = self.provider
            && let Err(e) = provider.shutdown()
        {
            eprintln!("warning: the last spans were not exported: {e}");
        }
    }
}
