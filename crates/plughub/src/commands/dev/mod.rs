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
