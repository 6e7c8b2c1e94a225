//! `plughub admin`: organisations.

use crate::cli::{CreateOrgArgs, DeleteOrgArgs, ExportOrgArgs, RetentionArgs, StoreArgs};
use crate::output::out;
use crate::{context, output};
use anyhow::{Context, Result, anyhow};
use plughub_domain::Plan;

pub async fn create_org(store_args: &StoreArgs, args: CreateOrgArgs) -> Result<()> {
    let plan: Plan = args.plan.parse().map_err(|e: String| anyhow!(e))?;
    let accounts = plughub_accounts::Accounts::new(context::open_store(store_args).await?);
    let group = accounts
        .create_org(&args.name, plan, args.parent.as_deref(), "cli")
        .await?;
    if args.json {
        return output::print_json(&group);
    }
    out!(
        "created organisation {} ({} plan, id {})",
        group.name,
        group.plan,
        group.id
    );
    Ok(())
}

pub async fn orgs(store_args: &StoreArgs, json: bool) -> Result<()> {
    let store = context::open_store(store_args).await?;
    let groups = store.groups().await?;
    if json {
        return output::print_json(&groups);
    }
    if groups.is_empty() {
        out!("no organisation yet: create one with `plughub admin create-org NAME`");
    }
    for g in groups {
        out!("{}  {}  {}", g.name, g.plan, g.id);
    }
    Ok(())
}

async fn org_named(store: &plughub_store::Store, name: &str) -> Result<plughub_domain::Group> {
    store
        .group_by_name(name)
        .await?
        .ok_or_else(|| anyhow!("no organisation named '{name}' (`plughub admin orgs` lists them)"))
}

pub async fn export_org(store_args: &StoreArgs, args: ExportOrgArgs) -> Result<()> {
    let store = context::open_store(store_args).await?;
    let group = org_named(&store, &args.org).await?;
    let export = plughub_backup::export_org(&store, &group, "cli").await?;
    let text = serde_json::to_string_pretty(&export)?;
    if args.to.as_os_str() == "-" {
        out!("{text}");
        return Ok(());
    }
    // Written beside and renamed: a file that is there is whole.
    let partial = args.to.with_extension("partial");
    std::fs::write(&partial, text)
        .with_context(|| format!("cannot write {}", partial.display()))?;
    std::fs::rename(&partial, &args.to)
        .with_context(|| format!("cannot write {}", args.to.display()))?;
    eprintln!(
        "exported {} to {}: {} members, {} installed plugins, {} agents, {} webhooks, {} reviews, {} events (secret values left out)",
        group.name,
        args.to.display(),
        export.members.len(),
        export.instances.len(),
        export.agents.len(),
        export.webhooks.len(),
        export.reviews.len(),
        export.events.len()
    );
    Ok(())
}

pub async fn delete_org(store_args: &StoreArgs, args: DeleteOrgArgs) -> Result<()> {
    if !args.yes {
        anyhow::bail!(
            "deleting '{}' removes its installed plugins, agents, memories and events for good: export it first (`plughub admin export-org {} --to FILE`), then say --yes",
            args.org,
            args.org
        );
    }
    let installer = crate::commands::install::local_installer(store_args).await?;
    let store = installer.store().clone();
    let group = org_named(&store, &args.org).await?;
    let removed = store.delete_group(&group.id, &group.name, "cli").await?;
    // Packages no other organisation uses leave the disk.
    let collected = installer.collect().await?;
    if args.json {
        return output::print_json(
            &serde_json::json!({ "deleted": group.name, "removed": removed, "collected": collected }),
        );
    }
    out!(
        "deleted {}: {} installed plugins and agents, {} events, {} members' roles, {} memories; {} packages removed from disk",
        group.name,
        removed.things,
        removed.events,
        removed.memberships,
        removed.memories,
        collected.len()
    );
    Ok(())
}

pub async fn retention(store_args: &StoreArgs, args: RetentionArgs) -> Result<()> {
    let store = context::open_store(store_args).await?;
    let analytics = plughub_analytics::Analytics::new(store.clone());
    let age = std::time::Duration::from_secs(args.older_than.saturating_mul(86_400));
    let run = analytics.retain(age).await?;
    store.close().await;
    if args.json {
        return output::print_json(&run);
    }
    out!(
        "deleted {} records of executions older than {} days (the analytics' rollups keep counting them); the log was walked to seq {}",
        run.deleted,
        args.older_than,
        run.walked_to
    );
    Ok(())
}
