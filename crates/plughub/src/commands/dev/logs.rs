//! `plughub dev logs`: the plugin's executions in `plughub dev`'s store, with their logs (the `logs`
//! command's reading, on the development store, for the one plugin).

use super::watch::DEV_ORG;
use crate::cli::{DevLogsArgs, LogsArgs, StoreArgs};
use anyhow::Result;

pub async fn run(store: &StoreArgs, args: DevLogsArgs) -> Result<()> {
    let name = super::package_name(&args.dir.dir)?;
    let store = super::dev_store(store);
    let logs = LogsArgs {
        org: DEV_ORG.into(),
        plugin: Some(name),
        last: args.last,
        follow: args.follow,
        json: args.json,
    };
    crate::commands::logs::run(&store, logs).await
}
