//! `plughub dev`: the plugin author's tools, on the package in `--dir`.

mod init;
mod logs;
mod publish;
mod test;
mod validate;
mod watch;

use crate::cli::{DevArgs, DevCommand, RemoteArgs, StoreArgs};
use anyhow::Result;

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
