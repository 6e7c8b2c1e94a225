//! `plughub dev`: the plugin author's tools, on the package in `--dir`.

mod init;
mod logs;
mod publish;
mod test;
mod validate;
mod watch;

use crate::cli::{DevArgs, DevCommand, RemoteArgs, StoreArgs};
use anyhow::{Context, Result, anyhow};
use std::path::Path;

pub async fn run(store: &StoreArgs, remote: &RemoteArgs, args: DevArgs) -> Result<()> {
    match args.command {
        None => watch::run(store, args.watch).await,
        Some(DevCommand::Init(args)) => init::run(args).await,
        Some(DevCommand::Validate(args)) => validate::run(store, args).await,
        Some(DevCommand::Test(args)) => test::run(store, args).await,
        Some(DevCommand::Logs(args)) => logs::run(store, args).await,
        Some(DevCommand::Publish(args)) => publish::run(remote, args).await,
    }
}

/// The name in the package.json of `dir`.
pub(crate) fn package_name(dir: &Path) -> Result<String> {
    let path = dir.join("package.json");
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "no package.json in {} (run it in the plugin's folder, or give --dir)",
            dir.display()
        )
    })?;
    let manifest: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    manifest["name"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow!("{} has no name", path.display()))
}

/// The OS sandbox for the plugin's workers where this machine can make one (as root, with namespaces and
/// seccomp; `PLUGHUB_SANDBOX=off` turns it off), else none, said on stderr when `say`: authors without
/// root still validate and run their plugin, knowingly unconfined.
pub(crate) async fn sandbox_here(say: bool) -> Result<Option<plughub_engine::SandboxPolicy>> {
    let node = crate::context::node();
    let possible =
        tokio::task::spawn_blocking(move || plughub_sandbox::probe(&node).sandbox_possible())
            .await?;
    let sandbox = match std::env::var("PLUGHUB_SANDBOX").as_deref() {
        Ok("off") => None,
        _ if possible => Some(plughub_engine::SandboxPolicy::default()),
        _ => None,
    };
    if sandbox.is_none() && say {
        eprintln!(
            "note: plugins run without the OS sandbox here (it needs root with namespaces and seccomp; `plughub doctor` says what is missing)"
        );
    }
    Ok(sandbox)
}

/// The development store `plughub dev` (watch), `dev test` and `dev logs` share: the folder `--data-dir`
/// (or PLUGHUB_DATA_DIR) names, else plughub_sdk's development folder. Always an embedded store: a
/// development run never writes to a shared PostgreSQL.
pub fn dev_store(store: &StoreArgs) -> StoreArgs {
    StoreArgs {
        data_dir: Some(
            store
                .data_dir
                .clone()
                .unwrap_or_else(plughub_sdk::dev_data_dir),
        ),
        database_url: None,
    }
}

/// An installer for the development store: an author reinstalls their plugin on every test run and every
/// change, so the per-organisation install rate that protects a shared server would stop them within
/// the hour. The store is theirs alone; nothing else is relaxed.
pub fn for_development(installer: &mut plughub_lifecycle::Installer) {
    installer.installs_per_hour = i64::MAX;
}
