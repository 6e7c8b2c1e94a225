//! `plughub update | rollback`.

use super::install::{for_change, local_installer};
use crate::cli::{InstanceArgs, StoreArgs, UpdateArgs};
use crate::output::out;
use crate::{context, output};
use anyhow::Result;
use plughub_lifecycle::UpdateOutcome;

pub async fn update(store_args: &StoreArgs, args: UpdateArgs) -> Result<()> {
    let (installer, options) = for_change(store_args, &args.change).await?;
    // A plugin carried by the binary is updated from the binary, never from a registry; a folder or a
    // tarball given as the target is taken as it is.
    let local_target = args
        .target
        .as_deref()
        .is_some_and(|t| t.starts_with(['.', '/', '~']) || t.ends_with(".tgz"));
    let wanted = match &args.target {
        Some(version) if !local_target => format!("{}@{version}", args.plugin),
        _ => args.plugin.clone(),
    };
    let bundled = match local_target {
        true => None,
        false => crate::bundled::source(&wanted, &context::bundled_dir(store_args))?
            .map(|folder| folder.display().to_string()),
    };
    let target = bundled.as_deref().or(args.target.as_deref());
    let outcome = installer
        .update(&args.change.org, &args.plugin, target, &options)
        .await;
    drop(installer);
    report(&outcome?, &args.change.org, args.change.json, "updated")
}

pub async fn rollback(store_args: &StoreArgs, args: InstanceArgs) -> Result<()> {
    let installer = local_installer(store_args).await?;
    let outcome = installer.rollback(&args.org, &args.plugin, "cli").await?;
    report(&outcome, &args.org, args.json, "rolled back")
}

/// An update's or a rollback's outcome as the server answers it.
pub fn print_outcome(outcome: &UpdateOutcome, org: &str, json: bool) -> Result<()> {
    let done = if outcome.to < outcome.from {
        "rolled back"
    } else {
        "updated"
    };
    report(outcome, org, json, done)
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
    if !outcome.missing_permissions.is_empty() {
        out!(
            "  {} asks for more than is granted ({}): it runs once an org_owner grants it with `plughub grant {} --org {org}`",
            outcome.to,
            outcome.missing_permissions,
            outcome.plugin
        );
    }
    Ok(())
}
