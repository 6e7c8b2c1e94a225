//! Log lines on stderr: text for people, or JSON for a collector. In JSON each line carries the fields
//! of the spans it happened in (an HTTP request's `request_id`, a run's `execution_id`), so every line
//! of one request or run can be found by its id.

use crate::cli::{LogFormat, LoggingArgs};
use anyhow::{Context, Result};
use tracing_subscriber::EnvFilter;

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

pub fn init(args: &LoggingArgs, serving: bool) -> Result<()> {
    let filter = filter(args, serving)?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match args.log_format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(false)
            .with_span_list(true)
            .init(),
    }
    Ok(())
}
