//! `plughub run | provide | evaluate | inspect`: an installed plugin loaded in a worker with its settings, its init
//! run, its true manifest recorded, and one component called; every execution recorded as an event.

use super::install::local_installer;
use crate::cli::{
    EgressMapArgs, ExecArgs, InspectArgs, ProvideArgs, RouteArgs, RunArgs, StoreArgs,
};
use crate::output::out;
use crate::{context, output};
use anyhow::{Result, anyhow};
use plughub_domain::execution_policy::ExecutionPolicy;
use plughub_engine::{Invocation, RouteRequest};
use plughub_runner::{Component, ExecutionRequest, Launched, Outcome, Runner, RunnerConfig};
use serde_json::{Value, json};
use std::time::Duration;

/// Starts the instance for the agent (recording its manifest, or why it did not start), for one use:
/// `inspect` and `route`. Warnings (a service that did not start) go to stderr and stay in the log.
async fn open(
    store_args: &StoreArgs,
    egress: &EgressMapArgs,
    plugin: &str,
    exec: &ExecArgs,
) -> Result<(Runner, Launched)> {
    let runner = runner(store_args, egress).await?;
    let asked = Duration::from_secs(exec.timeout.max(1));
    let launched = runner
        .launch(&exec.org, plugin, &exec.agent, Some(asked))
        .await?;
    for error in &launched.service_errors {
        eprintln!("warning: {error}");
    }
    Ok((runner, launched))
}

/// Runs installed instances from this machine's data directory, under the default policy.
pub async fn runner(store_args: &StoreArgs, egress: &EgressMapArgs) -> Result<Runner> {
    runner_with(store_args, egress, ExecutionPolicy::default(), None).await
}

/// As `runner`, under the figures of `policy`, its installs and updates resolving names through
/// `catalogue` when given (the server's).
pub async fn runner_with(
    store_args: &StoreArgs,
    egress: &EgressMapArgs,
    policy: ExecutionPolicy,
    catalogue: Option<std::sync::Arc<dyn plughub_domain::names::Catalogue>>,
) -> Result<Runner> {
    let mut installer = local_installer(store_args).await?;
    if let Some(catalogue) = catalogue {
        installer.set_catalogue(catalogue);
    }
    let keys = context::key_ring(store_args)?;
    let config = RunnerConfig {
        node: context::node(),
        run_dir: context::run_dir(store_args),
        policy,
        sandbox: context::sandbox(),
        egress: context::egress(egress)?,
    };
    Ok(Runner::new(installer, keys, config))
}

/// Prints a recorded run: its text (or the whole answer), then its time on stderr; or all as JSON.
pub fn print(ran: &Outcome, kind: &str, component: &str, json: bool) -> Result<()> {
    if json {
        return output::print_json(&ran);
    }
    match ran.result.get("text").and_then(Value::as_str) {
        Some(text) => out!("{text}"),
        None => out!("{}", serde_json::to_string_pretty(&ran.result)?),
    }
    eprintln!("({kind} {component}: {:.1} ms)", ran.duration_ms);
    Ok(())
}

/// Runs a component on the message through the runner, as the server does (quota, rate, cache, breaker,
/// retries), and records it; an action's callbacks print as they come.
async fn run_component(
    store_args: &StoreArgs,
    egress: &EgressMapArgs,
    plugin: &str,
    exec: &ExecArgs,
    component: Component,
    text: &str,
) -> Result<()> {
    let runner = runner(store_args, egress).await?;
    let group = runner.installer().group(&exec.org).await?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Value>();
    let printer = tokio::spawn(async move {
        while let Some(content) = rx.recv().await {
            match content.get("text").and_then(Value::as_str) {
                Some(text) => eprintln!("  … {text}"),
                None => eprintln!("  … {content}"),
            }
        }
    });
    let (kind, name) = (component.kind(), component.name().to_string());
    let request = ExecutionRequest {
        group,
        plugin: plugin.to_string(),
        agent: exec.agent.clone(),
        component,
        text: text.to_string(),
        timeout: Some(Duration::from_secs(exec.timeout.max(1))),
        stream: (!exec.json).then_some(tx),
        log_stream: None,
        actor: "cli".into(),
        caller: None,
    };
    let outcome = runner.execute(request).await;
    // The worker ends with the command (its last network requests recorded before it returns), and the
    // plan's slot it held goes back at once: the next command of the organisation need not wait for the
    // lease to expire.
    runner.shut_down().await;
    let _ = printer.await;
    print(&outcome?, kind, &name, exec.json)
}

pub async fn run(store_args: &StoreArgs, egress: &EgressMapArgs, args: RunArgs) -> Result<()> {
    let component = Component::Action(args.action.clone());
    run_component(
        store_args,
        egress,
        &args.plugin,
        &args.exec,
        component,
        &args.text,
    )
    .await
}

/// A provider, or with `evaluator` an evaluator, called on the message.
pub async fn provide(
    store_args: &StoreArgs,
    egress: &EgressMapArgs,
    args: ProvideArgs,
    evaluator: bool,
) -> Result<()> {
    let component = if evaluator {
        Component::Evaluator(args.provider.clone())
    } else {
        Component::Provider(args.provider.clone())
    };
    run_component(
        store_args,
        egress,
        &args.plugin,
        &args.exec,
        component,
        &args.text,
    )
    .await
}

/// A request to one of the plugin's routes; the answer's status, headers and body are the result.
pub async fn route(store_args: &StoreArgs, egress: &EgressMapArgs, args: RouteArgs) -> Result<()> {
    let body = match &args.body {
        Some(text) => serde_json::from_str(text).map_err(|e| {
            anyhow!("--body is not JSON ({e}): give it as e.g. '{{\"name\":\"Ada\"}}'")
        })?,
        None => Value::Null,
    };
    let mut query = serde_json::Map::new();
    for pair in &args.query {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| anyhow!("--query {pair}: expected KEY=VALUE"))?;
        query.insert(key.to_string(), json!(value));
    }
    let (runner, launched) = open(store_args, egress, &args.plugin, &args.exec).await?;
    let method = args.method.to_uppercase();
    let request = RouteRequest {
        method: method.clone(),
        path: args.path.clone(),
        body,
        params: json!({}),
        query: Value::Object(query),
        headers: json!({}),
    };
    let started = std::time::Instant::now();
    let outcome = launched
        .plugin
        .handle_route(request, launched.timeout)
        .await
        .map(|response| Invocation {
            result: json!({ "status": response.status, "headers": response.headers,
                            "body": response.body }),
            callbacks: Vec::new(),
            duration_ms: started.elapsed().as_secs_f64() * 1e3,
            memory_bytes: launched.plugin.worker().memory_bytes(),
        });
    let component = format!("{method} {}", args.path);
    let ran = launched
        .record(&runner, "route", &component, outcome, "cli")
        .await?;
    print(&ran, "route", &component, args.exec.json)
}

pub async fn inspect(
    store_args: &StoreArgs,
    egress: &EgressMapArgs,
    args: InspectArgs,
) -> Result<()> {
    let (_, launched) = open(store_args, egress, &args.plugin, &args.exec).await?;
    let manifest = launched.plugin.manifest();
    if args.exec.json {
        return output::print_json(manifest);
    }
    out!(
        "{} ({}): {}",
        launched.context.plugin,
        launched.context.version,
        manifest.description
    );
    let show = |label: &str, names: Vec<String>| {
        if !names.is_empty() {
            out!("  {label}: {}", names.join(", "));
        }
    };
    let names = |list: &[plughub_protocol::Component]| -> Vec<String> {
        list.iter().map(|c| c.name.clone()).collect()
    };
    show("actions", names(&manifest.actions));
    show("providers", names(&manifest.providers));
    show("evaluators", names(&manifest.evaluators));
    show(
        "services",
        manifest
            .services
            .iter()
            .map(|s| s.service_type.clone())
            .collect(),
    );
    show("models", manifest.models.clone());
    show("routes", manifest.routes.clone());
    Ok(())
}
