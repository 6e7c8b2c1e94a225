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

/// The plan of the organisations the development store makes (`plughub dev`'s and `dev test`'s): one
/// plan, so a plugin meets the same limits in the playground and in its tests.
pub(crate) const DEV_PLAN: plughub_domain::Plan = plughub_domain::Plan::Enterprise;

/// The development store `plughub dev` (watch), `dev test` and `dev logs` share: the folder `--data-dir`
/// names when given on the command line, else plughub_sdk's development folder; said on stderr. Not
/// PLUGHUB_DATA_DIR: a production store exported in the environment must not become a development store
/// (an organisation `dev`, an owner with a known password). Always an embedded store: a development run
/// never writes to a shared PostgreSQL.
pub fn dev_store(store: &StoreArgs) -> StoreArgs {
    let dir = match &store.data_dir {
        Some(dir) if data_dir_on_command_line(std::env::args()) => dir.clone(),
        _ => {
            if std::env::var_os("PLUGHUB_DATA_DIR").is_some() {
                eprintln!(
                    "note: PLUGHUB_DATA_DIR is not used for development (it may be a production store); give --data-dir to choose the development store"
                );
            }
            plughub_sdk::dev_data_dir()
        }
    };
    eprintln!("development store: {}", dir.display());
    StoreArgs {
        data_dir: Some(dir),
        database_url: None,
    }
}

/// Whether `--data-dir` is among the arguments (clap also fills it from the environment).
fn data_dir_on_command_line(args: impl IntoIterator<Item = String>) -> bool {
    args.into_iter()
        .take_while(|a| a != "--")
        .any(|a| a == "--data-dir" || a.starts_with("--data-dir="))
}

/// An installer for the development store: an author reinstalls their plugin on every test run and every
/// change, so the per-organisation install rate that protects a shared server would stop them within
/// the hour. The store is theirs alone; nothing else is relaxed.
pub fn for_development(installer: &mut plughub_lifecycle::Installer) {
    installer.installs_per_hour = i64::MAX;
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_data_dir_counts_only_from_the_command_line() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(super::data_dir_on_command_line(args(&[
            "plughub",
            "--data-dir",
            "/d",
            "dev",
            "test"
        ])));
        assert!(super::data_dir_on_command_line(args(&[
            "plughub",
            "dev",
            "test",
            "--data-dir=/d"
        ])));
        assert!(!super::data_dir_on_command_line(args(&[
            "plughub", "dev", "test", "--dir", "/p"
        ])));
    }
}
