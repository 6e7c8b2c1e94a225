//! `plughub logs`: an organisation's executions with their logs, from the store (every server's).

use crate::cli::{LogsArgs, StoreArgs};
use crate::context;
use crate::output::{self, out};
use anyhow::{Result, anyhow};
use plughub_store::EventFilter;
use serde_json::Value;
use std::time::Duration;

/// How often `--follow` asks the store for new executions.
const FOLLOW_EVERY: Duration = Duration::from_millis(500);

pub async fn run(store_args: &StoreArgs, args: LogsArgs) -> Result<()> {
    let store = context::open_store(store_args).await?;
    let group = store.group_by_name(&args.org).await?.ok_or_else(|| {
        anyhow!(
            "no organisation named '{}' (see `plughub admin orgs`)",
            args.org
        )
    })?;
    let filter = EventFilter {
        group_id: Some(group.id.clone()),
        executions_only: true,
        ..Default::default()
    };
    let keep = |e: &plughub_domain::StoredEvent| {
        args.plugin
            .as_deref()
            .is_none_or(|p| e.metadata["plugin"] == p)
    };
    // Where following starts: after the newest event of the organisation's, shown or not.
    let newest = store
        .last_event_seq(&EventFilter {
            executions_only: false,
            ..filter.clone()
        })
        .await?;
    let mut cursor = plughub_store::EventCursor::after(newest);
    let mut shown: Vec<_> = match args.plugin {
        // The last ones only, read newest first.
        None => store
            .events(&EventFilter {
                newest_first: true,
                limit: Some(i64::try_from(args.last).unwrap_or(i64::MAX)),
                ..filter.clone()
            })
            .await?
            .into_iter()
            .rev()
            .collect(),
        Some(_) => store
            .events(&filter)
            .await?
            .into_iter()
            .filter(|e| keep(e))
            .collect(),
    };
    // Recorded after `newest` was read: the follow loop shows those.
    shown.retain(|e| e.seq <= newest);
    shown.drain(..shown.len().saturating_sub(args.last));
    for event in &shown {
        print_execution(&serde_json::to_value(event)?, args.json)?;
    }
    if !args.follow {
        return Ok(());
    }
    loop {
        tokio::time::sleep(FOLLOW_EVERY).await;
        let filter = EventFilter {
            after_seq: Some(cursor.read_from()),
            ..filter.clone()
        };
        for event in cursor.fresh(store.events(&filter).await?) {
            if event.is_execution() && keep(&event) {
                print_execution(&serde_json::to_value(&event)?, args.json)?;
            }
        }
    }
}

/// One execution event: a line with when, who, what and how it went, then its log lines indented.
pub fn print_execution(event: &Value, json: bool) -> Result<()> {
    if json {
        return output::print_json_line(event);
    }
    let m = &event["metadata"];
    let text = |v: &Value| v.as_str().unwrap_or("").to_string();
    let outcome = match m["status"].as_str() {
        Some("ok") => format!("ok in {:.1} ms", m["duration_ms"].as_f64().unwrap_or(0.0)),
        _ => format!("failed: {}", text(&m["error"])),
    };
    out!(
        "{}  {} {} {} of {}  by {}  {outcome}",
        text(&event["time"]),
        text(&m["kind"]),
        text(&m["component"]),
        text(&m["version"]),
        text(&m["plugin"]),
        text(&event["actor"]),
    );
    if let Some(answer) = m["text"].as_str() {
        out!("    → {answer}");
    }
    for line in m["log"].as_array().into_iter().flatten() {
        out!("    {}", line.as_str().unwrap_or_default());
    }
    Ok(())
}
