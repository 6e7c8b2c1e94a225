//! The commands that work through a server's API (`--server URL --token TOKEN`). Each sends what the
//! local command would do to the matching route and prints the answer the same way.

use crate::cli::{
    ActivateArgs, AgentCommand, Command, ConfigureArgs, DeactivateArgs, GrantArgs, InfoArgs,
    InstallArgs, InstalledArgs, InstanceArgs, LogsArgs, ProvideArgs, RunArgs, SearchArgs,
    UpdateArgs,
};
use crate::output::{self, out};
use crate::remote::{Remote, error_event, segment};
use anyhow::{Result, anyhow, bail};
use plughub_lifecycle::{AgentView, ConfigView, PermissionsView, UpdateOutcome};
use plughub_runner::Outcome;
use reqwest::Method;
use serde_json::{Value, json};

pub async fn run(remote: &Remote, command: Command) -> Result<()> {
    match command {
        Command::Search(args) => search(remote, args).await,
        Command::Info(args) => info(remote, args).await,
        Command::Installed(args) => installed(remote, args).await,
        Command::Install(args) => install(remote, args).await,
        Command::Uninstall(args) => uninstall(remote, args).await,
        Command::Configure(args) => configure(remote, args).await,
        Command::Permissions(args) => {
            let view: PermissionsView = remote
                .get(&permissions_path(&args.org, &args.plugin))
                .await?;
            super::permissions::print(&view, &args.org, args.json)
        }
        Command::Grant(args) => grant(remote, args, Method::POST).await,
        Command::Revoke(args) => grant(remote, args, Method::DELETE).await,
        Command::Activate(args) => activate(remote, args).await,
        Command::Deactivate(args) => deactivate(remote, args).await,
        Command::Update(args) => update(remote, args).await,
        Command::Rollback(args) => rollback(remote, args).await,
        Command::Run(args) => run_action(remote, args).await,
        Command::Provide(args) => provide(remote, args, "provider").await,
        Command::Evaluate(args) => provide(remote, args, "evaluator").await,
        Command::Agent(AgentCommand::List(args)) => {
            let agents: Vec<AgentView> = remote
                .get(&format!("/api/orgs/{}/agents", args.org))
                .await?;
            super::agents::print_agents(&args.org, &agents, args.json)
        }
        Command::Agent(AgentCommand::Create(args)) => {
            let agent: AgentView = remote
                .call(
                    Method::POST,
                    &format!("/api/orgs/{}/agents", args.org),
                    Some(&json!({ "name": args.name })),
                )
                .await?;
            if args.json {
                return output::print_json(&agent);
            }
            out!("created agent {} in {}", agent.name, args.org);
            Ok(())
        }
        Command::Agent(AgentCommand::Export(args)) => {
            let agent: AgentView = remote
                .get(&format!("/api/orgs/{}/agents", args.org))
                .await
                .and_then(|agents: Vec<AgentView>| {
                    agents
                        .into_iter()
                        .find(|a| a.name == args.name)
                        .ok_or_else(|| anyhow!("no agent named '{}' in {}", args.name, args.org))
                })?;
            let url = args
                .url
                .clone()
                .unwrap_or_else(|| remote.base().to_string());
            super::agents::print_character(&agent, &args.org, &url)
        }
        Command::Agent(AgentCommand::Models(args)) => {
            let agent: AgentView = remote
                .call(
                    Method::PUT,
                    &format!(
                        "/api/orgs/{}/agents/{}/models",
                        args.org,
                        segment(&args.name)
                    ),
                    Some(&json!({ "models": args.models })),
                )
                .await?;
            super::agents::print_models(&agent, &args.org, args.json)
        }
        Command::Logs(args) => logs(remote, args).await,
        other => bail!(
            "`{}` works on a local store only: run it without --server (on the server's machine)",
            command_name(&other)
        ),
    }
}

fn command_name(command: &Command) -> String {
    let debug = format!("{command:?}");
    let name = debug
        .split(['(', ' ', '{'])
        .next()
        .unwrap_or("this command");
    name.to_lowercase()
}

pub fn plugin_path(org: &str, plugin: &str) -> String {
    format!("/api/orgs/{org}/plugins/{}", segment(plugin))
}

fn permissions_path(org: &str, plugin: &str) -> String {
    format!("{}/permissions", plugin_path(org, plugin))
}

async fn search(remote: &Remote, args: SearchArgs) -> Result<()> {
    let mut query: Vec<(&str, String)> = vec![
        ("q", args.query.join(" ")),
        ("sort", args.sort.clone()),
        ("page", args.page.to_string()),
        ("per_page", args.per_page.to_string()),
    ];
    for (key, value) in [
        ("topic", &args.topic),
        ("compat", &args.compat),
        ("kind", &args.kind),
        ("license", &args.license),
        ("runs", &args.runs),
    ] {
        if let Some(value) = value {
            query.push((key, value.clone()));
        }
    }
    for (key, on) in [
        ("compat_verified", args.compat_verified),
        ("verified", args.verified),
        ("facets", args.facets),
    ] {
        if on {
            query.push((key, "true".into()));
        }
    }
    if args.include_deprecated {
        query.push(("deprecated", "any".into()));
    }
    if let Some(min) = args.min_rating {
        query.push(("min_rating", min.to_string()));
    }
    let encoded = reqwest::Url::parse_with_params("http://x/", &query)?
        .query()
        .unwrap_or_default()
        .to_string();
    let results: plughub_catalog::SearchResults =
        remote.get(&format!("/api/plugins?{encoded}")).await?;
    if args.json {
        return output::print_json(&results);
    }
    output::print_search(&results);
    Ok(())
}

async fn info(remote: &Remote, args: InfoArgs) -> Result<()> {
    let detail: Value = remote
        .get(&format!("/api/plugins/{}", segment(&args.plugin)))
        .await?;
    if args.json {
        return output::print_json(&detail);
    }
    out!(
        "{} {}",
        detail["name"].as_str().unwrap_or(&args.plugin),
        detail["latest_version"].as_str().unwrap_or("")
    );
    if let Some(description) = detail["description"].as_str() {
        out!("{description}");
    }
    if args.readme
        && let Some(readme) = detail["readme"].as_str()
    {
        out!("\n{readme}");
    }
    Ok(())
}

async fn installed(remote: &Remote, args: InstalledArgs) -> Result<()> {
    let list: Value = remote
        .get(&format!("/api/orgs/{}/plugins", args.org))
        .await?;
    if args.json {
        return output::print_json(&list);
    }
    let plugins = list["plugins"].as_array().cloned().unwrap_or_default();
    if plugins.is_empty() {
        out!("{} has no plugin installed", args.org);
    }
    for p in plugins {
        out!(
            "{}@{}  {}",
            p["plugin"].as_str().unwrap_or("?"),
            p["version"].as_str().unwrap_or("?"),
            p["state"].as_str().unwrap_or("?")
        );
    }
    Ok(())
}

async fn install(remote: &Remote, args: InstallArgs) -> Result<()> {
    if args.change.accept_risk.is_some() || args.change.npm_registry.is_some() {
        bail!(
            "--accept-risk and --npm-registry work on a local store only: the server installs from its own registry"
        );
    }
    let mut body =
        json!({ "plugin": args.plugin, "core": args.change.core, "grant": args.change.grant });
    // Sent only when given: the server resolves the name itself, with its catalogue.
    if args.not_in_catalogue {
        body["not_in_catalogue"] = json!(true);
    }
    eprintln!("installing {} on {} …", args.plugin, remote.base());
    let answer: Value = remote
        .call(
            Method::POST,
            &format!("/api/orgs/{}/plugins", args.change.org),
            Some(&body),
        )
        .await?;
    if args.change.json {
        return output::print_json(&answer);
    }
    out!(
        "installed {}@{} in {}",
        answer["plugin"].as_str().unwrap_or(&args.plugin),
        answer["version"].as_str().unwrap_or("?"),
        args.change.org
    );
    Ok(())
}

async fn uninstall(remote: &Remote, args: InstanceArgs) -> Result<()> {
    let answer: Value = remote
        .call(Method::DELETE, &plugin_path(&args.org, &args.plugin), None)
        .await?;
    if args.json {
        return output::print_json(&answer);
    }
    out!("uninstalled {} from {}", args.plugin, args.org);
    Ok(())
}

async fn configure(remote: &Remote, args: ConfigureArgs) -> Result<()> {
    let given = super::settings::given(&args)?;
    let view: ConfigView = remote
        .call(
            Method::PUT,
            &format!("{}/config", plugin_path(&args.org, &args.plugin)),
            Some(&json!({ "settings": given })),
        )
        .await?;
    super::settings::print_configured(&args, &view, given.len())
}

async fn grant(remote: &Remote, args: GrantArgs, method: Method) -> Result<()> {
    let named = json!({ "domains": args.domains, "secrets": args.secrets,
                        "permissions": args.permissions });
    let body = if method == Method::DELETE {
        if args.domains.len() + args.secrets.len() + args.permissions.len() > 0 {
            bail!(
                "through a server, revoke takes back all of a plugin's permissions; name none, or run it locally"
            );
        }
        None
    } else {
        Some(&named)
    };
    let view: PermissionsView = remote
        .call(method, &permissions_path(&args.org, &args.plugin), body)
        .await?;
    super::permissions::print(&view, &args.org, args.json)
}

async fn activate(remote: &Remote, args: ActivateArgs) -> Result<()> {
    let body = json!({ "agent": args.agent, "actions": args.actions, "priority": args.priority });
    let answer: Value = remote
        .call(
            Method::POST,
            &format!("{}/activate", plugin_path(&args.org, &args.plugin)),
            Some(&body),
        )
        .await?;
    if args.json {
        return output::print_json(&answer);
    }
    out!(
        "activated {} for {} in {}",
        args.plugin,
        args.agent,
        args.org
    );
    Ok(())
}

async fn deactivate(remote: &Remote, args: DeactivateArgs) -> Result<()> {
    let answer: Value = remote
        .call(
            Method::POST,
            &format!("{}/deactivate", plugin_path(&args.org, &args.plugin)),
            Some(&json!({ "agent": args.agent })),
        )
        .await?;
    if args.json {
        return output::print_json(&answer);
    }
    out!("deactivated {} in {}", args.plugin, args.org);
    Ok(())
}

async fn update(remote: &Remote, args: UpdateArgs) -> Result<()> {
    let body = json!({ "version": args.target, "grant": args.change.grant });
    let outcome: UpdateOutcome = remote
        .call(
            Method::POST,
            &format!("{}/update", plugin_path(&args.change.org, &args.plugin)),
            Some(&body),
        )
        .await?;
    super::versions::print_outcome(&outcome, &args.change.org, args.change.json)
}

async fn rollback(remote: &Remote, args: InstanceArgs) -> Result<()> {
    let outcome: UpdateOutcome = remote
        .call(
            Method::POST,
            &format!("{}/rollback", plugin_path(&args.org, &args.plugin)),
            None,
        )
        .await?;
    super::versions::print_outcome(&outcome, &args.org, args.json)
}

/// Runs an action through the server, its callbacks printed as they stream in.
async fn run_action(remote: &Remote, args: RunArgs) -> Result<()> {
    let body = json!({ "action": args.action, "text": args.text, "agent": args.exec.agent,
                       "timeout": args.exec.timeout });
    let ran = run_streamed(remote, &args.exec.org, &args.plugin, &body, !args.exec.json).await?;
    super::run::print(&ran, "action", &args.action, args.exec.json)
}

/// POSTs a run asking for events: callbacks (printed on stderr when `show`), then the recorded run.
pub async fn run_streamed(
    remote: &Remote,
    org: &str,
    plugin: &str,
    body: &Value,
    show: bool,
) -> Result<Outcome> {
    let mut outcome: Option<Result<Outcome>> = None;
    remote
        .events(
            Method::POST,
            &format!("{}/run", plugin_path(org, plugin)),
            Some(body),
            |event, data| {
                match event {
                    "callback" if show => match data.get("text").and_then(Value::as_str) {
                        Some(text) => eprintln!("  … {text}"),
                        None => eprintln!("  … {data}"),
                    },
                    "result" => {
                        outcome = Some(serde_json::from_value(data).map_err(|e| {
                            anyhow!("the server's run answer is not what plughub expects: {e}")
                        }));
                        return false;
                    }
                    "error" => {
                        outcome = Some(Err(error_event(&data)));
                        return false;
                    }
                    _ => {}
                }
                true
            },
        )
        .await?;
    outcome.unwrap_or_else(|| {
        Err(anyhow!(
            "the server ended the run's stream without an answer"
        ))
    })
}

async fn provide(remote: &Remote, args: ProvideArgs, kind: &str) -> Result<()> {
    let body = json!({ kind: args.provider, "text": args.text, "agent": args.exec.agent,
                       "timeout": args.exec.timeout });
    let ran: Outcome = remote
        .call(
            Method::POST,
            &format!("{}/run", plugin_path(&args.exec.org, &args.plugin)),
            Some(&body),
        )
        .await?;
    super::run::print(&ran, kind, &args.provider, args.exec.json)
}

async fn logs(remote: &Remote, args: LogsArgs) -> Result<()> {
    let page: Value = remote
        .get(&format!(
            "/api/orgs/{}/executions?per_page={}",
            args.org,
            args.last.clamp(1, 200)
        ))
        .await?;
    let mut items: Vec<Value> = page["items"].as_array().cloned().unwrap_or_default();
    items.retain(|e| keep(e, args.plugin.as_deref()));
    items.reverse();
    for event in &items {
        super::logs::print_execution(event, args.json)?;
    }
    if args.follow {
        let plugin = args.plugin.clone();
        let json = args.json;
        remote
            .events(
                Method::GET,
                &format!("/api/orgs/{}/executions/live", args.org),
                None,
                |_, event| {
                    if keep(&event, plugin.as_deref()) {
                        let _ = super::logs::print_execution(&event, json);
                    }
                    true
                },
            )
            .await?;
    }
    Ok(())
}

fn keep(event: &Value, plugin: Option<&str>) -> bool {
    plugin.is_none_or(|p| event["metadata"]["plugin"] == p)
}
