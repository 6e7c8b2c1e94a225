//! `plughub update | rollback`.

use super::install::{for_change, local_installer};
use crate::cli::{InstanceArgs, StoreArgs, UpdateArgs};
use crate::output;
use crate::output::out;
use anyhow::Result;
use plughub_lifecycle::UpdateOutcome;

pub async fn update(store_args: &StoreArgs, args: UpdateArgs) -> Result<()> {
    let (installer, options) = for_change(store_args, &args.change).await?;
    let outcome = installer
        .update(
            &args.change.org,
            &args.plugin,
            args.target.as_deref(),
            &options,
        )
        .await;
    drop(installer);
    report(&outcome?, &args.change.org, args.change.json, "updated")
}

pub async fn rollback(store_args: &StoreArgs, args: InstanceArgs) -> Result<()> {
    let installer = local_installer(store_args).await?;
    let outcome = installer.rollback(&args.org, &args.plugin, "cli").await?;
    report(&outcome, &args.org, args.json, "rolled back")
}

fn report(outcome: &UpdateOutcome, org: &str, json: bool, done: &str) -> Result<()> {
    if json {
        return output::print_json(outcome);
    }
    if !outcome.changed {
        out!(
            "{} is at {} already: nothing to do",
            outcome.plugin,
            outcome.to
        );
        return Ok(());
    }
    out!(
        "{done} {} from {} to {} for {org} ({:?}; configuration kept)",
        outcome.plugin,
        outcome.from,
        outcome.to,
        outcome.state
    );
    if !outcome.missing_settings.is_empty() {
        out!(
            "  {} now needs {}: `plughub configure {} --org {org} KEY=VALUE`",
            outcome.to,
            outcome.missing_settings.join(", "),
            outcome.plugin
        );
    }
    Ok(())
}
