//! `plughub agent create | list`, `plughub activate | deactivate | resume`.

use super::install::local_installer;
use crate::cli::{
    ActivateArgs, AgentCreateArgs, DeactivateArgs, InstalledArgs, InstanceArgs, StoreArgs,
};
use crate::output;
use crate::output::out;
use anyhow::Result;
use plughub_lifecycle::ActivateOptions;

pub async fn create(store_args: &StoreArgs, args: AgentCreateArgs) -> Result<()> {
    let installer = local_installer(store_args).await?;
    let agent = installer.create_agent(&args.org, &args.name, "cli").await?;
    if args.json {
        return output::print_json(&agent);
    }
    out!(
        "created agent {} in {}: `plughub activate <plugin> --org {} --agent {}`",
        agent.name,
        args.org,
        args.org,
        agent.name
    );
    Ok(())
}

pub async fn list(store_args: &StoreArgs, args: InstalledArgs) -> Result<()> {
    let installer = local_installer(store_args).await?;
    let agents = installer.agents(&args.org).await?;
    print_agents(&args.org, &agents, args.json)
}

pub fn print_agents(org: &str, agents: &[plughub_lifecycle::AgentView], json: bool) -> Result<()> {
    if json {
        return output::print_json(&agents);
    }
    let args = InstalledArgs {
        org: org.to_string(),
        json,
    };
    if agents.is_empty() {
        out!(
            "{} has no agent: `plughub agent create NAME --org {}`",
            args.org,
            args.org
        );
    }
    for agent in agents {
        out!("{}", agent.name);
        for p in &agent.plugins {
            let actions = match p.enabled_actions.as_array() {
                Some(list) => list
                    .iter()
                    .filter_map(|a| a.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
                None => "all actions".into(),
            };
            out!("  {}  priority {}  {actions}", p.plugin, p.priority);
        }
    }
    Ok(())
}

pub async fn activate(store_args: &StoreArgs, args: ActivateArgs) -> Result<()> {
    let installer = local_installer(store_args).await?;
    let options = ActivateOptions {
        enabled_actions: args.actions.clone(),
        priority: args.priority,
        actor: "cli".into(),
    };
    let record = installer
        .activate(&args.org, &args.plugin, &args.agent, &options)
        .await?;
    if args.json {
        return output::print_json(&record);
    }
    out!(
        "{} is active for agent {} in {}",
        args.plugin,
        args.agent,
        args.org
    );
    Ok(())
}

pub async fn deactivate(store_args: &StoreArgs, args: DeactivateArgs) -> Result<()> {
    let installer = local_installer(store_args).await?;
    let record = installer
        .deactivate(&args.org, &args.plugin, args.agent.as_deref(), "cli")
        .await?;
    if args.json {
        return output::print_json(&record);
    }
    match &args.agent {
        Some(agent) => out!(
            "{} no longer serves agent {agent} ({:?})",
            args.plugin,
            record.state
        ),
        None => out!("{} serves no agent ({:?})", args.plugin, record.state),
    }
    Ok(())
}

pub async fn resume(store_args: &StoreArgs, args: InstanceArgs) -> Result<()> {
    let installer = local_installer(store_args).await?;
    let record = installer.resume(&args.org, &args.plugin, "cli").await?;
    if args.json {
        return output::print_json(&record);
    }
    out!(
        "{} may run again in {} ({:?})",
        args.plugin,
        args.org,
        record.state
    );
    Ok(())
}
