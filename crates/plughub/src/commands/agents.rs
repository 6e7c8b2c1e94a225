//! `plughub agent create | list | export | models`, `plughub activate | deactivate | resume`.

use super::install::local_installer;
use crate::cli::{
    ActivateArgs, AgentCreateArgs, AgentExportArgs, AgentModelsArgs, DeactivateArgs, InstalledArgs,
    InstanceArgs, StoreArgs,
};
use crate::output;
use crate::output::out;
use anyhow::Result;
use plughub_lifecycle::{ActivateOptions, AgentView, ModelSource};
use serde_json::json;

/// The server's address when `serve` is given none: what an agent on the same machine reaches.
const DEFAULT_URL: &str = "http://127.0.0.1:8080";

pub async fn export(store_args: &StoreArgs, args: AgentExportArgs) -> Result<()> {
    let installer = local_installer(store_args).await?;
    let group = installer.group(&args.org).await?;
    let agent = installer.agent_in(&group, &args.name).await?;
    print_character(
        &agent,
        &args.org,
        args.url.as_deref().unwrap_or(DEFAULT_URL),
    )
}

/// The character fragment on stdout (JSON, to merge into the agent's character file); what it does and
/// what is left to fill in on stderr, so that the JSON can be piped on as it is.
pub fn print_character(agent: &AgentView, org: &str, url: &str) -> Result<()> {
    let fragment = json!({
        "name": agent.name,
        // An agent needs a database plugin of its own; @elizaos/plugin-sql is elizaOS's default.
        "plugins": ["@elizaos/plugin-sql", "@plughub/plugin-remote"],
        "settings": {
            "PLUGHUB_URL": url.trim_end_matches('/'),
            "PLUGHUB_ORG": org,
            "PLUGHUB_AGENT": agent.name,
            "secrets": { "PLUGHUB_TOKEN": "" },
        },
    });
    output::print_json(&fragment)?;
    let names: Vec<&str> = agent.plugins.iter().map(|p| p.plugin.as_str()).collect();
    eprintln!(
        "Merge this into the character of the elizaOS agent, and install the bridge there: `npm install @plughub/plugin-remote`."
    );
    eprintln!(
        "Fill in settings.secrets.PLUGHUB_TOKEN with an API token of someone who may run plugins in {org} (`plughub admin create-token EMAIL`); keep it out of version control."
    );
    match names.is_empty() {
        true => eprintln!(
            "{} uses no plugin in {org} yet: `plughub activate PLUGIN --org {org} --agent {}`.",
            agent.name, agent.name
        ),
        false => eprintln!(
            "The agent will use, run in plughub: {} (models answered by {}).",
            names.join(", "),
            agent.models.as_str()
        ),
    }
    Ok(())
}

pub async fn models(store_args: &StoreArgs, args: AgentModelsArgs) -> Result<()> {
    let installer = local_installer(store_args).await?;
    let group = installer.group(&args.org).await?;
    let models = match args.models.as_str() {
        "agent" => ModelSource::Agent,
        _ => ModelSource::Plughub,
    };
    let agent = installer
        .set_agent_models(&group, &args.name, models, "cli")
        .await?;
    print_models(&agent, &args.org, args.json)
}

pub fn print_models(agent: &AgentView, org: &str, json: bool) -> Result<()> {
    if json {
        return output::print_json(agent);
    }
    match agent.models {
        ModelSource::Agent => out!(
            "the plugins agent {} runs from its own process in {org} use its own models",
            agent.name
        ),
        ModelSource::Plughub => out!(
            "the plugins agent {} runs in {org} use the organisation's model plugins in plughub",
            agent.name
        ),
    }
    Ok(())
}

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
