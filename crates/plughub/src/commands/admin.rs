//! `plughub admin`: organisations.

use crate::cli::{CreateOrgArgs, StoreArgs};
use crate::output::out;
use crate::{context, output};
use anyhow::{Result, anyhow};
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
