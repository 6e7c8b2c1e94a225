//! `plughub admin`: organisations.

use crate::cli::{CreateOrgArgs, StoreArgs};
use crate::output::out;
use crate::{context, output};
use anyhow::{Result, anyhow, bail};
use plughub_domain::Plan;

pub async fn create_org(store_args: &StoreArgs, args: CreateOrgArgs) -> Result<()> {
    let name = args.name.trim();
    if !plughub_domain::names::is_usable_name(name) {
        bail!(
            "'{name}' is not a usable organisation name: use 1 to 64 letters, digits, '-', '_' or '.'"
        );
    }
    let plan: Plan = args.plan.parse().map_err(|e: String| anyhow!(e))?;
    let store = context::open_store(store_args).await?;
    let parent =
        match &args.parent {
            Some(p) => Some(store.group_by_name(p).await?.ok_or_else(|| {
                anyhow!("no organisation named '{p}' (see `plughub admin orgs`)")
            })?),
            None => None,
        };
    let mut tx = store.begin().await?;
    let group = tx
        .create_group(name, plan, parent.as_ref().map(|g| g.id.as_str()), "cli")
        .await?;
    tx.commit().await?;
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
