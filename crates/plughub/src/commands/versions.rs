//! `plughub update | rollback`.

use super::install::{installer, local_installer, parse_core};
use crate::cli::{RollbackArgs, StoreArgs, UpdateArgs};
use crate::output;
use crate::output::out;
use anyhow::Result;
use plughub_lifecycle::{InstallOptions, UpdateOutcome};

pub async fn update(store_args: &StoreArgs, args: UpdateArgs) -> Result<()> {
    let options = InstallOptions {
        core: parse_core(args.core.as_deref())?,
        accept_risk_by: args.accept_risk.clone(),
        actor: "cli".into(),
    };
    let installer = installer(store_args, args.npm_registry.as_deref(), args.json).await?;
    let outcome = installer
        .update(&args.org, &args.plugin, args.target.as_deref(), &options)
        .await;
    drop(installer);
    report(&outcome?, &args.org, args.json, "updated")
}

pub async fn rollback(store_args: &StoreArgs, args: RollbackArgs) -> Result<()> {
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
