//! `plughub doctor`: each sandbox layer, whether this machine allows it, and then the proof: plughub's
//! bundled local model started in a real sandboxed worker, answering a call, with the layers its log says
//! are in force. Nothing is claimed that this run did not see.

use crate::cli::{DoctorArgs, StoreArgs};
use crate::output::out;
use crate::{context, output};
use anyhow::Result;
use plughub_engine::{LoadedPlugin, LocalRuntime, PluginSpec, Settings, WorkerSpec};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

pub async fn run(store_args: &StoreArgs, args: DoctorArgs) -> Result<()> {
    let node = context::node();
    let capabilities = plughub_sandbox::probe(&node);
    let trial = sandboxed_trial(store_args).await;
    let (layers, trial_error) = match trial {
        Ok(layers) => (layers, None),
        Err(e) => (Vec::new(), Some(e.to_string())),
    };
    let split = privilege_split();
    if args.json {
        return output::print_json(&json!({
            "capabilities": capabilities,
            "privilege_split": split,
            "sandboxed_worker": { "started": trial_error.is_none(), "error": trial_error,
                                  "layers_in_force": layers },
        }));
    }
    let mark = |ok: bool| if ok { "yes" } else { "NO " };
    match (&split.helper, &split.why_not) {
        (Some(helper), None) => out!(
            "yes privilege split: the sandbox helper (pid {}, {} thread{}) alone runs as root, keeping {}; `plughub serve` started as root then serves as {} with no capabilities",
            helper.pid,
            helper.threads,
            if helper.threads == 1 { "" } else { "s" },
            helper.capabilities.join(", "),
            split.serves_as.as_deref().unwrap_or("?")
        ),
        (_, why_not) => out!(
            "NO  privilege split: {}",
            why_not.as_deref().unwrap_or("no sandbox helper")
        ),
    }
    out!(
        "{} running as root (needed to build the sandbox)",
        mark(capabilities.root)
    );
    out!(
        "{} namespaces: mount, network, ipc, uts{}",
        mark(capabilities.namespaces.is_ok()),
        capabilities
            .namespaces
            .as_ref()
            .err()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default()
    );
    out!(
        "{} Landlock{}{}",
        mark(capabilities.landlock_abi.is_some()),
        capabilities
            .landlock_abi
            .map(|a| format!(" ABI {a}"))
            .unwrap_or_default(),
        if capabilities.landlock_scopes_signals {
            ", signals scoped to each worker's sandbox"
        } else {
            ""
        }
    );
    out!("{} seccomp filter", mark(capabilities.seccomp.is_ok()));
    out!(
        "{} cgroups{}",
        mark(capabilities.cgroup.is_some()),
        capabilities
            .cgroup
            .as_deref()
            .map(|c| format!(" {c}"))
            .unwrap_or_default()
    );
    out!(
        "{} Node permission model{}",
        mark(capabilities.node_permission.is_some()),
        capabilities
            .node_permission
            .as_deref()
            .map(|f| format!(" ({f})"))
            .unwrap_or_default()
    );
    match trial_error {
        None => {
            out!("a sandboxed worker started and answered; in force:");
            for layer in layers {
                out!("  {layer}");
            }
        }
        Some(e) => {
            out!("a sandboxed worker did NOT start: {e}");
            out!(
                "plugins cannot run here unless PLUGHUB_SANDBOX=off, which runs them without isolation"
            );
        }
    }
    Ok(())
}

/// Starts the bundled local model in the sandbox and asks it once; returns what its log says is in force.
async fn sandboxed_trial(store_args: &StoreArgs) -> Result<Vec<String>> {
    let package = crate::bundled::source(
        "@plughub/plugin-local-model",
        &context::bundled_dir(store_args),
    )?
    .expect("bundled");
    let spec = PluginSpec {
        worker: WorkerSpec {
            node: context::node(),
            package_dir: package,
            run_dir: context::run_dir(store_args),
            env: vec![("NODE_ENV".into(), "production".into())],
            start_timeout: Duration::from_secs(20),
            memory_mb: None,
            sandbox: Some(plughub_engine::SandboxPolicy::default()),
            egress: None,
            egress_hooks: None,
            caps: Default::default(),
            pool: None,
            urgency: plughub_engine::Urgency::Now,
        },
        settings: Settings {
            values: Default::default(),
            agent_id: "doctor".into(),
            character: json!({ "name": "doctor" }),
        },
        init_timeout: Duration::from_secs(10),
    };
    let plugin = LoadedPlugin::load(&spec, Arc::new(LocalRuntime::default())).await?;
    plugin
        .use_model(
            "TEXT_SMALL",
            json!({ "prompt": "hello" }),
            Duration::from_secs(10),
        )
        .await?;
    Ok(plugin
        .worker()
        .log()
        .into_iter()
        .filter(|l| l.stream == "sandbox")
        .map(|l| l.text)
        .collect())
}

/// Which mode plughub runs plugins in here: a sandbox helper as root, and the account `plughub serve`
/// serves as; or why there is none.
#[derive(serde::Serialize)]
struct PrivilegeSplit {
    helper: Option<HelperSeen>,
    serves_as: Option<String>,
    why_not: Option<String>,
}

/// The sandbox helper the trial ran through, as `/proc` shows it.
#[derive(serde::Serialize)]
struct HelperSeen {
    pid: u32,
    uid: u32,
    threads: u32,
    capabilities: Vec<&'static str>,
}

fn privilege_split() -> PrivilegeSplit {
    let serves_as = crate::privileges::account(std::env::var("PLUGHUB_USER").ok().as_deref());
    let helper = plughub_sandbox::helper::current().and_then(|helper| {
        let status = std::fs::read_to_string(format!("/proc/{}/status", helper.pid())).ok()?;
        let number = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        };
        let effective = plughub_sandbox::privileges::Capabilities::of(&helper.pid().to_string())
            .ok()?
            .effective;
        Some(HelperSeen {
            pid: helper.pid(),
            uid: number("Uid:")?,
            threads: number("Threads:")?,
            capabilities: plughub_sandbox::privileges::helper_capabilities(effective),
        })
    });
    let why_not = match (&helper, &serves_as) {
        (Some(_), Ok(_)) => None,
        (Some(_), Err(e)) => Some(format!("{e:#}")),
        (None, _) if !plughub_sandbox::privileges::is_root() => Some(
            "not root, so no sandbox helper can start: plugins are refused unless PLUGHUB_SANDBOX=off"
                .into(),
        ),
        (None, _) => Some("the sandbox helper did not start (see the sandboxed worker below)".into()),
    };
    PrivilegeSplit {
        serves_as: serves_as.ok().filter(|_| helper.is_some()).map(|a| a.name),
        helper,
        why_not,
    }
}
